"""Why did my pay change: two months of one person, the net-pay change split by cause.

Method: sequential substitution through the engine itself. The engine's context row of the person
(every input, table figure and year-to-date figure the rules read) is built for both months. Then,
starting from month A's row, the inputs of one cause at a time are replaced by month B's, and the
compiled rules (engine.trace.rules_over, the same SQL as the run) are evaluated after each step, all
steps in one query. A cause's effect is the change in each payslip line from the step before to its
step; after the last cause the row is month B's, so the effects add up exactly (to the fen, by
telescoping) to B − A for every line, net pay included. Interactions go to the later cause of the
order below (e.g. overtime worked in a month whose pay scale also rose is priced at the new scale).

Order: proration and dates → level/post/region (with the table rows that follow them) → each
policy table whose row in force changed (a row that took effect) → attendance (unpaid leave,
overtime, night shifts, bonus, other deduction) → declared special deductions → contribution-base
inputs → the year to date before the month (cumulative withholding: where a tax-bracket jump shows)
→ anything else.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from ..db import optimiser_off
from ..engine.context import CONTEXT_BY_NAME, Month, context_sql
from ..engine.pipeline import all_rules
from ..engine.trace import ROW_TABLES, earlier_payslips_exist, policy_rows, rules_over, show, show_named
from ..errors import PayrollError
from . import xlsx
from .explain import PAYSLIP_LINES, Explainer, row_text, write_report

# the person's keys each policy table is looked up by (docs/rules.md "Looking up a table row")
TABLE_KEYS = {
    "pay_scale": ("region_code", "category", "level"),
    "allowances": ("region_code", "category", "risk_class"),
    "accident_insurance": ("region_code", "risk_class"),
    "minimum_wage": ("region_code",), "housing_fund": ("region_code",), "social_insurance": ("region_code",),
    "posts": ("post",), "national_parameters": (), "iit_brackets": (),
}
TABLE_ZH = {"pay_scale": "薪级表", "allowances": "津贴表", "accident_insurance": "意外险表",
            "minimum_wage": "最低工资表", "housing_fund": "公积金表", "social_insurance": "社保表",
            "posts": "岗位表", "national_parameters": "全国参数表", "iit_brackets": "个税税率表"}

# causes made of the person's own inputs, in substitution order: (key, 中文, English, columns)
PRORATION = ("proration", "在职天数与计薪日（折算）", "Days employed, paid days and service years (proration)",
             ("month", "month_start", "hire_date", "leave_date", "service_start", "paid_days_in_month",
              "paid_days_employed"))
POSITION = ("position", "层级、岗位或地区变动", "Change of level, post or region",
            ("region_code", "unit", "category", "level", "post", "risk_class"))
INPUT_CAUSES = (
    ("unpaid_leave", "考勤：无薪假", "Attendance: unpaid leave", ("unpaid_leave_days",)),
    ("overtime", "考勤：加班小时", "Attendance: overtime hours",
     ("overtime_workday_hours", "overtime_restday_hours", "overtime_holiday_hours")),
    ("night_shifts", "考勤：夜班", "Attendance: night shifts", ("night_shifts",)),
    ("bonus", "奖金", "Bonus", ("bonus",)),
    ("deduction", "其他扣款", "Other deduction", ("deduction_requested", "deduction_kind")),
    # issue 13: one-off payments of the month and the balance the employee owed before it
    ("one_off", "一次性收入（年终奖、补偿金、其他）", "One-off payments (annual bonus, severance, other)",
     ("annual_bonus", "annual_bonus_method_requested", "separate_bonus_earlier", "severance_pay",
      "other_payments")),
    ("balance_owed", "上月应收个人款余额", "Balance owed before the month", ("balance_owed_before",)),
    ("special_deduction", "专项附加扣除申报", "Declared special additional deductions", ("special_deduction",)),
    ("contribution_base", "缴费基数（申报、上年工资、首个整月）",
     "Contribution base inputs (declared base, last year's pay, first whole month)",
     ("declared_base", "prior_year_months", "prior_year_gross", "first_full_month_gross",
      # issue 14: the base year of the insurances and of the housing fund, and the pay before it
      *(f"{prefix}_year_{part}" for prefix in ("contribution", "housing_fund")
        for part in ("start", "months", "gross", "first_full_gross")))),
    ("year_to_date", "累计预扣：本年此前累计", "Cumulative withholding: the year to date before the month",
     ("prev_income_ytd", "prev_contributions_ytd", "prev_special_deduction_ytd", "prev_iit_ytd",
      "prev_months_employed_ytd")),
)
# lines reported per cause besides the payslip's money lines: they tell the why
INTERMEDIATE = ("proration_numerator", "proration_denominator", "service_years", "contribution_wage",
                "pension_base", "housing_fund_base", "taxable_income_ytd", "iit_bracket", "iit_rate",
                "iit_due_ytd")


def table_of(column: str) -> str | None:
    """The policy table a context column comes from (None for the person's own inputs)."""
    if column in ROW_TABLES:
        return ROW_TABLES[column]
    reads = CONTEXT_BY_NAME[column].reads if column in CONTEXT_BY_NAME else ()
    tables = {ROW_TABLES[r] for r in reads if r in ROW_TABLES}
    return tables.pop() if len(tables) == 1 else None


@dataclass
class Cause:
    key: str
    label_zh: str
    label_en: str
    columns: tuple[str, ...]
    details: list[str] = field(default_factory=list)
    line_deltas: dict[str, int] = field(default_factory=dict)    # fen, payslip money lines
    intermediate: list[str] = field(default_factory=list)        # "iit_bracket: 1 → 2"

    @property
    def net_delta(self) -> int:
        return self.line_deltas.get("net_pay", 0)


@dataclass
class Comparison:
    employee_id: str
    month_a: str
    month_b: str
    lines: list[dict]                   # every payslip line: name, labels, a, b, delta (fen)
    causes: list[Cause]
    net_a: int
    net_b: int
    tax_note: str | None
    exact: bool                         # first step = month A, last step = month B, sums match
    not_run: tuple[str, ...] = ()       # months without stored payslips: their figures are computed now

    @property
    def not_run_note(self) -> str | None:
        if not self.not_run:
            return None
        return (f"{' and '.join(self.not_run)} {'has' if len(self.not_run) == 1 else 'have'} not been run: "
                f"those figures are computed now from the current inputs and tables, not read from payslips")

    @property
    def net_change(self) -> int:
        return self.net_b - self.net_a

    def to_dict(self) -> dict:
        yuan = lambda fen: str(Decimal(fen) / 100)  # noqa: E731
        return {
            "employee_id": self.employee_id, "month_a": self.month_a, "month_b": self.month_b,
            "net_pay_a": yuan(self.net_a), "net_pay_b": yuan(self.net_b), "net_change": yuan(self.net_change),
            "method": "sequential substitution through the engine (see payroll/reports/compare.py)",
            "sums_exactly": self.exact, "tax_note": self.tax_note, "not_run": list(self.not_run),
            "lines": [{**line, "a": yuan(line["a"]), "b": yuan(line["b"]), "delta": yuan(line["delta"])}
                      for line in self.lines],
            "causes": [{"key": c.key, "label_zh": c.label_zh, "label_en": c.label_en,
                        "net_change": yuan(c.net_delta), "details": c.details, "intermediate": c.intermediate,
                        "line_changes": {k: yuan(v) for k, v in c.line_deltas.items()}}
                       for c in self.causes],
        }


def _context_table(explainer: Explainer, month: Month, employee_id: str, name: str) -> dict:
    explainer.use_month(month)
    con = explainer.con
    with explainer.inputs_as_run(employee_id, month.label):
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS "
                    f"{context_sql(month, earlier_payslips_exist(con, month), employee_id)}")
    cursor = con.execute(f"SELECT * FROM {name}")
    names = [d[0] for d in cursor.description]
    found = cursor.fetchall()
    if not found:
        raise PayrollError(f"{employee_id} is not paid in {month.label} (not employed that month, or unknown)")
    return dict(zip(names, found[0]))


