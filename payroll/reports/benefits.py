"""Benefit statements: on screen (`payroll benefits`) and one XLSX sheet per person
(`payroll export --what benefits`). Both show the same lines as the `benefits` table: the
work-injury (and martyr) package, and, for a heroic event where the region provides it, the police
package side by side with what it is compared to, and the top-up.
"""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from rich.table import Table

from ..benefits import EventBenefits, yuan
from ..rules.work_injury import ITEMS, PACKAGES, PAYERS, PERIODS
from .xlsx import MONEY, TEXT, Column, Sheet, atomic_output, new_workbook

KIND_ZH = {"injury": "工伤", "death": "因工死亡"}


def _title(r: EventBenefits, regions: dict[str, str]) -> str:
    kind_zh = "非因工死亡" if r.cause == "non_work" else KIND_ZH[r.kind]      # issue 14
    return (f"{r.employee_id} · {kind_zh} {r.kind} {r.event_date} · "
            f"{r.region_code} {regions.get(r.region_code, '')}")


def benefits_tables(results: list[EventBenefits], regions: dict[str, str]) -> list:
    """Rich renderables: per event the 本人工资 line, the items, the totals and the notes."""
    out = []
    for r in results:
        table = Table(title=_title(r, regions), title_justify="left", show_lines=False)
        for header, justify in (("待遇 item", "left"), ("领取人 recipient", "left"), ("金额 amount", "right"),
                                ("周期 period", "left"), ("支付方 payer", "left"), ("算式 formula", "left"),
                                ("依据 basis", "left")):
            table.add_column(header, justify=justify, overflow="fold")
        table.add_row("本人工资 person's wage (art. 64)", "", yuan(r.benefit_wage), "", "", r.wage_formula,
                      "工伤保险条例 (2010) art. 64")
        for line in r.lines:
            item = ITEMS[line.item]
            label = f"{item.label_zh} {item.label_en}" + ("" if line.paid else "（对比，不支付 compared, not paid）")
            table.add_row(label, line.recipient or "", yuan(line.amount), PERIODS[line.period],
                          PAYERS.get(line.payer, line.payer), line.formula, line.basis)
        table.caption = (f"paid once 一次性合计 {yuan(r.paid_total('once'))} · "
                         f"paid monthly 按月合计 {yuan(r.paid_total('monthly'))}")
        out.append(table)
        out.extend(f"note: {note}" for note in r.notes)
    return out


STATEMENT_COLUMNS = [
    Column("package", "待遇类别", TEXT, 16), Column("item", "待遇项目", TEXT, 24),
    Column("recipient", "领取人", TEXT, 14), Column("amount", "金额（元）", MONEY, 14),
    Column("period", "支付周期", TEXT, 8), Column("payer", "支付方", TEXT, 20),
    Column("formula", "计算过程", TEXT, 60), Column("basis", "依据", TEXT, 60),
]


FAILURE_COLUMNS = [
    Column("employee_id", "工号", TEXT, 14), Column("event_date", "事件日期", TEXT, 12),
    Column("kind", "类型", TEXT, 8), Column("reason", "未能计算的原因（缺少的数字）", TEXT, 120),
]


def export_statements(results: list[EventBenefits], regions: dict[str, str], out: Path,
                      failures: list = ()) -> str:
    """One sheet per person with each event's lines, totals and notes; written atomically.
    failures (issue 14): events that could not be figured, listed on their own sheet."""
    by_person: dict[str, list[EventBenefits]] = {}
    for r in results:
        by_person.setdefault(r.employee_id, []).append(r)
    with atomic_output(out) as path:
        workbook = new_workbook(path, constant_memory=False)
        for person, events in by_person.items():
            sheet = Sheet(workbook, person, STATEMENT_COLUMNS, title=f"工伤、因工死亡及烈士待遇明细 {person}",
                          subtitle="金额精确到分，逐项四舍五入 · amounts to the fen, each line rounded half-up once",
                          landscape=True)
            for r in events:
                sheet.write_row([_title(r, regions), None, None, None, None, None, None, None], "subtotal")
                sheet.write_row(["本人工资", "本人工资 (工伤保险条例 art. 64)", None,
                                 Decimal(r.benefit_wage) / 100, None, None, r.wage_formula,
                                 "工伤保险条例 (2010) art. 64"])
                for line in r.lines:
                    item = ITEMS[line.item]
                    sheet.write_row([PACKAGES[line.package], item.label_zh + ("（对比，不支付）" if not line.paid else ""),
                                     line.recipient, Decimal(line.amount) / 100, PERIODS[line.period],
                                     PAYERS.get(line.payer, line.payer), line.formula, line.basis])
                for period in ("once", "monthly"):
                    sheet.write_row([None, f"{PERIODS[period]}支付合计", None,
                                     Decimal(r.paid_total(period)) / 100, None, None, None, None], "total")
                for note in r.notes:
                    sheet.write_row(["说明 note", note, None, None, None, None, None, None])
                sheet.write_row([None] * len(STATEMENT_COLUMNS))
        if failures:
            sheet = Sheet(workbook, "未能计算 not figured", FAILURE_COLUMNS, title="未能计算待遇的人员 benefits not figured",
                          subtitle="缺少的政策数字或工资 · the missing figure for each event", landscape=True)
            for failure in failures:
                sheet.write_row([failure.employee_id, str(failure.event_date), failure.kind, failure.reason])
        workbook.close()
    text = f"wrote {out}: {len(by_person)} statement(s), {len(results)} event(s)"
    return text + (f"; {len(failures)} event(s) not figured (sheet 未能计算)" if failures else "")
