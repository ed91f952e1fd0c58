"""Appraisal, levels and pay structure (issue 16): hand-computed cases on the shipped tables.

Shipped sample rows used (tables/):
- level_rules.csv 000000 2024-01-01, every level 2–7: years_required 4, excellent_shortens 1,
  min_result competent, demote_result incompetent, demote_levels 1, top_level_without_selection 4,
  effective_month 1 (changes from 1 January of the next year);
- selection_quotas.csv 000000: level 3 quota 2 per unit and year;
- performance_pay.csv 000000: excellent 600 a month and 6000 in January; competent 400 / 3000;
  320600 (Nantong): excellent 0.3 × and competent 0.2 × the grade pay a month, 2 × / 1 × in December;
- pay_scale.csv 150100 duty: level 5 = 7630, level 6 = 6830; 320600 duty level 5 = 7940.
"""
from __future__ import annotations

import csv
import os
import shutil
import subprocess
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import (SHIPPED_TABLES, THOROUGH, database_copy, database_template, examples, project_first_months,
                      run_payroll)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from payroll.db import connect, scalar
from payroll.engine.closing import close_through
from payroll.engine.run import run_months
from payroll.errors import InputError
from payroll.io.assessments import import_assessments
from payroll.io.importer import import_files
from payroll.levels.apply import apply_changes
from payroll.levels.path import level_path
from payroll.levels.propose import propose_changes, write_proposals
from payroll.levels.rules import scale_in_force
from payroll.policy import load_policy

EMPLOYEE_HEADER = ["employee_id", "name", "region_code", "unit", "category", "level", "post", "hire_date"]
STAFF = [
    ["A1", "甲", "150100", "新城分局", "duty", "6", "PATROL", "2019-01-01"],   # c, c, e: early promotion
    ["C1", "丙", "150100", "新城分局", "duty", "5", "PATROL", "2018-01-01"],   # incompetent: demoted
    ["D1", "丁", "150100", "新城分局", "duty", "6", "PATROL", "2019-01-01"],   # c, c, c: not yet (needs 4)
    ["N1", "顾", "320600", "崇川分局", "duty", "5", "PATROL", "2018-01-01"],   # Nantong, competent
]
RESULTS = [
    ["A1", "2022", "称职", ""], ["A1", "2023", "competent", ""], ["A1", "2024", "优秀", ""],
    ["C1", "2024", "不称职", ""],
    ["D1", "2022", "competent", ""], ["D1", "2023", "competent", ""], ["D1", "2024", "competent", ""],
    ["N1", "2024", "称职", ""],
]


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def policy():
    return load_policy()


def staff_database(tmp_path: Path, policy):
    con = connect(":memory:")
    import_files(con, policy, employees=write_csv(tmp_path / "staff.csv", EMPLOYEE_HEADER, STAFF))
    import_assessments(con, write_csv(tmp_path / "results.csv", ["employee_id", "year", "result", "note"], RESULTS))
    return con


@pytest.fixture(scope="module")
def staff_template(tmp_path_factory, policy):
    """STAFF and RESULTS imported once per module; `staffed` gives each test a copy of its own."""
    folder = tmp_path_factory.mktemp("staff")

    def build(con):
        import_files(con, policy, employees=write_csv(folder / "staff.csv", EMPLOYEE_HEADER, STAFF))
        import_assessments(con, write_csv(folder / "results.csv", ["employee_id", "year", "result", "note"], RESULTS))
    return database_template(build)


@pytest.fixture()
def staffed(staff_template):
    return database_copy(staff_template)


def payslip(con, employee_id: str, month: str) -> dict:
    cursor = con.execute("SELECT * FROM payslips WHERE employee_id = ? AND month = ?", [employee_id, month])
    names = [d[0] for d in cursor.description]
    return dict(zip(names, cursor.fetchall()[0]))


def test_competent_competent_excellent_promotes_a_year_early_and_incompetent_demotes(staffed, policy):
    proposals = propose_changes(staffed, policy, 2024).set_index("employee_id")
    # A1: level 6 since hire 2019-01-01; 2022 称职, 2023 称职, 2024 优秀 = 3 years with one excellent:
    # 4 required − 1 shortened = 3 → level 5 from 2025-01-01 (effective_month 1)
    assert proposals.loc["A1", ["from_level", "to_level", "effective_from", "change_kind"]].tolist() == \
        [6, 5, "2025-01-01", "promotion"]
    assert "one 优秀 shortens 4 years by 1" in proposals.loc["A1", "reason"]
    # C1: 2024 不称职 → demote_levels 1: level 5 → 6
    assert proposals.loc["C1", ["from_level", "to_level", "change_kind"]].tolist() == [5, 6, "demotion"]
    # D1: three competent years, no excellent: 3 < 4 years required → no change
    assert "D1" not in proposals.index
    # N1: one competent year → no change
    assert "N1" not in proposals.index
    assert proposals.loc["A1", "rule_row"] == "level_rules.csv row 6"     # duty level 6 is line 6


