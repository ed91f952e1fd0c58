"""`payroll import --tax-feedback F`: the withholding client's computed or filed result per person
and month, for the reconciliation `payroll export --what tax-check` (reports/tax_check.py).

Accepted: the client's 正常工资薪金所得 calculation or declaration export (research/filing-formats.md:
"the client's export … has 32 columns with no *"): 工号 (optional), 姓名, 证件类型, 证件号码, the period
(所得期间止 / 税款所属期, or a month), and the tax it computed (本期应预扣预缴税额, 应扣缴税额 or
应补(退)税额), with, where given, 本期收入, the four contribution columns, and the cumulative special
deductions (累计专项附加扣除 or the seven 累计 items): these give the cause of a difference. The
client's other columns (累计收入, 税率, 已缴税额 …) are accepted and not used. People are matched by
ID number and name (finance_files.match_people); a row names one person and month, and replaces
what an earlier file gave for them.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from ..db import transaction
from ..engine.ledger import record_import
from ..errors import InputError
from .checks import ProblemLog, check_unique
from .employee_extras import DEDUCTION_ITEMS
from .finance_files import fen_text, match_people, parse_fen, parse_period, read_strict, roster
from .readers import Layout

CONTRIBUTIONS = {"pension_employee": "基本养老保险费", "medical_employee": "基本医疗保险费",
                 "unemployment_employee": "失业保险费", "housing_fund_employee": "住房公积金"}
ITEMS_YTD = {f"{item}_ytd": cumulative for item, (_, cumulative) in DEDUCTION_ITEMS.items()}
# the client's other columns: known, read and not used
UNUSED = ("本期免税收入", "累计收入额", "累计收入", "累计免税收入", "累计减除费用", "累计专项扣除",
          "累计其他扣除", "累计准予扣除的捐赠额", "累计应纳税所得额", "税率", "预扣率", "速算扣除数",
          "累计应纳税额", "累计减免税额", "累计已缴税额", "已缴税额", "已扣缴税额", "减除费用标准",
          "减除费用", "准予扣除的捐赠额", "减免税额", "协定减免", "企业(职业)年金", "商业健康保险",
          "税延养老保险", "公务交通费用", "通讯费用", "律师办案费用", "西藏附加减除费用", "其他",
          "住房公积金调整", "税前扣除项目合计", "所得项目", "申报状态", "国籍(地区)", "国籍（地区）")
UNUSED_COLUMNS = {f"unused_{i}": (header,) for i, header in enumerate(UNUSED)}
FEEDBACK = Layout(
    "tax feedback",
    required=("name", "id_number", "month", "tax"),
    optional=("employee_id", "id_type", "period_start", "row_no", "note", "income", *CONTRIBUTIONS,
              "special_deduction_ytd", *ITEMS_YTD, *UNUSED_COLUMNS),
)
ALIASES = {
    "tax": ("本期应预扣预缴税额", "本期应扣缴税额", "应扣缴税额", "应补(退)税额", "应补（退）税额",
            "应补/退税额", "本月应扣缴税额", "本期应补(退)税额"),
    "income": ("本期收入", "收入额"),
    **{column: (header,) for column, header in CONTRIBUTIONS.items()},
    "special_deduction_ytd": ("累计专项附加扣除", "累计专项附加扣除合计"),
    **{column: (header,) for column, header in ITEMS_YTD.items()},
    **UNUSED_COLUMNS,
}


@dataclass(frozen=True)
class FeedbackImport:
    rows: int
    months: list[str]

    def __str__(self) -> str:
        return (f"tax feedback: {self.rows:,} person-months ({', '.join(self.months)}); "
                f"compare with `payroll export --what tax-check --month M`")


def validate_feedback(con: duckdb.DuckDBPyConnection, path: str | Path) -> pd.DataFrame:
    table = read_strict(path, FEEDBACK, ALIASES)
    cells, log = table.frame, ProblemLog(table)
    employee_id = match_people(log, cells, roster(con))
    month = parse_period(log, cells["month"], "month", required=True)
    check_unique(log, pd.DataFrame({"p": employee_id.fillna(cells["id_number"]), "m": month.fillna("")}),
                 "month", "person and month")
    tax = parse_fen(log, cells["tax"], "tax", negative_ok=True)
    log.flag(cells["tax"] == "", "tax", "is empty: the client's tax for the month is what is compared")
    income = parse_fen(log, cells["income"], "income")
    contribution_parts = {c: parse_fen(log, cells[c], c) for c in CONTRIBUTIONS}
    item_parts = {c: parse_fen(log, cells[c], c) for c in ITEMS_YTD}
    total_ytd = parse_fen(log, cells["special_deduction_ytd"], "special_deduction_ytd")
    if log:
        raise InputError(log.problems())
    given_contributions = pd.concat([cells[c] != "" for c in CONTRIBUTIONS], axis=1).any(axis=1)
    given_items = pd.concat([cells[c] != "" for c in ITEMS_YTD], axis=1).any(axis=1)

    def summed(parts: dict[str, pd.Series]) -> pd.Series:
        return pd.concat([p.fillna(0) for p in parts.values()], axis=1).sum(axis=1).astype("int64")

    items_ytd = summed(item_parts).where(given_items)
    deduction_ytd = total_ytd.where(total_ytd.notna(), items_ytd)
    # the client leaves an item empty when nothing is declared: with income given, empty means 0
    deduction_ytd = deduction_ytd.where(deduction_ytd.notna() | (cells["income"] == ""), 0)
    as_text = lambda fen: None if fen is None or pd.isna(fen) else fen_text(int(fen))  # noqa: E731
    return pd.DataFrame({
        "employee_id": employee_id, "month": month,
        "income": income.map(as_text),
        "contributions": summed(contribution_parts).where(given_contributions).map(as_text),
        "special_deduction_ytd": deduction_ytd.map(as_text),
        "tax": tax.map(as_text), "file_name": Path(path).name,
    })


def import_feedback(con: duckdb.DuckDBPyConnection, path: str | Path) -> FeedbackImport:
    rows = validate_feedback(con, path)
    with transaction(con):
        con.register("_import_feedback", rows)
        try:
            con.execute("""INSERT OR REPLACE INTO tax_feedback
                SELECT employee_id, month, CAST(income AS DECIMAL(18,2)), CAST(contributions AS DECIMAL(18,2)),
                       CAST(special_deduction_ytd AS DECIMAL(18,2)), CAST(tax AS DECIMAL(18,2)), file_name
                FROM _import_feedback""")
        finally:
            con.unregister("_import_feedback")
        record_import(con, "tax_feedback", Path(path), len(rows))
    return FeedbackImport(len(rows), sorted(rows["month"].unique()))
