"""Issue 12, "nothing lost, nothing silent": an import changes only what its file gives, unknown
headers and implausible figures are refused, outputs go only onto regular files, CSV cells cannot
start a formula, and the wheel carries the policy tables. One test per defect of the issue."""
from __future__ import annotations

import csv
import os
import subprocess
import sys
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st, HealthCheck

from conftest import SHIPPED_TABLES, examples
from test_import import (ATTENDANCE_HEADER, EMPLOYEE_HEADER, attendance_rows, con, employee_rows,  # noqa: F401
                         load_good, policy, stored_attendance, stored_employee, tables_dir, write_csv)

from payroll.errors import InputError, PayrollError
from payroll.io.importer import import_files
from payroll.io.output import escape_formula, safe_output

ACCOUNT = "6222021234567890123"


def test_unknown_attendance_headers_are_refused_and_stored_hours_stay(con, policy, tmp_path):
    """Defect 1: 请假天数/病假天数/加班小时 imported with exit 0 and zeroed 12.5/8 h and 4 nights."""
    load_good(con, policy, tmp_path)
    before = stored_attendance(con, "E001", "2025-01")
    path = tmp_path / "unknown.csv"
    path.write_text("工号,月份,请假天数,病假天数,加班小时\nE001,2025-01,1,2,3\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        import_files(con, policy, attendance=path)
    text = str(caught.value)
    assert "column 请假天数: is not a column of the attendance file; closest known: 事假天数 (unpaid_leave_days)" in text
    assert "--ignore '加班小时'" in text
    assert stored_attendance(con, "E001", "2025-01") == before
    # dropped on purpose, the columns it lacks keep their stored values (12.5 h, 8 h, 4 nights)
    import_files(con, policy, attendance=path, ignore=("请假天数", "病假天数", "加班小时"))
    assert stored_attendance(con, "E001", "2025-01") == before


def _roster_with_accounts(tmp_path, rows=None) -> Path:
    rows = rows or employee_rows()
    for row in rows:
        row["bank_account"] = ACCOUNT
    return write_csv(tmp_path / "with_accounts.csv", EMPLOYEE_HEADER + ["bank_account"], rows)


def _account(con, employee_id):
    return con.execute("SELECT bank_account FROM employee_finance WHERE employee_id = ?",
                       [employee_id]).fetchall()[0][0]


def test_a_roster_without_optional_columns_keeps_their_stored_values(con, policy, tmp_path):
    """Defect 2: without the bank column the accounts were wiped; without special_deduction it
    became 0 and the next run taxed more."""
    import_files(con, policy, employees=_roster_with_accounts(tmp_path))
    header = [c for c in EMPLOYEE_HEADER if c != "special_deduction"]
    rows = [{k: v for k, v in r.items() if k in header} for r in employee_rows()]
    rows[0]["name"] = "张三丰"
    summary = import_files(con, policy, employees=write_csv(tmp_path / "lean.csv", header, rows))
    assert stored_employee(con, "E001")["name"] == "张三丰"
    assert stored_employee(con, "E001")["special_deduction"] == Decimal("1500.50")
    assert _account(con, "E001") == ACCOUNT
    assert "kept as stored (not in the file): special_deduction, bank_account" in str(summary)
    # --replace: the file is the whole record, absent columns go back to their defaults
    import_files(con, policy, employees=write_csv(tmp_path / "lean.csv", header, rows), replace=True)
    assert stored_employee(con, "E001")["special_deduction"] == Decimal("0")
    assert _account(con, "E001") is None


def test_an_empty_cell_over_a_stored_value_is_refused_unless_asked(con, policy, tmp_path):
    import_files(con, policy, employees=_roster_with_accounts(tmp_path))
    rows = employee_rows()
    for row in rows:
        row["bank_account"] = ""
    emptied = write_csv(tmp_path / "emptied.csv", EMPLOYEE_HEADER + ["bank_account"], rows)
    with pytest.raises(InputError) as caught:
        import_files(con, policy, employees=emptied)
    text = str(caught.value)
    assert "emptied.csv, row 2, column bank_account: is empty, but E001 has a stored bank_account" in text
    assert ACCOUNT not in text                              # personal data is never quoted
    assert _account(con, "E001") == ACCOUNT
    import_files(con, policy, employees=emptied, clear_empty=True)
    assert _account(con, "E001") is None


def test_a_title_row_above_the_header_is_named(con, policy, tmp_path):
    path = tmp_path / "titled.csv"
    rows = [["2025年1月花名册"] + [""] * (len(EMPLOYEE_HEADER) - 1), EMPLOYEE_HEADER,
            [employee_rows()[0][c] for c in EMPLOYEE_HEADER]]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    with pytest.raises(InputError) as caught:
        import_files(con, policy, employees=path)
    assert len(caught.value.problems) == 1
    assert "row 1 ('2025年1月花名册') looks like a title, not the header" in str(caught.value)


OPTIONAL_EMPLOYEE = ["id_number", "leave_date", "service_start", "special_deduction", "contribution_base",
                     "bank_account"]
OPTIONAL_ATTENDANCE = ATTENDANCE_HEADER[2:]
STORED_EMPLOYEE = ["id_number_masked", "leave_date", "service_start", "special_deduction", "contribution_base"]


def _snapshot(con) -> dict:
    employees = {r[0]: r[1:] for r in con.execute(
        f"SELECT employee_id, {', '.join(STORED_EMPLOYEE)}, f.bank_account FROM employees "
        "LEFT JOIN employee_finance f USING (employee_id)").fetchall()}
    attendance = {(r[0], r[1]): r[2:] for r in con.execute(
        f"SELECT employee_id, month, {', '.join(OPTIONAL_ATTENDANCE)} FROM attendance").fetchall()}
    return {"employees": employees, "attendance": attendance}


@settings(max_examples=examples(8), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                            HealthCheck.too_slow])
@given(employee_columns=st.sets(st.sampled_from(OPTIONAL_EMPLOYEE)),
       attendance_columns=st.sets(st.sampled_from(OPTIONAL_ATTENDANCE)),
       new_values=st.integers(1, 9))