def test_back_dated_promotion_pays_arrears_through_closed_months(staffed, policy, tmp_path):
    run_months(staffed, policy, "2025-01", "2025-02")
    close_through(staffed, "2025-02")
    proposals = propose_changes(staffed, policy, 2024)
    approved = write_proposals(proposals[proposals.employee_id == "A1"], tmp_path / "approved.xlsx", 2024)
    summary = apply_changes(staffed, policy, approved)
    assert summary.applied == 1 and summary.back_dated_from == "2025-01-01"
    run_months(staffed, policy, "2025-03", "2025-03")
    march = payslip(staffed, "A1", "2025-03")
    # January and February were paid at level 6 (6830); level 5 pays 7630: 2 × (7630 − 6830) = 1600.00
    arrears = scalar(staffed, "SELECT sum(amount) FROM arrears WHERE employee_id = 'A1' AND component = 'base_pay'")
    assert arrears == Decimal("1600.00")
    assert march["arrears_pay"] == Decimal("1600.00")
    assert march["base_pay"] == Decimal("7630.00") and march["level"] == 5
    # the closed months themselves are untouched
    assert payslip(staffed, "A1", "2025-01")["base_pay"] == Decimal("6830.00")
    # and the path tells HR why
    path = level_path(staffed, policy, "A1", on=date(2025, 3, 1))
    assert path.level == 5 and path.past[-1].effective_from == date(2025, 1, 1)
    assert path.past[-1].reason.startswith("promotion: 3 years at level 6")


def test_performance_pay_by_result_in_two_regions(staffed, staff_template, policy, tmp_path):
    run_months(staffed, policy, "2025-01", "2025-02")
    year_end = database_copy(staff_template)
    run_months(year_end, policy, "2025-12", "2025-12")        # December read alone: no month before it
    a1_jan, a1_feb = payslip(staffed, "A1", "2025-01"), payslip(staffed, "A1", "2025-02")
    # Hohhot, 2024 优秀: national rows, 600 a month and 6000 in January
    assert (a1_jan["performance_pay"], a1_jan["appraisal_bonus"]) == (Decimal("600.00"), Decimal("6000.00"))
    assert (a1_feb["performance_pay"], a1_feb["appraisal_bonus"]) == (Decimal("600.00"), Decimal("0.00"))
    assert a1_jan["appraisal_result"] == "excellent"
    # C1, 2024 不称职: 0 a month and 0 in January (the rows exist, with 0)
    c1 = payslip(staffed, "C1", "2025-01")
    assert (c1["performance_pay"], c1["appraisal_bonus"]) == (Decimal("0.00"), Decimal("0.00"))
    # Nantong, 2024 称职: its own rows: 0.2 × 7940 = 1588.00 a month; 1 × 7940 = 7940.00 in December only
    n1_jan, n1_dec = payslip(staffed, "N1", "2025-01"), payslip(year_end, "N1", "2025-12")
    assert (n1_jan["performance_pay"], n1_jan["appraisal_bonus"]) == (Decimal("1588.00"), Decimal("0.00"))
    # the pay held against the minimum wage counts the performance pay (最低工资规定 art. 12 leaves
    # out only overtime, the special allowances and benefits)
    assert n1_jan["normal_pay"] == (n1_jan["base_pay"] + n1_jan["seniority_pay"] + n1_jan["allowances"]
                                    + Decimal("1588.00"))
    assert (n1_dec["performance_pay"], n1_dec["appraisal_bonus"]) == (Decimal("1588.00"), Decimal("7940.00"))
    # explain shows the result and the table row of each line
    from payroll.reports.explain import Explainer, explanation_text
    text = explanation_text(Explainer(year_end, policy).explain("N1", "2025-12"))
    assert "年度考核奖 Annual appraisal bonus = 7,940.00" in text
    assert "(competent, 2024)" in text
    # the Nantong annual competent row: line 13 of performance_pay.csv (header, 8 national rows,
    # then Nantong's excellent monthly, annual, competent monthly, annual)
    assert "表 table performance_pay row 13: category=all, level=all, result=competent, paid=annual, multiple=1, " \
           "pay_month=12," in text                # a whole month, not 12.0
    # both lines are in gross pay
    parts = ("base_pay", "seniority_pay", "allowances", "high_risk_allowance", "night_shift_pay", "overtime_pay",
             "floor_topup", "bonus", "injury_disability_allowance", "arrears_pay", "performance_pay",
             "appraisal_bonus", "annual_bonus", "severance_pay", "other_payments",
             "sick_pay", "maternity_allowance", "maternity_topup", "annual_leave_payout")
    assert n1_dec["gross_pay"] == sum(n1_dec[p] for p in parts)



def assessed_in_2024(tmp_path, policy, employee_row: list[str], result: str):
    """A fresh database holding one employee (a row of EMPLOYEE_HEADER) and their 2024 result."""
    con = connect(":memory:")
    import_files(con, policy, employees=write_csv(tmp_path / "b.csv", EMPLOYEE_HEADER, [employee_row]))
    import_assessments(con, write_csv(tmp_path / "r.csv", ["employee_id", "year", "result", "note"],
                                      [[employee_row[0], "2024", result, ""]]))
    return con


def test_a_result_with_no_monthly_row_pays_no_performance_pay(tmp_path):
    # The tables without the national basic/monthly row: a 基本称职 result then has an annual row
    # only, and its monthly performance pay is nothing (not a multiple defaulted to anything but 0;
    # 1 ppm of H1's 6,830 would already round to 0.01).
    tables = tmp_path / "tables"
    shutil.copytree(SHIPPED_TABLES, tables)
    path = tables / "performance_pay.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [line for line in lines if not line.startswith("000000,2024-01-01,all,all,basic,monthly,")]
    assert len(kept) == len(lines) - 1
    path.write_text("".join(kept), encoding="utf-8")
    policy = load_policy(tables)
    con = assessed_in_2024(tmp_path, policy, ["H1", "甲", "150100", "新城分局", "duty", "6", "PATROL", "2018-05-01"],
                           "基本称职")
    run_months(con, policy, "2025-02", "2025-02")
    assert payslip(con, "H1", "2025-02")["appraisal_result"] == "basic"
    assert payslip(con, "H1", "2025-02")["performance_pay"] == Decimal("0.00")

