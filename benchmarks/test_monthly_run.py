"""Speed of the monthly run, database to database, with the cumulative tax reading the previous
month, against the I/O floor (DuckDB copying the same rows and result columns).

    python3 -m pytest benchmarks --benchmark-enable                      # 10,000 people
    BENCH_PEOPLE=100000 python3 -m pytest benchmarks --benchmark-enable  # other sizes

The suite runs these once each with --benchmark-disable (the default in pyproject.toml), so CI
keeps them working at the smallest size.
"""
from __future__ import annotations

import os

import pytest

from payroll.db import connect
from payroll.engine.context import Month, install_month_parameters
from payroll.engine.pipeline import final_stage, pipeline_sql, stored_select
from payroll.engine.run import run_months
from payroll.policy import load_policy
from payroll.synth import synth_roster, write_roster

PEOPLE = int(os.environ.get("BENCH_PEOPLE", "10000"))


@pytest.fixture(scope="module")
def database():
    policy = load_policy()
    con = connect(":memory:")
    employees, attendance = synth_roster(PEOPLE, seed=7, year=2025)
    write_roster(con, employees, attendance)
    run_months(con, policy, "2025-01")          # February's tax reads January's year to date
    return con, policy


def test_monthly_run(benchmark, database):
    con, policy = database
    results = benchmark.pedantic(lambda: run_months(con, policy, "2025-02"), rounds=3, iterations=1)
    benchmark.extra_info["people"] = PEOPLE
    benchmark.extra_info["payslips"] = results[0].people
    assert results[0].people > PEOPLE * 0.9


def test_io_floor(benchmark, database):
    """The same number of rows and stored columns, copied by DuckDB without any rule."""
    con, _ = database
    columns = ", ".join(r[0] for r in con.execute("DESCRIBE payslips").fetchall())

    def copy():
        con.execute(f"CREATE OR REPLACE TEMP TABLE io_floor AS SELECT {columns} FROM payslips "
                    "WHERE month = '2025-02'")
    benchmark.pedantic(copy, rounds=3, iterations=1)
    benchmark.extra_info["people"] = PEOPLE


def test_rules_without_writing(benchmark, database):
    """The compiled query alone, materialised in a temporary table: where the time goes."""
    con, _ = database
    month = Month.parse("2025-02")
    install_month_parameters(con, month)
    query = f"{pipeline_sql(month, True)} SELECT {stored_select()} FROM {final_stage()}"
    benchmark.pedantic(lambda: con.execute(f"CREATE OR REPLACE TEMP TABLE rules_only AS {query}"),
                       rounds=3, iterations=1)
    benchmark.extra_info["people"] = PEOPLE
