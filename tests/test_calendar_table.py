"""tables/calendar.csv overrides and extends the `holidays` package (payroll/calendar.py).

January 2027 by hand (a made-up arrangement for the test, NOT the State Council's: its notice for
2027 was not found): Fri 1/1 元旦 statutory; weekends 2–3, 9–10, 16–17, 23–24, 30–31 rest (10 days);
21 weekdays, so 20 working days + 1 statutory = 21 paid days.
"""
from __future__ import annotations

import csv
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import DATA, SHIPPED_TABLES, run_engine, run_payroll

from payroll import calendar as engine_calendar
from payroll.errors import InputError, PayrollError
from payroll.policy import load_policy

SIMPLE = DATA / "tables_simple"


@pytest.fixture(autouse=True)
def package_calendar_afterwards():
    yield
    engine_calendar.use_calendar_table(None)


def _tables_with(tmp_path: Path, rows: list[tuple[str, str, str]], base: Path = SIMPLE) -> Path:
    tables = tmp_path / "tables"
    shutil.copytree(base, tables, ignore=shutil.ignore_patterns("*.md"))
    path = tables / "calendar.csv"
    existing = list(csv.DictReader(open(path, encoding="utf-8"))) if path.exists() else []
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["date", "kind", "source"])
        writer.writerows([[r["date"], r["kind"], r["source"]] for r in existing])
        writer.writerows(rows)
    return tables


def test_the_shipped_table_is_the_package_for_2025_and_2026():
    engine_calendar.use_calendar_table(None)
    package_only = {year: engine_calendar.year_days(year) for year in (2025, 2026)}
    load_policy(SHIPPED_TABLES)          # installs tables/calendar.csv
    assert {year: engine_calendar.year_days(year) for year in (2025, 2026)} == package_only
    rows = list(csv.DictReader(open(SHIPPED_TABLES / "calendar.csv", encoding="utf-8")))
    assert {r["date"][:4] for r in rows} == {"2025", "2026"}
    assert sum(1 for r in rows if r["kind"] == "holiday" and r["date"].startswith("2026")) == 13


def test_the_table_wins_where_it_disagrees_with_the_package(tmp_path):
    # Tue 2025-05-06 is a working day in the package; the table makes it a day off, and makes the
    # working Sunday 2025-04-27 an ordinary Sunday again (as if the notice had been amended)
    tables = _tables_with(tmp_path, [("2025-05-06", "day_off", "test: an amended notice"),
                                     ("2025-04-27", "holiday", "test: an amended notice")])
    load_policy(tables)
    kinds = dict(engine_calendar.year_days(2025))
    assert kinds[date(2025, 5, 6)] == engine_calendar.RESTDAY
    assert kinds[date(2025, 4, 27)] == engine_calendar.STATUTORY
    # May 2025: 19 working + 3 statutory = 22 in the package; one working day fewer → 21
    assert engine_calendar.paid_days(2025, 5) == 21
    # April 2025: 22 working (with Sun 4/27) + 1 statutory = 23; 4/27 now statutory: still 23
    assert engine_calendar.paid_days(2025, 4) == 23


def test_the_reference_reads_the_table_too_and_agrees_with_the_engine(tmp_path):
    """tests/reference.py builds its calendar from the same calendar.csv (read with csv, not through
    payroll): a row that turns Tue 2025-05-06 into a day off changes both, and they still agree."""
    import reference
    tables = _tables_with(tmp_path, [("2025-05-06", "day_off", "test: an amended notice")])
    # hired Tue 5/6. May 2025 in the package: 22 weekdays less Mon 5/5 (补休 rest day) = 21, with
    # 5/1–5/2 statutory among them, + Sat 5/31 端午 statutory = 22 paid days; 21 with the row.
    # Employed 5/6–5/31: 19 weekdays + 5/31 = 20 paid days in the package, 19 with the row
    employee = {"employee_id": "P1", "name": "P1", "region_code": "100200", "unit": "U", "category": "civilian",
                "level": 1, "post": "TECH", "hire_date": date(2025, 5, 6), "leave_date": None,
                "service_start": None, "special_deduction": Decimal(0), "contribution_base": None}
    row = run_engine(tables, [employee], {}, "2025-05", "2025-05")[("P1", "2025-05")]
    ref = reference.compute_year([employee], {}, tables, ["2025-05"])[("P1", "2025-05")]
    assert (row["paid_days_employed"], row["paid_days_in_month"]) == (19, 21)
    assert (ref["paid_days_employed"], ref["paid_days_in_month"]) == (19, 21)
    # tables_simple pay_scale 000000,2020-01-01,civilian,1,8500: 8,500 × 19/21 = 7,690.476… → 7,690.48
    assert row["base_pay"] == ref["base_pay"] == Decimal("7690.48")
    for column in ("gross_pay", "pension_employee", "iit", "net_pay", "employer_cost"):
        assert row[column] == ref[column], column
    reference.use_calendar_rows(reference._shipped_calendar_rows())     # as at import, for later tests


