"""The thorough tier's large check (PAYROLL_THOROUGH=1): a synthetic year of 100,000 people on the
shipped tables, run by the engine, and a random sample of 5,000 of them (all levels, hire dates
and regions the roster has) recomputed by the scalar reference, every payslip to the fen.

Sizes: PAYROLL_THOROUGH_PEOPLE (100,000) and PAYROLL_THOROUGH_SAMPLE (5,000), for trying it smaller.
"""
from __future__ import annotations

import os
import random

import pytest
from conftest import SHIPPED_TABLES
from from_database import compare_stored_year

PEOPLE = int(os.environ.get("PAYROLL_THOROUGH_PEOPLE", "100000"))
SAMPLE = int(os.environ.get("PAYROLL_THOROUGH_SAMPLE", "5000"))
MONTHS = [f"2025-{m:02d}" for m in range(1, 13)]


@pytest.mark.slow
def test_a_large_year_matches_the_reference_on_a_random_sample():
    from benchmarks.common import synth_database
    from payroll.db import connect
    from payroll.engine.run import run_months
    from payroll.policy import load_policy

    con = connect(":memory:")
    employees, _ = synth_database(con, PEOPLE, tuple(MONTHS))
    run_months(con, load_policy(), MONTHS[0], MONTHS[-1])
    seed = random.SystemRandom().randrange(1 << 30)
    draw = random.Random(seed)
    # stratified: some of every level (level 1 is rare in the roster), the rest at random
    ids = set()
    for _, group in employees.groupby("level"):
        members = sorted(group.employee_id.astype(str))
        ids.update(draw.sample(members, min(len(members), max(1, SAMPLE // 50))))
    rest = sorted(set(employees.employee_id.astype(str)) - ids)
    ids = sorted(ids | set(draw.sample(rest, max(0, min(SAMPLE, PEOPLE) - len(ids)))))
    sampled = employees[employees.employee_id.astype(str).isin(ids)]
    # the sample spans the roster: every level and both halves of the hire dates
    assert set(sampled.level) == set(employees.level)
    middle = sorted(employees.hire_date.astype(str))[len(employees) // 2]
    assert (sampled.hire_date.astype(str) < middle).any() and (sampled.hire_date.astype(str) >= middle).any()
    compared, problems = compare_stored_year(con, SHIPPED_TABLES, ids, MONTHS)
    assert compared > 10 * len(ids) and not problems, \
        f"seed {seed}: {len(problems)} differences\n" + "\n".join(problems[:40])
