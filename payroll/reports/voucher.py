"""`payroll export --what voucher --month M`: the month's accounting voucher (记账凭证) per unit.

Each payslip component and each employer charge is booked by the mapping table
`tables/voucher_accounts.csv` (component, side, account, economic classification item, dated, with
its source; finance changes it there, not in code): the pay and the employer's charges are debits
to the expense account by 支出经济分类 item (301 工资福利支出: 30101 基本工资, 30102 津贴补贴, 30103
奖金, 30110, 30112 其他社会保障缴费 for contract staff such as 辅警, 30113 住房公积金 …); what is paid out
or owed is credited (net pay from the zero-balance account, the tax withheld, the contributions
withheld and owed). Debits = gross pay + employer contributions + premiums = employer cost;
credits = net pay + deductions withheld + tax + the employer's charges: the payslip identities make
them equal. The export checks debits = credits = the register's employer cost, per unit and in
total, and that each classification item's debit is the sum of the register's components mapped to
it; a component of the register the table does not map makes the check fail, naming it.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd

from ..columns import EMPLOYER_CONTRIBUTIONS, PAY_COMPONENTS
from ..errors import CellProblem, InputError, PayrollError
from ..policy import Policy
from .finance_output import Table, columns, write_tables
from .handover import check_month, month_title, target_path

TABLE_FILE = "voucher_accounts.csv"
TABLE_COLUMNS = ("component", "side", "account_code", "account_name", "economic_item", "economic_item_name",
                 "effective_from", "source")
# what the debits must cover: gross pay's components and the employer's charges (= employer_cost)
DEBITS_MUST_COVER = (*PAY_COMPONENTS, "arrears_pay", *EMPLOYER_CONTRIBUTIONS, "accident_insurance_employer")
LINE_COLUMNS = [("voucher_no", "凭证号", "integer"), ("unit", "单位", "text"), ("summary", "摘要", "text"),
                ("account_code", "科目编码", "text"), ("account_name", "科目名称", "text"),
                ("economic_item", "经济分类", "text"), ("economic_item_name", "经济分类名称", "text"),
                ("debit", "借方金额", "money"), ("credit", "贷方金额", "money")]


@dataclass(frozen=True)
class VoucherExport:
    path: Path
    month: str
    units: int
    debit: Decimal
    credit: Decimal

    def __str__(self) -> str:
        return (f"voucher {self.month}: {self.units} unit(s), debits {self.debit:,.2f} = credits "
                f"{self.credit:,.2f} = the register's employer cost -> {self.path}")


def voucher_mapping(policy: Policy, month: str, payslip_columns: set[str]) -> pd.DataFrame:
    """The mapping rows in force on the month's first day (latest effective_from per component and
    side); InputError naming file, row and column for a bad row."""
    path = Path(policy.directory) / TABLE_FILE
    if not path.is_file():
        raise PayrollError(f"{path}: the voucher mapping table is missing (see tables/README.md)")
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        rows = list(reader)
    problems = [CellProblem(path.name, 1, c, "required column is missing") for c in TABLE_COLUMNS if c not in header]
    if problems:
        raise InputError(problems)
    for number, row in enumerate(rows, start=2):
        def bad(column: str, reason: str) -> None:
            problems.append(CellProblem(path.name, number, column, reason))
        if row["component"] not in payslip_columns:
            bad("component", f"'{row['component']}' is not a payslip column")
        if row["side"] not in ("debit", "credit"):
            bad("side", f"'{row['side']}' is not debit or credit")
        if not row["account_code"].strip():
            bad("account_code", "is empty")
        # an expense (费用, accounts 5xxx) carries its economic item; a receivable booked on the debit
        # side (the balance an employee owes, 其他应收款) carries none
        if row["side"] == "debit" and row["account_code"].startswith("5") \
                and not (row["economic_item"].isdigit() and len(row["economic_item"]) == 5):
            bad("economic_item", f"'{row['economic_item']}' is not a 5-digit economic classification item (e.g. 30101)")
        try:
            date.fromisoformat(row["effective_from"])
        except ValueError:
            bad("effective_from", f"'{row['effective_from']}' is not a date YYYY-MM-DD")
        if not row["source"].strip():
            bad("source", "is empty: every row cites its source")
    if problems:
        raise InputError(problems)
    frame = pd.DataFrame(rows, columns=list(TABLE_COLUMNS))
    frame = frame[frame.effective_from <= f"{month}-01"].sort_values("effective_from")
    return frame.groupby(["component", "side"], as_index=False).last()


def voucher_lines(con: duckdb.DuckDBPyConnection, policy: Policy, month: str) -> tuple[pd.DataFrame, dict]:
    """Lines per unit (money as Decimal) and the check against the register; PayrollError when it
    does not balance."""
    payslip_columns = {r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'payslips'").fetchall()}
    mapping = voucher_mapping(policy, month, payslip_columns)
    components = sorted(set(mapping.component))
    sums = con.execute(f"""
        SELECT unit, {", ".join(f"CAST(sum({c}) AS VARCHAR) AS {c}" for c in components)},
               CAST(sum(employer_cost) AS VARCHAR) AS employer_cost
        FROM payslips WHERE month = ? GROUP BY unit ORDER BY unit""", [month]).df()
    keys = ["account_code", "account_name", "economic_item", "economic_item_name"]
    # each side's lines (account and item) with the components booked to them, grouped once for all units
    groups = {side: [(key, list(part.component)) for key, part in
                     mapping[mapping.side == side].groupby(keys, sort=True)] for side in ("debit", "credit")}
    lines, problems = [], []
    for number, unit_row in enumerate(sums.to_dict("records"), start=1):
        unit_lines = []
        for side in ("debit", "credit"):
            for key, booked in groups[side]:
                amount = sum((Decimal(unit_row[c]) for c in booked), Decimal("0.00"))
                if amount == 0:
                    continue
                unit_lines.append({"voucher_no": number, "unit": unit_row["unit"],
                                   "summary": f"{month_title(month)}工资 {'计提' if side == 'debit' else '发放及代扣'}",
                                   **dict(zip(keys, key)), "debit": amount if side == "debit" else None,
                                   "credit": amount if side == "credit" else None, "components": booked})
        debit = sum((l["debit"] for l in unit_lines if l["debit"] is not None), Decimal("0.00"))
        credit = sum((l["credit"] for l in unit_lines if l["credit"] is not None), Decimal("0.00"))
        expense = sum((l["debit"] for l in unit_lines if l["debit"] is not None and l["economic_item"]),
                      Decimal("0.00"))
        cost = Decimal(unit_row["employer_cost"])
        # the expense lines equal the register's employer cost; debits equal credits (a shortfall the
        # employee owes is booked as a receivable on both sides' totals)
        if not (debit == credit and expense == cost):
            problems.append(f"{unit_row['unit']}: debits {debit} (expenses {expense}), credits {credit}, "
                            f"register employer cost {cost}")
        lines.extend(unit_lines)
    if problems:
        unmapped = [c for c in DEBITS_MUST_COVER if c in payslip_columns and c not in set(mapping.component)]
        hint = f"; payslip columns not in {TABLE_FILE}: {', '.join(unmapped)}" if unmapped else \
            f"; check that {TABLE_FILE} maps every payslip line once on each side"
        raise PayrollError(f"the voucher for {month} does not balance: " + "; ".join(problems[:10]) + hint)
    frame = pd.DataFrame(lines)
    totals = {"debit": sum((l for l in frame.debit.dropna()), Decimal("0.00")),
              "credit": sum((l for l in frame.credit.dropna()), Decimal("0.00")),
              "employer_cost": sum((Decimal(v) for v in sums.employer_cost), Decimal("0.00"))}
    return frame, totals


def export_voucher(con: duckdb.DuckDBPyConnection, policy: Policy, month: str, out: str | Path | None = None,
                   fmt: str = "xlsx") -> VoucherExport:
    fmt = check_month(con, month, fmt, formats=("xlsx", "csv"), what="voucher")
    lines, totals = voucher_lines(con, policy, month)
    target = target_path(out, "voucher", month, fmt)
    keys = [k for k, _, _ in LINE_COLUMNS]
    body = [[_cell(r[k]) for k in keys] for r in lines.to_dict("records")]
    voucher = Table("记账凭证", columns(LINE_COLUMNS, {"account_name": 28, "economic_item_name": 18, "summary": 20}),
                    body, title=f"记账凭证（{month_title(month)}工资，按单位）",
                    subtitle="借方：业务活动费用按支出经济分类；贷方：实发、代扣代缴与应付单位缴费",
                    total={"debit": totals["debit"], "credit": totals["credit"]}, total_labels={"unit": "合计"})
    by_item = lines.dropna(subset=["debit"]).groupby(["economic_item", "economic_item_name"], as_index=False)
    item_rows = [[item, name, sum(part.debit, Decimal("0.00")), "、".join(sorted({c for cs in part.components for c in cs}))]
                 for (item, name), part in by_item]
    check = Table("核对", columns([("economic_item", "经济分类", "text"), ("economic_item_name", "名称", "text"),
                                   ("debit", "借方合计", "money"), ("components", "工资表项目", "text")],
                                  {"components": 60}),
                  item_rows + [["借方合计", "", totals["debit"], ""], ["贷方合计", "", totals["credit"], ""],
                               ["工资表单位总成本", "", totals["employer_cost"], "employer_cost"]],
                  title=f"凭证核对（{month_title(month)}）：借方 = 贷方 = 工资表单位总成本")
    write_tables(target, fmt, [voucher, check])
    return VoucherExport(target, month, int(lines.unit.nunique()), totals["debit"], totals["credit"])


def _cell(value):
    """A record's value; the empty side of a line (None, or NaN after pandas) stays empty."""
    return None if value is None or (isinstance(value, float) and pd.isna(value)) else value