JANUARY_2027 = [("2027-01-01", "holiday", "test: made-up arrangement, not the State Council notice")]


def test_2027_is_refused_naming_the_table_while_neither_knows_it(tmp_path):
    tables = _tables_with(tmp_path, [])
    load_policy(tables)
    with pytest.raises(PayrollError, match=r"2027.*calendar\.csv has no rows for it"):
        engine_calendar.paid_days(2027, 1)


def test_a_2027_run_works_once_the_notice_is_entered(tmp_path):
    tables = _tables_with(tmp_path, JANUARY_2027)
    load_policy(tables)
    assert engine_calendar.paid_days(2027, 1) == 21
    employee = {"employee_id": "P1", "name": "P1", "region_code": "100200", "unit": "U", "category": "civilian",
                "level": 1, "post": "TECH", "hire_date": date(2027, 1, 18), "leave_date": None,
                "service_start": None, "special_deduction": Decimal(0), "contribution_base": None}
    row = run_engine(tables, [employee], {}, "2027-01", "2027-01")[("P1", "2027-01")]
    # hired Mon 1/18: weekdays 18–22 and 25–29 = 10 of 21 paid days
    assert (row["paid_days_employed"], row["paid_days_in_month"]) == (10, 21)
    # tables_simple pay_scale 000000,2020-01-01,civilian,1,8500: 8,500 × 10/21 = 4,047.619… → 4,047.62
    assert row["base_pay"] == Decimal("4047.62")


def test_a_2027_run_through_the_cli_once_rows_are_added(tmp_path):
    tables = _tables_with(tmp_path, JANUARY_2027)
    db = tmp_path / "x.duckdb"
    employees = tmp_path / "employees.csv"
    employees.write_text("employee_id,name,region_code,unit,category,level,post,hire_date\n"
                         "P1,甲,100200,U,civilian,1,TECH,2020-01-01\n", encoding="utf-8")
    imported = run_payroll("import", "--db", db, "--tables", tables, "--employees", employees)
    assert imported.returncode == 0, imported.stderr
    ran = run_payroll("run", "--db", db, "--tables", tables, "--month", "2027-01")
    assert ran.returncode == 0, ran.stdout + ran.stderr


@pytest.mark.parametrize("row, message", [
    (("2025-05-06", "makeup_workday", "test"), "calendar.csv, row 2, column kind: 2025-05-06 is a weekday"),
    (("2025-05-10", "day_off", "test"), "calendar.csv, row 2, column kind: 2025-05-10 is a weekend day"),
    (("2025-05-06", "rest", "test"), "calendar.csv, row 2, column kind: 'rest' is not one of"),
    (("2025-02-30", "holiday", "test"), "calendar.csv, row 2, column date: '2025-02-30' is not a date"),
])
def test_a_bad_calendar_row_names_file_row_and_column(tmp_path, row, message):
    tables = _tables_with(tmp_path, [row])
    with pytest.raises(InputError) as caught:
        load_policy(tables)
    assert message in str(caught.value)


def test_the_same_date_twice_is_refused(tmp_path):
    tables = _tables_with(tmp_path, [("2027-01-01", "holiday", "a"), ("2027-01-01", "day_off", "b")])
    with pytest.raises(InputError, match=r"calendar\.csv, row 3, column date: repeats the key of row 2"):
        load_policy(tables)
