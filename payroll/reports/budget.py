"""`payroll export --what budget --through M`: budget execution (预算执行) and headcount against the
quota (员额), per unit and economic classification item, for the year of M.

- budget: as imported with `payroll import --budget` (预算批复);
- spent: the payslips of January … M, each component booked to its item by the voucher table
  (tables/voucher_accounts.csv, debit side: pay and the employer's charges, so a unit's spending
  is its employer cost);
- projected: the months after M to December, computed by the engine itself through simulate's
  projection machinery (payroll/simulate/project.py: the baseline, no scenario), on the roster as it
  stands, carrying the year to date from the payslips of M (no overtime assumed: the baseline's
  default); the same months as `payroll simulate`'s baseline computes;
- expected = spent + projected; over budget where expected > budget; headcount = people paid in M,
  over quota where headcount > 核定员额.
Every unit over budget or over quota is flagged (超预算 / 超员额).
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd

from ..db import scalar
from ..engine.context import Month
from ..errors import PayrollError
from ..policy import Policy
from .finance_output import Table, columns, write_tables
from .handover import check_month, month_title
from .voucher import voucher_mapping

CENT = Decimal("0.01")
ITEM_COLUMNS = [("unit", "单位", "text"), ("item", "经济分类", "text"), ("item_name", "名称", "text"),
                ("budget", "预算数", "money"), ("spent", "已支出", "money"), ("projected", "预计至年底", "money"),
                ("expected", "全年预计", "money"), ("remaining", "预算余额", "money"), ("flag", "提示", "text")]
UNIT_COLUMNS = [("unit", "单位", "text"), ("budget", "预算数", "money"), ("spent", "已支出", "money"),
                ("projected", "预计至年底", "money"), ("expected", "全年预计", "money"),
                ("remaining", "预算余额", "money"), ("quota", "核定员额", "integer"),
                ("headcount", "在岗人数", "integer"), ("flag", "提示", "text")]


def _debit_mapping(con, policy: Policy, month: str) -> dict[str, tuple[str, str]]:
    """payslip component -> (economic item, name): the voucher table's debit side."""
    payslip_columns = {r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'payslips'").fetchall()}
    mapping = voucher_mapping(policy, month, payslip_columns)
    debit = mapping[mapping.side == "debit"]
    return {r.component: (r.economic_item, r.economic_item_name) for r in debit.itertuples()}


def _by_item(frame: pd.DataFrame, mapping: dict[str, tuple[str, str]]) -> pd.DataFrame:
    """unit × component sums (Decimal) -> unit, item, amount."""
    rows = {}
    for record in frame.to_dict("records"):
        for component, (item, _) in mapping.items():
            value = record.get(component)
            if value is None:
                continue
            key = (record["unit"], item)
            rows[key] = rows.get(key, Decimal("0.00")) + Decimal(str(value))
    return pd.DataFrame([(u, i, a) for (u, i), a in rows.items()], columns=["unit", "item", "amount"])


def spent(con: duckdb.DuckDBPyConnection, mapping, year: int, through: str) -> pd.DataFrame:
    sums = ", ".join(f"CAST(sum({c}) AS VARCHAR) AS {c}" for c in mapping)
    frame = con.execute(f"SELECT unit, {sums} FROM payslips WHERE month BETWEEN ? AND ? GROUP BY unit",
                        [f"{year}-01", through]).df()
    return _by_item(frame, mapping)


def projection(con: duckdb.DuckDBPyConnection, policy: Policy, through: str):
    """simulate's baseline projection of the months after `through` to December (None in December)."""
    from ..simulate.project import HISTORY_KEPT, Projection, roster_from_database
    month = Month.parse(through)
    if month.start.month == 12:
        return None
    months = [Month.parse(f"{month.year}-{m:02d}") for m in range(month.start.month + 1, 13)]
    history = con.sql(f"SELECT {', '.join(HISTORY_KEPT)} FROM payslips "
                      f"WHERE month BETWEEN '{month.year - 1}-01' AND '{through}'").to_arrow_table()
    run = Projection(policy, months, roster_from_database(con), history)
    run.run()
    return run


def projected(run, mapping) -> pd.DataFrame:
    if run is None:
        return pd.DataFrame(columns=["unit", "item", "amount"])
    kept = {r[0] for r in run.con.execute("DESCRIBE projected").fetchall()}
    # a projection keeps the results' columns: no arrears (nothing is closed in a projection)
    sums = ", ".join(f"CAST(sum({c}) AS VARCHAR) AS {c}" for c in mapping if c in kept)
    frame = run.con.execute(f"SELECT unit, {sums} FROM projected WHERE month >= '{run.months[0].label}' "
                            f"GROUP BY unit").df()
    return _by_item(frame, mapping)


@dataclass(frozen=True)
class BudgetExport:
    path: Path
    through: str
    units: int
    over_budget: list[str]
    over_quota: list[str]

    def __str__(self) -> str:
        flags = []
        if self.over_budget:
            flags.append(f"over budget: {', '.join(self.over_budget)}")
        if self.over_quota:
            flags.append(f"over quota: {', '.join(self.over_quota)}")
        return (f"budget {self.through[:4]} through {self.through}: {self.units} unit(s); "
                f"{'; '.join(flags) or 'no unit over budget or quota'} -> {self.path}")


def budget_execution(con: duckdb.DuckDBPyConnection, policy: Policy, through: str):
    """(per unit and item, per unit) frames with Decimal money and the flags."""
    year = int(through[:4])
    if not scalar(con, "SELECT count(*) FROM budget WHERE year = ?", [year]) and \
            not scalar(con, "SELECT count(*) FROM headcount_quota WHERE year = ?", [year]):
        raise PayrollError(f"no budget for {year}: import it with `payroll import --budget FILE`")
    mapping = _debit_mapping(con, policy, through)
    names = dict(mapping.values())
    run = projection(con, policy, through)
    try:
        projected_rows = projected(run, mapping)
    finally:
        if run is not None:
            run.close()
    budget = con.execute("SELECT unit, item, CAST(amount AS VARCHAR) AS amount FROM budget WHERE year = ?",
                         [year]).df()
    budget["amount"] = budget["amount"].map(Decimal)
    keys = ["unit", "item"]
    lines = (budget.rename(columns={"amount": "budget"})
             .merge(spent(con, mapping, year, through).rename(columns={"amount": "spent"}), on=keys, how="outer")
             .merge(projected_rows.rename(columns={"amount": "projected"}), on=keys, how="outer"))
    for column in ("budget", "spent", "projected"):
        lines[column] = lines[column].map(lambda v: v if isinstance(v, Decimal) else Decimal("0.00"))
    lines["item_name"] = lines["item"].map(names).fillna("")
    lines["expected"] = lines["spent"] + lines["projected"]
    lines["remaining"] = lines["budget"] - lines["expected"]
    lines["flag"] = ["超预算" if r < 0 else "" for r in lines["remaining"]]
    lines = lines.sort_values(keys).reset_index(drop=True)
    units = lines.groupby("unit", as_index=False)[["budget", "spent", "projected", "expected", "remaining"]].agg(
        lambda s: sum(s, Decimal("0.00")))
    headcount = con.execute("SELECT unit, count(*) AS headcount FROM payslips WHERE month = ? GROUP BY unit",
                            [through]).df()
    quota = con.execute("SELECT unit, headcount AS quota FROM headcount_quota WHERE year = ?", [year]).df()
    units = units.merge(headcount, on="unit", how="outer").merge(quota, on="unit", how="outer")
    for column in ("budget", "spent", "projected", "expected", "remaining"):
        units[column] = units[column].map(lambda v: v if isinstance(v, Decimal) else Decimal("0.00"))
    units["headcount"] = units["headcount"].fillna(0).astype(int)
    over_budget = units["remaining"] < 0
    over_quota = units["quota"].notna() & (units["headcount"] > units["quota"].fillna(0))
    no_budget = units["budget"] == 0
    units["flag"] = ["、".join(f for f, on in (("超预算（未列预算）" if n else "超预算", b), ("超员额", q)) if on)
                     for b, q, n in zip(over_budget, over_quota, no_budget)]
    units["quota"] = units["quota"].map(lambda v: None if pd.isna(v) else int(v))
    return lines, units.sort_values("unit").reset_index(drop=True)


def export_budget(con: duckdb.DuckDBPyConnection, policy: Policy, through: str, out: str | Path | None = None,
                  fmt: str = "xlsx") -> BudgetExport:
    fmt = check_month(con, through, fmt, formats=("xlsx", "csv"), what="budget")
    lines, units = budget_execution(con, policy, through)
    target = Path(out) if out else Path(f"budget-{through}.{fmt}")
    if target.is_dir():
        target = target / f"budget-{through}.{fmt}"
    year = through[:4]

    def rows(frame: pd.DataFrame, spec) -> list[list]:
        return [[_cell(r[k], kind) for k, _, kind in spec] for r in frame.to_dict("records")]
    money = ("budget", "spent", "projected", "expected", "remaining")
    unit_table = Table("按单位", columns(UNIT_COLUMNS), rows(units, UNIT_COLUMNS),
                       title=f"{year}年辅警人员经费预算执行及员额（截至{month_title(through)}）",
                       subtitle="全年预计 = 已支出 + 预计至年底（按现有人员由计算引擎测算剩余月份）；在岗人数为当月发薪人数",
                       total={m: sum(units[m], Decimal("0.00")) for m in money}, total_labels={"unit": "合计"})
    item_table = Table("按经济分类", columns(ITEM_COLUMNS), rows(lines, ITEM_COLUMNS),
                       title=f"{year}年预算执行（按单位和支出经济分类，截至{month_title(through)}）",
                       total={m: sum(lines[m], Decimal("0.00")) for m in money}, total_labels={"unit": "合计"})
    write_tables(target, fmt, [unit_table, item_table])
    return BudgetExport(target, through, len(units), list(units.unit[units.flag.str.contains("超预算")]),
                        list(units.unit[units.flag.str.contains("超员额")]))


def budget_totals(con: duckdb.DuckDBPyConnection, year: int) -> pd.DataFrame | None:
    """unit -> the year's approved budget in fen (None: no budget for the year); read while the
    database is open, for `payroll simulate`."""
    from ..db import table_exists
    if not table_exists(con, "budget") or not scalar(con, "SELECT count(*) FROM budget WHERE year = ?", [year]):
        return None
    return con.execute("SELECT unit, CAST(sum(amount) * 100 AS BIGINT) AS budget FROM budget WHERE year = ? "
                       "GROUP BY unit", [year]).df()


def budget_against_scenario(budget: pd.DataFrame, year: int, by_unit: pd.DataFrame) -> pd.DataFrame:
    """Per unit: the approved budget against the baseline's and the scenario's employer cost (fen,
    from simulate's per-unit breakdown), and whether the scenario is over budget."""
    costs = by_unit[by_unit.year == year][["unit", "employer_cost_baseline", "employer_cost_scenario"]]
    frame = budget.merge(costs, on="unit", how="outer").fillna(0)
    for column in ("budget", "employer_cost_baseline", "employer_cost_scenario"):
        frame[column] = frame[column].astype("int64")
    frame["over_budget"] = frame["employer_cost_scenario"] > frame["budget"]
    return frame.sort_values("unit").reset_index(drop=True)


def budget_table(frame: pd.DataFrame, year: int):
    """The simulate console's budget table (rich)."""
    from rich.table import Table as RichTable
    table = RichTable(title=f"{year} 预算对比 budget against the projection (单位总成本 employer cost)")
    for header in ("单位 unit", "预算 budget", "基线 baseline", "情景 scenario", "情景−预算", ""):
        table.add_column(header, justify="left" if header.startswith("单位") or not header else "right")
    for r in frame.itertuples():
        table.add_row(r.unit, f"{r.budget / 100:,.2f}", f"{r.employer_cost_baseline / 100:,.2f}",
                      f"{r.employer_cost_scenario / 100:,.2f}", f"{(r.employer_cost_scenario - r.budget) / 100:,.2f}",
                      "超预算 over" if r.over_budget else "")
    return table


def _cell(value, kind: str):
    """A frame value as the sheet's cell: NaN (an absent quota) empty, integers as int."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    return int(value) if kind == "integer" else value