# ---- the appraisal bonus is paid as the annual bonus (全年一次性奖金, issue 13's tax path) ---------

PAYMENT_HEADER = ["employee_id", "month", "kind", "amount", "tax_method", "note"]


def test_the_appraisal_bonus_is_taxed_apart_when_that_is_cheaper(tmp_path, policy):
    from payroll.reports.tax import declaration_rows
    con = assessed_in_2024(tmp_path, policy, ["B1", "乙", "150100", "新城分局", "duty", "1", "PATROL", "2019-01-01"],
                           "优秀")
    run_months(con, policy, "2025-01", "2025-01")
    b1 = payslip(con, "B1", "2025-01")
    # performance_pay.csv 000000 excellent annual: 6000 in January, tax_method empty = the cheaper
    assert (b1["appraisal_bonus"], b1["annual_bonus"], b1["annual_bonus_total"]) == \
        (Decimal("6000.00"), Decimal("0.00"), Decimal("6000.00"))
    # level 1 (10830 a month) projects the year without the bonus into the 10 % row (36,000–144,000):
    assert Decimal("36000") < b1["projected_taxable_year"] <= Decimal("144000") - Decimal("6000")
    # merged, the 6000 is taxed at the margin: 6000 × 10 % = 600.00 more for the year;
    # apart: 6000 ÷ 12 = 500 ≤ 3000 → 3 %, quick deduction 0: 6000 × 3 % = 180.00; 600 − 180 = 420.00
    assert b1["annual_bonus_year_tax_merged"] - b1["annual_bonus_year_tax_separate"] == Decimal("420.00")
    assert (b1["annual_bonus_method"], b1["iit_annual_bonus"], b1["annual_bonus_separate"]) == \
        ("separate", Decimal("180.00"), Decimal("6000.00"))
    # kept out of the cumulative income (累计收入): the month's income is gross − 6000
    assert b1["income_ytd"] == b1["gross_pay"] - Decimal("6000.00")
    assert b1["net_pay"] == (b1["gross_pay"] - b1["pension_employee"] - b1["medical_employee"]
                             - b1["unemployment_employee"] - b1["housing_fund_employee"] - b1["iit"]
                             - Decimal("180.00") - b1["deduction"]
                             - b1["medical_levy_employee"])    # Hohhot's yearly 大额医疗 50.00, January
    # the tax file: 6000 on the 全年一次性奖金收入 sheet, the regular income without it
    row = declaration_rows(con, "2025-01").set_index("employee_id").loc["B1"]
    assert (row["annual_bonus_separate"], Decimal(row["gross_pay"])) == ("6000.00", b1["gross_pay"] - 6000)


def test_an_appraisal_bonus_with_no_bonus_table_in_force_is_refused(tmp_path):
    # B1's 优秀 of 2024 pays the 6,000 appraisal bonus in January 2025 (above), but here the
    # monthly-converted table is dated from 2026: no rates to tax it apart with, and the run names
    # the table and the month, as it does for an imported bonus (tests/test_year_end.py)
    from payroll.errors import PolicyError
    tables = tmp_path / "tables"
    shutil.copytree(SHIPPED_TABLES, tables)
    path = tables / "iit_bonus_brackets.csv"
    path.write_text(path.read_text(encoding="utf-8").replace("\n2019-01-01,", "\n2026-01-01,"), encoding="utf-8")
    policy = load_policy(tables)
    con = assessed_in_2024(tmp_path, policy, ["B1", "乙", "150100", "新城分局", "duty", "1", "PATROL", "2019-01-01"],
                           "优秀")
    with pytest.raises(PolicyError, match="iit_bonus_brackets: no monthly-converted table with a row from 0 in "
                                          "force in 2025-01"):
        run_months(con, policy, "2025-01", "2025-01")


def test_the_appraisal_bonus_with_an_imported_annual_bonus(staffed, policy, tmp_path):
    from payroll.errors import PayrollError
    from payroll.io.payments import import_payments
    # the same month: A1 (2024 优秀: 6000 in January) also gets an imported 10000 taxed apart:
    # one bonus of 6000 + 10000 = 16000; 16000 ÷ 12 = 1333.33 ≤ 3000 → 3 %: 480.00
    import_payments(staffed, write_csv(tmp_path / "p.csv", PAYMENT_HEADER,
                                       [["A1", "2025-01", "annual_bonus", "10000", "separate", ""]]))
    run_months(staffed, policy, "2025-01", "2025-01")
    a1 = payslip(staffed, "A1", "2025-01")
    assert (a1["annual_bonus_total"], a1["annual_bonus_method_asked"], a1["annual_bonus_method"]) == \
        (Decimal("16000.00"), "separate", "separate")
    assert (a1["iit_annual_bonus"], a1["annual_bonus_separate"]) == (Decimal("480.00"), Decimal("16000.00"))
    # a February bonus after A1's January one, with no method: merged, the separate method having been used (国税发〔2005〕9号 art. 3)
    import_payments(staffed, write_csv(tmp_path / "p2.csv", PAYMENT_HEADER,
                                       [["A1", "2025-02", "annual_bonus", "3000", "", ""]]))
    run_months(staffed, policy, "2025-02", "2025-02")
    feb = payslip(staffed, "A1", "2025-02")
    assert (feb["appraisal_bonus"], feb["annual_bonus_total"], feb["separate_bonus_earlier"]) == \
        (Decimal("0.00"), Decimal("3000.00"), True)
    assert (feb["annual_bonus_method"], feb["iit_annual_bonus"], feb["annual_bonus_separate"]) == \
        ("merged", Decimal("0.00"), Decimal("0.00"))
    # asking for separate again is refused, as for any second bonus taxed apart
    staffed.execute("UPDATE payments SET tax_method = 'separate' WHERE employee_id = 'A1' AND month = '2025-02'")
    with pytest.raises(PayrollError, match="a second annual bonus taxed separately in 2025 for A1"):
        run_months(staffed, policy, "2025-02", "2025-02")


