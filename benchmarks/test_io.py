"""Import of a BENCH_IO_ROWS-row employees file as CSV and as XLSX (validated, then loaded), and
the XLSX register export of as many payslips. Sizes: benchmarks/common.py."""
from __future__ import annotations

import pytest

from benchmarks.common import run_month, size, synth_database
from payroll.db import connect
from payroll.io.importer import import_files
from payroll.policy import load_policy
from payroll.reports.register import export_register
from payroll.synth import synth_roster, write_roster_files

ROWS = size("BENCH_IO_ROWS", 10_000)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("io")
    employees, attendance = synth_roster(ROWS, seed=11)
    csv_path, _ = write_roster_files(employees, attendance.iloc[:0], folder)
    xlsx_path = folder / "employees.xlsx"
    employees.to_excel(xlsx_path, index=False, engine="xlsxwriter")
    return csv_path, xlsx_path


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_import_employees(benchmark, files, kind):
    policy = load_policy()
    path = files[0] if kind == "csv" else files[1]

    def load():
        con = connect(":memory:")
        return import_files(con, policy, employees=path), con

    summary, con = benchmark.pedantic(load, rounds=1, iterations=1)
    benchmark.extra_info.update(rows=ROWS, kind=kind)
    assert con.execute("SELECT count(*) FROM employees").fetchall()[0][0] == ROWS


def test_register_export_xlsx(benchmark, tmp_path):
    policy = load_policy()
    con = connect(":memory:")
    synth_database(con, ROWS, ("2025-01",))
    payslips = run_month(con, policy, "2025-01")
    target = tmp_path / "register.xlsx"
    benchmark.pedantic(lambda: export_register(con, "2025-01", "xlsx", target), rounds=1, iterations=1)
    benchmark.extra_info.update(payslips=payslips)
    assert target.stat().st_size > payslips * 50
