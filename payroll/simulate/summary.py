"""What `payroll simulate` prints: totals, the floor check and the net-pay changes, as rich tables."""
from __future__ import annotations

import pandas as pd
from rich.table import Table

from .report import label

SHOWN_PERCENTILES = (0.10, 0.50, 0.90)
from .runner import Comparison

SUMMARY_ROWS = ("gross_pay", "employee_contributions", "iit", "employer_contributions",
                "accident_insurance_employer", "employer_cost", "net_pay")


def yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(int(fen)), 100)
    return f"{sign}{whole:,}.{cents:02d}"


def totals_table(c: Comparison, year: int) -> Table:
    table = Table(title=f"{c.scenario.name}: {year} 基线 baseline vs 情景 scenario")
    for header in ("项目 Item", "基线 Baseline", "情景 Scenario", "增减 Change", "%"):
        table.add_column(header, justify="left" if header.startswith("项目") else "right")
    total = c.totals[c.totals.year == year].iloc[0]
    table.add_row("年末人数 Headcount, December", f"{int(total.headcount_baseline):,}",
                  f"{int(total.headcount_scenario):,}", f"{int(total.headcount_change):+,}", "")
    table.add_row("年内发薪 Paid in the year", f"{int(total.paid_in_year_baseline):,}",
                  f"{int(total.paid_in_year_scenario):,}", f"{int(total.paid_in_year_change):+,}", "")
    for name in SUMMARY_ROWS:
        base, change = int(total[f"{name}_baseline"]), int(total[f"{name}_change"])
        table.add_row(label(name), yuan(base), yuan(int(total[f"{name}_scenario"])), yuan(change),
                      f"{change / base * 100:+.2f}" if base else "")
    return table


def floor_table(c: Comparison) -> Table:
    table = Table(title="平均工资底线 Average-wage floor (year to December)")
    for header in ("年 Year", "地区 Region", "基线年均应发", "情景年均应发", "底线 Floor", "基线", "情景"):
        table.add_column(header, justify="right")
    floors = c.floors
    for row in floors.itertuples():
        verdict = lambda v: "—" if pd.isna(v) else ("[green]达标[/]" if v else "[red]未达标[/]")  # noqa: E731
        floor = "—" if pd.isna(row.floor_scenario) else f"{row.floor_scenario:,.2f}"
        table.add_row(str(row.year), f"{row.region_code} {row.name}", f"{row.average_gross_ytd_baseline:,.2f}",
                      f"{row.average_gross_ytd_scenario:,.2f}", floor, verdict(row.holds_baseline),
                      verdict(row.holds_scenario))
    return table


def net_table(c: Comparison) -> Table:
    table = Table(title="实发工资变化 Net pay change per person, annual (scenario − baseline)")
    headers = ["年 Year", "人数 People", "减少 Lose", "增加 Gain", "不变 Same", "最小 Min",
               *[f"P{round(p * 100)}" for p in SHOWN_PERCENTILES], "最大 Max"]
    for header in headers:
        table.add_column(header, justify="right")
    for net in c.net:
        table.add_row(str(net.year), f"{net.people:,}", f"{net.losing:,}", f"{net.gaining:,}",
                      f"{net.unchanged:,}", yuan(net.minimum), *[yuan(net.percentiles[p]) for p in SHOWN_PERCENTILES],
                      yuan(net.maximum))
    return table


def solver_lines(c: Comparison) -> list[str]:
    s = c.solver
    if s is None:
        return []
    if not s.regions:
        return ["底线求解 floor solver: every region meets its floor already; no raise needed"]
    what = "the pay scale (base_pay)" if s.component == "base_pay" else f"allowance {s.component}"
    lines = [f"底线求解 floor solver: the smallest uniform raise of {what} in {', '.join(s.regions)} that "
             f"meets the floor is [bold]{s.raise_percent} %[/] (steps of {s.step} point)"]
    if s.below is not None:
        lines.append(f"  {s.below.raise_percent} % does {'' if s.below.holds else 'not '}meet it")
    for year, cost in sorted(s.cost.items()):
        lines.append(f"  {year}: employer cost +{yuan(cost)} (gross pay +{yuan(s.gross_added.get(year, 0))})")
    return lines
