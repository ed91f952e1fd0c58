"""Speed of `payroll simulate`: baseline plus scenario over twelve months, the same engine as the
monthly run, each projection in its own in-memory DuckDB.

    python3 -m pytest benchmarks/test_simulate.py --benchmark-enable                          # 2,000 people
    BENCH_SIMULATE_PEOPLE=100000 python3 -m pytest benchmarks/test_simulate.py --benchmark-enable

Target (issue 5): 100,000 people in at most 5 s on 2 cores. Two cases: a change from January (the
scenario computes all twelve months) and the new average wage published mid-year (the scenario
starts in July and takes January–June from the baseline). The suite runs these once each at the
small default size with --benchmark-disable, so CI keeps them working; it also projects only the
first BENCH_SIMULATE_MONTHS months (benchmarks/conftest.py: January–July, the mid-year change
included), which are the same months, computed the same way, as the first of the whole year.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from payroll.policy import load_policy
from payroll.simulate.project import projection_months, synthetic_roster
from payroll.simulate.runner import simulate
from payroll.simulate.scenario import load_scenario, parse_scenario

PEOPLE = int(os.environ.get("BENCH_SIMULATE_PEOPLE", "2000"))
MONTHS = int(os.environ.get("BENCH_SIMULATE_MONTHS", "12"))       # from January; 12: the whole year
SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


@pytest.fixture(scope="module")
def setup():
    return load_policy(), synthetic_roster(PEOPLE, seed=7, year=2026)


@pytest.fixture(autouse=True)
def first_months(monkeypatch):
    """Fewer months (the check only): simulate projects the first MONTHS months of 2026."""
    if MONTHS < 12:
        import payroll.simulate.runner as runner
        monkeypatch.setattr(runner, "projection_months", lambda year, years: projection_months(year, years)[:MONTHS])


def _paid(roster) -> int:
    """Everyone on the roster is paid: the whole roster in the year, or those hired by the end of
    the months projected."""
    if MONTHS == 12:
        return PEOPLE
    end = projection_months(2026, 1)[MONTHS - 1].end
    start = projection_months(2026, 1)[0].start
    return sum(1 for hired, left in zip(roster.column("hire_date").to_pylist(), roster.column("leave_date").to_pylist())
               if hired <= end and (left is None or left >= start))


def _run(policy, roster, scenario):
    result = simulate(scenario, policy, roster, 2026)
    people = int(result.totals.iloc[0].paid_in_year_baseline)
    result.close()
    return people


def test_simulate_raise_from_january(benchmark, setup):
    policy, roster = setup
    scenario = load_scenario(SCENARIOS / "raise-level-pay-5pct.toml")
    people = benchmark.pedantic(_run, args=(policy, roster, scenario), rounds=1, iterations=1)
    benchmark.extra_info["people"] = PEOPLE
    assert people == _paid(roster)


def test_simulate_new_average_wage_mid_year(benchmark, setup):
    policy, roster = setup
    scenario = load_scenario(SCENARIOS / "new-average-wage.toml")
    people = benchmark.pedantic(_run, args=(policy, roster, scenario), rounds=1, iterations=1)
    benchmark.extra_info["people"] = PEOPLE
    assert people == _paid(roster)


@pytest.mark.slow     # CI checks the two scenario cases, each with its baseline
def test_baseline_alone(benchmark, setup):
    """The floor under both cases: twelve baseline months (the scenario is a copy)."""
    policy, roster = setup
    people = benchmark.pedantic(_run, args=(policy, roster, parse_scenario('name = "none"')),
                                rounds=1, iterations=1)
    benchmark.extra_info["people"] = PEOPLE
    assert people == _paid(roster)
