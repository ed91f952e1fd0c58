"""Each XLSX export for finance against the fastest XLSX writer's floor for the same cells
(issue 17, target 5), on a BENCH_IO_ROWS-person synthetic month (CI: 2,000 people, checks only).

The floor: rustpy-xlsxwriter (rust_xlsxwriter through PyO3) writing every sheet of the export's
own file, the values read back by calamine, without styles, formulas or layout; xlsxwriter
(constant memory, row by row) when rustpy-xlsxwriter is not installed. Both are timed in the same
process, one after the other; the ratios export ÷ floor of wall time and of CPU time (this
process, all threads: the fairer one on a shared, loaded machine) are printed and stored in
extra_info.
Measure at 100k (README, Performance):

    BENCH_IO_ROWS=100000 nice python3 -m pytest benchmarks/test_xlsx.py --benchmark-enable -n 0 -s
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from python_calamine import CalamineWorkbook

from benchmarks.common import run_month, size, synth_database, timed
from payroll.db import connect
from payroll.policy import load_policy
from payroll.reports.bank import export_bank
from payroll.reports.contributions import export_contributions
from payroll.reports.payslips import export_payslips
from payroll.reports.register import export_register
from payroll.reports.summary import export_summary
from payroll.reports.tax import export_tax
from payroll.reports.voucher import export_voucher

ROWS = size("BENCH_IO_ROWS", 10_000)
MONTH = "2025-01"


@pytest.fixture(scope="module")
def month_db(tmp_path_factory):
    """The month run, a bank account per person (the synthetic roster has none) and the HR
    employees file with the full ID numbers (the tax declaration reads it)."""
    from payroll.db import EMPLOYEE_FINANCE_DDL
    from payroll.synth import write_roster_files
    policy = load_policy()
    con = connect(":memory:")
    employees, attendance = synth_database(con, ROWS, (MONTH,))
    run_month(con, policy, MONTH)
    con.execute(EMPLOYEE_FINANCE_DDL)
    con.execute("INSERT INTO employee_finance (employee_id, bank_account) "
                "SELECT employee_id, '6222020' || lpad(CAST(hash(employee_id) % 1000000000000 AS VARCHAR), 12, '0') "
                "FROM employees")
    employees_file, _ = write_roster_files(employees, attendance, tmp_path_factory.mktemp("hr"))
    return con, policy, employees_file


def read_cells(path: Path) -> list[tuple[str, list[list]]]:
    """Every sheet's cells as calamine reads them (blank = None)."""
    book = CalamineWorkbook.from_path(str(path))
    return [(name, [[None if v == "" else v for v in row] for row in book.get_sheet_by_name(name).to_python()])
            for name in book.sheet_names]


def floor_writer() -> str:
    try:
        import rustpy_xlsxwriter  # noqa: F401
        return "rustpy-xlsxwriter"
    except ImportError:
        return "xlsxwriter"


def write_floor(sheets: list[tuple[str, list[list]]], out: Path):
    """The timing (wall, CPU) of the fastest writer available writing these cells (values only)."""
    if floor_writer() == "rustpy-xlsxwriter":
        from rustpy_xlsxwriter import write_worksheets
        frames = [(name, pd.DataFrame(rows, dtype=object, columns=[str(i) for i in range(len(rows[0]))]))
                  for name, rows in sheets if rows]
        with timed() as timing:
            write_worksheets(frames, str(out))
        return timing
    import xlsxwriter
    with timed() as timing:
        book = xlsxwriter.Workbook(str(out), {"constant_memory": True})
        for name, rows in sheets:
            sheet = book.add_worksheet(name)
            sheet.write_row(0, 0, [str(i) for i in range(len(rows[0]) if rows else 0)])
            for r, row in enumerate(rows, start=1):
                sheet.write_row(r, 0, row)
        book.close()
    return timing


EXPORTS = {
    "register": lambda con, policy, hr, out: export_register(con, MONTH, "xlsx", out),
    "payslips": lambda con, policy, hr, out: export_payslips(con, MONTH, out),
    "contributions": lambda con, policy, hr, out: export_contributions(con, MONTH, out),
    "bank": lambda con, policy, hr, out: export_bank(con, MONTH, "xlsx", out),
    "tax": lambda con, policy, hr, out: export_tax(con, MONTH, hr, out),
    "summary": lambda con, policy, hr, out: export_summary(con, MONTH, out),
    "voucher": lambda con, policy, hr, out: export_voucher(con, policy, MONTH, out),
}


@pytest.mark.parametrize("export", list(EXPORTS))
def test_xlsx_export_against_the_floor(benchmark, month_db, tmp_path, export):
    con, policy, hr = month_db
    target = tmp_path / f"{export}.xlsx"
    with timed() as timing:
        benchmark.pedantic(lambda: EXPORTS[export](con, policy, hr, target), rounds=1, iterations=1)
    sheets = read_cells(target)
    floor = write_floor(sheets, tmp_path / f"{export}-floor.xlsx")
    cells = sum(len(row) for _, rows in sheets for row in rows)
    # the floor wrote the same cells: it reads back equal
    floor_sheets = read_cells(tmp_path / f"{export}-floor.xlsx")
    assert [rows[1:] for _, rows in floor_sheets] == [rows for _, rows in sheets if rows]
    wall, cpu = timing.wall / floor.wall, timing.cpu / floor.cpu
    benchmark.extra_info.update(people=ROWS, cells=cells, export_s=round(timing.wall, 3),
                                floor_s=round(floor.wall, 3), export_cpu_s=round(timing.cpu, 3),
                                floor_cpu_s=round(floor.cpu, 3), floor_writer=floor_writer(),
                                ratio_wall=round(wall, 2), ratio_cpu=round(cpu, 2))
    print(f"\n{export}: {ROWS:,} people, {cells:,} cells: export {timing.wall:.2f} s wall "
          f"({timing.cpu:.2f} s CPU), {floor_writer()} floor {floor.wall:.2f} s ({floor.cpu:.2f} s CPU), "
          f"ratio {wall:.2f} wall, {cpu:.2f} CPU")
