"""The whole month for finance (issue 17, target 6): import, run, then the register (XLSX and CSV),
payslips, bank file (XLSX and CSV), tax declaration, summary and contributions, on a
BENCH_IO_ROWS-person synthetic roster (CI: 2,000 people, checks only), one after the other in one
process, as the CLI's commands call them. Target at 100k: at most 15 s in total.

Each step is timed beside its floor, measured in the same process right after it:
- import: DuckDB `read_csv` of the same two files into tables (no check, no key);
- run: DuckDB copying the month's payslips, same rows and stored columns (benchmarks.common.io_floor);
- an XLSX export: the fastest XLSX writer writing the same cells, values only (benchmarks/test_xlsx.py);
- a CSV export: DuckDB `COPY (SELECT …) TO` of the same rows and columns, no escaping.
The table of steps, times, floors and ratios is printed and kept in extra_info (only checked, with
--benchmark-disable as in CI, the floors are left out). Then the month's files again as finance gets
them in one command, `payroll export --what all` (reports.month_files: the same files written side by
side, checked equal to the ones written one by one): the whole month is import + run + that. Measure
at 100k:

    BENCH_IO_ROWS=100000 nice python3 -m pytest benchmarks/test_whole_month.py --benchmark-enable -n 0 -s
"""
from __future__ import annotations

import csv
from decimal import Decimal

import duckdb
import pytest

from benchmarks.common import io_floor, size, timed
from benchmarks.test_xlsx import read_cells, write_floor
from payroll.db import connect
from payroll.engine.run import run_months
from payroll.io.importer import import_files
from payroll.policy import load_policy
from payroll.reports.bank import export_bank
from payroll.reports.contributions import export_contributions
from payroll.reports.month_files import write_all_month_files
from payroll.reports.payslips import export_payslips
from payroll.columns import REGISTER_COLUMNS
from payroll.reports.register import ORDER, export_register
from payroll.reports.summary import export_summary
from payroll.reports.tax import export_tax
from payroll.synth import synth_roster, write_roster_files

PEOPLE = size("BENCH_IO_ROWS", 100_000)
MONTH = "2025-01"
TARGET_SECONDS = 15.0            # issue 17, target 6, at 100k


@pytest.fixture(scope="module")
def roster_files(tmp_path_factory):
    """employees.csv (with a bank account each: the bank file needs one) and the year's attendance."""
    employees, attendance = synth_roster(PEOPLE, seed=3)
    employees["bank_account"] = ["6222020" + f"{n:012d}" for n in range(len(employees))]
    return write_roster_files(employees, attendance, tmp_path_factory.mktemp("month"))


def read_csv_floor(employees, attendance):
    """DuckDB reading both files into tables, nothing checked."""
    scratch = duckdb.connect()
    try:
        with timed() as timing:
            for name, path in (("employees", employees), ("attendance", attendance)):
                scratch.execute(f"CREATE TABLE {name} AS SELECT * FROM read_csv('{path}')")
    finally:
        scratch.close()
    return timing


def copy_floor(con, query: str, out) -> object:
    with timed() as timing:
        con.execute(f"COPY ({query}) TO '{out}' (FORMAT csv, HEADER true)")
    return timing


# the export's rows and columns, as stored: no money formatting, no escaping
REGISTER_ROWS = (f"SELECT {', '.join('p.' + c for c in REGISTER_COLUMNS)} FROM payslips p "
                 f"WHERE p.month = '{{month}}' ORDER BY {ORDER}, p.employee_id")
BANK_ROWS = ("SELECT f.bank_account, e.name, p.net_pay, '2025年1月工资' FROM payslips p JOIN employees e USING "
             "(employee_id) LEFT JOIN employee_finance f USING (employee_id) WHERE p.month = '{month}' "
             "AND p.net_pay > 0 ORDER BY p.employee_id")