def _plan(a: dict, b: dict) -> list[Cause]:
    """The causes whose inputs differ between the two months, in substitution order."""
    changed = {c for c in a if a[c] != b[c]}
    position_changed = changed & set(POSITION[3])
    causes = [Cause(*PRORATION), Cause(*POSITION)]
    by_table: dict[str, list[str]] = {}
    for column in a:
        table = table_of(column)
        if table is not None:
            by_table.setdefault(table, []).append(column)
    for table, columns in by_table.items():
        if position_changed & set(TABLE_KEYS.get(table, ())):
            causes[1].columns += tuple(columns)      # the row follows the person's new level/post/region
        else:
            causes.append(Cause(f"table:{table}", f"{TABLE_ZH.get(table, table)}新行生效",
                                f"A row of table {table} took effect", tuple(columns)))
    causes += [Cause(*spec) for spec in INPUT_CAUSES]
    covered = {c for cause in causes for c in cause.columns}
    causes.append(Cause("other", "其他", "Other inputs", tuple(c for c in a if c not in covered)))
    return [cause for cause in causes if set(cause.columns) & changed]


def _describe(cause: Cause, a: dict, b: dict, rows_a, rows_b) -> None:
    for column in cause.columns:
        if a[column] == b[column] or column in ("month", "month_start"):
            continue
        if column in ROW_TABLES:
            old, new = rows_a.read(column, a[column]), rows_b.read(column, b[column])
            for row in new:
                if row not in old:
                    cause.details.append(f"now in force: {row_text(row)}")
            for row in old:
                if row not in new:
                    cause.details.append(f"no longer in force: {row_text(row)}")
            continue
        column_info = CONTEXT_BY_NAME.get(column)
        unit = column_info.unit if column_info else "int"
        if unit == "rows":
            continue
        label = f"{column_info.label_zh} {column_info.label_en}" if column_info else column
        cause.details.append(f"{label}: {show_named(column, a[column], unit)} → "
                             f"{show_named(column, b[column], unit)}")


