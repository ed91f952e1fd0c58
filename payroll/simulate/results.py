"""Compare two projections: annual cost by dimension and component, monthly curve, headcount, the
average-wage floor per region, and the distribution of net-pay changes per person.

Every amount is summed as DECIMAL in DuckDB and handed over as integer fen (exact).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from ..columns import EMPLOYEE_CONTRIBUTIONS, EMPLOYER_CONTRIBUTIONS, PAY_COMPONENTS
from .project import COMPONENTS, Projection

DIMENSIONS = ("region_code", "unit", "category", "level")
# component table rows: the pay parts, gross, each fund, tax, premiums, employer cost, net
COMPONENT_ROWS = (*PAY_COMPONENTS, "gross_pay", *EMPLOYEE_CONTRIBUTIONS, "employee_contributions",
                  "iit", *EMPLOYER_CONTRIBUTIONS, "employer_contributions", "accident_insurance_employer",
                  "employer_cost", "net_pay")
EXTRA_LABELS = {"employee_contributions": ("个人缴费合计", "Employee contributions"),
                "employer_contributions": ("单位缴费合计", "Employer contributions"),
                "iit": ("个人所得税", "Income tax")}
PERCENTILES = (0.05, 0.10, 0.25, 0.50, 0.75, 0.90, 0.95)


def _sums() -> str:
    return ", ".join(f"CAST(sum({c}) * 100 AS BIGINT) AS {c}" for c in COMPONENTS)


BREAKDOWN = ("gross_pay", *EMPLOYEE_CONTRIBUTIONS, "iit", *EMPLOYER_CONTRIBUTIONS,
             "accident_insurance_employer", "employer_cost", "net_pay")


def aggregate(run: Projection, by: tuple[str, ...]) -> pd.DataFrame:
    """Per year (and `by`): headcount at the year end (paid in December), person-months (÷ 12:
    the average headcount) and the components in fen (every component for the totals, the ones
    the breakdown sheets show otherwise). The totals also count everyone paid in the year (a
    distinct count: one scan, not one per breakdown)."""
    keys = ", ".join(("CAST(left(month, 4) AS INTEGER) AS year",) + by)
    sums = ", ".join(f"CAST(sum({c}) * 100 AS BIGINT) AS {c}" for c in (BREAKDOWN if by else COMPONENTS))
    paid = "" if by else "count(DISTINCT employee_id) AS paid_in_year, "
    frame = run.con.execute(f"""
        SELECT {keys}, count(*) FILTER (right(month, 2) = '12') AS headcount, {paid}
               count(*) AS person_months, {sums}
        FROM projected WHERE month >= '{run.months[0].label}' GROUP BY ALL ORDER BY ALL""").df()
    frame["employee_contributions"] = frame[list(EMPLOYEE_CONTRIBUTIONS)].sum(axis=1)
    frame["employer_contributions"] = frame[list(EMPLOYER_CONTRIBUTIONS)].sum(axis=1)
    return frame


def monthly(run: Projection) -> pd.DataFrame:
    return run.con.execute(f"""
        SELECT month, count(*) AS headcount, {_sums()}
        FROM projected WHERE month >= '{run.months[0].label}' GROUP BY month ORDER BY month""").df()


def side_by_side(baseline: pd.DataFrame, scenario: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Outer join on keys; columns <name>_baseline, <name>_scenario, <name>_change; absent = 0."""
    merged = baseline.merge(scenario, on=keys, how="outer", suffixes=("_baseline", "_scenario"))
    columns = {name: merged[name] for name in merged.columns}
    changes = {}
    for column in baseline.columns:
        if column in keys:
            continue
        for side in ("_baseline", "_scenario"):
            columns[column + side] = merged[column + side].fillna(0).astype("int64")
        changes[column + "_change"] = columns[column + "_scenario"] - columns[column + "_baseline"]
    columns.update(changes)
    # built at once: a column added at a time fragments the frame (pandas PerformanceWarning)
    return pd.DataFrame(columns).sort_values(keys).reset_index(drop=True)