def test_the_table_s_method_for_the_appraisal_bonus_unless_a_bonus_is_imported(tmp_path):
    from payroll.io.payments import import_payments
    # the excellent annual row asks for merged (tax_method column); apart would cost 420.00 less
    # (the case above): B1 is taxed merged as asked. B2 also has an imported bonus of one fen asking
    # for separate: a bonus imported, however small, gives the method of the whole bonus
    annual_row = "000000,2024-01-01,all,all,excellent,annual,6000,,1,,sample,"
    policy = load_policy(_tables_with(tmp_path, "performance_pay", [], replace={
        "performance_pay.csv": (annual_row, annual_row.replace(",1,,sample,", ",1,merged,sample,"))}))
    con = connect(":memory:")
    import_files(con, policy, employees=write_csv(tmp_path / "b.csv", EMPLOYEE_HEADER, [
        [person, "乙", "150100", "新城分局", "duty", "1", "PATROL", "2019-01-01"] for person in ("B1", "B2")]))
    import_assessments(con, write_csv(tmp_path / "r.csv", ["employee_id", "year", "result", "note"],
                                      [["B1", "2024", "优秀", ""], ["B2", "2024", "优秀", ""]]))
    import_payments(con, write_csv(tmp_path / "p.csv", PAYMENT_HEADER,
                                   [["B2", "2025-01", "annual_bonus", "0.01", "separate", ""]]))
    run_months(con, policy, "2025-01", "2025-01")
    b1, b2 = payslip(con, "B1", "2025-01"), payslip(con, "B2", "2025-01")
    assert (b1["annual_bonus_total"], b1["annual_bonus_method_asked"], b1["annual_bonus_method"]) == \
        (Decimal("6000.00"), "merged", "merged")
    assert (b1["iit_annual_bonus"], b1["annual_bonus_separate"]) == (Decimal("0.00"), Decimal("0.00"))
    assert (b2["annual_bonus_total"], b2["annual_bonus_method_asked"], b2["annual_bonus_method"]) == \
        (Decimal("6000.01"), "separate", "separate")
    assert b2["iit_annual_bonus"] == Decimal("180.00")          # 6000.01 × 3 % = 180.0003


def test_a_tax_method_on_a_monthly_row_is_refused_naming_the_row(tmp_path):
    monthly_row = "000000,2024-01-01,all,all,excellent,monthly,600,,,,sample,"
    tables = _tables_with(tmp_path, "performance_pay", [], replace={
        "performance_pay.csv": (monthly_row, monthly_row.replace(",,,,sample,", ",,,merged,sample,"))})
    with pytest.raises(InputError) as refused:
        load_policy(tables)
    assert [(p.row, p.column) for p in refused.value.problems] == [(2, "tax_method")]


def test_an_appraisal_bonus_after_an_imported_separate_bonus_is_merged(tmp_path, policy):
    # Nantong pays the appraisal bonus in December (performance_pay.csv 320600, pay_month 12)
    con = connect(":memory:")
    import_files(con, policy, employees=write_csv(tmp_path / "n.csv", EMPLOYEE_HEADER,
                                                  [["N1", "顾", "320600", "崇川分局", "duty", "5", "PATROL", "2018-01-01"]]))
    import_assessments(con, write_csv(tmp_path / "r.csv", ["employee_id", "year", "result", "note"],
                                      [["N1", "2024", "称职", ""]]))
    # an imported bonus taxed apart in November: 10000 ÷ 12 ≤ 3000 → 3 % = 300.00
    from payroll.io.payments import import_payments
    import_payments(con, write_csv(tmp_path / "p.csv", PAYMENT_HEADER,
                                   [["N1", "2025-11", "annual_bonus", "10000", "separate", "年终奖"]]))
    run_months(con, policy, "2025-11", "2025-12")
    nov, dec = payslip(con, "N1", "2025-11"), payslip(con, "N1", "2025-12")
    assert (nov["annual_bonus_method"], nov["iit_annual_bonus"]) == ("separate", Decimal("300.00"))
    # December: 1 × 7940 appraisal bonus; separate was used in November → merged into the month's
    # income (no tax apart, in 累计收入)
    assert (dec["appraisal_bonus"], dec["separate_bonus_earlier"], dec["annual_bonus_method"]) == \
        (Decimal("7940.00"), True, "merged")
    assert (dec["iit_annual_bonus"], dec["income_taxed_apart"]) == (Decimal("0.00"), Decimal("0.00"))
    assert dec["income_ytd"] == nov["income_ytd"] + dec["gross_pay"]


def test_a_correction_is_a_new_import_kept_beside_the_first(staffed, tmp_path):
    header = ["employee_id", "year", "result", "note"]
    with pytest.raises(InputError, match="a correction needs a note"):
        import_assessments(staffed, write_csv(tmp_path / "fix.csv", header, [["N1", "2024", "优秀", ""]]))
    summary = import_assessments(staffed, write_csv(tmp_path / "fix2.csv", header,
                                                    [["N1", "2024", "优秀", "复核改为优秀"], ["A1", "2024", "优秀", ""]]))
    assert (summary.corrections, summary.unchanged) == (1, 1)
    rows = staffed.execute("SELECT result, import_seq FROM assessments WHERE employee_id = 'N1' ORDER BY 2").fetchall()
    assert [r[0] for r in rows] == ["competent", "excellent"]      # both kept; the latest is in force


