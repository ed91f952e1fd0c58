"""The average-wage floor check printed after every run (南通实施办法 art. 7 and the like)."""
from __future__ import annotations

import duckdb
import pandas as pd
from rich.table import Table

from ..errors import PolicyError
from ..rules.floors import AVERAGE_WAGE_FLOOR_BASIS, average_wage_floor_sql


def floor_check(con: duckdb.DuckDBPyConnection, month_label: str) -> pd.DataFrame:
    """Needs the month's parameters installed (engine.context.install_month_parameters)."""
    frame = con.execute(average_wage_floor_sql(month_label)).df()
    lacking = frame[(frame.rule == "average_not_below_average_wage") & frame.monthly_average_wage.isna()]
    if not lacking.empty:
        raise PolicyError(f"average_wage: no row in force for region {lacking.region_code.iloc[0]} in "
                          f"{month_label}, which has an average-wage floor")
    return frame


def floor_table(frame: pd.DataFrame, month_label: str, region_names: dict[str, str]) -> Table:
    table = Table(title=f"平均工资底线 Average-wage floor, {month_label[:4]} to {month_label}",
                  caption=f"依据 basis: {AVERAGE_WAGE_FLOOR_BASIS}")
    for header in ("地区 Region", "人数 People", "年均应发 Avg gross YTD", "社平工资 Average wage",
                   "均薪/社平 Ratio", "底线 Floor", "结果 Result"):
        table.add_column(header, justify="right" if header[0] in "人年底社均" else "left")
    for row in frame.itertuples():
        name = region_names.get(row.region_code, "")
        if row.rule != "average_not_below_average_wage":
            floor, verdict = "—", "no floor rule"
        else:
            floor = f"{row.floor:,.2f} ({row.ratio:g} × {row.monthly_average_wage:,.2f})"
            verdict = "[green]holds 达标[/]" if row.holds else "[red]below 未达标[/]"
        # issue 16: the ratio of average pay to the average wage, for every region (正常增长机制)
        wage, ratio = "—", "—"
        if row.monthly_average_wage is not None and not pd.isna(row.monthly_average_wage):
            wage = f"{row.monthly_average_wage:,.2f}"
            ratio = f"{row.average_gross_ytd / row.monthly_average_wage:.1%}"
        table.add_row(f"{row.region_code} {name}", f"{row.people:,}", f"{row.average_gross_ytd:,.2f}",
                      wage, ratio, floor, verdict)
    return table
