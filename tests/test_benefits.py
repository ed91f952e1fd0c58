"""Work-injury, death and martyr benefits, hand-computed on the shipped tables.

Figures read from tables/ (row in force on the event date):
- average_wage 150600 鄂尔多斯 from 2025-07-01: 10,008.92; from 2024-07-01: 9,733.75
- average_wage 330000 浙江 from 2025-07-01: 11,436.58 (Zhejiang grants use the 全省 figure)
- minimum_wage 150600 from 2024-12-01: 2,270
- pay_scale 150600 duty level 5: 7,630 (basic wage for the martyr grant and the police reference)
- national_statistics 2024 urban per-capita disposable income: 54,188 (events in 2025)
- national_parameters: art. 64 clamp 0.6 / 3; funeral 6 months; survivors 0.4 / 0.3 / +0.1;
  death grant 20 ×; martyr 30 × and 40 months of the basic wage (from 2025); police 20 × + 40 months
- injury_grades: months 27 25 23 21 18 16 13 11 9 7; allowance 0.9 0.85 0.8 0.75 (fund), 0.7 0.6 (employer)
"""
from __future__ import annotations

import os
from decimal import Decimal

import pytest

from conftest import SHIPPED_TABLES, policy_for, run_payroll
from identities import BROKEN_IDENTITY

EMPLOYEE = ("employee_id", "name", "region_code", "unit", "category", "level", "post", "hire_date",
            "leave_date", "contribution_base")
EVENT = ("employee_id", "event_date", "kind", "disability_grade", "stoppage_months", "martyr", "heroic",
         "work_arranged", "nursing_level", "left_job", "leave_date", "cause")


def person(eid, region="150600", base=None, level=5, leave=None):
    return (eid, eid, region, "所", "duty", level, "PATROL", "2020-01-01", leave, base)


def event(eid, day, kind="injury", grade=None, stoppage=0, martyr=False, heroic=False, arranged=False,
          nursing=None, left=False, leave=None, cause="work"):
    return (eid, day, kind, grade, stoppage, martyr, heroic, arranged, nursing, left, leave, cause)


def database(people, events, dependants=()):
    from payroll.db import connect
    con = connect(":memory:")
    con.executemany(f"INSERT INTO employees ({', '.join(EMPLOYEE)}) VALUES ({', '.join('?' * len(EMPLOYEE))})",
                    [list(p) for p in people])
    if events:
        con.executemany(f"INSERT INTO events ({', '.join(EVENT)}) VALUES ({', '.join('?' * len(EVENT))})",
                        [list(e) for e in events])
    for eid, no, relation, lone in dependants:
        con.execute("INSERT INTO dependents VALUES (?, ?, ?, ?, NULL)", [eid, no, relation, lone])
    return con


def figure(con, employee_id=None):
    from payroll.benefits import compute_benefits
    return compute_benefits(con, policy_for(str(SHIPPED_TABLES)), employee_id)


def lines(result):
    return {(line.item, line.recipient): line for line in result.lines}


def fen(text: str) -> int:
    return int(Decimal(text.replace(",", "")) * 100)


def test_wage_clamped_at_60_percent():
    # declared base 5,000 < 60 % × 10,008.92 = 6,005.352 → 6,005.35 (half-up)
    # grade 7: 13 months × 6,005.35 = 78,069.55 from the fund; no allowance for grades 7–10
    [r] = figure(database([person("A", base="5000")], [event("A", "2025-09-10", grade=7)]))
    assert (r.benefit_wage, r.wage_source, r.history_months) == (fen("6005.35"), "declared_base", 0)
    items = lines(r)
    assert items[("disability_one_off", None)].amount == fen("78069.55")
    assert items[("disability_one_off", None)].payer == "injury_fund"
    assert ("disability_allowance", None) not in items


def test_wage_clamped_at_300_percent():
    # declared 40,000 > 300 % × 10,008.92 = 30,026.76; grade 10: 7 × 30,026.76 = 210,187.32
    [r] = figure(database([person("B", base="40000")], [event("B", "2025-09-10", grade=10)]))
    assert r.benefit_wage == fen("30026.76")
    assert lines(r)[("disability_one_off", None)].amount == fen("210187.32")