def _tax_note(first: dict, last: dict, rows) -> str | None:
    if first["iit_bracket"] == last["iit_bracket"]:
        return None
    bracket, thresholds = last["iit_bracket"], last["iit_thresholds"]
    crossed = show(thresholds[bracket - 1], "fen") if last["iit_bracket"] > first["iit_bracket"] else None
    row = rows.read("iit_brackets_rows", [last["iit_brackets_rows"][bracket - 1]])
    rate = lambda payslip: show_named("iit_rate", payslip["iit_rate"], "ppm")  # noqa: E731
    text = (f"累计预扣税率档次 tax bracket {first['iit_bracket']} ({rate(first)}) → "
            f"{bracket} ({rate(last)}): cumulative taxable income "
            f"{show(first['taxable_income_ytd'], 'fen')} → {show(last['taxable_income_ytd'], 'fen')}")
    if crossed:
        text += f", above the threshold {crossed}"
    if row:
        text += f" ({row_text(row[0])})"
    return text + " — 国家税务总局公告2018年第61号 art. 6 (预扣率表一)"


def compare_months(explainer: Explainer, employee_id: str, month_a: str, month_b: str) -> Comparison:
    first, second = Month.parse(month_a), Month.parse(month_b)
    con = explainer.con
    a = _context_table(explainer, first, employee_id, "_compare_a")
    b = _context_table(explainer, second, employee_id, "_compare_b")
    causes = _plan(a, b)
    columns = list(a)
    selects, replaced = [], set()
    for step in range(len(causes) + 1):
        if step:
            replaced |= set(causes[step - 1].columns)
        picked = ", ".join(f"{'b' if c in replaced else 'a'}.{c} AS {c}" for c in columns)
        selects.append(f"SELECT {step} AS compare_step, {picked} FROM _compare_a a, _compare_b b")
    wanted = list(dict.fromkeys(PAYSLIP_LINES + INTERMEDIATE + ("iit_thresholds", "iit_brackets_rows")))
    with optimiser_off(con):        # the stages over a few rows made already (db.optimiser_off)
        cursor = con.execute(f"SELECT compare_step, {', '.join(wanted)} FROM ("
                             f"{rules_over(' UNION ALL '.join(selects))}) ORDER BY compare_step")
        names = [d[0] for d in cursor.description]
        steps = [dict(zip(names, row)) for row in cursor.fetchall()]

    digests = {m: con.execute("SELECT tables_digest FROM payslips WHERE employee_id = ? AND month = ?",
                              [employee_id, m.label]).fetchall() for m in (first, second)}
    rows_a = policy_rows(con, explainer.policy, digests[first][0][0] if digests[first] else None)
    rows_b = policy_rows(con, explainer.policy, digests[second][0][0] if digests[second] else None)
    units = {name: ("int" if name in ("iit_bracket", "proration_numerator", "proration_denominator",
                                      "service_years") else "ppm" if name == "iit_rate" else "fen")
             for name in INTERMEDIATE}
    rules = all_rules()
    for index, cause in enumerate(causes, start=1):
        before, after = steps[index - 1], steps[index]
        cause.line_deltas = {n: after[n] - before[n] for n in PAYSLIP_LINES if after[n] != before[n]}
        cause.intermediate = [f"{rules[n].label_zh} {rules[n].label_en}: {show_named(n, before[n], units[n])} → "
                              f"{show_named(n, after[n], units[n])}" for n in INTERMEDIATE if before[n] != after[n]]
        _describe(cause, a, b, rows_a, rows_b)

    trace_a = {l.name: l for l in explainer.trace(employee_id, first.label)}
    trace_b = {l.name: l for l in explainer.trace(employee_id, second.label)}
    lines = [{"name": n, "label_zh": trace_a[n].label_zh, "label_en": trace_a[n].label_en,
              "a": trace_a[n].raw, "b": trace_b[n].raw, "delta": trace_b[n].raw - trace_a[n].raw}
             for n in PAYSLIP_LINES]
    exact = (all(steps[0][n] == trace_a[n].raw and steps[-1][n] == trace_b[n].raw for n in PAYSLIP_LINES)
             and sum(c.net_delta for c in causes) == trace_b["net_pay"].raw - trace_a["net_pay"].raw)
    return Comparison(employee_id, first.label, second.label, lines, causes, trace_a["net_pay"].raw,
                      trace_b["net_pay"].raw, _tax_note(steps[0], steps[-1], rows_b), exact,
                      tuple(m.label for m in (first, second) if not digests[m]))


