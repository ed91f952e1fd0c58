"""`payroll levels --year Y`: every promotion and demotion the year's appraisal brings, for HR to approve.

The list is written to XLSX with Chinese headers that `levels --apply` reads back; HR deletes a row
or writes 否 in 审批 (approved) to refuse it, and adds selection promotions (选拔晋升) as rows of kind
`selection`.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pandas as pd

from ..db import table_exists
from ..engine.context import Month
from ..engine.employee_history import employees_as_of_sql
from ..policy import Policy
from ..rules.performance_pay import assessments_in_force_sql
from .rules import decide, level_since, level_versions, rule_in_force, scale_in_force

COLUMNS = {   # column -> header HR reads (readers.HEADER_ALIASES maps it back)
    "employee_id": "工号", "name": "姓名", "unit": "单位", "region_code": "地区代码", "category": "类别",
    "from_level": "原层级", "to_level": "新层级", "effective_from": "生效日期", "change_kind": "变动类型",
    "reason": "依据说明", "rule_row": "规则行", "approved": "审批",
}


def propose_changes(con: duckdb.DuckDBPyConnection, policy: Policy, year: int) -> pd.DataFrame:
    """One row per person whose level the year's appraisal changes."""
    december = Month.parse(f"{year}-12")
    roster = con.execute(f"""SELECT employee_id, name, unit, region_code, category, level, leave_date
        FROM ({employees_as_of_sql(december)}) WHERE hire_date <= DATE '{december.end}'
          AND (leave_date IS NULL OR leave_date > DATE '{december.end}') ORDER BY employee_id""").fetchall()
    results: dict[str, dict[int, str]] = {}
    if not table_exists(con, "assessments"):
        return pd.DataFrame(columns=list(COLUMNS))
    for employee_id, result_year, result in con.execute(
            f"SELECT employee_id, year, result FROM ({assessments_in_force_sql()}) WHERE year <= ?", [year]).fetchall():
        results.setdefault(employee_id, {})[int(result_year)] = result
    versions = level_versions(con)
    rows, scales, rules = [], {}, {}
    for employee_id, name, unit, region, category, level, leave_date in roster:
        person_results = results.get(employee_id)
        if not person_results or year not in person_results:
            continue
        held = level_since(versions.get(employee_id, []), december.start)
        if held is None:
            continue
        level, since = held
        if (region, category, level) not in rules:       # a few dozen combinations for the whole roster
            rules[(region, category, level)] = rule_in_force(policy, region, category, level, date(year + 1, 1, 1))
        rule = rules[(region, category, level)]
        if rule is None:
            continue
        key = (region, category)
        if key not in scales:
            scales[key] = max(scale_in_force(policy, region, category, date(year + 1, 1, 1)) or {level: 0})
        change = decide(rule, level, scales[key], since, person_results, year)
        if change is None or (leave_date is not None and leave_date < change.effective_from):
            continue
        rows.append({"employee_id": employee_id, "name": name, "unit": unit, "region_code": region,
                     "category": category, "from_level": level, "to_level": change.to_level,
                     "effective_from": change.effective_from.isoformat(), "change_kind": change.kind,
                     "reason": change.reason, "rule_row": change.rule_row, "approved": ""})
    return pd.DataFrame(rows, columns=list(COLUMNS))


def write_proposals(frame: pd.DataFrame, out: Path, year: int) -> Path:
    """XLSX for HR: one sheet, Chinese headers, the columns `levels --apply` reads."""
    import xlsxwriter

    out = Path(out)
    book = xlsxwriter.Workbook(str(out))
    try:
        sheet = book.add_worksheet(f"{year}层级变动")
        bold = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
        for column, header in enumerate(COLUMNS.values()):
            sheet.write(0, column, header, bold)
        for row, record in enumerate(frame.to_dict("records"), start=1):
            for column, name in enumerate(COLUMNS):
                value = record[name]
                if name in ("from_level", "to_level"):
                    sheet.write_number(row, column, int(value))
                else:
                    sheet.write_string(row, column, str(value))     # never a formula
        sheet.set_column(0, 4, 12)
        sheet.set_column(8, 8, 11)
        sheet.set_column(9, 10, 60)
        sheet.freeze_panes(1, 0)
    finally:
        book.close()
    return out