def test_selection_over_the_quota_is_refused_naming_the_unit(staffed, policy, tmp_path):
    # three selections to level 3 in 新城分局 in 2025; the quota is 2 (selection_quotas.csv row 2)
    for employee_id in ("S1", "S2", "S3"):
        staffed.execute("INSERT INTO employees (employee_id, name, region_code, unit, category, level, post, "
                        "hire_date) VALUES (?, ?, '150100', '新城分局', 'duty', 4, 'PATROL', DATE '2015-01-01')",
                        [employee_id, employee_id])
    path = write_csv(tmp_path / "selected.csv", ["employee_id", "to_level", "effective_from", "change_kind"],
                     [[e, "3", "2025-04-01", "选拔晋升"] for e in ("S1", "S2", "S3")])
    with pytest.raises(InputError) as error:
        apply_changes(staffed, policy, path)
    text = str(error.value)
    assert "row 4, column change_kind: unit 新城分局: 3 selection promotions to level 3 in 2025 exceed the quota of 2" in text
    assert scalar(staffed, "SELECT count(*) FROM level_changes") == 0
    assert scalar(staffed, "SELECT count(*) FROM employee_history") == 0
    # two are within the quota; a promotion by appraisal to level 3 is refused (selection only above 4)
    apply_changes(staffed, policy, write_csv(tmp_path / "two.csv", ["employee_id", "to_level", "effective_from",
                                                                    "change_kind"],
                                             [[e, "3", "2025-04-01", "selection"] for e in ("S1", "S2")]))
    with pytest.raises(InputError, match="reached only by selection"):
        apply_changes(staffed, policy, write_csv(tmp_path / "by_years.csv", ["employee_id", "to_level",
                                                                             "effective_from"],
                                                 [["S3", "3", "2025-04-01"]]))


def _tables_with(tmp_path: Path, name: str, rows: list[str], replace: dict[str, str] | None = None) -> Path:
    tables = tmp_path / "tables"
    shutil.copytree(SHIPPED_TABLES, tables)
    with open(tables / f"{name}.csv", "a", encoding="utf-8") as handle:
        handle.writelines(row + "\n" for row in rows)
    for file, (old, new) in (replace or {}).items():
        text = (tables / file).read_text(encoding="utf-8")
        assert old in text
        (tables / file).write_text(text.replace(old, new), encoding="utf-8")
    return tables


def test_indexed_scale_moves_with_a_new_average_wage(tmp_path):
    tables = _tables_with(tmp_path, "pay_scale_ratios", [
        "320600,2025-01-01,duty,1,1.1,sample,test ratio"])
    policy = load_policy(tables)
    con = connect(":memory:")
    con.execute("INSERT INTO employees (employee_id, name, region_code, unit, category, level, post, hire_date) "
                "VALUES ('T1', 'T1', '320600', '崇川分局', 'duty', 1, 'PATROL', DATE '2020-01-01')")
    run_months(con, policy, "2025-06", "2025-07")
    # June: average_wage 320600 2024-07-01 10472.29 × 1.1 = 11519.519 → 11519.52
    # July: average_wage 320600 2025-07-01 10768.33 × 1.1 = 11845.163 → 11845.16
    assert payslip(con, "T1", "2025-06")["base_pay"] == Decimal("11519.52")
    assert payslip(con, "T1", "2025-07")["base_pay"] == Decimal("11845.16")
    # before the ratio's date the hand-written row applies (pay_scale.csv 320600 duty 1 = 11140)
    assert scale_in_force(policy, "320600", "duty", date(2024, 12, 1))[1] == Decimal("11140")


def test_a_level_paying_less_than_the_one_below_is_an_error_and_a_small_gap_a_warning(tmp_path):
    # Hohhot duty level 6 raised from 6830 to 7700, above level 5 (7630): an error
    inverted = _tables_with(tmp_path / "a", "pay_structure", [], {"pay_scale.csv": ("150100,2024-01-01,duty,6,6830,",
                                                                                   "150100,2024-01-01,duty,6,7700,")})
    with pytest.raises(InputError, match=r"pay_scale.csv, row \d+, column base_pay: region 150100 duty from "
                                         r"2024-01-01: level 5 pays 7630.00, less than level 6 \(7700.00"):
        load_policy(inverted)
    # level 6 at 7500: 130 below level 5, under the 200 minimum gap: loads, with a warning
    narrow = _tables_with(tmp_path / "b", "pay_structure", [], {"pay_scale.csv": ("150100,2024-01-01,duty,6,6830,",
                                                                                 "150100,2024-01-01,duty,6,7500,")})
    warnings = load_policy(narrow).warnings
    assert any("region 150100 duty from 2024-01-01: level 5 pays 130.00 more than level 6, under the minimum gap "
               "200.00" in w for w in warnings)


# ---- the property: applying a list = importing the same levels by hand ------------------------

REGION_STAFF = {"150100": ("新城分局", "PATROL"), "150600": ("东胜分局", "PATROL"), "330100": ("上城分局", "TRAFFIC"),
                "530100": ("五华分局", "COMMUNITY"), "320600": ("崇川分局", "PATROL")}


def test_the_property_covers_every_region_with_a_pay_scale(policy):
    assert set(policy.frames["pay_scale"]["region_code"]) == set(REGION_STAFF)