def test_fewer_than_twelve_months_of_payslips_and_grade_5_without_work():
    # Payroll run 2025-01 … 2025-03 with declared base 9,000: injury_base 9,000 each month (inside the
    # 2025 IM floor 4,907 and ceiling 24,537). Then the declared base is changed to 5,000: the payslips,
    # not the declared base, must give 本人工资. Event 2025-04-15: history window 2024-04 … 2025-03 holds
    # 3 months → (3 × 9,000) ÷ 3 = 9,000; average wage in force 9,733.75 → clamp 5,840.25 … 29,201.25.
    from payroll.engine.run import run_months
    con = database([person("C", base="9000")], [event("C", "2025-04-15", grade=5, stoppage=2)])
    run_months(con, policy_for(str(SHIPPED_TABLES)), "2025-01", "2025-03")
    con.execute("UPDATE employees SET contribution_base = 5000")
    [r] = figure(con)
    assert (r.benefit_wage, r.wage_source, r.history_months) == (900000, "payslips", 3)
    items = lines(r)
    assert items[("disability_one_off", None)].amount == 18 * 900000          # 18 × 9,000 = 162,000
    allowance = items[("disability_allowance", None)]
    # 0.7 × 9,000 = 6,300 > minimum wage 2,270; the employer pays it monthly from 2025-06 (after 2 months)
    assert (allowance.amount, allowance.payer, allowance.period) == (630000, "employer", "monthly")
    assert "from 2025-06" in allowance.formula
    assert items[("stoppage_pay", None)].amount == 900000 and items[("stoppage_pay", None)].payer == "employer"


def test_grade_5_with_work_arranged_has_no_allowance():
    # one-off 18 × 9,000 = 162,000 still paid; allowance only when no work is arranged (art. 36(二))
    [r] = figure(database([person("D", base="9000")], [event("D", "2025-09-10", grade=5, arranged=True)]))
    items = lines(r)
    assert items[("disability_one_off", None)].amount == fen("162000")
    assert ("disability_allowance", None) not in items
    assert any("arranged suitable work" in note for note in r.notes)


def test_grade_2_allowance_from_the_fund_and_nursing():
    # 0.85 × 9,000 = 7,650 from the fund; nursing (partial) 0.3 × 10,008.92 = 3,002.676 → 3,002.68
    [r] = figure(database([person("E", base="9000")],
                          [event("E", "2025-09-10", grade=2, nursing="partial")]))
    items = lines(r)
    assert (items[("disability_allowance", None)].amount, items[("disability_allowance", None)].payer) == \
        (765000, "injury_fund")
    assert items[("nursing_allowance", None)].amount == fen("3002.68")
    assert items[("disability_one_off", None)].amount == 25 * 900000       # 25 × 9,000


def test_death_2025_with_dependants_over_the_cap():
    # 本人工资 = declared 8,000 (inside 6,005.35 … 30,026.76).
    # funeral 6 × 10,008.92 = 60,053.52; death grant 20 × 54,188 = 1,083,760.00.
    # Dependants: spouse 0.4, orphaned child 0.3 + 0.1 = 0.4, parent 0.3 → 1.1 > 1, so the 8,000 is split
    # 4 : 4 : 3 of 11: 2,909.0909… , 2,909.0909… , 2,181.8181… → floors 2,909.09 + 2,909.09 + 2,181.81
    # = 7,999.99; the last fen goes to the largest remainder (the parent's .8181) → 2,181.82; total 8,000.00.
    con = database([person("F", base="8000")], [event("F", "2025-10-01", kind="death")],
                   [("F", 1, "spouse", False), ("F", 2, "child", True), ("F", 3, "parent", False)])
    [r] = figure(con)
    items = lines(r)
    assert items[("funeral_grant", None)].amount == fen("60053.52")
    assert items[("death_grant", None)].amount == fen("1083760.00")
    pensions = [items[("survivor_pension", who)].amount for who in ("spouse 1", "child 2", "parent 3")]
    assert pensions == [fen("2909.09"), fen("2909.09"), fen("2181.82")]
    assert sum(pensions) == r.benefit_wage == fen("8000")
    assert ("martyr_commendation", None) not in items