def comparison_text(comparison: Comparison) -> str:
    fen = lambda value: show(value, "fen")  # noqa: E731
    signed = lambda value: ("+" if value > 0 else "") + fen(value)  # noqa: E731
    out = [f"工资变动说明 Pay change {comparison.employee_id}: {comparison.month_a} → {comparison.month_b}",
           f"实发工资 Net pay {fen(comparison.net_a)} → {fen(comparison.net_b)} "
           f"({signed(comparison.net_change)})"]
    if comparison.not_run_note:
        out.append(f"注意 note: {comparison.not_run_note}")
    out.append("\n各项变动 Line by line")
    for line in comparison.lines:
        if line["delta"]:
            out.append(f"  {line['label_zh']} {line['label_en']}".ljust(46)
                       + f"{fen(line['a']):>14} → {fen(line['b']):>14}  {signed(line['delta']):>12}")
    out.append("\n变动原因 Why (each cause's effect on net pay; the causes add up to the change)")
    for cause in comparison.causes:
        out.append(f"  {cause.label_zh} {cause.label_en}: {signed(cause.net_delta)}")
        for detail in cause.details:
            out.append(f"      {detail}")
        labels = {line["name"]: f"{line['label_zh']} {line['label_en']}" for line in comparison.lines}
        for name, delta in cause.line_deltas.items():
            if name != "net_pay":
                out.append(f"      {labels[name]}: {signed(delta)}")
        for text in cause.intermediate:
            out.append(f"      ({text})")
    total = sum(c.net_delta for c in comparison.causes)
    out.append(f"  合计 Total: {signed(total)} = net pay change {signed(comparison.net_change)}"
               + ("" if comparison.exact else "  (MISMATCH)"))
    if comparison.tax_note:
        out.append(f"\n个税 Tax: {comparison.tax_note}")
    return "\n".join(out) + "\n"