def test_reimporting_any_subset_of_columns_changes_no_value_outside_the_file(
        policy, tmp_path_factory, employee_columns, attendance_columns, new_values):
    """Re-import random subsets of the optional columns with new values: every stored value of a
    column not in the file is unchanged; every column in the file holds the file's value."""
    from payroll.db import connect
    directory = tmp_path_factory.mktemp("subset")
    con = connect(directory / "s.duckdb")
    try:
        import_files(con, policy, employees=_roster_with_accounts(directory),
                     attendance=write_csv(directory / "a.csv", ATTENDANCE_HEADER, attendance_rows()))
        before = _snapshot(con)
        e_header = [c for c in EMPLOYEE_HEADER + ["bank_account"]
                    if c not in OPTIONAL_EMPLOYEE or c in employee_columns]
        rows = employee_rows()
        for row in rows:
            row.update(special_deduction=f"{new_values}00", contribution_base=f"{new_values}000",
                       bank_account=f"{ACCOUNT[:-1]}{new_values}")
        a_header = ATTENDANCE_HEADER[:2] + [c for c in OPTIONAL_ATTENDANCE if c in attendance_columns]
        marks = [{k: (str(new_values) if k in OPTIONAL_ATTENDANCE else v) for k, v in r.items()}
                 for r in attendance_rows()]
        import_files(con, policy, employees=write_csv(directory / "e2.csv", e_header, rows),
                     attendance=write_csv(directory / "a2.csv", a_header, marks))
        after = _snapshot(con)
        stored_names = STORED_EMPLOYEE + ["bank_account"]
        file_of = {"id_number_masked": "id_number"}
        for employee_id, values in after["employees"].items():
            for name, old, new in zip(stored_names, before["employees"][employee_id], values):
                if file_of.get(name, name) not in employee_columns:
                    assert new == old, (employee_id, name)
                elif name == "special_deduction":
                    assert new == Decimal(f"{new_values}00")
        for key, values in after["attendance"].items():
            for name, old, new in zip(OPTIONAL_ATTENDANCE, before["attendance"][key], values):
                if name not in attendance_columns:
                    assert new == old, (key, name)
                else:
                    assert new == int(new_values) or new == Decimal(new_values), (key, name)
    finally:
        con.close()


# ---------------------------------------------------------------- plausibility (defect 4)