def components_table(totals: pd.DataFrame) -> pd.DataFrame:
    """One row per year and component: baseline, scenario, change (fen)."""
    rows = []
    for record in totals.to_dict("records"):
        for name in COMPONENT_ROWS:
            rows.append({"year": record["year"], "component": name,
                         "baseline": record[f"{name}_baseline"], "scenario": record[f"{name}_scenario"],
                         "change": record[f"{name}_change"]})
    return pd.DataFrame(rows)


@dataclass
class NetChanges:
    """Annual net pay, scenario − baseline, per person paid in both (fen)."""
    year: int
    people: int
    losing: int
    gaining: int
    unchanged: int
    only_baseline: int          # paid in the baseline only (left under the scenario)
    only_scenario: int          # paid in the scenario only (hired under the scenario)
    minimum: int
    maximum: int
    mean: int
    percentiles: dict[float, int] = field(default_factory=dict)


def net_changes(baseline: Projection, scenario: Projection) -> list[NetChanges]:
    per_person = ("SELECT CAST(left(month, 4) AS INTEGER) AS year, employee_id, "
                  "CAST(sum(net_pay) * 100 AS BIGINT) AS net "
                  f"FROM projected WHERE month >= '{baseline.months[0].label}' GROUP BY ALL")
    con = scenario.con
    con.register("_baseline_net", baseline.con.sql(per_person).to_arrow_table())
    try:
        quantiles = ", ".join(f"quantile_disc(change, {p}) AS p{round(p * 100)}" for p in PERCENTILES)
        rows = con.execute(f"""
            WITH s AS ({per_person}),
            joined AS (SELECT coalesce(s.year, b.year) AS year, s.net - b.net AS change,
                              b.net IS NULL AS only_scenario, s.net IS NULL AS only_baseline
                       FROM s FULL JOIN _baseline_net b USING (year, employee_id))
            SELECT year, count(change), count(*) FILTER (change < 0), count(*) FILTER (change > 0),
                   count(*) FILTER (change = 0), count(*) FILTER (only_baseline),
                   count(*) FILTER (only_scenario), min(change), max(change),
                   CAST(round(avg(change)) AS BIGINT), {quantiles}
            FROM joined GROUP BY year ORDER BY year""").fetchall()
    finally:
        con.unregister("_baseline_net")
    result = []
    for row in rows:
        year, people, losing, gaining, same, only_b, only_s, low, high, mean, *qs = row
        result.append(NetChanges(year, people, losing, gaining, same, only_b, only_s,
                                 _int(low), _int(high), _int(mean),
                                 {p: _int(q) for p, q in zip(PERCENTILES, qs)}))
    return result


def _int(value) -> int:
    return 0 if value is None else int(value)


def floor_comparison(baseline: Projection, scenario: Projection, names: dict[str, str]) -> pd.DataFrame:
    """Per year and region: average gross pay against the floor, baseline and scenario."""
    frames = []
    for year in sorted(set(baseline.floors) | set(scenario.floors)):
        b = baseline.floors.get(year, pd.DataFrame())
        s = scenario.floors.get(year, pd.DataFrame())
        keep = ["region_code", "people", "average_gross_ytd", "rule", "ratio", "monthly_average_wage",
                "floor", "holds"]
        merged = b[keep].merge(s[keep], on="region_code", how="outer", suffixes=("_baseline", "_scenario"))
        merged.insert(0, "year", year)
        merged.insert(2, "name", merged.region_code.map(names))
        frames.append(merged)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def failing_regions(run: Projection) -> list[str]:
    """Regions whose average-wage floor fails in some year of the projection."""
    failing = set()
    for frame in run.floors.values():
        rows = frame[(frame.rule == "average_not_below_average_wage") & (frame.holds == False)]  # noqa: E712
        failing |= set(rows.region_code)
    return sorted(failing)


def floor_holds(run: Projection, regions: list[str]) -> bool:
    for frame in run.floors.values():
        rows = frame[frame.region_code.isin(regions) & (frame.rule == "average_not_below_average_wage")]
        if not rows.holds.fillna(False).astype(bool).all():
            return False
    return True
