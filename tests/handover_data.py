"""A small roster imported from files the way finance would (full ID numbers, bank accounts and
special deductions by item in the employees file), run for 2025-01..03 on the shipped tables.
Shared by the tests of the files finance hands on (tax, bank, summary, contributions)."""
from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

from payroll.io.idnumber import check_character

MONTHS = ("2025-01", "2025-02", "2025-03")
EMPLOYEE_HEADER = ["employee_id", "name", "id_number", "region_code", "unit", "category", "level", "post",
                   "hire_date", "leave_date", "special_deduction", "bank_account", "子女教育", "赡养老人",
                   "住房租金"]


def full_id(first_17: str) -> str:
    return first_17 + check_character(first_17)


# employee_id, name, ID, region, unit, category, level, post, hire, leave, special_deduction (total),
# bank account, children's education, elderly support, housing rent (monthly, yuan)
PEOPLE = [
    ("H1", "包一", full_id("15010219850101123"), "150100", "新城分局", "duty", 6, "PATROL", "2018-05-01", "",
     "", "6222 0212 3456 7890 123", "1000", "", ""),                   # total derived: 1000
    ("H2", "包二", full_id("15010219870707123"), "150100", "新城分局", "duty", 5, "PATROL", "2019-05-01", "",
     "", "6222021234567890999", "", "", ""),
    ("O1", "乌二", full_id("15060219900202234"), "150600", "东胜分局", "civilian", 5, "TECH", "2021-09-10", "",
     "", "6222021234567890124", "", "", ""),
    ("Z1", "钱三", full_id("33010219880303345"), "330100", "上城分局", "duty", 4, "TRAFFIC", "2015-01-01", "",
     "4500", "6222021234567890125", "2000", "1000", "1500"),           # 2000 + 1000 + 1500 = 4500
    ("K1", "段四", full_id("53010219950404456"), "530100", "五华分局", "duty", 7, "COMMUNITY", "2025-01-13", "",
     "800", "6222021234567890126", "", "", ""),                        # total only, no items
    ("N1", "顾五", full_id("32060219790505567"), "320600", "崇川分局", "duty", 7, "PATROL", "2019-03-01",
     "2025-02-20", "", "6222021234567890127", "", "", ""),              # leaves in February
]


def write_employees(path: Path, people=PEOPLE, header=EMPLOYEE_HEADER) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(people)
    return path


_BUILT: list[Path] = []          # this process's first build, copied for the next callers


def build(directory: Path):
    """(database path, employees file) with the roster imported and MONTHS run: in `directory`, a
    database of the caller's own. The modules that use it build the same database, so each process
    builds it once (conftest.database_template) and later callers get a copy of that file."""
    import shutil

    from conftest import database_template
    employees = write_employees(directory / "employees.csv")
    if not _BUILT:
        _BUILT.append(database_template(lambda con: _import_and_run(con, employees)))
    db = directory / "payroll.duckdb"
    shutil.copy(_BUILT[0], db)
    return db, employees


def _import_and_run(con, employees: Path) -> None:
    from payroll.engine.run import run_months
    from payroll.io.importer import import_files
    from payroll.policy import load_policy

    policy = load_policy()
    import_files(con, policy, employees=employees)
    run_months(con, policy, MONTHS[0], MONTHS[-1])


def register_totals(con, month: str, directory: Path) -> tuple[int, dict[str, Decimal]]:
    """Row count and the exact column sums of the register CSV export, summed here in Python."""
    from payroll.columns import MONEY_COLUMNS
    from payroll.reports.register import export_register

    path = directory / f"register-{month}.csv"
    export_register(con, month, "csv", path)
    with open(path, encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    sums = {c: sum((Decimal(r[c]) for r in rows), Decimal("0.00")) for c in rows[0] if c in MONEY_COLUMNS}
    return len(rows), sums