@pytest.fixture()
def shipped(tmp_path):
    from payroll.db import connect
    from payroll.policy import load_policy
    connection = connect(tmp_path / "shipped.duckdb")
    policy = load_policy(SHIPPED_TABLES)
    import_files(connection, policy, employees=write_csv(tmp_path / "e.csv", EMPLOYEE_HEADER, employee_rows()[:1]))
    yield connection, policy
    connection.close()


@pytest.mark.parametrize("row, phrase", [
    (dict(month="2025-01", overtime_workday_hours="700"),
     "700 overtime hours in one month is more than the plausible 200"),
    (dict(month="2025-02", unpaid_leave_days="25"),
     "25 days of unpaid leave is more than the 19 paid days of 2025-02"),      # Feb 2025: 19 paid days
    (dict(month="2020-01"), "'2020-01' is before the hire month 2020-03"),     # E001 hired 2020-03-01
])
def test_implausible_attendance_is_refused(shipped, tmp_path, row, phrase):
    con, policy = shipped
    path = write_csv(tmp_path / "odd.csv", ["employee_id", *row], [dict(employee_id="E001", **row)])
    with pytest.raises(InputError, match=phrase):
        import_files(con, policy, attendance=path)
    assert con.execute("SELECT count(*) FROM attendance").fetchall()[0][0] == 0


def test_overtime_above_the_legal_cap_warns(shipped, tmp_path):
    con, policy = shipped
    path = write_csv(tmp_path / "long.csv", ["employee_id", "month", "overtime_workday_hours"],
                     [dict(employee_id="E001", month="2025-01", overtime_workday_hours="40")])
    summary = import_files(con, policy, attendance=path)
    assert "more than 36 overtime hours in a month, above the legal cap (劳动法 art. 41)" in str(summary)


def test_a_deduction_above_the_import_limit_exits_2_naming_row_and_column(shipped, tmp_path, capsys):
    """99,999,999 (defect 4) is above deduction_monthly_import_limit (500,000): refused, nothing written."""
    from payroll.cli import run_cli
    con, policy = shipped
    path = write_csv(tmp_path / "typo.csv", ["employee_id", "month", "deduction"],
                     [dict(employee_id="E001", month="2025-01", deduction="99999999")])
    database = str(tmp_path / "shipped.duckdb")          # the fixture's database
    con.close()
    assert run_cli(["import", "--attendance", str(path), "--db", database, "--tables", str(SHIPPED_TABLES)]) == 2
    error = capsys.readouterr().err
    assert "typo.csv, row 2, column deduction: a deduction of 99,999,999.00 yuan in one month is more than " \
           "the plausible 500,000.00" in error
    from payroll.db import connect
    reopened = connect(Path(database))
    try:
        assert reopened.execute("SELECT count(*) FROM attendance").fetchall()[0][0] == 0
    finally:
        reopened.close()


def test_a_deduction_above_a_months_contract_pay_warns_and_is_kept(shipped, tmp_path):
    # E001: Nantong 320600, duty level 1, post PATROL (high risk), service since 2018-01-01.
    # Contract pay in force on 2025-01-01: pay_scale 320600 duty 1 = 11,140; allowances (000000):
    # duty 550 + living 400 + transport 200 + high-risk 400 = 1,550; seniority 50 × 7 years = 350;
    # 11,140 + 1,550 + 350 = 13,040.00. A deduction of 13,040.00 is at the edge (no note),
    # 13,040.01 is above it (a note naming row and column), 500,000 itself is still accepted.
    con, policy = shipped
    rows = [dict(employee_id="E001", month="2025-01", deduction="13040.00"),
            dict(employee_id="E001", month="2025-02", deduction="13040.01", deduction_kind="damages"),
            dict(employee_id="E001", month="2025-03", deduction="500000")]
    path = write_csv(tmp_path / "big.csv", ["employee_id", "month", "deduction", "deduction_kind"], rows)
    text = str(import_files(con, policy, attendance=path))
    assert "big.csv row 2 column deduction" not in text
    assert ("big.csv row 3 column deduction: a deduction of 13,040.01 is more than E001's contract pay for a "
            "full month (13,040.00") in text
    assert "carries the rest as a balance owed" in text
    assert "big.csv row 4 column deduction: a deduction of 500,000.00" in text
    stored = con.execute("SELECT month, CAST(deduction AS VARCHAR) FROM attendance ORDER BY month").fetchall()
    assert stored == [("2025-01", "13040.00"), ("2025-02", "13040.01"), ("2025-03", "500000.00")]


