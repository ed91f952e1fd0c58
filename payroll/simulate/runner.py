"""`payroll simulate`: baseline (the tables as they are) against a scenario, with the monthly engine.

Each projection runs in its own in-memory DuckDB (project.Projection); the user's database is only
read (its roster, and last year's payslips for the contribution bases).
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Callable

import pandas as pd
import pyarrow as pa

from ..engine.context import Month
from ..policy import Policy
from .apply import Edit, apply_changes, first_effective
from .project import Projection, RosterChanges, projection_months
from .results import (DIMENSIONS, NetChanges, aggregate, components_table, failing_regions,
                      floor_comparison, monthly, net_changes, side_by_side)
from .scenario import Scenario, ScenarioError, TableChange
from .solver import SolverResult, solve_floor


@dataclass
class Comparison:
    scenario: Scenario
    file: str
    months: list[Month]
    baseline_policy: Policy
    scenario_policy: Policy
    baseline: Projection
    scenario_run: Projection
    first_changed: str | None              # first month the scenario computes itself
    totals: pd.DataFrame                   # per year, side by side
    components: pd.DataFrame               # per year and component
    by: dict[str, pd.DataFrame]            # per dimension
    monthly: pd.DataFrame
    floors: pd.DataFrame
    net: list[NetChanges]
    solver: SolverResult | None = None
    solver_floors: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def years(self) -> list[int]:
        return sorted({m.year for m in self.months})

    def close(self) -> None:
        for run in {id(r): r for r in (self.baseline, self.scenario_run,
                                       self.solver.solved if self.solver else None) if r}.values():
            run.close()


def _first_month_of(day: date) -> str:
    """The first month whose first day is on or after `day` (the row in force on the 1st applies)."""
    month = Month.parse(day.strftime("%Y-%m"))
    return month.label if day.day == 1 else month.next().label


def _check_roster(scenario: Scenario, policy: Policy, months: list[Month], file) -> None:
    labels = {m.label for m in months}
    posts = policy.posts()
    for index, hire in enumerate(scenario.roster.hires):
        path = f"roster.hires[{index}]"
        if hire.region not in policy.region_codes():
            raise ScenarioError(file, f"{path}.region", f"{hire.region} is not in regions.csv")
        if hire.level not in policy.levels(hire.region, hire.category):
            raise ScenarioError(file, f"{path}.level", f"level {hire.level} is not on the {hire.category} "
                                                       f"pay scale of {hire.region}")
        if hire.post is not None:
            row = posts[posts.post == hire.post]
            if row.empty:
                raise ScenarioError(file, f"{path}.post", f"{hire.post!r} is not in posts.csv")
            if row.category.iloc[0] not in (hire.category, "all"):
                raise ScenarioError(file, f"{path}.post", f"{hire.post} is a {row.category.iloc[0]} post")
        outside = [m for m in hire.month if m not in labels]
        if outside:
            raise ScenarioError(file, f"{path}.month", f"{', '.join(outside)} is outside the projection "
                                                       f"{months[0].label} to {months[-1].label}")


def edits_of(scenario: Scenario) -> list[Edit]:
    return [Edit(change, f"change[{i}]", f"scenario {scenario.name!r}, change[{i}]"
                 + (f": {change.note}" if change.note else ""))
            for i, change in enumerate(scenario.change)]


def solver_edit(scenario: Scenario, policy: Policy, percent: Decimal, regions: list[str],
                start: date, file) -> Edit:
    config = scenario.solver
    factor = 1 + percent / 100
    if config.component == "base_pay":
        change = TableChange(table="pay_scale", column="base_pay", scale=factor, region=regions,
                             effective=config.effective)
    else:
        items = set(policy.frames["allowances"].item)
        if config.component not in items:
            raise ScenarioError(file, "solver.component", f"{config.component!r} is neither base_pay nor "
                                                          f"an allowance item ({', '.join(sorted(items))})")
        change = TableChange(table="allowances", column="amount", scale=factor, region=regions,
                             where={"item": [config.component]}, effective=config.effective)
    return Edit(change, "solver", f"scenario {scenario.name!r}: floor solver raise {percent} %")


def structure_notes(policy: Policy) -> list[str]:
    """The pay-structure check on the scenario's tables (payroll/pay_structure.py): breaches and
    gaps under the minimum, reported with the cost rather than refused."""
    from ..errors import CellProblem
    from ..pay_structure import check_pay_structure
    problems: list[CellProblem] = []
    warnings = check_pay_structure(policy.frames, policy.chain, problems)
    return ([f"层级工资倒挂 pay-structure breach: {problem}" for problem in problems]
            + [f"层级差距不足 gap under the minimum: {warning}" for warning in warnings])


def _run_together(jobs: list[tuple[Projection, str | None, str]], say: Callable[[str], None]) -> None:
    """Run projections side by side, one thread each. DuckDB runs a query on k threads only if it
    scans at least k row groups of 122,880 rows (duckdb.org, "Tuning Workloads": parallelism), so
    a month of 100,000 people runs on one core; it releases the GIL while it works, so the baseline
    and the scenario each get one of two cores."""
    lock = threading.Lock()

    def progress(label: str):
        def report(month: str) -> None:
            with lock:
                say(f"{label} {month}")
        return report

    if not jobs:
        return
    if len(jobs) == 1:
        run, first, label = jobs[0]
        run.run(start=first, progress=progress(label))
        return
    # side by side, each projection keeps to one thread: more would only contend for the same cores
    for run, _, _ in jobs:
        run.con.execute("SET threads = 1")
    try:
        with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
            futures = [pool.submit(run.run, first, progress(label)) for run, first, label in jobs]
            for future in futures:
                future.result()                 # re-raises a projection's error here
    finally:
        for run, _, _ in jobs:
            run.con.execute("RESET threads")


def _results(baseline: Projection, scenario: Projection) -> list[tuple]:
    """Totals, breakdowns and the monthly curve of each projection, the two side by side."""
    def summarise(run: Projection) -> tuple:
        return (aggregate(run, ()), {dim: aggregate(run, (dim,)) for dim in DIMENSIONS}, monthly(run))

    if scenario is baseline:
        return [summarise(baseline)] * 2
    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(summarise, (baseline, scenario)))


def simulate(scenario: Scenario, policy: Policy, roster: pa.Table, year: int, years: int = 1,
             history: pa.Table | None = None, file: str | Path = "<scenario>",
             progress: Callable[[str], None] | None = None) -> Comparison:
    months = projection_months(year, years)
    start = months[0].start
    _check_roster(scenario, policy, months, file)
    edits = edits_of(scenario)
    scenario_policy = apply_changes(policy, edits, start, file, scenario.name)
    overtime = dict(scenario.assumptions.overtime_hours)
    bonuses = list(scenario.assumptions.annual_bonus)          # issue 13: assumed year-end bonuses
    say = progress or (lambda text: None)

    levels = scenario.roster.levels
    changes = RosterChanges(list(scenario.roster.hires), float(scenario.roster.attrition_rate),
                            scenario.roster.attrition_seed, scenario.roster.promotion,
                            levels.seed if levels else None)
    structure = structure_notes(scenario_policy)
    firsts = [m for m in (changes.first_month(months),
                          _first_month_of(first_effective(edits, start)) if edits else None) if m]
    first_changed = min(firsts) if firsts and min(firsts) <= months[-1].label else None

    def project(with_policy: Policy, first: str | None, reuse: Projection, label: str,
                together_with: Projection | None = None) -> Projection:
        """The scenario's projection: months before `first` taken from `reuse`, the rest computed
        (alongside `together_with`'s remaining months, when given: see _run_together)."""
        if first is None and with_policy is reuse.policy:
            return reuse                        # nothing changes: the scenario is the baseline
        run = Projection(with_policy, months, roster, history, overtime, bonuses)
        run.apply_roster(changes)
        begin = first or "9999-12"
        if begin > months[0].label:
            run.copy_months(reuse, begin)       # identical months: taken, not recomputed
        jobs = [(run, first, label)] if first else []
        if together_with is not None:
            jobs.append((together_with, first, "baseline"))
        _run_together(jobs, say)
        return run

    baseline = Projection(policy, months, roster, history, overtime, bonuses)
    if levels is not None and levels.baseline:
        baseline.use_level_rules(levels.seed)
    if first_changed is None or first_changed > months[0].label:
        # the months before the first change are the baseline's, and the scenario's too
        baseline.run(progress=lambda label: say(f"baseline {label}"), stop=first_changed)
    scenario_run = project(scenario_policy, first_changed, baseline, "scenario",
                           together_with=baseline if first_changed else None)

    solver = None
    if scenario.solver is not None:
        effective = scenario.solver.effective or start

        def with_raise(percent: Decimal, regions: list[str]) -> Projection:
            edit = solver_edit(scenario, scenario_policy, percent, regions, start, file)
            raised = apply_changes(scenario_policy, [edit], start, file, f"{scenario.name}+{percent}")
            first = min([m for m in (first_changed, _first_month_of(effective)) if m])
            return project(raised, first, scenario_run, f"solver {percent} %")

        column = "base_pay" if scenario.solver.component == "base_pay" else "allowances"
        regions = list(scenario.solver.regions or failing_regions(scenario_run))
        if regions:     # a component with no row in these regions is an error before any projection
            probe = solver_edit(scenario, scenario_policy, scenario.solver.step, regions, start, file)
            apply_changes(scenario_policy, [probe], start, file, "probe")
        solver = solve_floor(scenario.solver, scenario_run, with_raise, column, regions)

    names = policy.region_names()
    (base_totals, base_by, base_monthly), (scen_totals, scen_by, scen_monthly) = _results(baseline, scenario_run)
    totals = side_by_side(base_totals, scen_totals, ["year"])
    by = {dim: side_by_side(base_by[dim], scen_by[dim], ["year", dim]) for dim in DIMENSIONS}
    by["region_code"].insert(2, "name", by["region_code"].region_code.map(names))
    comparison = Comparison(
        scenario, str(file), months, policy, scenario_policy, baseline, scenario_run, first_changed,
        totals, components_table(totals), by, side_by_side(base_monthly, scen_monthly, ["month"]),
        floor_comparison(baseline, scenario_run, names), net_changes(baseline, scenario_run), solver)
    if solver is not None and solver.solved is not None and solver.solved is not scenario_run:
        comparison.solver_floors = floor_comparison(scenario_run, solver.solved, names)
    comparison.notes += structure
    if levels is not None:
        comparison.notes.append("层级按 level_rules 升降，考核结果按 appraisal_distribution 抽取（同一种子结果相同）"
                                + ("，基线同样适用" if levels.baseline else "，仅情景适用"))
    if overtime:
        comparison.notes.append("加班、夜班按情景文件的假设计算，基线与情景相同")
    else:
        comparison.notes.append("未假设加班、夜班（已录入的考勤不推算到测算期间）")
    return comparison