def test_dependants_below_the_cap_are_not_scaled():
    # spouse 0.4 × 8,000 = 3,200; one child 0.3 × 8,000 = 2,400; 5,600 ≤ 8,000
    con = database([person("G", base="8000")], [event("G", "2025-10-01", kind="death")],
                   [("G", 1, "spouse", False), ("G", 2, "child", False)])
    items = lines(figure(con)[0])
    assert [items[("survivor_pension", w)].amount for w in ("spouse 1", "child 2")] == [320000, 240000]


def test_martyr_2025():
    # commendation 30 × 54,188 = 1,625,640 and special grant 40 × 7,630 (basic wage) = 305,200, both from
    # the county veterans' affairs department, on top of the work-injury death package
    [r] = figure(database([person("M", base="8000")], [event("M", "2025-06-01", kind="death", martyr=True)]))
    items = lines(r)
    assert items[("martyr_commendation", None)].amount == fen("1625640")
    assert items[("martyr_special_grant", None)].amount == fen("305200")
    assert {items[(i, None)].payer for i in ("martyr_commendation", "martyr_special_grant")} == \
        {"county_veterans_affairs"}
    assert items[("death_grant", None)].amount == fen("1083760")


def test_police_reference_where_the_region_provides_it():
    # Ordos (内蒙古条例 art. 29 para. 2), heroic death, not a martyr:
    # police one-off = 20 × 54,188 + 40 × 7,630 = 1,083,760 + 305,200 = 1,388,960 (compared, not paid);
    # work-injury one-off = death grant 1,083,760; top-up from the employer = 305,200
    [r] = figure(database([person("P", base="8000")], [event("P", "2025-06-01", kind="death", heroic=True)]))
    items = lines(r)
    police, compared = items[("police_death_one_off", None)], items[("work_injury_comparable", None)]
    assert (police.amount, police.paid) == (fen("1388960"), False)
    assert (compared.amount, compared.paid) == (fen("1083760"), False)
    topup = items[("police_reference_topup", None)]
    assert (topup.amount, topup.payer, topup.paid) == (fen("305200"), "employer", True)
    assert "art. 29" in topup.basis


def test_no_police_reference_in_yunnan():
    # 云南条例 art. 36 gives no police pension reference: no police lines, a note says why
    [r] = figure(database([person("Y", region="530100", base="8000")],
                          [event("Y", "2025-06-01", kind="death", heroic=True)]))
    assert not {"police_death_one_off", "police_reference_topup"} & {line.item for line in r.lines}
    assert any("no police reference" in note and "art. 36" in note for note in r.notes)


def test_leaving_grants_zhejiang_months_of_the_provincial_average():
    # Hangzhou, grade 9, job ended 2025-12-31: 4 months × 11,436.58 (浙江 全省) = 45,746.32, each grant
    con = database([person("Z", region="330100", base="9000", level=5)],
                   [event("Z", "2025-09-10", grade=9, left=True, leave="2025-12-31")])
    items = lines(figure(con)[0])
    assert items[("leaving_medical_grant", None)].amount == fen("45746.32")
    assert items[("leaving_medical_grant", None)].payer == "injury_fund"
    assert items[("leaving_employment_grant", None)].amount == fen("45746.32")
    assert items[("leaving_employment_grant", None)].payer == "employer"


def test_leaving_grants_jiangsu_amounts():
    # Nantong, grade 5: 200,000 medical (fund) and 95,000 employment (employer)
    con = database([person("J", region="320600", base="9000")],
                   [event("J", "2025-09-10", grade=5, arranged=True, left=True, leave="2025-12-31")])
    items = lines(figure(con)[0])
    assert items[("leaving_medical_grant", None)].amount == fen("200000")
    assert items[("leaving_employment_grant", None)].amount == fen("95000")


def test_leaving_grants_yunnan_months_of_the_provincial_average():
    # Kunming, grade 7, job ended 2025-12-31 (issue 15: 云南省实施《工伤保险条例》办法 arts. 33–40);
    # average_wage.csv 530000,2025-08-01,7263 (the province's, not a Kunming figure):
    # employment 22 × 7,263 = 159,786.00 (employer); medical 8 × 7,263 = 58,104.00 (fund)
    con = database([person("K", region="530100", base="9000", level=7)],
                   [event("K", "2025-09-10", grade=7, left=True, leave="2025-12-31")])
    items = lines(figure(con)[0])
    assert (items[("leaving_employment_grant", None)].amount, items[("leaving_employment_grant", None)].payer) \
        == (fen("159786"), "employer")
    assert (items[("leaving_medical_grant", None)].amount, items[("leaving_medical_grant", None)].payer) \
        == (fen("58104"), "injury_fund")
    assert "云南省实施《工伤保险条例》办法" in items[("leaving_employment_grant", None)].basis


