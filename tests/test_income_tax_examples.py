"""Cumulative withholding (国家税务总局公告2018年第61号 art. 6) and 公告2020年第19号, on worked examples
(china-rules.md D), run through the engine on tests/data/tables_iit_example/.

Tables (tests/data/tables_iit_example/):
- region 999901 (under 999900 under 000000): pension 8 %, medical 2 %, unemployment 0.5 %, housing
  fund 4.5 % employee rates, base 1,000–100,000: on 30,000 that is 2,400 + 600 + 150 + 1,350 = 4,500;
- region 999902: every rate 0 (no contributions);
- pay_scale 999900 duty 1 = 30,000; duty 3 = 5,000 (2024) then 6,000 (2025); duty 2 = 5,001 (2024)
  then 6,000 (2025); no allowances, no accident insurance, minimum wage 2,000 (below every pay).
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import lru_cache

import pytest
import reference
from conftest import DATA, SHIPPED_TABLES

EXAMPLE_TABLES = DATA / "tables_iit_example"


@lru_cache(maxsize=None)
def example_tables():
    """The examples' own region, pay and contribution tables (tests/data/tables_iit_example) with the
    shipped national parameters (the basic deduction, No. 19's 60,000 and its income limit) and tax
    tables: the official examples check the figures a run reads, not copies of them (a mutant of
    the shipped income limit passed when they read a copy). Made once per process."""
    import atexit
    import shutil
    import tempfile
    from pathlib import Path
    folder = Path(tempfile.mkdtemp(prefix="iit-example-tables-")) / "tables"
    atexit.register(shutil.rmtree, folder.parent, True)
    shutil.copytree(EXAMPLE_TABLES, folder)
    for name in ("national_parameters", "iit_brackets", "iit_bonus_brackets"):
        shutil.copyfile(SHIPPED_TABLES / f"{name}.csv", folder / f"{name}.csv")
    return folder

MONTHS_2025 = [f"2025-{m:02d}" for m in range(1, 13)]


def person(eid, region, level, hire, special=0):
    return {"employee_id": eid, "name": eid, "region_code": region, "unit": "T", "category": "duty",
            "level": level, "post": "DESK", "hire_date": hire, "leave_date": None, "service_start": None,
            "special_deduction": Decimal(special), "contribution_base": None}


ROSTER = [
    # the 61号 interpretation example: 30,000 a month, 专项扣除 4,500, 专项附加扣除 2,000, from January
    person("EX61", "999901", 1, date(2025, 1, 1), special=2000),
    # No. 19: paid every month of 2024, 5,000 × 12 = 60,000 ≤ 60,000; 6,000 a month in 2025
    person("NO19", "999902", 3, date(2020, 3, 1)),
    # counter-case: hired 2024-02-01, only 11 payslips in 2024
    person("MISS", "999902", 3, date(2024, 2, 1)),
    # counter-case: 12 payslips in 2024 but 5,001 × 12 = 60,012 > 60,000
    person("OVER", "999902", 2, date(2020, 3, 1)),
]

EX61_IIT = [555, 625, 1850, 1850, 1850, 1850, 1850, 2250, 3700, 3700, 3700, 3700]
NO19_IIT = [0] * 10 + [180, 180]


@pytest.fixture(scope="module")
def cli_year(tmp_path_factory):
    """As a user would: `payroll import` an employees CSV of ROSTER, `payroll run` 2024 and 2025 (the
    engine's months, once for every test here): (the database, the two commands' results)."""
    from conftest import run_payroll

    folder = tmp_path_factory.mktemp("iit_example")
    employees = folder / "employees.csv"
    employees.write_text("工号,姓名,地区代码,单位,类别,层级,岗位,入职日期,专项附加扣除\n" + "".join(
        f"{p['employee_id']},{p['name']},{p['region_code']},{p['unit']},{p['category']},{p['level']},"
        f"{p['post']},{p['hire_date']},{p['special_deduction']}\n" for p in ROSTER), encoding="utf-8")
    db = folder / "cli.duckdb"
    common = ["--db", str(db), "--tables", str(example_tables())]
    results = [run_payroll(*args, *common) for args in
               (["import", "--employees", str(employees)], ["run", "--month", "2024-01", "--through", "2025-12"])]
    return db, results


@pytest.fixture(scope="module")
def payslips(cli_year):
    """{(employee_id, month): payslip row as a dict} of the run (as conftest.run_engine returns them)."""
    import duckdb
    db, results = cli_year
    for result in results:
        assert result.returncode == 0, result.stdout + result.stderr
    with duckdb.connect(str(db), read_only=True) as con:
        cursor = con.execute("SELECT * FROM payslips ORDER BY month, employee_id")
        names = [d[0] for d in cursor.description]
        return {(row[0], row[1]): dict(zip(names, row)) for row in cursor.fetchall()}


@pytest.fixture(scope="module")
def reference_payslips():
    return reference.compute_year(ROSTER, {}, example_tables(), reference.month_range("2024-01", "2025-12"))


def test_the_example_has_the_stated_inputs(payslips):
    for month in MONTHS_2025:
        row = payslips[("EX61", month)]
        assert row["gross_pay"] == Decimal("30000.00")
        assert (row["pension_employee"], row["medical_employee"], row["unemployment_employee"],
                row["housing_fund_employee"]) == (Decimal("2400.00"), Decimal("600.00"),
                                                  Decimal("150.00"), Decimal("1350.00"))


def test_61_example_month_by_month(payslips):
    got = [payslips[("EX61", m)]["iit"] for m in MONTHS_2025]
    assert got == [Decimal(v) for v in EX61_IIT]
    assert sum(got) == Decimal("27480")
    assert payslips[("EX61", "2025-12")]["iit_ytd"] == Decimal("27480.00")
    # December: 12 × (30,000 − 5,000 − 4,500 − 2,000) = 222,000 cumulative taxable income
    assert payslips[("EX61", "2025-12")]["taxable_income_ytd"] == Decimal("222000.00")
    assert payslips[("EX61", "2025-02")]["taxable_income_ytd"] == Decimal("37000.00")


def test_no19_previous_year_qualifies(payslips):
    assert [payslips[("NO19", f"2024-{m:02d}")]["gross_pay"] for m in range(1, 13)] == [Decimal("5000.00")] * 12
    got = [payslips[("NO19", m)]["iit"] for m in MONTHS_2025]
    assert got == [Decimal(v) for v in NO19_IIT]
    # November: 66,000 − 60,000 = 6,000 × 3 % = 180; December: 12,000 × 3 % − 180 = 180
    assert payslips[("NO19", "2025-11")]["taxable_income_ytd"] == Decimal("6000.00")
    assert payslips[("NO19", "2025-12")]["taxable_income_ytd"] == Decimal("12000.00")


def test_no19_needs_every_month_of_last_year(payslips):
    assert ("MISS", "2024-01") not in payslips
    assert ("MISS", "2024-02") in payslips
    # (6,000 − 5,000) × 3 % = 30, every month
    assert [payslips[("MISS", m)]["iit"] for m in MONTHS_2025] == [Decimal("30.00")] * 12


def test_no19_needs_last_year_at_most_60000(payslips):
    assert sum(payslips[("OVER", f"2024-{m:02d}")]["gross_pay"] for m in range(1, 13)) == Decimal("60012.00")
    assert [payslips[("OVER", m)]["iit"] for m in MONTHS_2025] == [Decimal("30.00")] * 12


def test_reference_agrees_on_the_examples(reference_payslips):
    ref = reference_payslips
    assert [ref[("EX61", m)]["iit"] for m in MONTHS_2025] == [Decimal(v) for v in EX61_IIT]
    assert [ref[("NO19", m)]["iit"] for m in MONTHS_2025] == [Decimal(v) for v in NO19_IIT]
    assert [ref[("MISS", m)]["iit"] for m in MONTHS_2025] == [Decimal(30)] * 12
    assert [ref[("OVER", m)]["iit"] for m in MONTHS_2025] == [Decimal(30)] * 12


def test_61_example_through_the_cli(cli_year):
    """As a user would: `payroll import` an employees CSV, `payroll run` the year, read the payslips
    (the module's run: EX61, hired 2025-01-01, among three others from 2024-01)."""
    import duckdb

    db, results = cli_year
    for result in results:
        assert result.returncode == 0, result.stdout + result.stderr
    with duckdb.connect(str(db), read_only=True) as con:
        got = con.execute("SELECT month, iit FROM payslips WHERE employee_id = 'EX61' ORDER BY month").fetchall()
    assert got == [(m, Decimal(v)) for m, v in zip(MONTHS_2025, EX61_IIT)]


def test_night_shifts_where_no_table_row_pays_them_pay_nothing():
    # these tables have no allowances row at all: 8 night shifts (attendance) pay 0 and January's
    # gross is region 999902's duty 3 scale amount alone (6,000 in 2025)
    from conftest import run_engine
    rows = run_engine(example_tables(), [person("NS", "999902", 3, date(2025, 1, 1))],
                      {("NS", "2025-01"): {"night_shifts": 8}}, "2025-01", "2025-01")
    january = rows[("NS", "2025-01")]
    assert (january["night_shift_pay"], january["gross_pay"]) == (Decimal("0.00"), Decimal("6000.00"))