def comparison_json(comparison: Comparison) -> str:
    return json.dumps(comparison.to_dict(), ensure_ascii=False, indent=2) + "\n"


def write_comparison_xlsx(comparison: Comparison, out: str | Path) -> None:
    with xlsx.atomic_output(out) as path:
        workbook = xlsx.new_workbook(path, constant_memory=False)
        style = xlsx.styles(workbook)
        bold, wrap, money = style.bold, style.wrapped, style.money_top
        sheet = workbook.add_worksheet("工资变动 Change")
        sheet.write_string(0, 0, f"工资变动说明 {comparison.employee_id}: {comparison.month_a} → "
                                 f"{comparison.month_b}", bold)
        if comparison.not_run_note:
            sheet.write_string(1, 0, f"注意 note: {comparison.not_run_note}")
        for col, (text, width) in enumerate(zip(("项目", "Item", comparison.month_a, comparison.month_b,
                                                 "变动 Change"), (22, 28, 14, 14, 14))):
            sheet.write_string(2, col, text, bold)
            sheet.set_column(col, col, width)
        row = 3
        for line in comparison.lines:
            sheet.write_string(row, 0, line["label_zh"], wrap)
            sheet.write_string(row, 1, line["label_en"], wrap)
            for col, key in ((2, "a"), (3, "b"), (4, "delta")):
                sheet.write_number(row, col, xlsx.fen_to_number(line[key]), money)
            row += 1
        row += 1
        sheet.write_string(row, 0, "变动原因 Cause", bold)
        sheet.write_string(row, 1, "Cause", bold)
        sheet.write_string(row, 4, "实发变动 Net change", bold)
        sheet.write_string(row, 5, "说明 Details", bold)
        sheet.set_column(5, 5, 90)
        for cause in comparison.causes:
            row += 1
            sheet.write_string(row, 0, cause.label_zh, wrap)
            sheet.write_string(row, 1, cause.label_en, wrap)
            sheet.write_number(row, 4, xlsx.fen_to_number(cause.net_delta), money)
            sheet.write_string(row, 5, "\n".join(cause.details + cause.intermediate), wrap)
        row += 1
        sheet.write_string(row, 0, "合计", bold)
        sheet.write_string(row, 1, "Total = net pay change", bold)
        sheet.write_number(row, 4, xlsx.fen_to_number(sum(c.net_delta for c in comparison.causes)), money)
        if comparison.tax_note:
            sheet.write_string(row + 2, 0, comparison.tax_note)
        workbook.close()


def write_comparison(comparison: Comparison, fmt: str, out: str | Path | None) -> str | None:
    """Like explain.write_explanation: text/json returned when out is None, xlsx needs out."""
    return write_report(fmt, out, lambda path: write_comparison_xlsx(comparison, path),
                        lambda: comparison_json(comparison), lambda: comparison_text(comparison))
