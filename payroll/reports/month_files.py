"""One of a month's files for finance by its name, as `payroll export --what` writes it: the one
dispatch the command line and the web's month page share."""
from __future__ import annotations

from pathlib import Path

import duckdb

MONTH_FILE_KINDS = ("register", "payslips", "tax", "bank", "summary", "contributions")


def write_month_file(con: duckdb.DuckDBPyConnection, what: str, month: str, fmt: str, out: str | Path | None,
                     employees: str | Path | None = None, unit: str | None = None):
    """Write `what` for `month` (the run `payslips` points at) to `out`; returns the export's result.
    `employees`: the HR file with the full ID numbers (tax only); `unit`: register and payslips only."""
    if what == "register":
        from .register import export_register
        return export_register(con, month, fmt, out, unit=unit)
    if what == "payslips":
        from .payslips import export_payslips
        return export_payslips(con, month, out, unit=unit, fmt=fmt)
    if what == "tax":
        from .tax import export_tax
        return export_tax(con, month, employees, out, fmt)
    if what == "bank":
        from .bank import export_bank
        return export_bank(con, month, fmt, out)
    if what == "summary":
        from .summary import export_summary
        return export_summary(con, month, out, fmt)
    if what == "contributions":
        from .contributions import export_contributions
        return export_contributions(con, month, out, fmt)
    raise ValueError(f"not a month file: {what!r}")