def test_yunnan_occupational_disease_raises_the_medical_grant_by_30_percent():
    # the same Kunming grade 7 leaver, the injury an occupational disease (职业病): medical 8 × 7,263
    # = 58,104.00 as above, plus injury_leaving_grants.csv 530000,2024-01-01,medical_occupational_uplift,7
    # share 0.3: 0.3 × 58,104.00 = 17,431.20 from the fund; the employment grant is not raised
    con = database([person("K", region="530100", base="9000", level=7)],
                   [event("K", "2025-09-10", grade=7, left=True, leave="2025-12-31")])
    con.execute("UPDATE events SET occupational_disease = true")
    items = lines(figure(con)[0])
    uplift = items[("leaving_medical_occupational_uplift", None)]
    assert (uplift.amount, uplift.payer) == (fen("17431.20"), "injury_fund")
    assert items[("leaving_medical_grant", None)].amount == fen("58104")
    assert items[("leaving_employment_grant", None)].amount == fen("159786")
    assert "云南省实施《工伤保险条例》办法" in uplift.basis


def test_occupational_disease_without_a_provincial_uplift_is_noted_not_invented():
    # Hangzhou grade 7 (浙江 art. 27 has no occupational-disease rule in the tables): no uplift line, a note
    con = database([person("Z", region="330100", base="9000", level=7)],
                   [event("Z", "2025-09-10", grade=7, left=True, leave="2025-12-31")])
    con.execute("UPDATE events SET occupational_disease = true")
    [r] = figure(con)
    assert ("leaving_medical_occupational_uplift", None) not in lines(r)
    assert ("leaving_medical_grant", None) in lines(r)
    assert any("occupational disease" in note for note in r.notes)


def test_province_without_a_figure_is_a_clear_error():
    # Inner Mongolia's 一次性伤残就业补助金 was not found: no row, so a grade 7 leaver stops
    from payroll.errors import PolicyError
    con = database([person("K", region="150600", base="9000", level=7)],
                   [event("K", "2025-09-10", grade=7, left=True, leave="2025-12-31")])
    with pytest.raises(PolicyError, match="figure missing for this province.*150000 内蒙古"):
        figure(con)


def test_monthly_payroll_allowance_line_reconciles():
    # Grade 5 injury 2025-02-10, stoppage 2 months (2025-02, 2025-03 marked), no work arranged:
    # from 2025-04 the regular pay stops and the employer allowance 0.7 × 本人工资 is its own line.
    # 本人工资 = the one payslip month before the event (2025-01): injury_base = declared 9,000 → 9,000;
    # allowance 0.7 × 9,000 = 6,300 (> minimum wage 2,270), full month. It is tax-exempt (财税〔2012〕40号):
    # income_ytd grows by gross − 6,300 = 0 in 2025-04.
    from payroll.engine.run import run_months
    con = database([person("S", base="9000")], [event("S", "2025-02-10", grade=5, stoppage=2)])
    run_months(con, policy_for(str(SHIPPED_TABLES)), "2025-01", "2025-04")
    rows = {m: (stoppage, allowance, base, gross, income) for m, stoppage, allowance, base, gross, income in
            con.execute("SELECT month, injury_stoppage, injury_disability_allowance, base_pay, gross_pay, "
                        "income_ytd FROM payslips ORDER BY month").fetchall()}
    assert [rows[m][0] for m in ("2025-01", "2025-02", "2025-03", "2025-04")] == [False, True, True, False]
    allowance_month = rows["2025-04"]
    assert allowance_month[1:4] == (Decimal("6300.00"), Decimal("0.00"), Decimal("6300.00"))
    assert allowance_month[4] == rows["2025-03"][4]
    assert con.execute(f"SELECT count(*) FROM payslips WHERE {BROKEN_IDENTITY}").fetchall()[0][0] == 0


def run_cli(*args, cwd):
    env = {k: v for k, v in os.environ.items() if k not in ("PAYROLL_DB", "PAYROLL_TABLES")}
    return run_payroll(*args, cwd=cwd, env=env)


