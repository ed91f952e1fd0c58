"""Speed of retro pay: a raise reaching back over six closed months, recomputed and diffed.

    python3 -m pytest benchmarks/test_retro_pay.py --benchmark-enable                      # 10,000 people
    BENCH_PEOPLE=100000 python3 -m pytest benchmarks/test_retro_pay.py --benchmark-enable  # other sizes

Each round runs inside a transaction that is rolled back, so every round finds the same six
changed months. With --benchmark-disable (the default) CI runs it once at the smallest size.
"""
from __future__ import annotations

import os

import pytest

from payroll.db import connect, scalar
from payroll.engine.closing import close_through
from payroll.engine.context import Month
from payroll.engine.retro import pay_arrears
from payroll.engine.run import prepare_connection, run_months
from payroll.policy import load_policy
from payroll.synth import synth_roster, write_roster

PEOPLE = int(os.environ.get("BENCH_PEOPLE", "10000"))


@pytest.fixture(scope="module")
def closed_half_year():
    policy = load_policy()
    con = connect(":memory:")
    employees, attendance = synth_roster(PEOPLE, seed=7, year=2025)
    write_roster(con, employees, attendance)
    run_months(con, policy, "2025-01", "2025-06")
    close_through(con, "2025-06")
    # late attendance for every closed month: every month is recomputed
    con.execute("UPDATE attendance SET bonus = bonus + 1 WHERE month <= '2025-06' AND hash(employee_id) % 10 = 0")
    return con, policy


def test_retro_pay_six_closed_months(benchmark, closed_half_year):
    con, policy = closed_half_year
    prepare_connection(con, policy, [2025])

    def retro():
        con.execute("BEGIN TRANSACTION")
        try:
            return pay_arrears(con, policy, Month.parse("2025-07"), "bench"), \
                scalar(con, "SELECT count(*) FROM arrears")
        finally:
            con.execute("ROLLBACK")

    result, lines = benchmark.pedantic(retro, rounds=3, iterations=1)
    benchmark.extra_info["people"] = PEOPLE
    benchmark.extra_info["arrears_lines"] = lines
    assert len(result.months_recomputed) == 6 and lines > 0
