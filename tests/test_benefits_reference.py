"""The monthly payroll with work injuries against the scalar reference (tests/reference.py), to the fen.

Random rosters of tests/test_reference_vs_engine.py, some people injured inside the months run:
grade 1–10 or none, a stoppage period of 0–3 months, work arranged or not. The reference figures
本人工资, the stoppage marker, the stopped regular pay and the employer disability allowance
(grades 5–6, topped up to the minimum wage, tax-exempt) on its own, without the engine's code.
"""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import branches
import reference
from conftest import examples, run_engine
from hypothesis import given, settings
from hypothesis import strategies as st
from test_reference_vs_engine import SLOW_OK, TABLES, check_identities, diff_rows, money, scenario


@st.composite
def injured_scenario(draw):
    # issue 13: the scenario also draws one-off payments; injuries are checked without them
    employees, attendance, months, _payments = draw(scenario(starts=("2024-11", "2024-12"), last="2025-03"))
    first = date(int(months[0][:4]), int(months[0][5:7]), 1)
    for person in employees:
        if draw(st.integers(0, 9)) < 5:
            continue
        event_day = first + timedelta(days=draw(st.integers(0, 120)))
        person["injury"] = {
            "event_date": event_day,
            "disability_grade": draw(st.one_of(st.none(), st.integers(1, 10), st.sampled_from([5, 6]))),
            "stoppage_months": draw(st.integers(0, 3)),
            "work_arranged": draw(st.booleans()),
        }
        if person["contribution_base"] is None:          # 本人工资 needs payslips before or a declared base
            person["contribution_base"] = draw(money(1000, 40000))
    return employees, attendance, months


def engine_with_injuries(employees, attendance, months):
    from payroll.db import connect
    con = connect(":memory:")
    for person in employees:
        injury = person.get("injury")
        if injury:
            con.execute("INSERT INTO events (employee_id, event_date, kind, disability_grade, stoppage_months, "
                        "work_arranged) VALUES (?, ?, 'injury', ?, ?, ?)",
                        [person["employee_id"], injury["event_date"], injury["disability_grade"],
                         injury["stoppage_months"], injury["work_arranged"]])
    return run_engine(TABLES, employees, attendance, months[0], months[-1], con=con)


def compare_with_injuries(employees, attendance, months, engine_rows=None):
    """The engine's payslips (`engine_rows` when the caller already ran engine_with_injuries on the
    same inputs) against the reference, every row; returns the reference's."""
    if engine_rows is None:
        engine_rows = engine_with_injuries(employees, attendance, months)
    reference_rows = reference.compute_year(employees, attendance, TABLES, months)
    assert set(engine_rows) == set(reference_rows)
    problems = []
    for key in sorted(reference_rows):
        problems += diff_rows(key, engine_rows[key], reference_rows[key])
        problems += check_identities(key, engine_rows[key])
    assert not problems, "\n".join(problems[:40]) + "\n" + "\n".join(
        f"  {e['employee_id']}: {e.get('injury')}" for e in employees if e.get("injury"))
    branches.record("injuries", reference_rows, employees, TABLES)
    return reference_rows


# CI: 3 random rosters (every branch is reached by the fixed roster below too:
# tests/test_branches_reached.py); the thorough tier 2,000
@settings(max_examples=examples(3), **SLOW_OK)
@given(injured_scenario())
def test_engine_matches_reference_with_injuries(case):
    compare_with_injuries(*case)


def test_fixed_injury_roster_exercises_every_path():
    # G5: grade 5 on 2024-12-05, 1 stoppage month (2024-12), no work arranged → allowance from 2025-01;
    #     declared base 1,000 → the 2024-11 payslip's injury base is the province floor 4,000 (one month of
    #     history); average wage in force 2024-12-05 for 100100: 9,500.55 → 60 % = 5,700.33 > 4,000, so
    #     本人工资 = 5,700.33; 0.7 × 5,700.33 = 3,990.231 → 3,990.23 > minimum wage 2,200.
    # G6: grade 6, work arranged → paid as usual. G2: grade 2 → regular pay stops, the fund pays (no line).
    base = dict(unit="U1", category="duty", level=4, post="PATROL", leave_date=None, service_start=None,
                special_deduction=Decimal(0), region_code="100100")
    employees = [
        dict(base, employee_id="G5", name="G5", hire_date=date(2019, 1, 1), contribution_base=Decimal(1000),
             injury={"event_date": date(2024, 12, 5), "disability_grade": 5, "stoppage_months": 1,
                     "work_arranged": False}),
        dict(base, employee_id="G6", name="G6", hire_date=date(2019, 1, 1), contribution_base=None,
             injury={"event_date": date(2024, 12, 5), "disability_grade": 6, "stoppage_months": 0,
                     "work_arranged": True}),
        dict(base, employee_id="G2", name="G2", hire_date=date(2019, 1, 1), contribution_base=None,
             injury={"event_date": date(2024, 11, 20), "disability_grade": 2, "stoppage_months": 2,
                     "work_arranged": False}),
    ]
    rows = compare_with_injuries(employees, {}, reference.month_range("2024-11", "2025-03"))
    assert rows[("G5", "2024-12")]["injury_stoppage"] and not rows[("G5", "2025-01")]["injury_stoppage"]
    assert rows[("G5", "2025-01")]["injury_disability_allowance"] == Decimal("3990.23")
    assert rows[("G5", "2025-01")]["base_pay"] == 0
    assert rows[("G6", "2025-01")]["injury_disability_allowance"] == 0 and rows[("G6", "2025-01")]["base_pay"] > 0
    assert rows[("G2", "2025-01")]["base_pay"] == 0 and rows[("G2", "2025-01")]["injury_disability_allowance"] == 0
    assert rows[("G2", "2024-12")]["injury_stoppage"] and rows[("G2", "2024-12")]["base_pay"] > 0