def test_cli_import_validation_benefits_and_statement(tmp_path):
    (tmp_path / "emp.csv").write_text(
        "employee_id,name,region_code,unit,category,level,post,hire_date,contribution_base\n"
        "Q1,甲,150600,所,duty,5,PATROL,2020-01-01,8000\n"
        "Q2,乙,150600,所,duty,7,PATROL,2020-01-01,8000\n", encoding="utf-8")
    (tmp_path / "bad.csv").write_text(
        "employee_id,event_date,kind,disability_grade\nQ1,2025-06-01,injury,11\n", encoding="utf-8")
    bad = run_cli("import", "--db", "x.duckdb", "--employees", "emp.csv", "--events", "bad.csv", cwd=tmp_path)
    assert bad.returncode == 2
    assert "bad.csv, row 2, column disability_grade: '11' is not between 1 and 10" in bad.stderr
    (tmp_path / "ev.csv").write_text(
        "工号,事件日期,类型,伤残等级,烈士,见义勇为,解除劳动关系,leave_date,死亡原因\n"
        "Q1,2025-06-01,death,,是,true,,,工亡\n"
        "Q2,2025-06-01,injury,7,,,true,2025-12-31,\n", encoding="utf-8")
    (tmp_path / "dep.csv").write_text("employee_id,relation,orphan_or_lone\nQ1,配偶,\n", encoding="utf-8")
    ok = run_cli("import", "--db", "x.duckdb", "--employees", "emp.csv", "--events", "ev.csv",
                 "--dependents", "dep.csv", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    shown = run_cli("benefits", "Q1", "--db", "x.duckdb", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "1,625,640.00" in shown.stdout and "1,083,760.00" in shown.stdout
    missing = run_cli("benefits", "Q2", "--db", "x.duckdb", cwd=tmp_path)
    assert missing.returncode == 2 and "figure missing for this province" in missing.stderr
    # issue 14: Inner Mongolia's missing employment grant stops Q2 only: the export writes Q1 and lists
    # Q2, with the missing figure, on its own sheet and on stderr
    export = run_cli("export", "--what", "benefits", "--db", "x.duckdb", "--out", "b.xlsx", cwd=tmp_path)
    assert export.returncode == 0, export.stderr
    assert "not figured: Q2" in export.stderr and "figure missing for this province" in export.stderr
    import duckdb
    from openpyxl import load_workbook
    workbook = load_workbook(tmp_path / "b.xlsx")
    listed = [row for row in workbook["未能计算 not figured"].iter_rows(values_only=True) if row[0] == "Q2"]
    assert len(listed) == 1 and "figure missing for this province" in listed[0][3]
    sheet = workbook["Q1"]
    amounts = [row[3] for row in sheet.iter_rows(values_only=True)]
    assert 1625640 in amounts and 1083760 in amounts
    stored = duckdb.connect(str(tmp_path / "x.duckdb"), read_only=True).execute(
        "SELECT amount, payer FROM benefits WHERE employee_id = 'Q1' AND item = 'martyr_commendation'").fetchall()
    assert stored == [(Decimal("1625640.00"), "county_veterans_affairs")]


def test_allowance_topped_up_to_the_minimum_wage(tmp_path):
    # Own tables: the shipped ones with a (test) minimum wage of 9,000 for 鄂尔多斯 from 2025-01-01.
    # Grade 6, no work arranged: 本人工资 = 60 % × 10,008.92 = 6,005.35 (declared 5,000 is below);
    # 0.6 × 6,005.35 = 3,603.21 < 9,000 → the employer tops it up to 9,000 (art. 36(二)).
    import shutil
    tables = tmp_path / "tables"
    shutil.copytree(SHIPPED_TABLES, tables)
    with open(tables / "minimum_wage.csv", "a", encoding="utf-8") as handle:
        handle.write("150600,2025-01-01,9000,test: a minimum wage above the allowance\n")
    from payroll.benefits import compute_benefits
    con = database([person("T", base="5000")], [event("T", "2025-09-10", grade=6)])
    [r] = compute_benefits(con, policy_for(str(tables)))
    allowance = lines(r)[("disability_allowance", None)]
    assert (allowance.amount, allowance.payer) == (fen("9000"), "employer")
    assert "3,603.21" in allowance.formula


def test_cli_usage_error_is_exit_2(tmp_path):
    # `payroll benefits` without the employee ID is bad use: exit 2 with click's usage message
    result = run_cli("benefits", cwd=tmp_path)
    assert result.returncode == 2 and "Missing argument" in result.stderr


def test_import_names_file_row_and_column_and_writes_nothing(tmp_path):
    from payroll.errors import InputError
    from payroll.io.importer import import_files
    con = database([person("V1")], [])
    (tmp_path / "events.csv").write_text(
        "employee_id,event_date,kind,disability_grade,stoppage_months,martyr,nursing_level,left_job\n"
        "V1,2025-02-30,injury,3,25,,full,true\n"       # no 30 February; 25 > 12 + 12; grade 3 keeps the job
        "V1,2025-03-01,death,4,,是,,\n"                 # a death has no grade
        "V9,2025-03-01,injury,,,true,most,\n", encoding="utf-8")   # unknown person; martyr injury; no grade
    (tmp_path / "dependents.csv").write_text("employee_id,relation,orphan_or_lone\nV1,cousin,maybe\n",
                                             encoding="utf-8")
    with pytest.raises(InputError) as caught:
        import_files(con, policy_for(str(SHIPPED_TABLES)), events=tmp_path / "events.csv",
                     dependents=tmp_path / "dependents.csv")
    found = {(p.file, p.row, p.column) for p in caught.value.problems}
    assert found == {
        ("events.csv", 2, "event_date"), ("events.csv", 2, "stoppage_months"), ("events.csv", 2, "left_job"),
        ("events.csv", 3, "disability_grade"), ("events.csv", 3, "cause"),     # issue 14: a death needs its cause
        ("events.csv", 4, "employee_id"), ("events.csv", 4, "martyr"), ("events.csv", 4, "nursing_level"),
        ("dependents.csv", 2, "relation"), ("dependents.csv", 2, "orphan_or_lone"),
    }
    assert con.execute("SELECT count(*) FROM events").fetchall()[0][0] == 0
    assert con.execute("SELECT count(*) FROM dependents").fetchall()[0][0] == 0


# ---------------------------------------------------------------- police reference for disability
# The shipped police_disability_pension.csv holds no rows (no citable per-grade 因公 amount was found),
# so these tests use a copy of the shipped tables with two test rows of known amounts.

def tables_with_police_pensions(tmp_path):
    import shutil
    tables = tmp_path / "tables"
    shutil.copytree(SHIPPED_TABLES, tables)
    with open(tables / "police_disability_pension.csv", "a", encoding="utf-8") as handle:
        handle.write("000000,2024-08-01,3,duty,70000.14,test: a known grade 3 amount\n"
                     "000000,2024-08-01,8,duty,20000.22,test: a known grade 8 amount\n")
    return policy_for(str(tables))


def figure_with(tmp_path, people, events):
    from payroll.benefits import compute_benefits
    return compute_benefits(database(people, events), tables_with_police_pensions(tmp_path))


def test_police_reference_grade_3_heroic_injury_in_ordos(tmp_path):
    # 本人工资: declared 5,000 < 60 % × 10,008.92 = 6,005.352 → 6,005.35.
    # Work injury: allowance 0.8 × 6,005.35 = 4,804.28 (> minimum wage 2,270), fund, from 2025-11
    # (event 2025-09, stoppage 2 months).
    # Police (test row): 70,000.14 a year ÷ 12 = 5,833.345 → 5,833.35 (half-up; banker's would give 5,833.34).
    # Top-up (employer, monthly) = 5,833.35 − 4,804.28 = 1,029.07.
    [r] = figure_with(tmp_path, [person("H3", base="5000")],
                      [event("H3", "2025-09-10", grade=3, stoppage=2, heroic=True)])
    items = lines(r)
    allowance = items[("disability_allowance", None)]
    assert (allowance.amount, allowance.payer) == (fen("4804.28"), "injury_fund")
    police = items[("police_disability_pension", None)]
    assert (police.amount, police.period, police.paid) == (fen("5833.35"), "monthly", False)
    assert "test: a known grade 3 amount" in police.basis
    compared = items[("work_injury_allowance_comparable", None)]
    assert (compared.amount, compared.paid) == (fen("4804.28"), False)
    topup = items[("police_reference_topup", None)]
    assert (topup.amount, topup.period, topup.payer, topup.paid) == (fen("1029.07"), "monthly", "employer", True)
    assert "art. 29" in topup.basis and "from 2025-11" in topup.formula
    # monthly paid lines: stoppage pay at the pre-injury wage 5,000 (declared, before the clamp)
    # + allowance 4,804.28 + top-up 1,029.07 = 10,833.35; the compared lines are not paid
    assert r.paid_total("monthly") == fen("5000") + fen("4804.28") + fen("1029.07")
    assert any("police reference" in note and "monthly difference" in note for note in r.notes)


def test_police_reference_grade_8_has_no_allowance_so_all_is_top_up(tmp_path):
    # grade 8: one-off 11 × 6,005.35 = 66,058.85 (fund), no monthly allowance (grades 7–10).
    # Police: 20,000.22 ÷ 12 = 1,666.685 → 1,666.69; compared with 0 → top-up 1,666.69 monthly (employer).
    [r] = figure_with(tmp_path, [person("H8", base="5000")], [event("H8", "2025-09-10", grade=8, heroic=True)])
    items = lines(r)
    assert items[("disability_one_off", None)].amount == fen("66058.85")
    assert ("disability_allowance", None) not in items
    assert items[("work_injury_allowance_comparable", None)].amount == 0
    topup = items[("police_reference_topup", None)]
    assert (topup.amount, topup.period, topup.payer) == (fen("1666.69"), "monthly", "employer")


def test_police_top_up_never_negative(tmp_path):
    # grade 3 with 本人工资 9,000: allowance 0.8 × 9,000 = 7,200.00 > police 5,833.35 → top-up max(0, −1,366.65) = 0
    [r] = figure_with(tmp_path, [person("H9", base="9000")], [event("H9", "2025-09-10", grade=3, heroic=True)])
    items = lines(r)
    assert items[("work_injury_allowance_comparable", None)].amount == fen("7200")
    assert items[("police_reference_topup", None)].amount == 0


def test_non_heroic_injury_gets_no_police_comparison(tmp_path):
    [r] = figure_with(tmp_path, [person("N3", base="5000")], [event("N3", "2025-09-10", grade=3)])
    assert not {"police_disability_pension", "work_injury_allowance_comparable", "police_reference_topup"} & \
        {line.item for line in r.lines}
    assert not any("police" in note for note in r.notes)


def test_heroic_injury_in_yunnan_gets_the_note(tmp_path):
    # 云南条例 art. 36: no police pension reference, even with a police figure in the tables
    [r] = figure_with(tmp_path, [person("Y3", region="530100", base="8000")],
                      [event("Y3", "2025-09-10", grade=3, heroic=True)])
    assert not {"police_disability_pension", "police_reference_topup"} & {line.item for line in r.lines}
    assert any("heroic injury" in note and "no police reference" in note and "art. 36" in note for note in r.notes)


def test_missing_police_disability_figure_is_a_clear_error(tmp_path):
    # the shipped table has no rows: a heroic grade 3 injury in Ordos cannot be figured
    from payroll.errors import PolicyError
    con = database([person("X3", base="5000")], [event("X3", "2025-09-10", grade=3, heroic=True)])
    with pytest.raises(PolicyError, match=r"figure missing: police disability pension for grade 3 "
                                          r"\(table police_disability_pension.csv\)"):
        figure(con)
    (tmp_path / "emp.csv").write_text(
        "employee_id,name,region_code,unit,category,level,post,hire_date,contribution_base\n"
        "X3,甲,150600,所,duty,5,PATROL,2020-01-01,5000\n", encoding="utf-8")
    (tmp_path / "ev.csv").write_text("employee_id,event_date,kind,disability_grade,heroic\n"
                                     "X3,2025-09-10,injury,3,true\n", encoding="utf-8")
    ok = run_cli("import", "--db", "x.duckdb", "--employees", "emp.csv", "--events", "ev.csv", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    shown = run_cli("benefits", "X3", "--db", "x.duckdb", cwd=tmp_path)
    assert shown.returncode == 2
    assert "figure missing: police disability pension for grade 3 (table police_disability_pension.csv)" \
        in " ".join(shown.stderr.split())