def test_contract_pay_at_import_equals_the_engines_full_month_pay(engine):
    """The import's bound is the engine's base + seniority + allowances + high-risk pay of a full
    month without leave (two regions, both categories, a high-risk and a normal post)."""
    from conftest import ROSTER
    from payroll.io.plausibility import contract_monthly_pay
    from payroll.policy import load_policy
    policy = load_policy(SHIPPED_TABLES)
    people = [dict(zip(("employee_id", "name", "region_code", "unit", "category", "level", "post",
                        "hire_date", "leave_date"), row[:9])) for row in ROSTER if row[0] in ("H1", "O1", "Z1")]
    slips = engine(SHIPPED_TABLES, [{**p, "hire_date": date.fromisoformat(p["hire_date"])} for p in people],
                   {}, "2025-06", "2025-06")
    for person in people:
        slip = slips[(person["employee_id"], "2025-06")]
        full = slip["base_pay"] + slip["seniority_pay"] + slip["allowances"] + slip["high_risk_allowance"]
        bound = contract_monthly_pay(policy, pd.Series({**person, "service_start": ""}), "2025-06")
        assert bound == full, person["employee_id"]


def test_the_demo_folder_is_ignored_by_git():
    """Defect 9: `payroll demo` writes demo/ (a database and reports with synthetic people); it
    must not show up as files to commit."""
    ignored = (Path(__file__).resolve().parent.parent / ".gitignore").read_text(encoding="utf-8").split()
    assert "demo/" in ignored or "/demo/" in ignored


# ---------------------------------------------------------------- outputs (defects 5, 6)


def test_outputs_go_only_onto_regular_files(tmp_path):
    target = tmp_path / "target.csv"
    target.write_text("old\n")
    link = tmp_path / "link.csv"
    os.symlink(target, link)
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    for special in (link, fifo, Path("/dev/null")):
        with pytest.raises(PayrollError, match="not a regular file"):
            with safe_output(special) as temporary:
                temporary.write_text("new\n")
    assert link.is_symlink() and target.read_text() == "old\n" and Path("/dev/null").is_char_device()
    with safe_output(link, force=True) as temporary:           # forced: the link's target is replaced
        temporary.write_text("new\n")
    assert link.is_symlink() and target.read_text() == "new\n"
    with safe_output(target) as temporary:
        temporary.write_text("newer\n")
    assert target.read_text() == "newer\n" and sorted(p.name for p in tmp_path.iterdir()) == [
        "link.csv", "pipe.csv", "target.csv"]                  # no temporary file left behind


def test_csv_cells_cannot_start_a_formula():
    assert escape_formula("=HYPERLINK(\"http://x\")") == "'=HYPERLINK(\"http://x\")"
    assert [escape_formula(v) for v in ("+cmd", "-2+3", "@SUM(A1)", "\t=1", "\r=1")] == [
        "'+cmd", "'-2+3", "'@SUM(A1)", "'\t=1", "'\r=1"]
    assert [escape_formula(v) for v in ("-5.00", "新城分局", 12, None)] == ["-5.00", "新城分局", 12, None]


@pytest.mark.parametrize("value", ["=1+1", "+cmd", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "-5.00", "+12", "-0.5",
                                   "1-2", "新城分局", "＝1", "", " =1", "=", "-", "-5.", None])
def test_the_sql_formula_escape_is_the_python_one(value):
    """COPY's cells (escape_formula_sql) and csv.writer's (escape_formula) are escaped alike."""
    import duckdb

    from payroll.io.output import escape_formula_sql
    escaped = duckdb.execute(f"SELECT {escape_formula_sql('CAST($1 AS VARCHAR)')}", [value]).fetchall()[0][0]
    assert escaped == escape_formula(value)


