"""Import and the CSV exports against their floors (issue 17, targets 4 and 5), on a
BENCH_IO_ROWS-person synthetic roster (CI: 2,000 people, checks only).

- CSV import of the employees file and the year's attendance (ten rows a person) against DuckDB's
  `read_csv` of the same two files into tables, nothing checked (target: at most 3 ×);
- XLSX import of the employees file against python-calamine reading the same sheet into Python
  values, the reader the import uses (target: at most 2 ×);
- each CSV export (register, bank) against DuckDB's `COPY (SELECT …) TO` of the same rows and
  columns, without the formula escaping (target: at most 1.5 ×);
- the XLSX register export (its floor is in benchmarks/test_xlsx.py).

Each floor is timed in the same process right after the step; the ratios of wall time and of CPU
time (this process, all threads: the fairer one on a shared machine) are printed and kept in
extra_info. Measure at 100k:

    BENCH_IO_ROWS=100000 nice python3 -m pytest benchmarks/test_io.py --benchmark-enable -n 0 -s
"""
from __future__ import annotations

import duckdb
import pytest
from python_calamine import CalamineWorkbook

from benchmarks.common import run_month, size, synth_database, timed
from payroll.columns import REGISTER_COLUMNS
from payroll.db import connect
from payroll.io.importer import import_files
from payroll.policy import load_policy
from payroll.reports.bank import export_bank
from payroll.reports.register import ORDER, export_register
from payroll.synth import synth_roster, write_roster_files

ROWS = size("BENCH_IO_ROWS", 10_000)
MONTH = "2025-01"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """employees.csv, the year's attendance.csv and employees.xlsx of one synthetic roster."""
    folder = tmp_path_factory.mktemp("io")
    employees, attendance = synth_roster(ROWS, seed=11)
    csv_path, attendance_path = write_roster_files(employees, attendance, folder)
    xlsx_path = folder / "employees.xlsx"
    employees.to_excel(xlsx_path, index=False, engine="xlsxwriter")
    return csv_path, attendance_path, xlsx_path


def report(benchmark, name: str, step, floor, floor_name: str, **info) -> None:
    wall, cpu = step.wall / floor.wall, step.cpu / floor.cpu
    benchmark.extra_info.update(rows=ROWS, step_s=round(step.wall, 3), floor_s=round(floor.wall, 3),
                                step_cpu_s=round(step.cpu, 3), floor_cpu_s=round(floor.cpu, 3),
                                floor=floor_name, ratio_wall=round(wall, 2), ratio_cpu=round(cpu, 2), **info)
    print(f"\n{name}: {ROWS:,} people: {step.wall:.2f} s wall ({step.cpu:.2f} s CPU), {floor_name} "
          f"{floor.wall:.2f} s ({floor.cpu:.2f} s CPU), ratio {wall:.2f} wall, {cpu:.2f} CPU")


def test_csv_import_against_read_csv(benchmark, files):
    employees, attendance, _ = files
    policy = load_policy()
    con = connect(":memory:")
    with timed() as step:
        summary = benchmark.pedantic(lambda: import_files(con, policy, employees=employees, attendance=attendance),
                                     rounds=1, iterations=1)
    scratch = duckdb.connect()
    with timed() as floor:
        for name, path in (("employees", employees), ("attendance", attendance)):
            scratch.execute(f"CREATE TABLE {name} AS SELECT * FROM read_csv('{path}')")
    floor_rows = scratch.execute("SELECT count(*) FROM attendance").fetchall()[0][0]
    scratch.close()
    assert summary.attendance.rows == floor_rows == con.execute("SELECT count(*) FROM attendance").fetchall()[0][0]
    report(benchmark, "CSV import (employees + attendance)", step, floor, "DuckDB read_csv",
           attendance_rows=floor_rows)


def test_xlsx_import_against_calamine(benchmark, files):
    _, _, xlsx_path = files
    policy = load_policy()
    con = connect(":memory:")
    with timed() as step:
        benchmark.pedantic(lambda: import_files(con, policy, employees=xlsx_path), rounds=1, iterations=1)
    with timed() as floor:
        cells = CalamineWorkbook.from_path(str(xlsx_path)).get_sheet_by_index(0).to_python()
    assert len(cells) - 1 == ROWS == con.execute("SELECT count(*) FROM employees").fetchall()[0][0]
    report(benchmark, "XLSX import (employees)", step, floor, "python-calamine to_python")


@pytest.fixture(scope="module")
def month_db():
    """The month run, and a bank account per person (the synthetic roster has none)."""
    from payroll.db import EMPLOYEE_FINANCE_DDL
    policy = load_policy()
    con = connect(":memory:")
    synth_database(con, ROWS, (MONTH,))
    run_month(con, policy, MONTH)
    con.execute(EMPLOYEE_FINANCE_DDL)
    con.execute("INSERT INTO employee_finance (employee_id, bank_account) "
                "SELECT employee_id, '6222020' || lpad(CAST(hash(employee_id) % 1000000000000 AS VARCHAR), 12, '0') "
                "FROM employees")
    return con


# the same rows and columns as each export, as stored: no money formatting, no escaping
COPY_FLOORS = {
    "register": (f"SELECT {', '.join('p.' + c for c in REGISTER_COLUMNS)} FROM payslips p "
                 f"WHERE p.month = '{MONTH}' ORDER BY {ORDER}, p.employee_id"),
    "bank": ("SELECT f.bank_account, e.name, p.net_pay, '2025年1月工资' FROM payslips p JOIN employees e "
             f"USING (employee_id) LEFT JOIN employee_finance f USING (employee_id) WHERE p.month = '{MONTH}' "
             "AND p.net_pay > 0 ORDER BY p.employee_id"),
}
CSV_EXPORTS = {
    "register": lambda con, out: export_register(con, MONTH, "csv", out),
    "bank": lambda con, out: export_bank(con, MONTH, "csv", out),
}


@pytest.mark.parametrize("export", list(CSV_EXPORTS))
def test_csv_export_against_copy(benchmark, month_db, tmp_path, export):
    con = month_db
    target = tmp_path / f"{export}.csv"
    with timed() as step:
        benchmark.pedantic(lambda: CSV_EXPORTS[export](con, target), rounds=1, iterations=1)
    floor_file = tmp_path / f"{export}-floor.csv"
    with timed() as floor:
        con.execute(f"COPY ({COPY_FLOORS[export]}) TO '{floor_file}' (FORMAT csv, HEADER true)")
    lines = len(target.read_text(encoding="utf-8-sig").splitlines())
    floor_lines = len(floor_file.read_text(encoding="utf-8").splitlines())
    assert lines == floor_lines + (export == "bank")          # the bank file's 合计 line
    report(benchmark, f"{export} CSV export", step, floor, "DuckDB COPY")


def test_register_export_xlsx(benchmark, month_db, tmp_path):
    con = month_db
    target = tmp_path / "register.xlsx"
    benchmark.pedantic(lambda: export_register(con, MONTH, "xlsx", target), rounds=1, iterations=1)
    payslips = con.execute("SELECT count(*) FROM payslips WHERE month = ?", [MONTH]).fetchall()[0][0]
    benchmark.extra_info.update(payslips=payslips)
    assert target.stat().st_size > payslips * 50
