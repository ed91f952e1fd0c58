"""One of a month's files for finance by its name, as `payroll export --what` writes it: the one
dispatch the command line and the web's month page share; and every one of them at once
(`payroll export --what all`), written side by side."""
from __future__ import annotations

import contextvars
import dataclasses
import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb

MONTH_FILE_KINDS = ("register", "payslips", "tax", "bank", "summary", "contributions")
# the files finance hands on for a month's regular run, by file name (the web's month page offers
# each); the tax declaration is added when the HR file with the full ID numbers is given
MONTH_FILES = {
    "register.xlsx": "register", "register.csv": "register", "payslips.xlsx": "payslips",
    "bank.xlsx": "bank", "bank.csv": "bank", "contributions.xlsx": "contributions", "summary.xlsx": "summary",
}

# the order the files take longest to write in (100,000 people: contributions, payslips and the
# register's XLSX 3–4 s each, the tax declaration 1 s, the rest under 0.6 s)
LONGEST_FIRST = ("contributions.xlsx", "payslips.xlsx", "register.xlsx", "tax.xlsx", "register.csv",
                 "bank.xlsx", "bank.csv", "summary.xlsx")


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


def write_all_month_files(con: duckdb.DuckDBPyConnection, month: str, folder: str | Path,
                          employees: str | Path | None = None, workers: int | None = None) -> list:
    """Every file of MONTH_FILES, and the tax declaration when `employees` is given, into `folder`
    as <what>-<month>.<format> (the names `payroll export --what` gives), each export's result in
    that order. All or nothing: the files are made in a staging folder inside `folder` and moved in
    only when every one is whole, so a refusal (a person owed pay without a bank account) leaves
    the folder as it was. Written side by side, each on its own cursor of `con`: the exports spend
    their time in DuckDB, Arrow and zlib, which run outside Python's lock, so two cores write the
    month's files in about two thirds of the time one does (issue 17, target 6). The reports read
    `payslips` as stored: an off-cycle run's temporary view (`select_run`) is not seen by the
    other cursors, so those are exported one by one."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files = [(what, name.rsplit(".", 1)[1]) for name, what in MONTH_FILES.items()]
    if employees is not None:
        files.append(("tax", "xlsx"))
    staging = Path(tempfile.mkdtemp(prefix=".month-files-", dir=folder))
    try:
        def write(what: str, fmt: str):
            cursor = con.cursor()
            try:
                return write_month_file(cursor, what, month, fmt, staging / f"{what}-{month}.{fmt}",
                                        employees if what == "tax" else None)
            finally:
                cursor.close()

        with ThreadPoolExecutor(max_workers=workers or max(1, min(len(files), os.cpu_count() or 1))) as pool:
            # the longest first, so that no core waits at the end for a big file started last
            futures = {(what, fmt): pool.submit(contextvars.copy_context().run, write, what, fmt)
                       for what, fmt in sorted(files, key=_longest_first)}
        results = [futures[file].result() for file in files]     # the first refusal, in file order
        for made in sorted(staging.iterdir()):
            os.replace(made, folder / made.name)
        return [_moved(result, staging, folder) for result in results]
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _longest_first(file: tuple[str, str]) -> int:
    name = f"{file[0]}.{file[1]}"
    return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)


def _moved(result, staging: Path, folder: Path):
    """The export's result with its paths in `folder` instead of the staging folder."""
    if not dataclasses.is_dataclass(result):
        return result
    changes = {field.name: folder / value.name for field in dataclasses.fields(result)
               if isinstance(value := getattr(result, field.name), Path) and value.parent == staging}
    return dataclasses.replace(result, **changes)
