"""The month's files for finance in the browser (issue 18: a month run through approval to payment in
the browser): each file is what `payroll export` writes for the month, the bank file only once the
month is closed, only for users whose units hold everyone paid in it, and every download audited."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook
from starlette.testclient import TestClient

from payroll.db import EMPLOYEE_FINANCE_DDL, connect
from payroll.office import audit, workflow
from payroll.office.users import Grant, add_user
from payroll.web.app import create_app
from payroll.web.routes.months import write_month_file
from web_site import PASSWORD, csrf_of, log_in

CLOSED, OPEN = "2025-01", "2025-03"


@pytest.fixture(scope="module")
def site(office_site, tmp_path_factory):
    """The office with bank accounts, January approved by three people and closed, and a clerk of
    unit A only."""
    folder = tmp_path_factory.mktemp("files")
    db = folder / "files.duckdb"
    shutil.copy(office_site.db, db)
    con = connect(db)
    con.execute(EMPLOYEE_FINANCE_DDL)
    con.execute("INSERT INTO employee_finance (employee_id, bank_account) "
                "SELECT employee_id, '6222020' || lpad(CAST(hash(employee_id) % 1000000000000 AS VARCHAR), 12, '0') "
                "FROM employees")
    for step, user in (("submit", "clerk"), ("pass", "reviewer"), ("approve", "approver")):
        workflow.advance(con, CLOSED, step, user)
    workflow.close_month(con, CLOSED, "clerk")
    add_user(con, "clerk_a", PASSWORD, [Grant("clerk", office_site.unit_a, True)])
    con.close()
    return office_site, db, folder


def _expected(db, month: str, name: str, folder) -> bytes:
    con = connect(db)
    try:
        path = folder / f"expected-{month}-{name}"
        write_month_file(con, month, name, path)
        return path.read_bytes()
    finally:
        con.close()


def _cells(body: bytes, folder, name: str) -> list:
    path = folder / name
    path.write_bytes(body)
    book = CalamineWorkbook.from_path(str(path))
    return [(sheet, book.get_sheet_by_name(sheet).to_python()) for sheet in book.sheet_names]


def test_each_file_is_the_exports_and_each_download_is_audited(site):
    office_site, db, folder = site
    expected = {(m, n): _expected(db, m, n, folder) for m, n in (
        (OPEN, "register.csv"), (OPEN, "register.xlsx"), (OPEN, "payslips.xlsx"), (OPEN, "contributions.xlsx"),
        (OPEN, "summary.xlsx"), (CLOSED, "bank.csv"), (CLOSED, "bank.xlsx"))}
    with TestClient(create_app(str(db), None), follow_redirects=False) as client:
        assert log_in(client, "clerk").status_code == 303
        page = client.get(f"/month/{CLOSED}").text
        assert f"/month/{CLOSED}/files/bank.csv" in page and f"/month/{OPEN}/files/bank.csv" not in \
            client.get(f"/month/{OPEN}").text
        for (month, name), body in expected.items():
            answer = client.get(f"/month/{month}/files/{name}")
            assert answer.status_code == 200, (name, answer.text[:300])
            assert answer.headers["content-disposition"].endswith(f"-{month}.{name.rsplit('.', 1)[1]}")
            if name.endswith(".csv"):
                assert answer.content == body, name
            else:   # xlsxwriter stamps the time of writing: the same sheets and cells
                assert _cells(answer.content, folder, f"got-{name}") == _cells(body, folder, f"want-{name}"), name
    con = connect(db)
    exported = [(e["target"], e["detail"]) for e in reversed(audit.entries(con, action="export"))]
    con.close()
    assert exported[-len(expected):] == list(expected)


def test_the_bank_file_waits_for_the_month_to_be_closed(site):
    _, db, _ = site
    with TestClient(create_app(str(db), None), follow_redirects=False) as client:
        assert log_in(client, "clerk").status_code == 303
        answer = client.get(f"/month/{OPEN}/files/bank.xlsx")
        assert answer.status_code == 400 and "结账后" in answer.text
        for name in ("tax.xlsx", "register.pdf"):                             # only the named files
            answer = client.get(f"/month/{OPEN}/files/{name}")
            assert answer.status_code == 400 and "register.xlsx, register.csv" in answer.text, name
        answer = client.get(f"/month/{OPEN}/files/..%2F..%2Fbank.csv")       # a path is never a file name
        assert answer.status_code in (400, 404) and "content-disposition" not in answer.headers


def test_a_clerk_of_one_unit_gets_no_file_holding_other_units(site):
    office_site, db, _ = site
    with TestClient(create_app(str(db), None), follow_redirects=False) as client:
        assert log_in(client, "clerk_a").status_code == 303
        answer = client.get(f"/month/{OPEN}/files/register.csv")
        assert answer.status_code == 403 and "outside" in answer.text
        for role in ("hr", "reviewer", "approver", "employee", "admin"):
            other = TestClient(client.app, follow_redirects=False)
            assert log_in(other, role).status_code == 303
            assert other.get(f"/month/{OPEN}/files/register.csv").status_code == 403, role
    con = connect(db)
    denied = [e for e in audit.entries(con, action="denied") if e["username"] == "clerk_a"]
    con.close()
    assert denied and "register.csv" in denied[0]["detail"]


def test_the_tax_declaration_from_an_uploaded_hr_file_is_the_exports_and_the_file_is_not_kept(site, tmp_path,
                                                                                               monkeypatch):
    """The HR file (full ID numbers) goes up with the request, makes the declaration `payroll export
    --what tax` makes from it, and is left nowhere: not in the database, not in the temp folder."""
    import tempfile
    from payroll.reports.tax import export_tax
    from payroll.synth import synth_roster, write_roster_files
    _, db, _ = site
    employees, attendance = synth_roster(60, seed=31, year=2025)        # the site's roster (explain_demo)
    hr_file, _ = write_roster_files(employees, attendance, tmp_path)
    con = connect(db)
    expected = export_tax(con, OPEN, hr_file, tmp_path / "expected.xlsx").path.read_bytes()
    con.close()
    private = tmp_path / "server-temp"             # the server's temporary files, apart from other tests'
    private.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private))
    with TestClient(create_app(str(db), None), follow_redirects=False) as client:
        assert log_in(client, "clerk").status_code == 303
        page = client.get(f"/month/{OPEN}").text
        answer = client.post(f"/month/{OPEN}/files/tax", data={"csrf": csrf_of(page)},
                             files={"employees": ("人事.csv", hr_file.read_bytes(), "text/csv")})
        assert answer.status_code == 200, answer.text[:500]
        assert _cells(answer.content, tmp_path, "got.xlsx") == _cells(expected, tmp_path, "want.xlsx")
        no_csrf = client.post(f"/month/{OPEN}/files/tax", data={},
                              files={"employees": ("人事.csv", hr_file.read_bytes(), "text/csv")})
        assert no_csrf.status_code == 403
    assert list(private.iterdir()) == []
    con = connect(db)
    last = audit.entries(con, action="export", limit=1)[0]
    kept = con.execute("SELECT count(*) FROM employees WHERE id_number_masked LIKE '%*%'").fetchall()[0][0]
    con.close()
    assert (last["target"], last["detail"]) == (OPEN, "tax.xlsx with the HR file 人事.csv")
    assert kept == 60            # the database still holds masked ID numbers only