def test_register_and_bank_csv_escape_formula_cells(engine, tmp_path):
    from payroll.db import connect
    from payroll.reports.bank import export_bank
    from payroll.reports.register import export_register

    con = connect(":memory:")
    people = [dict(employee_id="X1", name="=cmd|'/C calc'!A0", region_code="330100", unit="=1+1",
                   category="duty", level=4, post="PATROL", hire_date="2015-01-01", special_deduction=0)]
    engine(SHIPPED_TABLES, people, {}, "2025-01", "2025-01", con=con)
    con.execute("INSERT INTO employee_finance (employee_id, bank_account) VALUES ('X1', ?)", [ACCOUNT])
    export_register(con, "2025-01", "csv", tmp_path / "register.csv")
    export_bank(con, "2025-01", "csv", tmp_path / "bank.csv")
    register = (tmp_path / "register.csv").read_text(encoding="utf-8-sig")
    bank = (tmp_path / "bank.csv").read_text(encoding="utf-8-sig")
    assert ",'=1+1," in register and ",=1+1," not in register
    assert "'=cmd|'/C calc'!A0" in bank
    for line in csv.reader(bank.splitlines()[1:]):
        assert not any(cell.startswith(("=", "+", "@")) for cell in line)


# ---------------------------------------------------------------- packaging (defect 8)


def _build_wheel(directory: Path) -> Path:
    root = Path(__file__).resolve().parent.parent
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(directory), str(root)],
                   check=True, capture_output=True, timeout=600)
    return next(directory.glob("fujing_payroll-*.whl"))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    return _build_wheel(tmp_path_factory.mktemp("wheel"))


def test_the_wheel_carries_the_policy_tables(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {f"payroll/tables/{p.name}" for p in SHIPPED_TABLES.glob("*.csv")}
    assert shipped and shipped <= names
    assert "payroll/web/static/style.css" in names
    metadata = next(n for n in names if n.endswith("METADATA"))
    requires = [line for line in zipfile.ZipFile(wheel).read(metadata).decode().splitlines()
                if line.startswith("Requires-Dist: openpyxl")]
    assert requires and all("extra ==" in line for line in requires)        # openpyxl is dev-only


@pytest.mark.slow
def test_the_wheel_installed_in_a_fresh_venv_runs_the_demo(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(wheel)], check=True, timeout=1200,
                   capture_output=True)
    env = {k: v for k, v in os.environ.items() if k not in ("PAYROLL_DB", "PAYROLL_TABLES")}
    done = subprocess.run([str(venv / "bin" / "payroll"), "demo", "--people", "300", "--out", str(tmp_path / "d")],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=1200)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "d" / "register-2025-12.xlsx").is_file()


def test_run_reports_negative_net_pay_as_an_error(capsys):
    """Defect 4: 10 people with a total net of −485,383.84 ran with exit 0 and no word."""
    import duckdb
    from payroll.cli import _report_negative_net

    con = duckdb.connect(":memory:")
    con.execute("CREATE TABLE payslips (month VARCHAR, employee_id VARCHAR, net_pay DECIMAL(18,2))")
    con.execute("INSERT INTO payslips VALUES ('2025-02', 'A', 10.00), ('2025-02', 'B', -1446.75)")
    assert _report_negative_net(con, "2025-01", "2025-01") == 0                 # none below 0 there
    assert capsys.readouterr().err == ""
    assert _report_negative_net(con, "2025-01", "2025-02") == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "error: 1 payslip(s) with negative net pay: B 2025-02 -1,446.75" in err


def test_compare_with_a_month_never_run_says_so(engine, tmp_path):
    """Defect 10: `explain --compare` against a month never run showed figures with no note."""
    from payroll.db import connect
    from payroll.policy import load_policy
    from payroll.reports.compare import compare_months, comparison_json, comparison_text
    from payroll.reports.explain import Explainer

    con = connect(tmp_path / "c.duckdb")
    people = [dict(employee_id="X1", name="甲", region_code="330100", unit="西湖分局", category="duty", level=4,
                   post="PATROL", hire_date="2015-01-01", special_deduction=0)]
    engine(SHIPPED_TABLES, people, {}, "2025-01", "2025-02", con=con)
    explainer = Explainer(con, load_policy(SHIPPED_TABLES))
    ran = compare_months(explainer, "X1", "2025-01", "2025-02")
    assert ran.not_run == () and "not been run" not in comparison_text(ran)
    hypothetical = compare_months(explainer, "X1", "2025-02", "2025-03")
    assert hypothetical.not_run == ("2025-03",)
    assert "2025-03 has not been run: those figures are computed now" in comparison_text(hypothetical)
    assert '"not_run": [\n    "2025-03"\n  ]' in comparison_json(hypothetical)


