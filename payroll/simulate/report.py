"""The simulate XLSX report: summary, breakdown sheets, native Excel charts; Chinese headers; money to
the fen (cells hold integer fen ÷ 100, shown with two decimals; see reports/xlsx.py)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..columns import LABELS
from ..reports.xlsx import (MONEY, TEXT, INTEGER, Column, Sheet, atomic_output, fen_to_number,
                            new_workbook, styles)
from .results import COMPONENT_ROWS, EXTRA_LABELS, PERCENTILES
from .runner import Comparison

DIMENSION_SHEETS = {"region_code": ("按地区", "地区"), "unit": ("按单位", "单位"),
                    "category": ("按类别", "类别"), "level": ("按层级", "层级")}
CATEGORY_ZH = {"duty": "勤务辅警", "civilian": "文职辅警"}


def label(name: str) -> str:
    return (EXTRA_LABELS.get(name) or LABELS.get(name, (name, name)))[0]


def _money(key: str, text: str, width: float = 16) -> Column:
    return Column(key, text, MONEY, width)


def _percent(change: int, base: int) -> str:
    return f"{change / base * 100:+.2f}%" if base else ""


def write_report(comparison: Comparison, out: str | Path) -> Path:
    with atomic_output(out) as temporary:
        workbook = new_workbook(temporary, constant_memory=False)
        _summary(workbook, comparison)
        _components(workbook, comparison)
        for dim in DIMENSION_SHEETS:
            _dimension(workbook, comparison, dim)
        _monthly(workbook, comparison)
        _floors(workbook, comparison)
        workbook.close()
    return Path(out)


def _summary(workbook, c: Comparison) -> None:
    st = styles(workbook)
    ws = workbook.add_worksheet("汇总")
    ws.set_column(0, 0, 34)
    ws.set_column(1, 4, 18)
    ws.merge_range(0, 0, 0, 4, f"预算测算：{c.scenario.name}", st.title)
    row = 1
    facts = [("情景文件", c.file), ("说明", c.scenario.description or ""),
             ("测算期间", f"{c.months[0].label} 至 {c.months[-1].label}"),
             ("情景自该月起重新计算", c.first_changed or "（与基线相同）"),
             ("政策表版本（基线 / 情景）", f"{c.baseline_policy.digest} / {c.scenario_policy.digest}")]
    facts += [("注", note) for note in c.notes]
    for key, value in facts:
        ws.write_string(row, 0, key, st.text)
        ws.write_string(row, 1, str(value), st.text)
        row += 1
    row += 1
    headers = ["项目", "基线", "情景", "增减", "增减幅度"]
    for year in c.years:
        ws.write_string(row, 0, f"{year} 年度", st.subtitle)
        row += 1
        for col, text in enumerate(headers):
            ws.write_string(row, col, text, st.header)
        row += 1
        total = c.totals[c.totals.year == year].iloc[0]
        for key, text in (("headcount", "年末人数（12月发薪）"), ("paid_in_year", "年内发薪人数")):
            ws.write_string(row, 0, text, st.text)
            for col, side in enumerate(("baseline", "scenario", "change"), start=1):
                ws.write_number(row, col, int(total[f"{key}_{side}"]), st.integer)
            row += 1
        ws.write_string(row, 0, "平均人数（人月 ÷ 12）", st.text)
        for col, side in enumerate(("baseline", "scenario", "change"), start=1):
            ws.write_number(row, col, round(int(total[f"person_months_{side}"]) / 12, 1), st.text)
        row += 1
        for name in ("gross_pay", "employee_contributions", "housing_fund_employee", "iit",
                     "employer_contributions", "housing_fund_employer", "accident_insurance_employer",
                     "employer_cost", "net_pay"):
            ws.write_string(row, 0, label(name), st.text)
            for col, side in enumerate(("baseline", "scenario", "change"), start=1):
                ws.write_number(row, col, fen_to_number(int(total[f"{name}_{side}"])), st.money)
            ws.write_string(row, 4, _percent(int(total[f"{name}_change"]), int(total[f"{name}_baseline"])),
                            st.text)
            row += 1
        row += 1
    ws.write_string(row, 0, "实发工资变化分布（同时在基线和情景中发薪的人员，年度合计）", st.subtitle)
    row += 1
    for col, text in enumerate(["年度", "人数", "减少人数", "增加人数", "不变人数"]):
        ws.write_string(row, col, text, st.header)
    row += 1
    for net in c.net:
        for col, value in enumerate([net.year, net.people, net.losing, net.gaining, net.unchanged]):
            ws.write_number(row, col, value, st.integer)
        row += 1
    for col, text in enumerate(["年度", "分位", "实发变化"]):
        ws.write_string(row, col, text, st.header)
    row += 1
    for net in c.net:
        points = [("最小", net.minimum)] + [(f"P{round(p * 100)}", net.percentiles[p]) for p in PERCENTILES] \
            + [("最大", net.maximum), ("平均", net.mean)]
        for name, value in points:
            ws.write_number(row, 0, net.year, st.integer)
            ws.write_string(row, 1, name, st.text)
            ws.write_number(row, 2, fen_to_number(value), st.money)
            row += 1
        ws.write_string(row, 0, f"{net.year}：仅基线发薪 {net.only_baseline} 人（情景中离职），"
                                f"仅情景发薪 {net.only_scenario} 人（情景中新招录）", st.text)
        row += 1
    if c.solver is not None:
        row += 1
        s = c.solver
        ws.write_string(row, 0, "平均工资底线求解（最小统一调资幅度）", st.subtitle)
        row += 1
        what = "层级工资（薪级表）" if s.component == "base_pay" else f"津贴项目 {s.component}"
        lines = [("调整项目", what), ("适用地区", "、".join(s.regions) or "（无未达标地区）"),
                 ("最小调资幅度", f"{s.raise_percent}%（步长 {s.step} 个百分点）")]
        if s.below is not None:
            lines.append(("少一步的结果", f"{s.below.raise_percent}%：{'达标' if s.below.holds else '未达标'}"))
        for key, value in lines:
            ws.write_string(row, 0, key, st.text)
            ws.write_string(row, 1, value, st.text)
            row += 1
        for year, cost in sorted(s.cost.items()):
            ws.write_string(row, 0, f"{year} 年单位总成本增加", st.text)
            ws.write_number(row, 1, fen_to_number(cost), st.money)
            ws.write_string(row, 2, "应发增加", st.text)
            ws.write_number(row, 3, fen_to_number(s.gross_added.get(year, 0)), st.money)
            row += 1


def _components(workbook, c: Comparison) -> None:
    columns = [Column("year", "年度", INTEGER, 8), Column("component", "项目", TEXT, 24),
               _money("baseline", "基线"), _money("scenario", "情景"), _money("change", "增减"),
               Column("percent", "增减幅度", TEXT, 10)]
    sheet = Sheet(workbook, "按项目", columns, title="年度成本：按项目（基线与情景）")
    first = sheet.row
    for record in c.components.to_dict("records"):
        sheet.write_row([record["year"], label(record["component"]),
                         fen_to_number(record["baseline"]), fen_to_number(record["scenario"]),
                         fen_to_number(record["change"]), _percent(record["change"], record["baseline"])])
    sheet.finish()
    # chart: the first year's cost by component, baseline against scenario (employer cost items)
    shown = [n for n in COMPONENT_ROWS if n not in ("net_pay", "employee_contributions",
                                                    "employer_contributions", "employer_cost")]
    chart = workbook.add_chart({"type": "column"})
    year_rows = [i for i, r in enumerate(c.components.to_dict("records"))
                 if r["year"] == c.years[0] and r["component"] in shown]
    top, bottom = first + year_rows[0], first + year_rows[-1]
    for col, name in ((2, "基线"), (3, "情景")):
        chart.add_series({"name": name, "categories": ["按项目", top, 1, bottom, 1],
                          "values": ["按项目", top, col, bottom, col]})
    chart.set_title({"name": f"{c.years[0]} 年成本构成：基线与情景"})
    chart.set_y_axis({"num_format": "#,##0"})
    chart.set_size({"width": 900, "height": 420})
    sheet.worksheet.insert_chart(first, len(columns) + 1, chart)


def _dimension(workbook, c: Comparison, dim: str) -> None:
    name, dim_label = DIMENSION_SHEETS[dim]
    frame = c.by[dim]
    columns = [Column("year", "年度", INTEGER, 8), Column(dim, dim_label, TEXT, 30 if dim == "unit" else 12)]
    if dim == "region_code":
        columns.append(Column("name", "地区名称", TEXT, 12))
    columns += [Column("headcount_baseline", "年末人数（基线）", INTEGER, 10),
                Column("headcount_scenario", "年末人数（情景）", INTEGER, 10),
                Column("person_months_baseline", "人月（基线）", INTEGER, 10),
                Column("person_months_scenario", "人月（情景）", INTEGER, 10)]
    money = ["gross_pay", "employee_contributions", "iit", "employer_contributions",
             "accident_insurance_employer", "employer_cost", "net_pay"]
    for item in money:
        for side, text in (("baseline", "基线"), ("scenario", "情景"), ("change", "增减")):
            columns.append(_money(f"{item}_{side}", f"{label(item)}（{text}）"))
    sheet = Sheet(workbook, name, columns, title=f"年度成本：{name}（金额单位：元）", freeze_columns=2)
    for record in frame.to_dict("records"):
        values = []
        for column in columns:
            value = record[column.key]
            if column.kind == MONEY:
                value = fen_to_number(int(value))
            elif column.key == "category":
                value = CATEGORY_ZH.get(value, value)
            elif column.kind == INTEGER:
                value = int(value)
            values.append(value)
        sheet.write_row(values)
    sheet.finish()


def _monthly(workbook, c: Comparison) -> None:
    frame = c.monthly
    columns = [Column("month", "月份", TEXT, 10), Column("headcount_baseline", "人数（基线）", INTEGER, 10),
               Column("headcount_scenario", "人数（情景）", INTEGER, 10)]
    for item in ("gross_pay", "employer_cost", "net_pay"):
        for side, text in (("baseline", "基线"), ("scenario", "情景"), ("change", "增减")):
            columns.append(_money(f"{item}_{side}", f"{label(item)}（{text}）"))
    sheet = Sheet(workbook, "按月", columns, title="月度成本曲线（金额单位：元）")
    first = sheet.row
    for record in frame.to_dict("records"):
        sheet.write_row([fen_to_number(int(record[col.key])) if col.kind == MONEY else
                         (int(record[col.key]) if col.kind == INTEGER else record[col.key])
                         for col in columns])
    last = sheet.row - 1
    sheet.finish()
    chart = workbook.add_chart({"type": "line"})
    cost_base = next(i for i, col in enumerate(columns) if col.key == "employer_cost_baseline")
    for col, text in ((cost_base, "单位总成本（基线）"), (cost_base + 1, "单位总成本（情景）")):
        chart.add_series({"name": text, "categories": ["按月", first, 0, last, 0],
                          "values": ["按月", first, col, last, col], "marker": {"type": "circle"}})
    chart.set_title({"name": "月度单位总成本：基线与情景"})
    chart.set_y_axis({"num_format": "#,##0"})
    chart.set_size({"width": 900, "height": 420})
    sheet.worksheet.insert_chart(last + 2, 0, chart)


def _floors(workbook, c: Comparison) -> None:
    columns = [Column("year", "年度", INTEGER, 8), Column("region_code", "地区", TEXT, 10),
               Column("name", "地区名称", TEXT, 12),
               Column("people_baseline", "人数（基线，年末月）", INTEGER, 12),
               Column("people_scenario", "人数（情景，年末月）", INTEGER, 12),
               _money("average_gross_ytd_baseline", "年均应发（基线）"),
               _money("average_gross_ytd_scenario", "年均应发（情景）"),
               _money("floor_scenario", "底线（比例×社平工资）"),
               Column("holds_baseline", "基线结果", TEXT, 10), Column("holds_scenario", "情景结果", TEXT, 10)]
    if c.solver_floors is not None:
        columns += [_money("average_gross_ytd_solved", "年均应发（求解调资后）"),
                    Column("holds_solved", "求解后结果", TEXT, 10)]
    sheet = Sheet(workbook, "平均工资底线", columns,
                  title="平均工资底线检查（南通实施办法第七条等）")
    frame = c.floors.copy()
    if c.solver_floors is not None:
        solved = c.solver_floors[["year", "region_code", "average_gross_ytd_scenario", "holds_scenario"]]
        frame = frame.merge(solved.rename(columns={"average_gross_ytd_scenario": "average_gross_ytd_solved",
                                                   "holds_scenario": "holds_solved"}),
                            on=["year", "region_code"], how="left")
    for record in frame.to_dict("records"):
        values = []
        for column in columns:
            value = record.get(column.key)
            if column.key.startswith("holds"):
                value = "—" if pd.isna(value) else ("达标" if value else "未达标")
            elif column.kind == MONEY:
                value = None if pd.isna(value) else round(float(value), 2)
            elif column.kind == INTEGER:
                value = None if pd.isna(value) else int(value)
            values.append(value)
        sheet.write_row(values)
    sheet.finish()
