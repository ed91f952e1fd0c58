"""Latency of explaining one person, the way `payroll serve` does it: a read-only connection
prepared once, then explain (trace through the engine + the stored payslip + the check) per request.
Target: at most 100 ms for one person on 1,000,000 people × 12 months.

    python3 -m pytest benchmarks/test_explain_latency.py --benchmark-enable                 # 2,000 people
    BENCH_PEOPLE=1000000 BENCH_DB=/tmp/bench1m.duckdb \
        python3 -m pytest benchmarks/test_explain_latency.py --benchmark-enable            # the target size

BENCH_DB keeps the database (built on first use: synthetic roster, January–December 2025 run by
the engine; 1,000,000 people take several minutes and about 3 GB) so later runs reuse it.
BENCH_EXPLAIN_MONTHS: the months run from January, the last one explained (default 12, December;
the suite's check runs 2, benchmarks/conftest.py).
"""
from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest

from payroll.db import connect
from payroll.engine.run import run_months
from payroll.policy import load_policy
from payroll.reports.compare import compare_months
from payroll.reports.explain import Explainer
from payroll.synth import synth_roster, write_roster

PEOPLE = int(os.environ.get("BENCH_PEOPLE", "2000"))
MONTH = f"2025-{int(os.environ.get('BENCH_EXPLAIN_MONTHS', '12')):02d}"


def _build(path: Path) -> None:
    con = connect(path)
    employees, attendance = synth_roster(PEOPLE, seed=7, year=2025)
    write_roster(con, employees, attendance)
    del employees, attendance
    run_months(con, load_policy(), "2025-01", MONTH)
    con.close()


@pytest.fixture(scope="module")
def explainer(tmp_path_factory):
    path = Path(os.environ.get("BENCH_DB") or tmp_path_factory.mktemp("bench") / "explain.duckdb")
    if not path.exists():
        _build(path)
    con = connect(path, read_only=True)
    people = con.execute("SELECT count(*) FROM employees").fetchall()[0][0]
    if people != PEOPLE:
        pytest.fail(f"{path} holds {people} people, BENCH_PEOPLE is {PEOPLE}")
    ready = Explainer(con, load_policy())
    ready.explain(_people(ready)[0], MONTH)               # the month's parameters, as serve keeps them
    return ready


def _people(explainer: Explainer) -> list[str]:
    return [r[0] for r in explainer.con.execute(
        "SELECT employee_id FROM payslips WHERE month = ? AND employee_id IN "
        "(SELECT employee_id FROM payslips WHERE month = '2025-01') ORDER BY hash(employee_id) LIMIT 25",
        [MONTH]).fetchall()]


def test_explain_one_person(benchmark, explainer):
    people = itertools.cycle(_people(explainer))
    result = benchmark.pedantic(lambda: explainer.explain(next(people), MONTH), rounds=25, iterations=1)
    benchmark.extra_info["people"] = PEOPLE
    assert result.mismatches == []


def test_compare_two_months(benchmark, explainer):
    people = itertools.cycle(_people(explainer))
    result = benchmark.pedantic(lambda: compare_months(explainer, next(people), "2025-01", MONTH),
                                rounds=5, iterations=1)
    benchmark.extra_info["people"] = PEOPLE
    assert result.exact
