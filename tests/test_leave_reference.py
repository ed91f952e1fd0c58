"""Issue 14: the engine against the scalar reference on random rosters with leave of every kind,
probation and deaths (tests/reference.py: leave_month, leave_lines, probation_ratio, with_death).

Tables: tests/data/tables_simple with the shipped national leave, probation and annual-leave rows
(test_leave_probation_death.make_tables). The months cross December, the payout month of untaken
annual leave.
"""
from __future__ import annotations

from datetime import date, timedelta

import pytest
import reference
from conftest import examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_leave_probation_death import make_tables, run
from test_reference_vs_engine import attendance_row, check_identities, diff_rows, employee

KINDS = ("annual", "sick", "maternity", "paternity", "marriage", "bereavement", "unpaid", "other_paid")
WINDOW = (date(2024, 10, 1), date(2025, 3, 31))


@st.composite
def leave_records(draw, person):
    """Non-overlapping leave inside employment and the window."""
    first = max(person["hire_date"], WINDOW[0] - timedelta(days=40))
    last = min(person["leave_date"] or WINDOW[1], WINDOW[1])
    records, day = [], first
    for _ in range(draw(st.integers(0, 3))):
        if day > last:
            break
        start = day + timedelta(days=draw(st.integers(0, 40)))
        end = start + timedelta(days=draw(st.integers(0, 45)))
        if start > last:
            break
        end = min(end, last)
        kind = draw(st.sampled_from(KINDS))
        if kind == "annual":            # within a year, a few days (the import refuses more than the balance)
            end = min(end, start + timedelta(days=4), date(start.year, 12, 31))
        records.append((kind, start, end))
        day = end + timedelta(days=1)
    return records


@st.composite
def roster(draw):
    first = draw(st.sampled_from(["2024-10", "2024-11", "2024-12"]))
    months = reference.month_range(first, "2025-03")
    people = []
    for i in range(draw(st.integers(1, 12))):
        person = draw(employee(f"E{i:02d}", window=WINDOW))
        if draw(st.integers(0, 4)) == 0:
            person["probation_end"] = person["hire_date"] + timedelta(days=draw(st.integers(0, 180)))
        if draw(st.integers(0, 5)) == 0:
            low = max(person["hire_date"], WINDOW[0])
            person["death_date"] = low + timedelta(days=draw(st.integers(0, (WINDOW[1] - low).days)))
        person["leave"] = draw(leave_records(reference.with_death(person)))
        people.append(person)
    attendance = {}
    for person in people:
        for month in months:
            if reference.is_active(reference.with_death(person), month) and draw(st.integers(0, 9)) < 3:
                attendance[(person["employee_id"], month)] = draw(attendance_row)
    return people, attendance, months


def compare(tables, people, attendance, months):
    leave = [(p["employee_id"], kind, start, end) for p in people for kind, start, end in p["leave"]]
    deaths = [(p["employee_id"], p["death_date"], "non_work") for p in people if p.get("death_date")]
    engine_rows, _ = run(tables, people, months[0], months[-1], leave=leave, deaths=deaths, attendance=attendance)
    reference_rows = reference.compute_year(people, attendance, tables, months)
    problems = []
    if set(engine_rows) != set(reference_rows):
        problems.append(f"  only in the engine {sorted(set(engine_rows) - set(reference_rows))}; only in the "
                        f"reference {sorted(set(reference_rows) - set(engine_rows))}")
    for key in sorted(set(engine_rows) & set(reference_rows)):
        problems += diff_rows(key, engine_rows[key], reference_rows[key])
        problems += check_identities(key, engine_rows[key])
    assert not problems, "\n".join(problems[:40]) + "\n" + "\n".join(str(p) for p in people)


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    return make_tables(tmp_path_factory.mktemp("leave_tables"))


# CI: 2 random rosters (and 1 with leave carried over); the thorough tier 2,000 each
@settings(max_examples=examples(2), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(case=roster())
def test_engine_matches_reference_with_leave_probation_and_deaths(tables, case):
    compare(tables, *case)


@pytest.fixture(scope="module")
def carry_tables(tmp_path_factory):
    """The same tables with the province carrying untaken annual leave over from 2024: 2024's untaken days
    enter 2025's balance (paid to the window's leavers of 2025), nothing is paid in December 2024."""
    tables = make_tables(tmp_path_factory.mktemp("carry_tables"))
    with open(tables / "annual_leave_policy.csv", "a", encoding="utf-8") as handle:
        handle.write("100000,2024-01-01,carry_over,2,12,test: the province carries untaken leave over\n")
    return tables


@st.composite
def carry_roster(draw):
    """A roster plus one person hired before 2024 who leaves in early 2025 (and so is paid 2024's
    carried days, under art. 12), with annual leave in 2024 likely."""
    people, attendance, months = draw(roster())
    person = draw(employee("E99", window=WINDOW))
    person.update(hire_date=draw(st.dates(date(2010, 1, 1), date(2023, 12, 31))),
                  leave_date=draw(st.dates(date(2025, 1, 1), date(2025, 3, 31))))
    taken = draw(st.integers(0, 4))
    start = date(2024, 11, 4) + timedelta(days=draw(st.integers(0, 3)))
    person["leave"] = [("annual", start, start + timedelta(days=taken))] + draw(leave_records(
        dict(person, hire_date=date(2024, 12, 1))))
    return people + [person], attendance, months


@settings(max_examples=examples(1), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(case=carry_roster())
def test_engine_matches_reference_with_leave_carried_over(carry_tables, case):
    compare(carry_tables, *case)
