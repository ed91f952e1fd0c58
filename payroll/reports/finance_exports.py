"""`payroll export --what tax-check|si-changes|si-base|voucher|budget` (issue 19): which options each
needs, then the report's own module."""
from __future__ import annotations

from pathlib import Path

from ..errors import PayrollError


def export_finance(what: str, con, tables, *, month: str | None, year: int | None, through: str | None,
                   fmt: str, out: Path | None):
    def need(value, option: str):
        if value is None:
            raise PayrollError(f"--what {what} needs {option}")
        return value

    if what == "tax-check":
        from .tax_check import export_tax_check
        return export_tax_check(con, need(month, "--month YYYY-MM"), out, fmt)
    if what == "si-changes":
        from .si_changes import export_si_changes
        return export_si_changes(con, need(month, "--month YYYY-MM"), out, fmt)
    if what == "si-base":
        from ..policy import load_policy
        from .si_base import export_si_base
        return export_si_base(con, load_policy(tables), need(year, "--year YYYY"), out, fmt)
    if what == "voucher":
        from ..policy import load_policy
        from .voucher import export_voucher
        return export_voucher(con, load_policy(tables), need(month, "--month YYYY-MM"), out, fmt)
    from ..policy import load_policy
    from .budget import export_budget
    return export_budget(con, load_policy(tables), need(through or month, "--through YYYY-MM"), out, fmt)
