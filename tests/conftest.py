"""Shared helpers: run the engine like a user would (Python API on a fresh DuckDB) and read payslips."""
from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent / "data"
SHIPPED_TABLES = Path(__file__).resolve().parent.parent / "tables"

EMPLOYEE_COLUMNS = ("employee_id", "name", "region_code", "unit", "category", "level", "post", "hire_date",
                    "leave_date", "service_start", "special_deduction", "contribution_base")
ATTENDANCE_COLUMNS = ("unpaid_leave_days", "overtime_workday_hours", "overtime_restday_hours",
                      "overtime_holiday_hours", "night_shifts", "bonus", "deduction")


@lru_cache(maxsize=None)
def policy_for(tables_dir: str):
    from payroll.policy import load_policy
    return load_policy(tables_dir)


def run_engine(tables_dir, employees: list[dict], attendance: dict, first: str, last: str, con=None) -> dict:
    """Insert the roster and attendance into a fresh in-memory database, run the months, return
    {(employee_id, month): payslip row as a dict}."""
    from payroll.db import connect
    from payroll.engine.run import run_months

    con = con or connect(":memory:")
    con.executemany(
        f"INSERT INTO employees ({', '.join(EMPLOYEE_COLUMNS)}) VALUES ({', '.join('?' * len(EMPLOYEE_COLUMNS))})",
        [[_employee_value(e, c) for c in EMPLOYEE_COLUMNS] for e in employees])
    if attendance:
        con.executemany(
            f"INSERT INTO attendance (employee_id, month, {', '.join(ATTENDANCE_COLUMNS)}) "
            f"VALUES ({', '.join('?' * (len(ATTENDANCE_COLUMNS) + 2))})",
            [[eid, month] + [row.get(c, 0) for c in ATTENDANCE_COLUMNS] for (eid, month), row in attendance.items()])
    run_months(con, policy_for(str(tables_dir)), first, last)
    cursor = con.execute("SELECT * FROM payslips ORDER BY month, employee_id")
    names = [d[0] for d in cursor.description]
    return {(row[0], row[1]): dict(zip(names, row)) for row in cursor.fetchall()}


def _employee_value(employee: dict, column: str):
    if column == "name":
        return employee.get("name") or employee["employee_id"]
    if column == "special_deduction":
        return employee.get(column) or Decimal(0)
    return employee.get(column)


@pytest.fixture
def engine():
    return run_engine
