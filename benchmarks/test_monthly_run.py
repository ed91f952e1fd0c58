"""Speed of the monthly run, database to database, with the cumulative tax reading the previous
month; the I/O floor and the scalar reference in the same run; twelve months in one run.

    python3 -m pytest benchmarks --benchmark-enable                       # 10,000 people
    BENCH_PEOPLE=1000000 python3 -m pytest benchmarks --benchmark-enable  # other sizes
    python3 -m benchmarks.report                                          # the README table

The suite runs these once each with --benchmark-disable (the default in pyproject.toml), so CI
keeps them working at the smallest size. Sizes: benchmarks/common.py.
"""
from __future__ import annotations

import pytest

from benchmarks.common import (FIRST, MONTH, io_floor, reference_inputs, reference_mismatches, reference_run,
                               run_month, size, synth_database)
from payroll.db import connect
from payroll.engine.run import run_months
from payroll.policy import load_policy

PEOPLE = size("BENCH_PEOPLE", 10_000)
YEAR_PEOPLE = size("BENCH_YEAR_PEOPLE", 10_000)
SAMPLE = size("BENCH_REFERENCE", 300)


@pytest.fixture(scope="module")
def database():
    policy = load_policy()
    con = connect(":memory:")
    employees, attendance = synth_database(con, PEOPLE)
    run_month(con, policy, FIRST)              # February's tax reads January's year to date
    return con, policy, employees, attendance


def test_monthly_run(benchmark, database):
    con, policy, *_ = database
    payslips = benchmark.pedantic(lambda: run_month(con, policy), rounds=3, iterations=1)
    benchmark.extra_info.update(people=PEOPLE, payslips=payslips)
    assert payslips > PEOPLE * 0.9


def test_io_floor(benchmark):
    """The same rows and stored columns copied by DuckDB (CREATE TABLE AS SELECT), no rule, from a
    database where February was written once (the monthly-run rounds' rewrites slow the copy)."""
    policy = load_policy()
    con = connect(":memory:")
    synth_database(con, PEOPLE)
    run_month(con, policy, FIRST)
    paid = run_month(con, policy)
    benchmark.pedantic(lambda: io_floor(con), rounds=3, iterations=1)
    benchmark.extra_info["people"] = PEOPLE
    columns = con.execute("SELECT count(*) FROM (DESCRIBE io_floor)").fetchone()[0]
    assert con.execute("SELECT count(*) FROM io_floor").fetchone()[0] == paid
    assert columns == con.execute("SELECT count(*) FROM (DESCRIBE payslips)").fetchone()[0]


def test_scalar_reference_on_a_sample(benchmark, database):
    """tests/reference.py on SAMPLE people drawn at random across the roster (all levels and hire
    dates), January and February; its February payslips must equal the engine's to the fen. Runs at
    every size BENCH_PEOPLE gives."""
    con, policy, employees, attendance = database
    roster, marks = reference_inputs(employees, attendance, SAMPLE)
    timing, results = benchmark.pedantic(lambda: reference_run(roster, marks), rounds=1, iterations=1)
    if not con.execute(f"SELECT count(*) FROM payslips WHERE month = '{MONTH}'").fetchall()[0][0]:
        run_month(con, policy)
    benchmark.extra_info.update(sample=SAMPLE, payslips=len(results))
    assert reference_mismatches(con, results) == 0


def test_twelve_months(benchmark):
    policy = load_policy()
    con = connect(":memory:")
    months = tuple(f"2025-{m:02d}" for m in range(1, 13))
    synth_database(con, YEAR_PEOPLE, months)
    results = benchmark.pedantic(lambda: run_months(con, policy, months[0], months[-1]), rounds=1, iterations=1)
    benchmark.extra_info.update(people=YEAR_PEOPLE, payslips=sum(r.people for r in results))
    assert [r.month for r in results] == list(months)
