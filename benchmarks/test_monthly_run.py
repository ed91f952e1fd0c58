"""Speed of the monthly run, database to database, with the cumulative tax reading the previous
month; the I/O floor and the scalar reference in the same run; twelve months in one run.

    python3 -m pytest benchmarks --benchmark-enable                       # 10,000 people
    BENCH_PEOPLE=1000000 python3 -m pytest benchmarks --benchmark-enable  # other sizes
    python3 -m benchmarks.report                                          # the README table

The suite runs these once each with --benchmark-disable (the default in pyproject.toml), so CI
keeps them working at the smallest size. Sizes: benchmarks/common.py. test_twelve_months runs the
last BENCH_YEAR_MONTHS months of 2025 (default 12, the whole year; the check runs 3: October–December,
benchmarks/conftest.py), then the next January and February.

Issue 17 ratios, side by side in one run (extra_info; the targets are for 100k on 2 cores):
- January and the first run ever on a database against February: at most 1.2 (target 2);
- `payroll run` through the CLI against `run_months` in-process, each in a fresh process on the
  same database file, beside the floor (a fresh python importing duckdb and opening the file): at
  most 0.3 s more; `payroll --help` under 0.3 s (target 3).
"""
from __future__ import annotations

import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from benchmarks.common import (FIRST, MONTH, ROOT, io_floor, reference_inputs, reference_mismatches, reference_run,
                               run_month, size, synth_database, timed)
from payroll.db import connect
from payroll.engine.run import run_months
from payroll.policy import load_policy

PEOPLE = size("BENCH_PEOPLE", 10_000)
YEAR_PEOPLE = size("BENCH_YEAR_PEOPLE", 10_000)
YEAR_MONTHS = size("BENCH_YEAR_MONTHS", 12)
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
    months = tuple(f"2025-{m:02d}" for m in range(13 - YEAR_MONTHS, 13))
    synth_database(con, YEAR_PEOPLE, months)
    results = benchmark.pedantic(lambda: run_months(con, policy, months[0], months[-1]), rounds=1, iterations=1)
    benchmark.extra_info.update(people=YEAR_PEOPLE, payslips=sum(r.people for r in results))
    assert [r.month for r in results] == list(months)
    # issue 17 target 2: the next January (its tax year starts; it sums last year's gross) against
    # the February after it, on this year of history
    with timed() as january:
        run_months(con, policy, "2026-01")
    with timed() as february:
        run_months(con, policy, "2026-02")
    benchmark.extra_info.update(next_january_s=january.wall, next_february_s=february.wall,
                                january_over_february=january.wall / february.wall)


def test_first_run_and_january_against_february(benchmark):
    """Issue 17 target 2: the first run ever on a database (which is also a January: it creates the
    tables, records the policy snapshot) against the February after it, in the same process."""
    policy = load_policy()
    con = connect(":memory:")
    synth_database(con, PEOPLE)

    def first_then_february():
        with timed() as first:
            run_month(con, policy, FIRST)
        with timed() as february:
            paid = run_month(con, policy, MONTH)
        return first, february, paid

    first, february, paid = benchmark.pedantic(first_then_february, rounds=1, iterations=1)
    benchmark.extra_info.update(people=PEOPLE, first_run_s=first.wall, february_s=february.wall,
                                first_run_over_february=first.wall / february.wall)
    assert paid > PEOPLE * 0.9


CLI_ROUNDS = size("BENCH_CLI_ROUNDS", 3)
_IN_PROCESS = """
import sys, time
from payroll.db import connect
from payroll.engine.run import run_months
from payroll.policy import load_policy
policy, con = load_policy(), connect(sys.argv[1])
started, cpu = time.perf_counter(), time.process_time()
run_months(con, policy, sys.argv[2])
print(time.perf_counter() - started, time.process_time() - cpu)
"""
# the floor of any command on the database: the interpreter, DuckDB's import, opening the file
_FLOOR = "import sys, duckdb; duckdb.connect(sys.argv[1]).close()"


@dataclass
class _Child:
    wall: float
    cpu: float              # user + system seconds of the child, all its threads
    stdout: str


def _child(command: list[str]) -> _Child:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, check=True, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return _Child(wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, done.stdout)


def test_cli_against_in_process(benchmark, tmp_path):
    """Issue 17 target 3: `payroll run --month 2025-02` through the CLI (the whole process, interpreter
    start included) against `run_months` timed inside a fresh process, both re-running February on
    the same database file, and the floor: a fresh `python -c` importing duckdb and opening the file.
    Alternated, BENCH_CLI_ROUNDS rounds (one when benchmarks are disabled); CPU is the child's user +
    system time, fairer than wall on a shared machine. Medians in extra_info, each round in `rounds`.
    And `payroll --help`."""
    db = str(tmp_path / "cli.duckdb")
    policy = load_policy()
    con = connect(db)
    synth_database(con, PEOPLE)
    run_month(con, policy, FIRST)
    run_month(con, policy, MONTH)            # both timed runs below are re-runs of February
    con.close()
    script = Path(sys.executable).with_name("payroll")      # the installed command, as a user runs it
    payroll = [str(script)] if script.exists() else [sys.executable, "-m", "payroll.cli"]
    rounds = 1 if benchmark.disabled else CLI_ROUNDS

    def measure():
        measured = []
        for _ in range(rounds):
            floor = _child([sys.executable, "-c", _FLOOR, db])
            in_process = _child([sys.executable, "-c", _IN_PROCESS, db, MONTH])
            wall, cpu = (float(value) for value in in_process.stdout.split()[-2:])
            cli = _child(payroll + ["run", "--db", db, "--month", MONTH])
            measured.append({"floor_s": floor.wall, "floor_cpu_s": floor.cpu, "in_process_s": wall,
                             "in_process_cpu_s": cpu, "cli_s": cli.wall, "cli_cpu_s": cli.cpu,
                             "cli_more_s": cli.wall - wall, "cli_more_cpu_s": cli.cpu - cpu})
        return measured, _child(payroll + ["--help"]).wall

    measured, help_s = benchmark.pedantic(measure, rounds=1, iterations=1)
    benchmark.extra_info.update(people=PEOPLE, help_s=help_s, rounds=measured,
                                **{key: statistics.median(r[key] for r in measured) for key in measured[0]})
    assert connect(db, read_only=True).execute(
        f"SELECT count(*) FROM payslips WHERE month = '{MONTH}'").fetchone()[0] > PEOPLE * 0.9
