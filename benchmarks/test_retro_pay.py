"""Speed of retro pay: a raise reaching back over six closed months, recomputed and diffed.

    python3 -m pytest benchmarks/test_retro_pay.py --benchmark-enable                      # 10,000 people
    BENCH_PEOPLE=100000 python3 -m pytest benchmarks/test_retro_pay.py --benchmark-enable  # other sizes

Each round runs inside a transaction that is rolled back, so every round finds the same six
changed months. With --benchmark-disable (the default) CI runs it once at the smallest size.

Issue 17 target 7: six changed months at most 6 × a regular month's run (June, run alone on the
same database in the same process): extra_info `over_six_months`. And the per-month rows in force:
a table edit that only 2026 months read recomputes none of the closed 2025 months.
"""
from __future__ import annotations

import os
import shutil

import pytest

from payroll.db import connect, scalar
from payroll.engine.closing import close_through
from payroll.engine.context import Month
from payroll.engine.retro import pay_arrears
from payroll.engine.run import prepare_connection, run_months
from benchmarks.common import timed
from payroll.policy import SHIPPED_TABLES, load_policy
from payroll.synth import synth_roster, write_roster

PEOPLE = int(os.environ.get("BENCH_PEOPLE", "10000"))


@pytest.fixture(scope="module")
def closed_half_year():
    policy = load_policy()
    con = connect(":memory:")
    employees, attendance = synth_roster(PEOPLE, seed=7, year=2025)
    write_roster(con, employees, attendance)
    run_months(con, policy, "2025-01", "2025-05")
    with timed() as june:                  # the regular month the retro is compared with
        run_months(con, policy, "2025-06")
    close_through(con, "2025-06")
    # late attendance for every closed month: every month is recomputed
    con.execute("UPDATE attendance SET bonus = bonus + 1 WHERE month <= '2025-06' AND hash(employee_id) % 10 = 0")
    return con, policy, june.wall


def test_retro_pay_six_closed_months(benchmark, closed_half_year):
    con, policy, month_s = closed_half_year
    prepare_connection(con, policy, [2025])

    rounds = []

    def retro():
        con.execute("BEGIN TRANSACTION")
        try:
            with timed() as took:
                result = pay_arrears(con, policy, Month.parse("2025-07"), "bench")
            rounds.append(took.wall)
            return result, scalar(con, "SELECT count(*) FROM arrears")
        finally:
            con.execute("ROLLBACK")

    result, lines = benchmark.pedantic(retro, rounds=3, iterations=1)
    benchmark.extra_info.update(people=PEOPLE, arrears_lines=lines, month_s=month_s,
                                over_six_months=min(rounds) / (6 * month_s))
    assert len(result.months_recomputed) == 6 and lines > 0


def test_a_2026_edit_recomputes_no_2025_month(benchmark, closed_half_year, tmp_path):
    """The half year closed, its late attendance undone, then a 2026 row edited (Zhejiang's minimum
    wage from 2026-01-01): checking the closed months finds nothing to recompute."""
    con, policy, _ = closed_half_year
    tables = tmp_path / "tables"
    shutil.copytree(SHIPPED_TABLES, tables)
    path = tables / "minimum_wage.csv"
    text = path.read_text(encoding="utf-8")
    assert text.count("330100,2026-01-01,2660,") == 1
    path.write_text(text.replace("330100,2026-01-01,2660,", "330100,2026-01-01,2700,"), encoding="utf-8")
    edited = load_policy(tables)

    def retro():
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute("UPDATE attendance SET bonus = bonus - 1 WHERE month <= '2025-06' "
                        "AND hash(employee_id) % 10 = 0")
            prepare_connection(con, edited, [2025])
            return pay_arrears(con, edited, Month.parse("2025-07"), "bench")
        finally:
            con.execute("ROLLBACK")

    result = benchmark.pedantic(retro, rounds=1, iterations=1)
    benchmark.extra_info["people"] = PEOPLE
    assert result.months_recomputed == []