@settings(max_examples=examples(2), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(region=st.sampled_from(sorted(REGION_STAFF)), level=st.integers(2, 7), step=st.sampled_from([-1, 1, -2]),
       month=st.integers(1, 2), close=st.booleans())
def test_applying_levels_pays_the_same_as_importing_them_by_hand(tmp_path_factory, policy, region, level, step,
                                                                 month, close):
    """CI: two regions drawn; the thorough tier runs every region (the test below)."""
    same_pay_applied_or_by_hand(tmp_path_factory, policy, region, level, step, month, close)


@pytest.mark.slow
@pytest.mark.parametrize("region", sorted(REGION_STAFF))      # every region with a pay scale
@settings(max_examples=examples(1), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(level=st.integers(2, 7), step=st.sampled_from([-1, 1, -2]), month=st.integers(1, 2), close=st.booleans())
def test_applying_levels_pays_the_same_in_every_region(tmp_path_factory, policy, region, level, step, month, close):
    same_pay_applied_or_by_hand(tmp_path_factory, policy, region, level, step, month, close)


def same_pay_applied_or_by_hand(tmp_path_factory, policy, region, level, step, month, close):
    to_level = min(max(level + step, 1), 7)
    if to_level == level:
        to_level = level - 1
    unit, post = REGION_STAFF[region]
    folder = tmp_path_factory.mktemp("same")
    staff = write_csv(folder / "staff.csv", EMPLOYEE_HEADER,
                      [["P1", "P1", region, unit, "duty", str(level), post, "2020-01-01"]])
    effective = f"2025-{month:02d}-01"

    def january(con):                   # the same start for both ways: built once, copied
        import_files(con, policy, employees=staff)
        run_months(con, policy, "2025-01", "2025-01")
        if close:
            close_through(con, "2025-01")
    start = database_template(january)
    results = {}
    for way in ("apply", "by_hand"):
        con = database_copy(start)
        if way == "apply":
            kind = "selection" if to_level < 4 and to_level < level else ""
            apply_changes(con, policy, write_csv(folder / "approved.csv", ["employee_id", "to_level", "effective_from",
                                                                          "change_kind"],
                                                 [["P1", str(to_level), effective, kind]]))
        else:
            changed = [["P1", "P1", region, unit, "duty", str(to_level), post, "2020-01-01", effective]]
            import_files(con, policy, employees=write_csv(folder / "by_hand.csv", EMPLOYEE_HEADER + ["effective_from"],
                                                          changed))
        first = "2025-02" if close else "2025-01"
        # CI runs through February: the change's month (January or February) and the month the
        # arrears of a closed January are paid; the thorough tier adds March, the month after
        run_months(con, policy, first, "2025-03" if THOROUGH else "2025-02")
        cursor = con.execute("SELECT * EXCLUDE (run_id) FROM payslips ORDER BY month")
        names = [d[0] for d in cursor.description]
        results[way] = [dict(zip(names, row)) for row in cursor.fetchall()]
        results[way + "_arrears"] = con.execute("SELECT month_earned, component, amount FROM arrears "
                                                "ORDER BY ALL").fetchall()
    assert results["apply"] == results["by_hand"]
    assert results["apply_arrears"] == results["by_hand_arrears"]
    assert results["apply"][-1]["level"] == to_level


# ---- bad input: exit 2 naming file, row and column; nothing written ------------------------------

def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, COLUMNS="250")
    env.pop("PAYROLL_DB", None)
    env.pop("PAYROLL_TABLES", None)
    return run_payroll(*args, cwd=cwd, env=env)


def test_bad_assessments_and_level_lists_exit_2_and_write_nothing(tmp_path):
    write_csv(tmp_path / "staff.csv", EMPLOYEE_HEADER, STAFF + [["L1", "离", "150100", "新城分局", "duty", "6", "PATROL",
                                                                 "2025-03-01"]])
    assert run_cli("import", "--employees", "staff.csv", "--db", "p.duckdb", cwd=tmp_path).returncode == 0
    write_csv(tmp_path / "bad.csv", ["employee_id", "year", "result", "note"], [
        ["A1", "2024", "良好", ""],          # row 2: unknown result
        ["L1", "2024", "称职", ""],          # row 3: hired 2025-03-01, not employed in 2024
        ["D1", "2024", "称职", ""],
        ["D1", "2024", "优秀", ""],          # row 5: the same person and year twice
    ])
    done = run_cli("import", "--assessments", "bad.csv", "--db", "p.duckdb", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    err = " ".join(done.stderr.split())
    assert "bad.csv, row 2, column result: '良好' is not one of excellent, competent, basic, incompetent" in err
    assert "bad.csv, row 3, column year: 'L1': '2024' was not employed in that year" in err
    assert "bad.csv, row 5, column year: repeats the person and year 'D1, 2024' of row 4" in err
    write_csv(tmp_path / "levels.csv", ["employee_id", "to_level", "effective_from"], [["A1", "9", "2025-01-01"]])
    done = run_cli("levels", "--year", "2024", "--apply", "levels.csv", "--db", "p.duckdb", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "levels.csv, row 2, column to_level: level 9 is outside the duty scale of region 150100" in \
        " ".join(done.stderr.split())
    con = connect(str(tmp_path / "p.duckdb"), read_only=True)
    assert scalar(con, "SELECT count(*) FROM assessments") == 0
    assert scalar(con, "SELECT count(*) FROM employee_history") == 0
    assert scalar(con, "SELECT count(*) FROM level_changes") == 0


def test_assessments_may_name_people_the_employees_file_of_the_same_command_adds(tmp_path):
    write_csv(tmp_path / "new.csv", EMPLOYEE_HEADER, [["Z1", "新", "150100", "新城分局", "duty", "6", "PATROL",
                                                       "2023-06-01"]])
    header = ["employee_id", "year", "result", "note"]
    write_csv(tmp_path / "bad.csv", header, [["Z1", "2024", "称职", ""], ["Z1", "2022", "称职", ""]])
    # row 3: Z1 was hired 2023-06-01, not employed in 2022: exit 2, and neither file is written
    done = run_cli("import", "--employees", "new.csv", "--assessments", "bad.csv", "--db", "p.duckdb", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "bad.csv, row 3, column year: 'Z1': '2022' was not employed in that year" in " ".join(done.stderr.split())
    con = connect(str(tmp_path / "p.duckdb"), read_only=True)
    assert scalar(con, "SELECT count(*) FROM employees") == 0 and scalar(con, "SELECT count(*) FROM assessments") == 0
    con.close()
    write_csv(tmp_path / "good.csv", header, [["Z1", "2024", "称职", ""]])
    done = run_cli("import", "--employees", "new.csv", "--assessments", "good.csv", "--db", "p.duckdb", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    con = connect(str(tmp_path / "p.duckdb"), read_only=True)
    assert con.execute("SELECT employee_id, year, result FROM assessments").fetchall() == [("Z1", 2024, "competent")]
    assert scalar(con, "SELECT count(*) FROM employees") == 1


# ---- the reference: performance pay against tests/reference.py, to the fen ---------------------

@settings(max_examples=examples(4), deadline=None)
@given(data=st.data(), month=st.sampled_from(["2025-01", "2025-12"]))
def test_performance_pay_matches_the_reference(data, month):
    import reference
    from conftest import run_engine

    posts = {"duty": "PATROL", "civilian": "TECH"}
    people = []
    for i in range(data.draw(st.integers(1, 6))):
        category = data.draw(st.sampled_from(["duty", "civilian"]))
        hire = data.draw(st.sampled_from([date(2019, 3, 1), date(2025, 1, 13), date(2025, 12, 10)]))
        leave = data.draw(st.sampled_from([None, None, date(2025, 1, 20), date(2025, 12, 5)]))
        people.append({"employee_id": f"E{i}", "name": f"E{i}", "region_code": data.draw(st.sampled_from(["150100", "320600"])),
                       "unit": "U", "category": category, "level": data.draw(st.integers(1, 7)), "post": posts[category],
                       "hire_date": hire, "leave_date": leave if leave is None or leave > hire else None,
                       "service_start": None, "special_deduction": Decimal(0), "contribution_base": None})
    con = connect(":memory:")
    payments = {}
    for person in people:
        # the appraisal bonus is paid as the annual bonus: sometimes beside an imported one (issue 13)
        imported = data.draw(st.sampled_from([None, None, "3000.00", "36000.01", "150000.00"]))
        if imported:
            payments[(person["employee_id"], month)] = [{"kind": "annual_bonus", "amount": Decimal(imported),
                                                         "tax_method": data.draw(st.sampled_from(["", "separate",
                                                                                                  "merged"]))}]
        result = data.draw(st.sampled_from([None, "excellent", "competent", "basic", "incompetent"]))
        person["assessments"] = {2024: result} if result else {}
        if result:
            con.execute("INSERT INTO assessments VALUES (?, 2024, ?, NULL, 1, now()::TIMESTAMP, 'f.csv', 2)",
                        [person["employee_id"], result])
    active = [p for p in people if reference.is_active(p, month)]
    engine_rows = run_engine(SHIPPED_TABLES, people, {}, month, month, con=con, payments=payments)
    reference_rows = reference.compute_year(people, {}, SHIPPED_TABLES, [month], payments=payments)
    assert set(engine_rows) == set(reference_rows) == {(p["employee_id"], month) for p in active}
    problems = []
    for key, row in reference_rows.items():
        for column in reference.REGISTER + ("normal_pay", "performance_pay", "appraisal_bonus", "annual_bonus_total"):
            if column == "annual_bonus_method" and engine_rows[key][column] != row[column]:
                problems.append(f"{key} {column}: engine {engine_rows[key][column]} reference {row[column]}")
            if column in row and isinstance(row[column], Decimal) and Decimal(engine_rows[key][column]) != row[column]:
                problems.append(f"{key} {column}: engine {engine_rows[key][column]} reference {row[column]}")
    assert not problems, "\n".join(problems)


# ---- simulate: the same level rules, results drawn per region -----------------------------------

def test_simulate_follows_the_level_rules_and_reports_a_pay_structure_breach(policy, monkeypatch):
    from payroll.simulate.project import roster_from_database
    from payroll.simulate.runner import simulate
    from payroll.simulate.scenario import parse_scenario

    # January is what is checked: simulate projects only January, the same month computed the same
    # way as the first month of the whole year (a month reads only the months before it)
    project_first_months(monkeypatch, 1)

    con = connect(":memory:")
    con.execute("INSERT INTO employees (employee_id, name, region_code, unit, category, level, post, hire_date) "
                "VALUES ('P1', 'P1', '150100', '新城分局', 'duty', 6, 'PATROL', DATE '2015-03-01')")
    scenario = parse_scenario("""
name = "levels"
[[change]]                      # every drawn result is competent (the shares of the others are 0)
table = "appraisal_distribution"
column = "excellent_share"
set = 0
effective = 2010-01-01
[[change]]
table = "appraisal_distribution"
column = "basic_share"
set = 0
effective = 2010-01-01
[[change]]
table = "appraisal_distribution"
column = "incompetent_share"
set = 0
effective = 2010-01-01
[[change]]                      # civilian level 6 above level 5 (7430): a breach, reported
table = "pay_scale"
column = "base_pay"
set = 9000
region = "150100"
category = "civilian"
level = 6
[roster.levels]
baseline = false
""")
    result = simulate(scenario, policy, roster_from_database(con), 2025, years=1)
    try:
        january = result.scenario_run.con.execute(
            "SELECT level, base_pay, performance_pay, appraisal_bonus FROM projected WHERE month = '2025-01'").fetchall()
        base = result.baseline.con.execute(
            "SELECT level, base_pay, performance_pay, appraisal_bonus FROM projected WHERE month = '2025-01'").fetchall()
        # P1 at level 6 since hire 2015-03-01: years counted from 2016; 2021–2024 all 称职 = 4 years
        # → level 5 from 2025-01-01 (7630); 2024 称职 pays 400 a month and 3000 in January
        assert january == [(5, Decimal("7630.00"), Decimal("400.00"), Decimal("3000.00"))]
        # the baseline keeps the level and has no results
        assert base == [(6, Decimal("6830.00"), Decimal("0.00"), Decimal("0.00"))]
        assert any(note.startswith("层级工资倒挂 pay-structure breach: pay_scale.csv") and "civilian" in note
                   for note in result.notes)
    finally:
        result.close()


def test_a_region_may_rename_the_results_in_its_table(tmp_path):
    tables = _tables_with(tmp_path, "appraisal_labels", ["320600,competent,良好,sample,test: Nantong's own word"])
    policy = load_policy(tables)
    con = staff_database(tmp_path, policy)
    header = ["employee_id", "year", "result", "note"]
    import_assessments(con, write_csv(tmp_path / "nt.csv", header, [["N1", "2023", "良好", ""]]), policy)
    assert scalar(con, "SELECT result FROM assessments WHERE employee_id = 'N1' AND year = 2023") == "competent"
    # the word is Nantong's: for a Hohhot person it is not a result
    with pytest.raises(InputError, match="'良好' is not one of"):
        import_assessments(con, write_csv(tmp_path / "hh.csv", header, [["A1", "2021", "良好", ""]]), policy)


def test_the_rows_in_force_are_the_pandas_ranking_of_every_region_category_level_and_day(tmp_path):
    """levels.rules answers "which row is in force on this day" from rows ranked once per Policy;
    the answer is pay_structure._in_force's (most specific region, then the latest date; the pay
    scale level by level), for every region, both categories and levels 0–9 (0: none), on each
    added row's date and a later day. The shipped tables plus rows where the ranking matters: an older city
    row, its newer one and a newer province row beside the national level rules, a national
    pay-scale row beside the cities' own."""
    from payroll.levels.rules import rule_in_force
    from payroll.pay_structure import _ancestors, _in_force
    tables = tmp_path / "tables"
    shutil.copytree(SHIPPED_TABLES, tables)
    with open(tables / "level_rules.csv", "a", encoding="utf-8") as handle:
        handle.write("150100,2023-01-01,duty,4,2,0,competent,incompetent,1,4,1,sample,test: an older city row\n"
                     "150100,2025-06-01,duty,4,5,1,competent,incompetent,1,4,1,sample,test: the city's newer row\n"
                     "150000,2025-01-01,duty,5,3,1,competent,basic,1,4,7,sample,test: a newer province row\n")
    with open(tables / "pay_scale.csv", "a", encoding="utf-8") as handle:
        handle.write('000000,2020-01-01,duty,3,5000,"test: a national row",sample,\n')
    policy = load_policy(str(tables))
    rules, scale = policy.frames["level_rules"], policy.frames["pay_scale"]
    days = (date(2019, 12, 31), date(2023, 1, 1), date(2025, 1, 1), date(2025, 6, 1), date(2026, 1, 1))
    for category in ("duty", "civilian"):
        scale_of = scale[scale.category == category]
        rules_of = {level: rules[(rules.category == category) & (rules.level == level)] for level in range(10)}
        for region in sorted(set(policy.chain.region_code)):
            depth = _ancestors(policy.chain, region)
            for day in days:
                ranked = _in_force(scale_of, depth, day).drop_duplicates("level")
                assert scale_in_force(policy, region, category, day) == dict(zip(ranked.level.astype(int),
                                                                                ranked.base_pay))
                for level, frame in rules_of.items():
                    rows = _in_force(frame, depth, day)
                    expected = None if rows.empty else rows.drop(columns="_depth").iloc[0].to_dict()
                    assert rule_in_force(policy, region, category, level, day) == expected, (region, level, day)


def test_a_performance_pay_row_is_in_force_from_the_first_of_its_month(staffed, tmp_path):
    # A Hohhot row (more specific than the national 600) paying 900 a month to 优秀 from 2025-02-01:
    # A1 (Hohhot, 2024 优秀) is paid 600 in January and 900 in February, the row's first month.
    tables = tmp_path / "tables"
    shutil.copytree(SHIPPED_TABLES, tables)
    with open(tables / "performance_pay.csv", "a", encoding="utf-8") as handle:
        handle.write("150100,2025-02-01,all,all,excellent,monthly,900,,,,sample,test: 900 from February\n")
    run_months(staffed, load_policy(str(tables)), "2025-01", "2025-02")
    assert [payslip(staffed, "A1", m)["performance_pay"] for m in ("2025-01", "2025-02")] == \
        [Decimal("600.00"), Decimal("900.00")]
