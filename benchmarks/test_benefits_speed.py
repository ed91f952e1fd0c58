"""Speed of the monthly run with work-injury events (1 % of the roster injured in February, grades
5–6 without arranged work, no stoppage period, so February already pays the employer allowance line), and of figuring every
event's benefits.

    python3 -m pytest benchmarks/test_benefits_speed.py --benchmark-enable
    BENCH_PEOPLE=100000 python3 -m pytest benchmarks/test_benefits_speed.py --benchmark-enable
"""
from __future__ import annotations

import os

import pytest

from payroll.benefits import compute_benefits
from payroll.db import connect
from payroll.engine.run import run_months
from payroll.policy import load_policy
from payroll.synth import synth_roster, write_roster

PEOPLE = int(os.environ.get("BENCH_PEOPLE", "10000"))


@pytest.fixture(scope="module")
def injured_database():
    policy = load_policy()
    con = connect(":memory:")
    employees, attendance = synth_roster(PEOPLE, seed=7, year=2025)
    write_roster(con, employees, attendance)
    run_months(con, policy, "2025-01")
    con.execute("""
        INSERT INTO events (employee_id, event_date, kind, disability_grade, stoppage_months, work_arranged)
        SELECT employee_id, DATE '2025-02-15', 'injury', 5 + (row_number() OVER () % 2), 0, false
        FROM (SELECT employee_id FROM payslips WHERE month = '2025-01' ORDER BY employee_id) USING SAMPLE 1 PERCENT (reservoir, 7)""")
    return con, policy


def test_monthly_run_with_injuries(benchmark, injured_database):
    con, policy = injured_database
    results = benchmark.pedantic(lambda: run_months(con, policy, "2025-02"), rounds=3, iterations=1)
    benchmark.extra_info["people"] = PEOPLE
    paid = con.execute("SELECT count(*) FROM payslips WHERE month = '2025-02' "
                       "AND injury_disability_allowance > 0").fetchall()[0][0]
    benchmark.extra_info["allowance_lines"] = paid
    assert results[0].people > PEOPLE * 0.9 and paid > 0


def test_figure_all_benefits(benchmark, injured_database):
    con, policy = injured_database
    results = benchmark.pedantic(lambda: compute_benefits(con, policy), rounds=3, iterations=1)
    benchmark.extra_info["events"] = len(results)
    assert results
