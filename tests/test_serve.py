"""`payroll serve` in a real headless browser (Debian's chromium driven by selenium): find a person,
read the month's explanation, compare with another month, download the payslip. Plus the safety
rules without a browser: 127.0.0.1 only, read-only, HTML escaped, ID numbers masked."""
from __future__ import annotations

import os

import shutil
import threading
import time
import urllib.error
import urllib.request
from decimal import Decimal
from pathlib import Path

import duckdb
import openpyxl
import pytest

from explain_demo import build_demo_database
from payroll.io.idnumber import contains_full_id_number
from payroll.web.server import make_server

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("serve")
    db = build_demo_database(folder, people=60, last="2025-03")
    con = duckdb.connect(str(db))
    # a name that would run as script if the page did not escape it
    con.execute("UPDATE employees SET name = '<script>alert(1)</script>' "
                "WHERE employee_id = (SELECT max(employee_id) FROM employees)")
    con.close()
    server = make_server(str(db), None, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", db, folder
    server.shutdown()
    server.server_close()
    thread.join(10)


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8")


def test_binds_to_localhost_and_refuses_writes(site):
    base, *_ = site
    assert base.startswith("http://127.0.0.1:")
    request = urllib.request.Request(base + "/", data=b"x", method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 405


def test_escapes_html_and_masks_id_numbers(site):
    base, db, _ = site
    status, page = _get(base + "/?q=%3Cscript%3E")
    assert status == 200 and "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    status, page = _get(base + "/?q=FJ")
    assert status == 200 and not contains_full_id_number(page)
    masked = duckdb.connect(str(db), read_only=True).execute(
        "SELECT id_number_masked FROM employees ORDER BY employee_id LIMIT 1").fetchall()[0][0]
    assert masked.count("*") == 8 and masked in page
    status, page = _get(base + "/person?id=NOBODY")
    assert status == 404 and "no payslips" in page


def test_the_serve_command_starts_on_localhost(site):
    """`payroll serve` itself: binds 127.0.0.1 on the given port and answers; stopped by the test."""
    import os
    import socket
    import subprocess
    import sys
    _, db, _ = site
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "payroll.cli", "serve", "--db", str(db), "--port", str(port)],
                               env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline, status, page = time.time() + 60, None, ""
        while time.time() < deadline and status is None:
            try:
                status, page = _get(f"http://127.0.0.1:{port}/?q=FJ")
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.3)
        assert status == 200 and "results" in page
    finally:
        process.terminate()
        process.wait(30)
    assert "127.0.0.1" in process.stderr.read()


def _browser(download_dir: Path):
    installed = Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()
    if not installed and not os.environ.get("PAYROLL_REQUIRE_BROWSER"):
        # a developer's machine without the browser; CI sets PAYROLL_REQUIRE_BROWSER, so there it fails
        pytest.skip("Debian chromium and chromium-driver are not installed (.ci/run installs them)")
    assert installed, "chromium and chromium-driver are required here (apt-get install chromium chromium-driver)"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={download_dir.parent / 'profile'}"):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"download.default_directory": str(download_dir),
                                              "download.prompt_for_download": False})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def test_hr_finds_explains_compares_and_downloads(site, tmp_path):
    base, db, _ = site
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select
    con = duckdb.connect(str(db), read_only=True)
    employee_id, name, net_march, net_january = con.execute(
        "SELECT e.employee_id, e.name, m.net_pay, j.net_pay FROM employees e "
        "JOIN payslips m ON m.employee_id = e.employee_id AND m.month = '2025-03' "
        "JOIN payslips j ON j.employee_id = e.employee_id AND j.month = '2025-01' "
        "WHERE e.name NOT LIKE '<%' ORDER BY e.employee_id LIMIT 1").fetchall()[0]
    con.close()
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    driver = _browser(downloads)
    try:
        driver.set_page_load_timeout(60)
        driver.implicitly_wait(30)          # a click that submits a form returns before the next page is there
        driver.get(base + "/")
        # search by name
        driver.find_element(By.ID, "q").send_keys(name)
        driver.find_element(By.ID, "search").click()
        links = driver.find_elements(By.CSS_SELECTOR, "#results a.person")
        assert employee_id in [link.text for link in links]
        next(link for link in links if link.text == employee_id).click()
        # the latest month's explanation
        assert driver.find_element(By.ID, "explanation").text.startswith("工资说明 2025-03")
        net = driver.find_element(By.CSS_SELECTOR, "#payslip tr[data-line='net_pay'] td.money").text
        assert Decimal(net.replace(",", "")) == net_march
        assert "every amount equals the stored payslip" in driver.find_element(By.ID, "check").text
        assert "effective_from" in driver.find_element(By.ID, "lines").text
        # compare with January
        Select(driver.find_element(By.ID, "compare")).select_by_value("2025-01")
        driver.find_element(By.ID, "show").click()
        change = Decimal(driver.find_element(By.ID, "net-change").text.replace(",", "").replace("+", ""))
        assert change == net_march - net_january
        total = driver.find_element(By.ID, "causes-total").text.replace(",", "").replace("+", "")
        assert Decimal(total) == change
        assert driver.find_elements(By.CSS_SELECTOR, "#causes tr[data-cause]")
        # download the payslip through the link
        driver.find_element(By.ID, "download").click()
        target = downloads / f"payslip-{employee_id}-2025-03.xlsx"
        deadline = time.time() + 60
        while not target.exists() and time.time() < deadline:
            time.sleep(0.2)
        assert target.exists(), list(downloads.iterdir())
    finally:
        driver.quit()
    time.sleep(0.5)
    rows = list(openpyxl.load_workbook(target).active.iter_rows(values_only=True))
    assert rows[2][0] == employee_id and rows[1][-1] == "实发工资"
    assert Decimal(str(rows[2][-1])).quantize(Decimal("0.01")) == net_march
    shutil.rmtree(tmp_path / "profile", ignore_errors=True)
