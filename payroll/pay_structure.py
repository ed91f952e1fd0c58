"""The pay structure: an indexed pay scale, and each level paying at least the one below it.

- 南通实施办法 art. 7: 层级之间应当体现适当差距 — every region, category and date, a higher level
  (a smaller number: 1 is the top) pays at least as much as the level below it (an error), and at
  least `min_level_gap` more where `pay_structure.csv` sets one (a warning).
- 正常增长机制 (内蒙古条例 art. 24; 鄂尔多斯指导意见 三(四)1; 云南条例 art. 33; 南通实施办法 art. 7):
  a region may state its scale as a ratio of the previous-year average wage in `pay_scale_ratios.csv`
  (level 1 = 0.55 × the monthly average wage); each ratio row becomes a `pay_scale` row on its own
  date and on every later date a new average wage takes effect, so the scale follows the published
  wage with no hand edits. The derived rows carry their arithmetic in `source` for explain.

Called from policy.load_policy and from simulate's scenario tables (payroll/simulate/runner.py).
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pandas as pd

from .errors import CellProblem

STRUCTURE_BASIS = "南通实施办法 art. 7 (层级之间应当体现适当差距)"
INDEX_BASIS = "内蒙古条例 art. 24; 鄂尔多斯指导意见 三(四)1; 云南条例 art. 33; 南通实施办法 art. 7 (正常增长机制)"
FEN = Decimal("0.01")


def _ancestors(chain: pd.DataFrame, region: str) -> dict[str, int]:
    rows = chain[chain.region_code == region]
    return dict(zip(rows.ancestor_code, rows.depth.astype(int)))


def _in_force(frame: pd.DataFrame, depth: dict[str, int], day) -> pd.DataFrame:
    """Rows of a keyed frame in force on `day` for a region with this chain: most specific region,
    then the latest effective_from (tables/README.md)."""
    rows = frame[frame.region_code.isin(depth) & (frame.effective_from <= day)]
    if rows.empty:
        return rows
    return rows.assign(_depth=rows.region_code.map(depth)).sort_values(
        ["_depth", "effective_from"], ascending=[True, False])


def indexed_pay_scale(frames: dict[str, pd.DataFrame], chain: pd.DataFrame,
                      problems: list[CellProblem]) -> pd.DataFrame:
    """pay_scale with the rows pay_scale_ratios implies: ratio × the average wage in force, half-up
    to the fen, from the ratio's date and from every later average-wage date (until the next ratio
    row of the same key)."""
    scale, ratios = frames["pay_scale"], frames.get("pay_scale_ratios")
    if ratios is None or ratios.empty:
        return scale
    wages = frames["average_wage"]
    next_row = int(scale.row_no.max() if not scale.empty else 1) + 1
    derived = []
    for key, group in ratios.sort_values("effective_from").groupby(["region_code", "category", "level"]):
        region, category, level = key
        depth = _ancestors(chain, region)
        starts = list(group.effective_from)
        for index, ratio_row in enumerate(group.itertuples()):
            until = starts[index + 1] if index + 1 < len(starts) else None
            on_chain = wages[wages.region_code.isin(depth)]
            dates = sorted({ratio_row.effective_from} | {d for d in on_chain.effective_from
                                                          if d > ratio_row.effective_from and (until is None or d < until)})
            for day in dates:
                wage = _in_force(wages, depth, day)
                if wage.empty:
                    problems.append(CellProblem("pay_scale_ratios.csv", int(ratio_row.row_no), "ratio",
                                                f"no average_wage row in force for region {region} on {day}"))
                    break
                wage_row = wage.iloc[0]
                amount = (ratio_row.ratio * wage_row.monthly_average_wage).quantize(FEN, rounding=ROUND_HALF_UP)
                derived.append({
                    "row_no": next_row, "region_code": region, "effective_from": day, "category": category,
                    "level": int(level), "base_pay": amount, "ratio_row": int(ratio_row.row_no),
                    "status": getattr(ratio_row, "status", None),
                    "source": (f"indexed ({INDEX_BASIS}): pay_scale_ratios.csv row {ratio_row.row_no} ratio "
                               f"{ratio_row.ratio} × average_wage.csv row {wage_row.row_no} "
                               f"{wage_row.monthly_average_wage} = {amount} (half-up to the fen); "
                               f"{ratio_row.status}: {ratio_row.source}")})
                next_row += 1
    if not derived:
        return scale
    added = pd.DataFrame(derived)
    clash = added.merge(scale, on=["region_code", "effective_from", "category", "level"], suffixes=("", "_file"))
    for row in clash.itertuples():
        problems.append(CellProblem("pay_scale_ratios.csv", int(row.ratio_row), "effective_from",
                                    f"pay_scale.csv row {row.row_no_file} already sets {row.category} level "
                                    f"{row.level} for region {row.region_code} on {row.effective_from}"))
    return pd.concat([scale, added], ignore_index=True)


def written_rows(scale: pd.DataFrame) -> pd.DataFrame:
    """The pay_scale rows of the file itself, without those derived from pay_scale_ratios."""
    if "ratio_row" not in scale.columns:
        return scale
    return scale[scale.ratio_row.isna()].drop(columns="ratio_row")


def check_level_tables(frames: dict[str, pd.DataFrame], problems: list[CellProblem]) -> None:
    """Cells the level tables need beyond their types: a level `all` or a number, an amount or a
    multiple (not both), a month 1–12, shares that leave room for `competent`."""
    pay = frames.get("performance_pay")
    if pay is not None:
        for row in pay.itertuples():
            line = int(row.row_no)
            if row.level is not None and row.level != "all" and not str(row.level).isdigit():
                problems.append(CellProblem("performance_pay.csv", line, "level",
                                            f"{row.level!r} is not `all` or a level number"))
            if (row.amount is None) == (row.multiple is None):
                problems.append(CellProblem("performance_pay.csv", line, "amount",
                                            "give exactly one of amount and multiple"))
            if row.paid == "annual" and not (row.pay_month and 1 <= row.pay_month <= 12):
                problems.append(CellProblem("performance_pay.csv", line, "pay_month",
                                            "an annual bonus needs pay_month 1–12 (the month of the next year it is paid)"))
            # an empty text cell is NaN in pandas 3's string columns, and NaN is truthy
            if row.paid == "monthly" and pd.notna(getattr(row, "tax_method", None)):
                problems.append(CellProblem("performance_pay.csv", line, "tax_method",
                                            "a tax method is only for an annual row (the 全年一次性奖金 it is paid as)"))
    rules = frames.get("level_rules")
    if rules is not None:
        for row in rules.itertuples():
            line = int(row.row_no)
            if row.years_required is not None and row.years_required < 1:
                problems.append(CellProblem("level_rules.csv", line, "years_required", "must be at least 1"))
            if row.excellent_shortens is not None and row.years_required is not None and \
                    not 0 <= row.excellent_shortens < row.years_required:
                problems.append(CellProblem("level_rules.csv", line, "excellent_shortens",
                                            "must be from 0 to years_required − 1"))
            if row.effective_month is not None and not 1 <= row.effective_month <= 12:
                problems.append(CellProblem("level_rules.csv", line, "effective_month", "must be 1–12"))
            if row.demote_levels is not None and row.demote_levels < 0:
                problems.append(CellProblem("level_rules.csv", line, "demote_levels", "must not be negative"))
    shares = frames.get("appraisal_distribution")
    if shares is not None:
        for row in shares.itertuples():
            if None not in (row.excellent_share, row.basic_share, row.incompetent_share) and \
                    row.excellent_share + row.basic_share + row.incompetent_share > 1:
                problems.append(CellProblem("appraisal_distribution.csv", int(row.row_no), "excellent_share",
                                            "excellent + basic + incompetent shares exceed 1 (competent is the rest)"))


def check_pay_structure(frames: dict[str, pd.DataFrame], chain: pd.DataFrame,
                        problems: list[CellProblem]) -> list[str]:
    """For every region, category and date a scale row or a minimum gap takes effect: a level paying
    less than the level below it is a problem (an error); a gap under `min_level_gap` a warning."""
    scale, gaps = frames["pay_scale"], frames.get("pay_structure")
    if gaps is None:
        gaps = pd.DataFrame(columns=["region_code", "effective_from", "min_level_gap", "row_no"])
    warnings: dict[tuple, str] = {}
    seen: set[tuple] = set()
    for region in sorted(set(chain.region_code)):
        depth = _ancestors(chain, region)
        dates = sorted(set(scale[scale.region_code.isin(depth)].effective_from)
                       | set(gaps[gaps.region_code.isin(depth)].effective_from))
        for day in dates:
            in_force = _in_force(scale, depth, day).drop_duplicates(["category", "level"])
            gap_rows = _in_force(gaps, depth, day)
            min_gap = gap_rows.iloc[0].min_level_gap if not gap_rows.empty else None
            for category, levels in in_force.groupby("category"):
                ordered = levels.sort_values("level").to_dict("records")
                for higher, lower in zip(ordered, ordered[1:]):
                    gap = higher["base_pay"] - lower["base_pay"]
                    pair = (int(higher["row_no"]), int(lower["row_no"]))
                    if gap < 0 and pair not in seen:
                        seen.add(pair)
                        problems.append(CellProblem(
                            _file_of(higher), _line_of(higher), "base_pay",
                            f"region {region} {category} from {day}: level {higher['level']} pays "
                            f"{higher['base_pay']:.2f}, less than level {lower['level']} ({lower['base_pay']:.2f}, "
                            f"{_file_of(lower)} row {_line_of(lower)}); a higher level must pay at least the "
                            f"one below ({STRUCTURE_BASIS})"))
                    elif min_gap is not None and 0 <= gap < min_gap:
                        warnings.setdefault(pair + (min_gap,), (
                            f"pay_scale: region {region} {category} from {day}: level {higher['level']} pays "
                            f"{gap:.2f} more than level {lower['level']}, under the minimum gap {min_gap:.2f} "
                            f"(pay_structure.csv row {int(gap_rows.iloc[0].row_no)}; {STRUCTURE_BASIS})"))
    return list(warnings.values())


def _file_of(row: dict) -> str:
    return "pay_scale_ratios.csv" if pd.notna(row.get("ratio_row", float("nan"))) else "pay_scale.csv"


def _line_of(row: dict) -> int:
    ratio_row = row.get("ratio_row", float("nan"))
    return int(ratio_row) if pd.notna(ratio_row) else int(row["row_no"])
