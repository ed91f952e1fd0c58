"""The month's fixed cost (issue 17): twelve months of a five-person roster in one run, where the
work that does not grow with the roster is nearly all the time (planning the month's query,
installing its parameter and status tables, the fingerprint). The test suite runs hundreds of such
months.

    python3 -m pytest benchmarks/test_small_month.py --benchmark-enable

BENCH_SMALL_MONTHS sets the number of months from January (default 12); the suite's check
(--benchmark-disable) runs 3 (benchmarks/conftest.py), measuring always runs twelve unless given.

CPU seconds go in extra_info (the run is single-statement work, so CPU is steadier than wall time
on a shared machine). A ratio against another version of the code is measured outside the tree:
run this on both checkouts, alternating, in one session.
"""
from __future__ import annotations

from benchmarks.common import cpu_seconds, size, synth_database
from payroll.db import connect
from payroll.engine.run import run_months
from payroll.policy import load_policy

PEOPLE = 5
MONTHS = tuple(f"2025-{m:02d}" for m in range(1, size("BENCH_SMALL_MONTHS", 12) + 1))


def test_twelve_small_months(benchmark):
    policy = load_policy()
    cpu = []

    def fresh_database():
        con = connect(":memory:")
        synth_database(con, PEOPLE, MONTHS)
        return (con,), {}

    def twelve_months(con):
        started = cpu_seconds()
        results = run_months(con, policy, MONTHS[0], MONTHS[-1])
        cpu.append(cpu_seconds() - started)
        return results

    results = benchmark.pedantic(twelve_months, setup=fresh_database, rounds=3, iterations=1)
    benchmark.extra_info.update(people=PEOPLE, months=len(MONTHS), cpu_s=sorted(cpu)[len(cpu) // 2])
    assert [r.month for r in results] == list(MONTHS)
    assert all(r.people > 0 for r in results)
