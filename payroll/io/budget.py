"""`payroll import --budget F`: the year's approved budget (预算批复) per unit and economic
classification item, and the authorised headcount (核定员额) per unit.

Layout: one row per unit: 年度 (year), 单位 (unit), 核定员额 (headcount quota, optional), then one
column per 支出经济分类 item, headed by its code, optionally with its name ("30101", "30101 基本工资"
or "基本工资"), the items the voucher table (tables/voucher_accounts.csv) books pay to. A header
that is none of these is an error (a budget column silently dropped would understate the budget).
Amounts are yuan, never negative; a unit appears once per year. The file replaces the budget and
quota of the years it gives.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd

from ..db import transaction
from ..engine.ledger import record_import
from ..errors import InputError
from ..policy import Policy
from .checks import ProblemLog, check_unique, parse_whole_numbers, require_text
from .finance_files import fen_text, parse_fen, read_strict
from .readers import Layout

MAX_HEADCOUNT = 10_000_000


def budget_items(policy: Policy) -> dict[str, str]:
    """economic item -> its name, for every item the voucher table books pay to (any date)."""
    path = Path(policy.directory) / "voucher_accounts.csv"
    if not path.is_file():
        return {}
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return {r["economic_item"]: r["economic_item_name"] for r in csv.DictReader(handle)
                if r.get("side") == "debit" and r.get("economic_item")}


def budget_layout(items: dict[str, str]) -> tuple[Layout, dict[str, tuple[str, ...]]]:
    columns = tuple(f"item_{code}" for code in sorted(items))
    aliases = {"year": ("年度", "预算年度"), "unit": ("单位", "预算单位", "部门"),
               "headcount_quota": ("核定员额", "员额", "编制员额", "辅警员额"),
               **{f"item_{code}": (code, f"{code} {name}", f"{code}{name}", name) for code, name in items.items()}}
    return Layout("budget", required=("year", "unit"), optional=("headcount_quota", "row_no", "note", *columns)), aliases


@dataclass(frozen=True)
class BudgetImport:
    years: list[int]
    units: int
    total: Decimal
    quota: int

    def __str__(self) -> str:
        return (f"budget {', '.join(map(str, self.years))}: {self.units:,} unit(s), approved {self.total:,.2f} yuan, "
                f"headcount quota {self.quota:,}")


def validate_budget(policy: Policy, path: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(budget lines: year, unit, item, amount text; quotas: year, unit, headcount)."""
    items = budget_items(policy)
    layout, aliases = budget_layout(items)
    table = read_strict(path, layout, aliases)
    cells, log = table.frame, ProblemLog(table)
    years = parse_whole_numbers(log, cells["year"], "year", required=True, minimum=2000, maximum=2100)
    require_text(log, cells["unit"], "unit")
    check_unique(log, cells[["year", "unit"]], "unit", "year and unit")
    quota = parse_whole_numbers(log, cells["headcount_quota"], "headcount_quota", required=False, minimum=0,
                                maximum=MAX_HEADCOUNT)
    amounts = {code: parse_fen(log, cells[f"item_{code}"], f"item_{code}") for code in items}
    if log:
        raise InputError(log.problems())
    lines = [(int(years[i]), cells.at[i, "unit"], code, fen_text(int(amounts[code][i])))
             for i in cells.index for code in items
             if amounts[code][i] is not None and not pd.isna(amounts[code][i])]
    quotas = [(int(years[i]), cells.at[i, "unit"], int(quota[i])) for i in cells.index if not pd.isna(quota[i])]
    return (pd.DataFrame(lines, columns=["year", "unit", "item", "amount"]),
            pd.DataFrame(quotas, columns=["year", "unit", "headcount"]))


def import_budget(con: duckdb.DuckDBPyConnection, policy: Policy, path: str | Path) -> BudgetImport:
    lines, quotas = validate_budget(policy, path)
    years = sorted(set(lines.year) | set(quotas.year))
    with transaction(con):
        con.execute("DELETE FROM budget WHERE list_contains(?, year)", [years])
        con.execute("DELETE FROM headcount_quota WHERE list_contains(?, year)", [years])
        for name, frame, insert in (
                ("_import_budget", lines, "INSERT INTO budget SELECT year, unit, item, CAST(amount AS DECIMAL(18,2)) "
                                          "FROM _import_budget"),
                ("_import_quota", quotas, "INSERT INTO headcount_quota SELECT year, unit, headcount FROM _import_quota")):
            con.register(name, frame)
            try:
                con.execute(insert)
            finally:
                con.unregister(name)
        record_import(con, "budget", Path(path), len(set(zip(lines.year, lines.unit)) | set(zip(quotas.year, quotas.unit))))
    return BudgetImport(years, len(set(lines.unit) | set(quotas.unit)),
                        sum((Decimal(a) for a in lines.amount), Decimal("0.00")), int(quotas.headcount.sum()))
