"""The floor solver: the smallest uniform raise of the pay scale (or of one allowance item) that makes
every region meet its average-wage floor (南通实施办法 art. 7 para. 3 and the like), and its cost.

The raise is a whole number of steps (default 0.1 percentage point). The average gross pay rises
monotonically with the raise (base pay, and overtime and contribution bases built on it, never fall
when the scale rises; the minimum-wage top-up only shrinks by what base pay adds), so the smallest
meeting raise is found by bisection between a raise known to fail and one known to hold. A direct
linear estimate from the shortfall seeds the bracket, so a typical solve takes three to five
projections; each projection is the monthly engine, so the answer is exact, not an estimate.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Callable

from ..errors import PayrollError
from .project import Projection
from .results import floor_holds
from .scenario import Solver


@dataclass
class Evaluation:
    steps: int
    raise_percent: Decimal
    holds: bool
    margin: float                        # least (average gross − floor) over the regions and years
    employer_cost: dict[int, int]        # year -> fen
    gross_pay: dict[int, int]


@dataclass
class SolverResult:
    component: str                        # base_pay or an allowance item
    regions: list[str]
    step: Decimal                         # percentage points
    raise_percent: Decimal                # the smallest raise that meets every floor
    cost: dict[int, int]                  # year -> employer cost added by the raise (fen)
    gross_added: dict[int, int]           # year -> gross pay added (fen)
    below: Evaluation | None              # the raise one step smaller (fails), None if the raise is 0
    solved: Projection | None = None      # the projection with the raise, for the report
    evaluations: list[Evaluation] = field(default_factory=list)


def _totals(run: Projection, column: str) -> dict[int, int]:
    rows = run.con.execute(f"""SELECT CAST(left(month, 4) AS INTEGER), CAST(sum({column}) * 100 AS BIGINT)
        FROM projected WHERE month >= '{run.months[0].label}' GROUP BY 1 ORDER BY 1""").fetchall()
    return {year: int(value) for year, value in rows}


def _linear_guess(run: Projection, regions: list[str], component_column: str) -> float:
    """Raise (%) that would close the largest shortfall if gross grew by raise × the component."""
    worst = 0.0
    for year, frame in run.floors.items():
        for row in frame[frame.region_code.isin(regions)].itertuples():
            if row.rule != "average_not_below_average_wage" or row.holds:
                continue
            part = run.con.execute(f"""SELECT sum({component_column}), count(*) FROM projected
                WHERE region_code = ? AND month BETWEEN '{year}-01' AND '{year}-12'""",
                                   [row.region_code]).fetchall()[0]
            if not part[0]:
                continue
            shortfall = float(row.floor) * part[1] - float(row.average_gross_ytd) * part[1]
            worst = max(worst, 100.0 * shortfall / float(part[0]))
    return worst


def _margin(run: Projection, regions: list[str]) -> float:
    margins = [float(row.average_gross_ytd) - float(row.floor)
               for frame in run.floors.values()
               for row in frame[frame.region_code.isin(regions)].itertuples()
               if row.rule == "average_not_below_average_wage"]
    return min(margins) if margins else 0.0


def _secant(a: Evaluation, b: Evaluation) -> int:
    """The whole step where the line through two evaluations crosses a zero margin."""
    if b.margin == a.margin:
        return b.steps + 1
    return math.ceil(a.steps + (0 - a.margin) * (b.steps - a.steps) / (b.margin - a.margin))


def solve_floor(config: Solver, scenario: Projection,
                project_with_raise: Callable[[Decimal, list[str]], Projection],
                component_column: str, regions: list[str]) -> SolverResult:
    """`project_with_raise(percent, regions)` runs the scenario with the raise applied."""
    step = config.step
    most = int(config.max_raise / step)                 # whole steps up to max_raise
    base_cost, base_gross = _totals(scenario, "employer_cost"), _totals(scenario, "gross_pay")
    evaluations: dict[int, Evaluation] = {}
    kept: dict[str, tuple[int, Projection]] = {}         # the smallest holding raise's projection

    def evaluate(steps: int) -> Evaluation:
        if steps not in evaluations:
            percent = step * steps
            run = project_with_raise(percent, regions) if steps else scenario
            result = Evaluation(steps, percent, floor_holds(run, regions), _margin(run, regions),
                                _totals(run, "employer_cost"), _totals(run, "gross_pay"))
            evaluations[steps] = result
            best = kept.get("best")
            if result.holds and (best is None or steps < best[0]):
                if best is not None and best[1] is not scenario:
                    best[1].close()
                kept["best"] = (steps, run)
            elif run is not scenario:
                run.close()                                 # one projection open at a time
        return evaluations[steps]

    if not regions or evaluate(0).holds:
        return SolverResult(config.component, regions, step, Decimal(0), {}, {}, None, scenario,
                            list(evaluations.values()))
    # secant steps on the margin (nearly linear in the raise), kept inside the bracket and
    # alternated with bisection so that the bracket always at least halves every second probe
    low = 0                                                        # known to fail
    high = min(most, max(1, math.ceil(_linear_guess(scenario, regions, component_column) / float(step))))
    while not evaluate(high).holds:                                # extrapolate until a raise holds
        if high >= most:
            raise PayrollError(f"solver: a raise of {config.max_raise} % does not meet the floor of "
                               f"{', '.join(regions)}; raise solver.max_raise or check the tables")
        low, high = high, min(most, max(high + 1, _secant(evaluations[0], evaluations[high]) + 1))
    bisect = False
    while high - low > 1:
        middle = (low + high) // 2 if bisect else \
            min(high - 1, max(low + 1, _secant(evaluations[low], evaluations[high])))
        if evaluate(middle).holds:
            high = middle
        else:
            low = middle
        bisect = not bisect
    best = evaluate(high)
    below = evaluations[high - 1]                       # low == high - 1 was evaluated and fails
    return SolverResult(
        config.component, regions, step, best.raise_percent,
        {year: cost - base_cost.get(year, 0) for year, cost in best.employer_cost.items()},
        {year: gross - base_gross.get(year, 0) for year, gross in best.gross_pay.items()},
        below, kept["best"][1], sorted(evaluations.values(), key=lambda e: e.steps))
