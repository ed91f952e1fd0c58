"""What the files finance hands on share: the month's payslips checked, exact sums, titles.

Every money figure is summed as DECIMAL in DuckDB and handed to the XLSX helpers as Decimal, so a
total row is the register's total to the fen.
"""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb

from ..columns import EMPLOYEE_CONTRIBUTIONS, EMPLOYER_CONTRIBUTIONS
from ..db import table_exists
from ..errors import PayrollError
from .register import _check_payslips, _check_request

# social insurance is every contribution but the housing fund (employee: the three funds with a share)
SI_EMPLOYEE = tuple(c for c in EMPLOYEE_CONTRIBUTIONS if not c.startswith("housing_fund"))
SI_EMPLOYER = tuple(c for c in EMPLOYER_CONTRIBUTIONS if not c.startswith("housing_fund"))


def check_month(con: duckdb.DuckDBPyConnection, month: str, fmt: str = "xlsx",
                formats: tuple[str, ...] = ("xlsx",), what: str = "report") -> str:
    """The format, checked; PayrollError for a bad month, a month not run or a format not offered."""
    fmt = _check_request(month, fmt)
    if fmt not in formats:
        raise PayrollError(f"the {what} export is written as {' or '.join(formats)}, not {fmt}")
    _check_payslips(con, month, None)
    return fmt


def target_path(out: str | Path | None, stem: str, month: str, fmt: str) -> Path:
    """`out`, or stem-YYYY-MM.fmt inside `out` when it is a folder (or in the working folder)."""
    if out is None:
        return Path(f"{stem}-{month}.{fmt}")
    out = Path(out)
    return out / f"{stem}-{month}.{fmt}" if out.is_dir() else out


def month_title(month: str) -> str:
    year, mon = month.split("-")
    return f"{year}年{int(mon)}月"


def employee_columns(con: duckdb.DuckDBPyConnection) -> set[str]:
    if not table_exists(con, "employees"):
        return set()
    return {r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'employees'").fetchall()}


def decimal_sums(con: duckdb.DuckDBPyConnection, month: str, columns: dict[str, str]) -> dict[str, Decimal]:
    """{name: exact sum over the month's payslips} for name -> SQL expression over payslips p."""
    select = ", ".join(f"CAST(coalesce(sum({expr}), 0) AS VARCHAR)" for expr in columns.values())
    row = con.execute(f"SELECT {select} FROM payslips p WHERE p.month = ?", [month]).fetchall()[0]
    return {name: Decimal(value) for name, value in zip(columns, row)}
