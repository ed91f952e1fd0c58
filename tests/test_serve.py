"""`payroll serve` in a real headless browser (Debian's chromium driven by selenium): a month from run
to close through the four steps, an employee confirming their payslip, HR searching within their
units, downloading a payslip. Plus the command itself: 127.0.0.1, the first-run admin, the marker
beside the database."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from decimal import Decimal
from pathlib import Path

import duckdb
import openpyxl
import pytest

from payroll.web.app import BackgroundServer, create_app
from web_site import PASSWORD

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
M = "2025-03"


@pytest.fixture(scope="module")
def site(office_site):
    from payroll.db import connect
    from payroll.engine.closing import close_through
    from payroll.db import EMPLOYEE_FINANCE_DDL
    con = connect(office_site.db)
    close_through(con, "2025-02")           # closing is cumulative: March is the month walked through
    con.execute(EMPLOYEE_FINANCE_DDL)       # bank accounts: the bank file once March is closed
    con.execute("INSERT INTO employee_finance (employee_id, bank_account) "
                "SELECT employee_id, '6222020' || lpad(CAST(hash(employee_id) % 1000000000000 AS VARCHAR), 12, '0') "
                "FROM employees")
    con.close()
    app = create_app(str(office_site.db), None)
    with BackgroundServer(app) as server:
        yield server.url, office_site, app


def _browser(download_dir: Path):
    installed = Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()
    if not installed and not os.environ.get("PAYROLL_REQUIRE_BROWSER"):
        # a machine without the browser; the full tier sets PAYROLL_REQUIRE_BROWSER (README), so there it fails
        pytest.skip("Debian chromium and chromium-driver are not installed (apt-get install chromium chromium-driver)")
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
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(120)
    driver.implicitly_wait(30)          # a click that submits a form returns before the next page is there
    return driver


class Walk:
    """The browser, one user at a time."""

    def __init__(self, driver, base: str):
        from selenium.webdriver.common.by import By
        self.driver, self.base, self.by = driver, base, By

    def find(self, css: str):
        return self.driver.find_element(self.by.CSS_SELECTOR, css)

    def text(self, css: str) -> str:
        """An element's text, found again if the page refreshed itself in between (the job page
        does each second while the job runs)."""
        from selenium.common.exceptions import StaleElementReferenceException
        for _ in range(10):
            try:
                return self.find(css).text
            except StaleElementReferenceException:
                continue
        return self.find(css).text

    def log_in(self, username: str) -> None:
        self.driver.get(self.base + "/login")
        self.find("#username").send_keys(username)
        self.find("#password").send_keys(PASSWORD)
        self.find("#login").click()
        assert f"({username};" in self.find("#who").text

    def log_out(self) -> None:
        self.find("#logout").click()
        self.find("#login-form")

    def step(self, month: str, name: str, comment: str = "") -> str:
        self.driver.get(f"{self.base}/month/{month}")
        if comment:
            self.find(f"#comment-{name}").send_keys(comment)
        page = self.find("html")
        self.find(f"#do-{name}").click()
        # the month page before the click has a #state too: wait for the page the form posts to
        from selenium.webdriver.support.expected_conditions import staleness_of
        from selenium.webdriver.support.ui import WebDriverWait
        WebDriverWait(self.driver, 120).until(staleness_of(page))
        self.find("#history")
        return self.find("#state").text

    def run(self, month: str) -> None:
        self.driver.get(self.base + "/months")
        field = self.find("#run-month")
        field.clear()
        field.send_keys(month)
        self.find("#run").click()
        self.find("#job-state")
        job_page = self.driver.current_url
        deadline = time.time() + 300
        while time.time() < deadline:
            self.driver.get(job_page)          # (the page also refreshes itself each second while it runs)
            state = self.text("#job-state")
            if state not in ("queued", "running"):
                break
            time.sleep(1)
        assert state == "done", self.find("#job-messages").text


def test_a_month_from_run_to_close_and_an_employee_and_hr(site, tmp_path):
    base, office, app = site
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    driver = _browser(downloads)
    try:
        walk = Walk(driver, base)
        # clerk runs and submits; the reviewer returns it with a comment
        walk.log_in("clerk")
        walk.run(M)
        assert "submitted" in walk.step(M, "submit")
        walk.log_out()
        walk.log_in("reviewer")
        driver.get(f"{base}/month/{M}/review?swing=900")      # causes traced for big swings only: keep it quick
        assert walk.find("#totals").text.startswith("合计对比")
        assert "draft" in walk.step(M, "return", "请核对夜班 check the night shifts")
        assert "请核对夜班 check the night shifts" in walk.find("#history").text
        walk.log_out()
        # clerk re-runs and resubmits; the reviewer passes, the approver approves, the clerk closes
        walk.log_in("clerk")
        walk.run(M)
        assert "submitted" in walk.step(M, "submit")
        walk.log_out()
        walk.log_in("reviewer")
        assert "reviewed" in walk.step(M, "pass")
        walk.log_out()
        walk.log_in("approver")
        assert "approved" in walk.step(M, "approve", "同意 approved")
        walk.log_out()
        walk.log_in("clerk")
        assert "closed" in walk.step(M, "close")
        walk.find("#month-files a[href$='/files/bank.csv']").click()       # the bank file: payment
        walk.log_out()
        # the employee sees only their own payslips and confirms March
        walk.log_in("employee")
        months = [row.get_attribute("data-month") for row in driver.find_elements(walk.by.CSS_SELECTOR,
                                                                                   "#my-payslips tr[data-month]")]
        assert months == ["2025-03", "2025-02", "2025-01"]
        driver.find_element(walk.by.LINK_TEXT, M).click()
        assert walk.find("#explanation").text.startswith(f"工资说明 {M}: {office.person_a}")
        walk.find("#confirm").click()
        assert "confirmed" in walk.find("#answer-state").text
        driver.get(base + f"/person?id={office.other_a}")
        assert "not allowed" in driver.title.lower() or "403" in driver.page_source or "不允许" in driver.title
        walk.log_out()
        # HR of unit A finds people of A only, sees the confirmation, downloads the payslip
        walk.log_in("hr")
        driver.get(base + "/")
        walk.find("#q").send_keys("FJ")
        walk.find("#search").click()
        found = [link.text for link in driver.find_elements(walk.by.CSS_SELECTOR, "#results a.person")]
        assert office.person_a in found and office.person_b not in found
        next(link for link in driver.find_elements(walk.by.CSS_SELECTOR, "#results a.person")
             if link.text == office.person_a).click()
        net = walk.find("#payslip tr[data-line='net_pay'] td.money").text
        assert "every amount equals the stored payslip" in walk.find("#check").text
        walk.find("#download").click()
        driver.get(base + f"/confirmations?month={M}")
        assert "已确认 confirmed" in walk.find(f"#confirmations tr[data-employee='{office.person_a}']").text
        target = downloads / f"payslip-{office.person_a}-{M}.xlsx"
        deadline = time.time() + 60
        while not target.exists() and time.time() < deadline:
            time.sleep(0.2)
        assert target.exists(), list(downloads.iterdir())
    finally:
        driver.quit()
    time.sleep(0.5)
    bank = downloads / f"bank-{M}.csv"
    deadline = time.time() + 60
    while not bank.exists() and time.time() < deadline:
        time.sleep(0.2)
    from payroll.web.routes.months import write_month_file
    write_month_file(app.state.office.cursor(), M, "bank.csv", tmp_path / "bank-expected.csv")
    assert bank.read_bytes() == (tmp_path / "bank-expected.csv").read_bytes()
    rows = list(openpyxl.load_workbook(target).active.iter_rows(values_only=True))
    assert rows[2][0] == office.person_a and rows[1][-1] == "实发工资"
    assert Decimal(str(rows[2][-1])).quantize(Decimal("0.01")) == Decimal(net.replace(",", ""))
    # every look at the person's pay left a trace
    looked = app.state.office.cursor().execute(
        "SELECT list(DISTINCT username ORDER BY username) FROM audit_log WHERE target = ? AND action IN "
        "('view_pay', 'download_payslip')", [office.person_a]).fetchall()[0][0]
    assert looked == ["employee", "hr"]
    shutil.rmtree(tmp_path / "profile", ignore_errors=True)


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8")


def test_the_serve_command_starts_on_localhost_with_a_first_admin(tmp_path):
    from payroll.db import connect
    db = tmp_path / "fresh.duckdb"
    connect(db).close()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "payroll.cli", "serve", "--db", str(db), "--port", str(port)],
                               env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline, status, page = time.time() + 120, None, ""
        while time.time() < deadline and status is None:
            try:
                status, page = _get(f"http://127.0.0.1:{port}/login")
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.3)
        assert status == 200 and "login-form" in page and "approval mode" in page
        assert (tmp_path / "fresh.duckdb.server.json").exists()
    finally:
        process.terminate()
        process.wait(30)
    told = process.stderr.read()
    assert "127.0.0.1" in told and "created user admin with password" in told.replace("\n", " ")
    assert not (tmp_path / "fresh.duckdb.server.json").exists()
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT username FROM user_roles WHERE role = 'admin'").fetchall() == [("admin",)]