def test_an_id_typed_as_an_excel_number_is_named_as_such(con, policy, tmp_path):
    """Defect 12: 18-digit IDs typed as Excel numbers were reported as checksum failures."""
    from test_import import write_xlsx
    rows = [[r[c] for c in EMPLOYEE_HEADER] for r in employee_rows()]
    rows[2][EMPLOYEE_HEADER.index("id_number")] = int(rows[2][EMPLOYEE_HEADER.index("id_number")])  # a number
    with pytest.raises(InputError) as caught:
        import_files(con, policy, employees=write_xlsx(tmp_path / "typed.xlsx", EMPLOYEE_HEADER, rows))
    assert [str(p) for p in caught.value.problems] == [
        "typed.xlsx, row 4, column id_number: is stored as a number by Excel, which keeps only 15 digits: "
        "format the column as text and type the ID numbers again"]


# ---------------------------------------------------------------- opening balances (defect 11)

OPENING_PERSON = dict(employee_id="M1", name="迁入", region_code="330100", unit="西湖分局", category="duty", level=4,
                      post="PATROL", hire_date=date(2015, 1, 1), leave_date=None, service_start=None,
                      special_deduction=Decimal("1000"), contribution_base=None)


@settings(max_examples=examples(6), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(through=st.integers(1, 10), income=st.integers(0, 30_000_000), contributions=st.integers(0, 3_000_000),
       special=st.integers(0, 2_000_000), iit=st.integers(0, 2_000_000), employed=st.integers(0, 10))
def test_a_first_run_continues_from_the_opening_balances(through, income, contributions, special, iit, employed):
    """The engine against the scalar reference, which takes the opening figures as inputs: the two
    months after the opening carry 累计收入, 累计专项扣除, 累计专项附加扣除, 已扣税 and months employed."""
    import reference
    from conftest import run_engine
    from payroll.db import connect

    employed = min(employed, through)
    opening = dict(year=2025, month=through, income_ytd=Decimal(income) / 100,
                   contributions_ytd=Decimal(contributions) / 100, special_deduction_ytd=Decimal(special) / 100,
                   iit_ytd=Decimal(iit) / 100, months_employed=employed)
    con = connect(":memory:")
    con.execute("INSERT INTO opening_balances VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                ["M1", 2025, through, opening["income_ytd"], opening["contributions_ytd"],
                 opening["special_deduction_ytd"], opening["iit_ytd"], employed])
    first, last = f"2025-{through + 1:02d}", f"2025-{through + 2:02d}"
    engine = run_engine(SHIPPED_TABLES, [OPENING_PERSON], {}, first, last, con=con)
    expected = reference.compute_year([dict(OPENING_PERSON, opening=opening)], {}, SHIPPED_TABLES,
                                      reference.month_range(first, last))
    for key, row in expected.items():
        for column in ("months_employed_ytd", "taxable_income_ytd", "iit_ytd", "iit", "net_pay"):
            assert engine[key][column] == row[column], (key, column, engine[key][column], row[column])
    assert engine[("M1", first)]["months_employed_ytd"] == employed + 1


def test_import_opening_loads_and_explain_starts_from_it(tmp_path):
    from payroll.db import connect
    from payroll.policy import load_policy

    con = connect(tmp_path / "o.duckdb")
    policy = load_policy(SHIPPED_TABLES)
    row = {c: v for c, v in employee_rows()[0].items()}
    import_files(con, policy, employees=write_csv(tmp_path / "e.csv", EMPLOYEE_HEADER, [row]))
    path = tmp_path / "opening.csv"
    path.write_text("工号,年度,月份,累计收入,累计专项扣除,累计专项附加扣除,累计已扣税,累计受雇月份\n"
                    "E001,2025,6,90000,9000,6000,1200.50,6\n", encoding="utf-8")
    summary = import_files(con, policy, opening=path)
    assert "opening balances: 1 rows" in str(summary)
    assert con.execute("SELECT income_ytd, iit_ytd, months_employed FROM opening_balances").fetchall() == [
        (Decimal("90000.00"), Decimal("1200.50"), 6)]
    bad = tmp_path / "bad_opening.csv"
    bad.write_text("employee_id,year,month,income_ytd,contributions_ytd,special_deduction_ytd,iit_ytd,"
                   "months_employed\nE001,2025,12,1,1,1,1,7\n", encoding="utf-8")
    with pytest.raises(InputError, match="column month: .*12.* more than 11|month"):
        import_files(con, policy, opening=bad)