def test_whole_month(benchmark, roster_files, tmp_path):
    employees_file, attendance_file = roster_files
    policy = load_policy()
    con = connect(":memory:")
    steps: list[tuple[str, object, object, str]] = []      # step, its timing, the floor's timing, floor

    def step(name: str, work, floor, floor_name: str):
        with timed() as timing:
            result = work()
        # only checked (CI, --benchmark-disable): the files and their sums, no floor to time
        steps.append((name, timing, None if benchmark.disabled else floor(result), floor_name))
        return result

    def xlsx_floor(path):
        return lambda _: write_floor(read_cells(path), tmp_path / f"floor-{path.name}")

    def month():
        imported = step("import employees + attendance (CSV)",
                        lambda: import_files(con, policy, employees=employees_file, attendance=attendance_file),
                        lambda _: read_csv_floor(employees_file, attendance_file), "DuckDB read_csv")

        def run_floor(_):
            with timed() as timing:
                io_floor(con, MONTH)
            return timing
        step("run", lambda: run_months(con, policy, MONTH), run_floor, "DuckDB copy of the payslips")
        out = {kind: tmp_path / f"{kind}.{fmt}" for kind, fmt in
               (("register", "xlsx"), ("payslips", "xlsx"), ("bank", "xlsx"), ("tax", "xlsx"),
                ("summary", "xlsx"), ("contributions", "xlsx"), ("register-csv", "csv"), ("bank-csv", "csv"))}
        writer = "fastest XLSX writer, same cells"
        step("register XLSX", lambda: export_register(con, MONTH, "xlsx", out["register"]),
             xlsx_floor(out["register"]), writer)
        step("register CSV", lambda: export_register(con, MONTH, "csv", out["register-csv"]),
             lambda _: copy_floor(con, REGISTER_ROWS.format(month=MONTH), tmp_path / "floor-register.csv"),
             "DuckDB COPY")
        step("payslips XLSX", lambda: export_payslips(con, MONTH, out["payslips"]), xlsx_floor(out["payslips"]), writer)
        bank = step("bank XLSX", lambda: export_bank(con, MONTH, "xlsx", out["bank"]), xlsx_floor(out["bank"]), writer)
        step("bank CSV", lambda: export_bank(con, MONTH, "csv", out["bank-csv"]),
             lambda _: copy_floor(con, BANK_ROWS.format(month=MONTH), tmp_path / "floor-bank.csv"), "DuckDB COPY")
        step("tax XLSX", lambda: export_tax(con, MONTH, employees_file, out["tax"]), xlsx_floor(out["tax"]), writer)
        step("summary XLSX", lambda: export_summary(con, MONTH, out["summary"]), xlsx_floor(out["summary"]), writer)
        step("contributions XLSX", lambda: export_contributions(con, MONTH, out["contributions"]),
             xlsx_floor(out["contributions"]), writer)
        return imported, bank, out

    imported, bank, out = benchmark.pedantic(month, rounds=1, iterations=1)
    with timed() as together:             # the same files in one command, written side by side
        write_all_month_files(con, MONTH, tmp_path / "all", employees_file)
    for kind, path in out.items():        # the same cells as one by one (the XLSX packages' times differ)
        same = tmp_path / "all" / path.name.replace(f"{kind}.", f"{kind.removesuffix('-csv')}-{MONTH}.")
        assert (read_cells(same) == read_cells(path)) if path.suffix == ".xlsx" else \
            same.read_bytes() == path.read_bytes(), kind

    # what finance gets holds together: every attendance row stored, the bank total is the register's net pay
    assert imported.attendance.rows == con.execute("SELECT count(*) FROM attendance").fetchall()[0][0]
    net = con.execute("SELECT CAST(sum(net_pay) AS VARCHAR) FROM payslips WHERE month = ?", [MONTH]).fetchall()[0][0]
    assert bank.total == Decimal(net)
    with open(out["register-csv"], encoding="utf-8-sig", newline="") as handle:
        register_lines = sum(1 for _ in csv.reader(handle)) - 1
    assert register_lines == con.execute("SELECT count(*) FROM payslips WHERE month = ?", [MONTH]).fetchall()[0][0]

    if benchmark.disabled:
        return
    total = sum(timing.wall for _, timing, _, _ in steps)
    print(f"\nthe whole month, {PEOPLE:,} people ({register_lines:,} payslips): {total:.2f} s "
          f"(target at 100k: {TARGET_SECONDS:g} s)")
    print("| step | time | floor | ratio | CPU ratio | floor measured |\n|---|---:|---:|---:|---:|---|")
    for name, timing, floor, floor_name in steps:
        print(f"| {name} | {timing.wall:.2f} s | {floor.wall:.2f} s | {timing.wall / floor.wall:.1f} × | "
              f"{timing.cpu / max(floor.cpu, 1e-3):.1f} × | {floor_name} |")
    print(f"| **total** | **{total:.2f} s** | {sum(f.wall for _, _, f, _ in steps):.2f} s | | | |")
    import_and_run = sum(timing.wall for _, timing, _, _ in steps[:2])
    files = sum(timing.wall for _, timing, _, _ in steps[2:])
    side_by_side = import_and_run + together.wall
    print(f"the month's files in one command (`payroll export --what all`, side by side): {together.wall:.2f} s "
          f"against {files:.2f} s one by one; the whole month that way: {side_by_side:.2f} s "
          f"(target at 100k: {TARGET_SECONDS:g} s)")
    benchmark.extra_info.update(
        people=PEOPLE, total_s=round(total, 2), target_s=TARGET_SECONDS,
        files_side_by_side_s=round(together.wall, 3), total_side_by_side_s=round(side_by_side, 2),
        steps={name: {"s": round(timing.wall, 3), "floor_s": round(floor.wall, 3),
                      "cpu_s": round(timing.cpu, 3), "floor_cpu_s": round(floor.cpu, 3),
                      "ratio": round(timing.wall / floor.wall, 2), "floor": floor_name}
               for name, timing, floor, floor_name in steps})
