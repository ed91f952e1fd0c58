"""Issue 14: leave, probation and deaths, hand-computed (the arithmetic beside each figure).

Tables: tests/data/tables_simple plus the shipped leave, probation and annual-leave tables, a
test pay-scale row (city 100200 civilian level 3, 6,124.50: between levels 2 and 4, as the
pay-structure check requires) and a test maternity top-up row for city 100100.
City 100200 (province 100000): civilian DESK pays base + 50 a service year + office 150.50 +
living 200 (250 from 2025, province row); duty PATROL (high risk) base + 50 + 10 a service year +
duty 300 + living + high risk 400. City 100100: seniority 65.50 a year from 2024-12, high risk
555.55 from 2025-02, minimum wage 2,200, 2,480.50 from 2025-02.
"""
from __future__ import annotations

import re
import shutil
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest
from conftest import DATA, SHIPPED_TABLES, policy_for

SIMPLE = DATA / "tables_simple"
ISSUE_TABLES = ("leave_days", "sick_pay", "maternity", "probation", "annual_leave_entitlement",
                "annual_leave_policy", "non_work_death")


def make_tables(tmp_path, rows: dict[str, str] | None = None):
    """The tables of these cases; `rows`: more rows for some tables ({"probation": "csv line"})."""
    tables = tmp_path / "tables"
    shutil.copytree(SIMPLE, tables)
    for name in ISSUE_TABLES:       # the shipped national rows (the provinces are not in this region tree)
        lines = (SHIPPED_TABLES / f"{name}.csv").read_text(encoding="utf-8").splitlines()
        kept = [lines[0]] + [line for line in lines[1:] if name == "annual_leave_entitlement"
                             or line.startswith("000000,")]
        (tables / f"{name}.csv").write_text("\n".join(kept) + "\n", encoding="utf-8")
    with open(tables / "pay_scale.csv", "a", encoding="utf-8") as handle:
        handle.write("100200,2020-01-01,civilian,3,6124.50,test: 6124.50 + 50 + 150.50 + 200 = 6525 in 2024\n")
    with open(tables / "maternity.csv", "a", encoding="utf-8") as handle:
        handle.write("100100,2020-01-01,30,true,test: city A tops the allowance up\n")
    with open(tables / "leave_days.csv", "a", encoding="utf-8") as handle:
        handle.write("100000,2020-01-01,maternity,158,test: province extension\n")
    for name, line in (rows or {}).items():
        with open(tables / f"{name}.csv", "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
    return tables


_SIMPLE_TABLES: list = []


def simple_tables():
    """make_tables' folder built once per process, for the tests that only read it: the same path,
    so conftest.policy_for loads it once and the engine installs it once."""
    if not _SIMPLE_TABLES:
        import atexit
        import tempfile
        from pathlib import Path
        folder = Path(tempfile.mkdtemp(prefix="leave-tables-"))
        atexit.register(shutil.rmtree, folder, True)
        _SIMPLE_TABLES.append(make_tables(folder))
    return _SIMPLE_TABLES[0]


def employee(eid, region, category, level, post, hire, leave=None, service_start=None, probation_end=None,
             unit="U1"):
    return dict(employee_id=eid, name=eid, region_code=region, unit=unit, category=category, level=level,
                post=post, hire_date=hire, leave_date=leave, service_start=service_start,
                special_deduction=Decimal(0), contribution_base=None, probation_end=probation_end)


def run(tables, people, first, last, leave=(), deaths=(), attendance=None, injuries=()):
    """Insert the people, their terms, leave, death and injury events; run the months; payslips and
    results. `injuries`: (employee_id, day, disability grade or None, stoppage months)."""
    from payroll.db import connect
    from payroll.engine.run import run_months
    con = connect(":memory:")
    columns = ("employee_id", "name", "region_code", "unit", "category", "level", "post", "hire_date",
               "leave_date", "service_start", "special_deduction", "contribution_base")
    for p in people:
        con.execute(f"INSERT INTO employees ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                    [p[c] for c in columns])
        if p.get("probation_end"):
            con.execute("INSERT INTO employee_terms VALUES (?, ?)", [p["employee_id"], p["probation_end"]])
    for eid, kind, start, end in leave:
        con.execute("INSERT INTO leave VALUES (?, ?, ?, ?, NULL)", [eid, kind, start, end])
    if attendance:
        from conftest import ATTENDANCE_COLUMNS
        con.executemany(
            f"INSERT INTO attendance (employee_id, month, {', '.join(ATTENDANCE_COLUMNS)}) "
            f"VALUES ({', '.join('?' * (len(ATTENDANCE_COLUMNS) + 2))})",
            [[eid, month] + [row.get(c, 0) for c in ATTENDANCE_COLUMNS] for (eid, month), row in attendance.items()])
    for eid, day, cause in deaths:
        con.execute("INSERT INTO events (employee_id, event_date, kind, cause) VALUES (?, ?, 'death', ?)",
                    [eid, day, cause])
    for eid, day, grade, stoppage in injuries:
        con.execute("INSERT INTO events (employee_id, event_date, kind, disability_grade, stoppage_months) "
                    "VALUES (?, ?, 'injury', ?, ?)", [eid, day, grade, stoppage])
    results = run_months(con, policy_for(str(tables)), first, last)
    cursor = con.execute("SELECT * FROM payslips ORDER BY month, employee_id")
    names = [d[0] for d in cursor.description]
    return {(row[0], row[1]): dict(zip(names, row)) for row in cursor.fetchall()}, results


def D(text):
    return Decimal(text)


# ---------------------------------------------------------------- annual leave


def test_five_days_untaken_at_year_end_pay_an_extra_200_percent():
    # 100200 civilian 9, hired 2023-06-01: 1 service year on 2024-12-31 → 5 days
    # (annual_leave_entitlement.csv 2008-01-01,1,5); none taken. November's payslip is the 12-month
    # history: 6,124.50 + 50 + 150.50 + 200 = 6,525 without overtime.
    # 6,525 ÷ 21.75 = 300 a day × 200 % (annual_leave_policy.csv extra_rate 2) × 5 = 3,000.00
    # A2, the same but with the 5 days taken (Mon 4 – Fri 8 March 2024), has nothing paid out, and
    # no wage base is looked up for it
    tables = simple_tables()
    people = [employee(eid, "100200", "civilian", 3, "DESK", date(2023, 6, 1)) for eid in ("A1", "A2")]
    slips, _ = run(tables, people, "2024-11", "2024-12", leave=[("A2", "annual", date(2024, 3, 4), date(2024, 3, 8))])
    taken = slips[("A2", "2024-12")]
    assert (taken["annual_leave_payout_days"], taken["annual_leave_payout"]) == (0, D("0.00"))
    assert taken["annual_leave_wage_base"] is None
    december = slips[("A1", "2024-12")]
    assert december["annual_leave_wage_base"] == D("6525.00")
    assert (december["annual_leave_entitlement"], december["annual_leave_payout_days"]) == (5, 5)
    assert december["annual_leave_payout"] == D("3000.00")
    assert december["gross_pay"] == D("9525.00")                 # 6,525 + 3,000
    assert slips[("A1", "2024-11")]["annual_leave_payout"] == 0  # only in the payout month


def test_running_the_payout_month_again_pays_the_same_untaken_leave():
    # A1 above, with a 1,000 attendance bonus in December: December 2024 run twice. The wage base
    # is the 12 months before the payout month, so December's own payslip from the first run (its
    # pay without the payout 7,525) is not in it the second time: November's 6,525, 3,000.00 again
    from conftest import policy_for, run_engine
    from payroll.db import connect
    from payroll.engine.run import run_months
    tables = simple_tables()
    con = connect(":memory:")
    first = run_engine(tables, [employee("A1", "100200", "civilian", 3, "DESK", date(2023, 6, 1))],
                       {("A1", "2024-12"): {"bonus": D("1000")}}, "2024-11", "2024-12", con=con)[("A1", "2024-12")]
    run_months(con, policy_for(str(tables)), "2024-12")
    again = con.execute("SELECT annual_leave_wage_base, annual_leave_payout FROM payslips "
                        "WHERE employee_id = 'A1' AND month = '2024-12'").fetchone()
    assert (first["annual_leave_wage_base"], first["annual_leave_payout"]) == (D("6525.00"), D("3000.00"))
    assert again == (D("6525.00"), D("3000.00"))


def test_a_leaver_is_paid_the_days_of_the_year_passed_rounded_down():
    # last day 2025-06-30, service since 2010 → 10 days; 2 taken (Mon 3 and Tue 4 March).
    # 1/1–6/30 = 181 days; 181 ÷ 365 × 10 = 4.96 → 4 (art. 12 rounds down), 4 − 2 = 2 days, not 3.
    # No history: the contract month 6,124.50 + 50 × 15 + 150.50 + 250 = 7,275;
    # 7,275 ÷ 21.75 × 200 % × 2 = 1,337.931… → 1,337.93
    tables = simple_tables()
    person = employee("L1", "100200", "civilian", 3, "DESK", date(2010, 1, 1), leave=date(2025, 6, 30))
    slips, _ = run(tables, [person], "2025-06", "2025-06", leave=[("L1", "annual", date(2025, 3, 3), date(2025, 3, 4))])
    june = slips[("L1", "2025-06")]
    assert (june["annual_leave_entitlement"], june["annual_leave_taken_ytd"]) == (10, D("2.00"))
    assert june["annual_leave_payout_days"] == 2
    assert june["annual_leave_payout"] == D("1337.93")


def test_a_day_of_leave_on_the_last_day_of_the_month_counts_as_taken():
    # the leaver above also takes Mon 30 June, the month's and the contract's last day: 3 taken,
    # 4 − 3 = 1 day paid out, 7,275 ÷ 21.75 × 200 % × 1 = 668.965… → 668.97
    tables = simple_tables()
    person = employee("L1", "100200", "civilian", 3, "DESK", date(2010, 1, 1), leave=date(2025, 6, 30))
    slips, _ = run(tables, [person], "2025-06", "2025-06",
                   leave=[("L1", "annual", date(2025, 3, 3), date(2025, 3, 4)),
                          ("L1", "annual", date(2025, 6, 30), date(2025, 6, 30))])
    june = slips[("L1", "2025-06")]
    assert (june["annual_leave_taken_ytd"], june["annual_leave_payout_days"]) == (D("3.00"), 1)
    assert june["annual_leave_payout"] == D("668.97")


def test_the_leave_wage_base_is_the_twelve_months_before_the_payout_month():
    # 职工带薪年休假条例实施办法 art. 11: the previous 12 months' average wage, overtime left out. A
    # leaver paid out in June 2025 with payslips from June 2024: the base is June 2024 … May 2025,
    # all twelve, June 2024's bonus of 1,200 (and its overtime) included as the article says, not
    # eleven months, not thirteen. Computed here from the stored payslips.
    tables = simple_tables()
    person = employee("W1", "100200", "civilian", 3, "DESK", date(2010, 1, 1), leave=date(2025, 6, 30))
    attendance = {("W1", "2024-06"): {"bonus": 1200, "overtime_workday_hours": 8},
                  ("W1", "2024-05"): {"bonus": 5000}}
    slips, _ = run(tables, [person], "2024-05", "2025-06", attendance=attendance)
    window = [f"{year}-{month:02d}" for year, month in [(2024, m) for m in range(6, 13)] + [(2025, m) for m in range(1, 6)]]
    assert len(window) == 12
    total = sum(slips[("W1", m)]["gross_pay"] - slips[("W1", m)]["overtime_pay"] - slips[("W1", m)]["annual_leave_payout"]
                for m in window)
    june = slips[("W1", "2025-06")]
    assert june["annual_leave_payout_days"] > 0
    assert june["annual_leave_wage_base"] == (total / 12).quantize(D("0.01"), rounding=ROUND_HALF_UP)


def test_less_than_a_year_of_service_gives_no_annual_leave():
    # 职工带薪年休假条例 art. 2 and 3: annual leave from one year of continuous service. Hired
    # 2024-07-01 with no earlier service: 0 service years at the year end, entitled to 0 days, nothing
    # paid out in December (one year counted would give ⌊184 ÷ 365 × 5⌋ = 2 days)
    tables = simple_tables()
    person = employee("H2", "100200", "civilian", 3, "DESK", date(2024, 7, 1))
    slips, _ = run(tables, [person], "2024-12", "2024-12")
    december = slips[("H2", "2024-12")]
    assert (december["annual_leave_entitlement"], december["annual_leave_payout_days"]) == (0, 0)
    assert december["annual_leave_payout"] == D("0.00")


def test_a_hire_of_the_year_is_entitled_to_the_remaining_days_rounded_down():
    # 企业职工带薪年休假实施办法 art. 5. Hired 2024-07-01 with service since 2010 (14 years → 10 days);
    # 2024-07-01 … 12-31 = 184 calendar days; 184 ÷ 365 × 10 = 5.04 → 5 days; 2 taken (Tue 3 and
    # Wed 4 September) → 3 paid in December, not 8. November's payslip is the 12-month history,
    # 6,124.50 + 50 × 14 + 150.50 + 200 = 7,175 without overtime (July to November are whole months):
    # 7,175 ÷ 21.75 × 200 % × 3 = 1,979.310… → 1,979.31
    tables = simple_tables()
    person = employee("H1", "100200", "civilian", 3, "DESK", date(2024, 7, 1), service_start=date(2010, 1, 1))
    slips, _ = run(tables, [person], "2024-07", "2024-12",
                   leave=[("H1", "annual", date(2024, 9, 3), date(2024, 9, 4))])
    december = slips[("H1", "2024-12")]
    assert (december["annual_leave_entitlement"], december["annual_leave_taken_ytd"]) == (10, D("2.00"))
    assert december["annual_leave_payout_days"] == 3
    assert december["annual_leave_wage_base"] == D("7175.00")
    assert december["annual_leave_payout"] == D("1979.31")


def test_a_unit_that_carries_leave_over_pays_nothing_at_year_end(tmp_path):
    tables = make_tables(tmp_path)
    with open(tables / "annual_leave_policy.csv", "a", encoding="utf-8") as handle:
        handle.write("100200,2020-01-01,carry_over,2,12,test: the unit carries untaken leave over\n")
    slips, _ = run(tables, [employee("C1", "100200", "civilian", 3, "DESK", date(2023, 6, 1))], "2024-12", "2024-12")
    assert slips[("C1", "2024-12")]["annual_leave_payout"] == 0


# ---------------------------------------------------------------- sick pay


def test_sick_pay_is_clamped_at_80_percent_of_the_minimum_wage():
    # 100100 civilian 5 TECH, hired 2024-06-01 (0 service years): fixed pay 1,200 + 150.50 + 250 = 1,600.50;
    # sick_pay.csv 000000,…,0,0,0.6: 1,600.50 × 0.6 = 960.30 a month, below 80 % of the minimum wage
    # 2,200 (minimum_wage.csv 100100,2024-01-01) = 1,760 → 1,760 × 3 working days (6–8 January) ÷ 21.75
    # = 242.758… → 242.76
    tables = simple_tables()
    person = employee("S1", "100100", "civilian", 5, "TECH", date(2024, 6, 1))
    slips, _ = run(tables, [person], "2025-01", "2025-01", leave=[("S1", "sick", date(2025, 1, 6), date(2025, 1, 8))])
    jan = slips[("S1", "2025-01")]
    assert (jan["sick_leave_days"], jan["sick_pay_share"]) == (D("3.00"), D("0.600000"))
    assert jan["sick_pay"] == D("242.76")
    # the sick days are not paid as regular pay: F = 21/21 − 3/21.75; base 1,200 × (1 − 3/21.75 × 21/21)
    # = 1,200 × 18.75/21.75 = 1,034.482… → 1,034.48
    assert jan["base_pay"] == D("1034.48")


def test_sick_pay_at_the_table_share_above_the_floor():
    # 100200 duty 2 PATROL, service since 2015 → 10 years: share 1 (sick_pay.csv …,8,0,1);
    # fixed pay 7,000 + (50 + 10) × 10 + 300 + 250 = 8,150 × 1 × 2 days ÷ 21.75 = 749.425… → 749.43
    tables = simple_tables()
    person = employee("S2", "100200", "duty", 2, "PATROL", date(2015, 1, 1))
    slips, _ = run(tables, [person], "2025-03", "2025-03", leave=[("S2", "sick", date(2025, 3, 3), date(2025, 3, 4))])
    assert slips[("S2", "2025-03")]["sick_pay"] == D("749.43")


# ---------------------------------------------------------------- maternity


def test_maternity_allowance_with_the_employer_top_up():
    # 100100 duty 2 PATROL since 2015: contract month 7,000 + 65.50 × 10 + 300 + 250 + 555.55 = 8,760.55
    # (no payslips of the unit last year → the contract month). Leave from 17 March: 15 calendar days,
    # 11 paid days of 21. Allowance 8,760.55 × 15 ÷ 30 = 4,380.275 → 4,380.28 (maternity.csv ÷ 30);
    # own pay 8,760.55 × 11 ÷ 21 = 96,366.05 ÷ 21 = 4,588.859… → 4,588.86; top-up (100100 row) 4,588.86 − 4,380.28 = 208.58
    tables = simple_tables()
    person = employee("M1", "100100", "duty", 2, "PATROL", date(2015, 1, 1))
    slips, _ = run(tables, [person], "2025-03", "2025-03",
                   leave=[("M1", "maternity", date(2025, 3, 17), date(2025, 7, 31))])
    march = slips[("M1", "2025-03")]
    assert (march["maternity_leave_days"], march["maternity_paid_days"]) == (15, 11)
    assert march["maternity_allowance"] == D("4380.28")
    assert march["maternity_own_pay"] == D("4588.86")
    assert march["maternity_topup"] == D("208.58")
    assert march["base_pay"] == D("3333.33")                     # 7,000 × 10 ÷ 21 = 3,333.333…
    # the allowance is tax-exempt (财税〔2008〕8号): not in the income of the year
    assert march["income_ytd"] == march["gross_pay"] - D("4380.28")


def test_maternity_allowance_without_a_top_up():
    # 100200 has no top-up rule (maternity.csv 000000: false). Contract month 7,000 + 60 × 10 + 300 +
    # 250 + 400 = 8,550; 8,550 × 15 ÷ 30 = 4,275.00; no top-up
    tables = simple_tables()
    person = employee("M2", "100200", "duty", 2, "PATROL", date(2015, 1, 1))
    slips, _ = run(tables, [person], "2025-03", "2025-03",
                   leave=[("M2", "maternity", date(2025, 3, 17), date(2025, 7, 31))])
    march = slips[("M2", "2025-03")]
    assert (march["maternity_allowance"], march["maternity_topup"]) == (D("4275.00"), 0)


def test_a_maternity_row_taking_effect_on_the_first_of_the_month_applies_to_it(tmp_path):
    # M2 above, with a 100200 row from 2025-03-01 that tops the allowance up: own pay 8,550 × 11 ÷ 21
    # = 4,478.571… → 4,478.57, less the allowance 4,275.00 = 203.57
    tables = make_tables(tmp_path, {"maternity": "100200,2025-03-01,30,true,test: a top-up from March,sample"})
    person = employee("M2", "100200", "duty", 2, "PATROL", date(2015, 1, 1))
    slips, _ = run(tables, [person], "2025-03", "2025-03",
                   leave=[("M2", "maternity", date(2025, 3, 17), date(2025, 7, 31))])
    march = slips[("M2", "2025-03")]
    assert (march["maternity_allowance"], march["maternity_own_pay"], march["maternity_topup"]) == \
        (D("4275.00"), D("4478.57"), D("203.57"))


def test_maternity_allowance_on_the_units_previous_year_average():
    # two colleagues in unit U1 paid all of December 2024 (their maternity base: the whole month's gross,
    # first_full_month), then January 2025 on maternity leave all month (31 days): allowance = the unit's
    # 2024 average maternity base × 31 ÷ 30
    tables = simple_tables()
    people = [employee("M3", "100200", "civilian", 3, "DESK", date(2023, 6, 1)),
              employee("M4", "100200", "civilian", 3, "DESK", date(2020, 6, 1))]
    slips, _ = run(tables, people, "2024-12", "2025-01",
                   leave=[("M3", "maternity", date(2025, 1, 1), date(2025, 3, 31))])
    bases = [slips[(e, "2024-12")]["maternity_base"] for e in ("M3", "M4")]
    average = (sum(bases) / 2).quantize(D("0.01"))
    jan = slips[("M3", "2025-01")]
    assert jan["maternity_unit_average_wage"] == average
    assert jan["maternity_allowance"] == (average * 31 / 30).quantize(D("0.01"))
    assert jan["base_pay"] == 0 and jan["floor_topup"] == 0      # every paid day is maternity leave


# ---------------------------------------------------------------- probation


def test_probation_pays_the_ratio_of_the_agreed_pay():
    # 100200 duty 2 PATROL hired 2025-03-01, probation to 2025-05-31 (probation.csv 000000 0.8):
    # April: base 7,000 × 0.8 = 5,600.00; allowances (300 + 250) × 0.8 = 440.00; high risk 400 × 0.8 = 320.00.
    # May, whose last day is the probation's, is still in probation; June is after it: full pay.
    tables = simple_tables()
    person = employee("P1", "100200", "duty", 2, "PATROL", date(2025, 3, 1), probation_end=date(2025, 5, 31))
    slips, _ = run(tables, [person], "2025-04", "2025-06")
    for month in ("2025-04", "2025-05"):
        slip = slips[("P1", month)]
        assert slip["probation_ratio"] == D("0.800000")
        assert (slip["base_pay"], slip["allowances"], slip["high_risk_allowance"]) == (D("5600.00"), D("440.00"),
                                                                                       D("320.00"))
    assert slips[("P1", "2025-06")]["base_pay"] == D("7000.00")


def test_probation_pay_is_never_below_the_minimum_wage():
    # 100100 civilian 5 TECH in probation in April 2025: base 1,200 × 0.8 = 960.00; allowances
    # (150.50 + 250) × 0.8 = 320.40; normal pay 1,280.40 < minimum wage 2,480.50 (100100, 2025-02-01)
    # → top-up 1,200.10
    tables = simple_tables()
    person = employee("P2", "100100", "civilian", 5, "TECH", date(2025, 3, 1), probation_end=date(2025, 8, 31))
    slips, _ = run(tables, [person], "2025-04", "2025-04")
    april = slips[("P2", "2025-04")]
    assert (april["base_pay"], april["allowances"], april["floor_topup"]) == (D("960.00"), D("320.40"), D("1200.10"))


# ---------------------------------------------------------------- allowances without a seniority item


def test_tables_without_a_seniority_item_pay_no_seniority_pay(tmp_path):
    # every service_year row taken out of allowances.csv: a person with ten years of service gets a
    # seniority rate of 0 and no seniority pay, not a fen a year; the month's other lines as before
    tables = make_tables(tmp_path)
    allowances = tables / "allowances.csv"
    lines = allowances.read_text(encoding="utf-8").splitlines()
    allowances.write_text("\n".join(line for line in lines if ",service_year," not in line) + "\n", encoding="utf-8")
    person = employee("S1", "100200", "civilian", 3, "DESK", date(2015, 1, 1))
    slips, _ = run(tables, [person], "2025-03", "2025-03")
    march = slips[("S1", "2025-03")]
    assert march["service_years"] == 10
    assert (march["seniority_rate_per_year"], march["seniority_pay"]) == (D("0.00"), D("0.00"))


# ---------------------------------------------------------------- deductions with nothing left


@pytest.mark.parametrize("kind, owed", [("court", "326.18"), ("damages", "826.18")])
def test_a_deduction_takes_nothing_when_the_contributions_exceed_the_pay(kind, owed):
    # A whole March of unpaid leave (21 working days): gross 250.86, the employee's contributions
    # 577.04, so the pay after contributions is −326.18. A court order or damages of 500 takes
    # nothing, not a fen: all 500 left untaken. The 326.18 is carried as a balance owed, and the
    # damages too (the unit's own claim, recovered later within the limit; a court order is not).
    tables = simple_tables()
    person = employee("Z1", "100200", "civilian", 3, "DESK", date(2010, 1, 1))
    attendance = {("Z1", "2025-03"): {"unpaid_leave_days": 21, "deduction": 500, "deduction_kind": kind}}
    slips, _ = run(tables, [person], "2025-03", "2025-03", attendance=attendance)
    march = slips[("Z1", "2025-03")]
    assert march["pay_after_contributions"] == D("-326.18")
    assert (march["deduction"], march["deduction_untaken"]) == (D("0.00"), D("500.00"))
    assert (march["net_pay"], march["balance_owed"]) == (D("0.00"), D(owed))


# ---------------------------------------------------------------- deaths


def test_a_death_on_the_10th_is_prorated_and_nothing_is_paid_after():
    # 100200 duty 2 PATROL; died Monday 2025-03-10: paid days 3–7 and 10 March = 6 of 21;
    # base 7,000 × 6 ÷ 21 = 2,000.00. April: no payslip, and the run says why.
    tables = simple_tables()
    person = employee("X1", "100200", "duty", 2, "PATROL", date(2015, 1, 1))
    slips, results = run(tables, [person], "2025-03", "2025-05", deaths=[("X1", date(2025, 3, 10), "non_work")])
    march = slips[("X1", "2025-03")]
    assert (march["paid_days_employed"], march["base_pay"]) == (6, D("2000.00"))
    assert march["leave_date"] == date(2025, 3, 10)
    assert ("X1", "2025-04") not in slips and ("X1", "2025-05") not in slips
    april = next(r for r in results if r.month == "2025-04")
    assert any("X1 (died 2025-03-10)" in note for note in april.notes)
    # in March they died during the month, not before it: paid to the day, and no note
    assert next(r for r in results if r.month == "2025-03").notes == ()
    assert "set their leave_date" in str(april)


def test_the_run_names_exactly_the_dead_the_file_lists_on_the_month_s_first_day():
    # Y1 died on Tue 2025-04-01: paid for that day, and April's run has no note for Y1 (May's has).
    # Y2 died 2025-03-20 but the employees file ends the contract on 2025-04-01, so it lists Y2 as
    # employed on April's first day: not paid, and April's run says so.
    tables = simple_tables()
    people = [employee("Y1", "100200", "duty", 2, "PATROL", date(2015, 1, 1)),
              employee("Y2", "100200", "duty", 2, "PATROL", date(2015, 1, 1), leave=date(2025, 4, 1))]
    slips, results = run(tables, people, "2025-04", "2025-05",
                         deaths=[("Y1", date(2025, 4, 1), "non_work"), ("Y2", date(2025, 3, 20), "non_work")])
    assert slips[("Y1", "2025-04")]["paid_days_employed"] == 1
    assert sorted(slips) == [("Y1", "2025-04")]
    april, may = (next(r for r in results if r.month == m) for m in ("2025-04", "2025-05"))
    assert len(april.notes) == 1 and "1 person(s)" in april.notes[0] and "Y2 (died 2025-03-20)" in april.notes[0]
    assert "Y1 (died 2025-04-01)" in may.notes[0] and "Y2" not in may.notes[0]


def test_a_death_after_leaving_does_not_bring_the_pay_back():
    # Z1 left on 2025-03-15 and died on 2025-05-10: the death cannot extend the contract, so March
    # pays to the 15th and April and May pay nothing (a death brings leave_date forward, never back)
    tables = simple_tables()
    person = employee("Z1", "100200", "duty", 2, "PATROL", date(2015, 1, 1), leave=date(2025, 3, 15))
    slips, _ = run(tables, [person], "2025-03", "2025-05", deaths=[("Z1", date(2025, 5, 10), "non_work")])
    assert sorted(slips) == [("Z1", "2025-03")]
    assert slips[("Z1", "2025-03")]["leave_date"] == date(2025, 3, 15)


def test_a_non_work_death_pays_the_pension_fund_items_and_no_work_grant(tmp_path):
    # shipped tables, Nantong (320600): non_work_death.csv 320000 rows (samples): funeral grant 2 months
    # of the average wage; survivors' pension 2 × the 2024 national urban per-capita disposable income
    # 54,188 = 108,376.00. No funeral grant of the injury fund, no death grant.
    from payroll.benefits import compute_benefits
    from payroll.db import connect
    con = connect(":memory:")
    con.execute("INSERT INTO employees (employee_id, name, region_code, unit, category, level, post, hire_date, "
                "contribution_base) VALUES ('N1', 'N1', '320600', 'U', 'duty', 5, 'PATROL', '2020-01-01', 8000)")
    con.execute("INSERT INTO events (employee_id, event_date, kind, cause) VALUES ('N1', '2025-06-01', 'death', "
                "'non_work')")
    [r] = compute_benefits(con, policy_for(str(SHIPPED_TABLES)))
    items = {line.item: line for line in r.lines}
    assert set(items) == {"non_work_funeral_grant", "non_work_survivors_pension"}
    assert items["non_work_survivors_pension"].amount == 10837600
    assert items["non_work_funeral_grant"].payer == "pension_fund"
    average = int(Decimal(str(r.average_wage)))          # fen, the 320600 average wage in force
    assert items["non_work_funeral_grant"].amount == 2 * average
    assert "社会保险法 (2018) art. 17" in items["non_work_funeral_grant"].basis


def test_a_non_work_death_where_the_province_has_no_figure_is_figure_missing(tmp_path):
    from payroll.benefits import compute_benefits
    from payroll.db import connect
    from payroll.errors import PolicyError
    con = connect(":memory:")
    con.execute("INSERT INTO employees (employee_id, name, region_code, unit, category, level, post, hire_date, "
                "contribution_base) VALUES ('K1', 'K1', '530100', 'U', 'duty', 5, 'PATROL', '2020-01-01', 8000)")
    con.execute("INSERT INTO events (employee_id, event_date, kind, cause) VALUES ('K1', '2025-06-01', 'death', "
                "'non_work')")
    with pytest.raises(PolicyError, match="figure missing for this province: non_work_death has no funeral_grant"):
        compute_benefits(con, policy_for(str(SHIPPED_TABLES)))


def test_an_entitlement_row_taking_effect_on_the_payout_day_is_in_force_that_day(tmp_path):
    # A row of annual_leave_entitlement is in force from its effective_from itself. 12 days for 10
    # years of service from 2025-06-30, the last day of L2 (service since 2010, nothing taken):
    # ⌊181 ÷ 365 × 12⌋ = ⌊5.95⌋ = 5 days, not the 4 of the 10-day row (as L1 above);
    # 7,275 ÷ 21.75 × 200 % × 5 = 3,344.827… → 3,344.83
    tables = make_tables(tmp_path, {"annual_leave_entitlement":
                                    "2025-06-30,10,12,test: 12 days from the payout day itself,official"})
    person = employee("L2", "100200", "civilian", 3, "DESK", date(2010, 1, 1), leave=date(2025, 6, 30))
    slips, _ = run(tables, [person], "2025-06", "2025-06")
    june = slips[("L2", "2025-06")]
    assert (june["annual_leave_entitlement"], june["annual_leave_payout_days"]) == (12, 5)
    assert june["annual_leave_payout"] == D("3344.83")


def test_a_leaver_counts_both_the_first_and_the_last_day_of_the_year_passed(tmp_path):
    # art. 12 counts 1 January through the last day, both included: L3 (service since 2010, 10 days,
    # nothing taken) leaves on 2025-03-14, day 73 of the year: ⌊73 × 10 ÷ 365⌋ = 2 days (72 days
    # would give 1); no history: 7,275 ÷ 21.75 × 200 % × 2 = 1,337.931… → 1,337.93
    tables = make_tables(tmp_path)
    person = employee("L3", "100200", "civilian", 3, "DESK", date(2010, 1, 1), leave=date(2025, 3, 14))
    slips, _ = run(tables, [person], "2025-03", "2025-03")
    march = slips[("L3", "2025-03")]
    assert (march["annual_leave_payout_days"], march["annual_leave_payout"]) == (2, D("1337.93"))


def test_a_probation_row_is_in_force_from_the_first_of_its_month(tmp_path):
    # City 100200 pays 0.9 in probation from 2025-04-01 (the national row: 0.8). P2 (duty 2 PATROL,
    # hired 2025-03-01, probation to 2025-05-31) is paid 0.8 in March and 0.9 from April, the
    # row's first month: April's base 7,000 × 0.9 = 6,300.00.
    tables = make_tables(tmp_path, {"probation": "100200,2025-04-01,0.9,test: the city pays 90 % from April,"
                                                 "official"})
    person = employee("P2", "100200", "duty", 2, "PATROL", date(2025, 3, 1), probation_end=date(2025, 5, 31))
    slips, _ = run(tables, [person], "2025-03", "2025-04")
    assert [slips[("P2", m)]["probation_ratio"] for m in ("2025-03", "2025-04")] == [D("0.800000"), D("0.900000")]
    assert slips[("P2", "2025-04")]["base_pay"] == D("6300.00")


@pytest.mark.parametrize("table, kind", [("sick_pay", "sick"), ("maternity", "maternity")])
def test_leave_without_a_row_in_force_for_it_is_refused_naming_person_and_table(tmp_path, table, kind):
    # every row of the table dated from 2030: the March 2025 leave has no share or divisor to be paid
    # by, and the run names the month, the person and the table instead of paying it as nothing
    from payroll.errors import PolicyError
    tables = make_tables(tmp_path)
    path = tables / f"{table}.csv"
    header, *rows = path.read_text(encoding="utf-8").splitlines()
    dated_later = [re.sub(r"^([^,]*),[^,]*,", r"\1,2030-01-01,", row) for row in rows]    # effective_from
    path.write_text("\n".join([header, *dated_later]) + "\n", encoding="utf-8")
    person = employee("S1", "100200", "civilian", 3, "DESK", date(2015, 1, 1))
    with pytest.raises(PolicyError, match=rf"2025-03: the policy tables have no row in force for the leave of "
                                          rf"S1 \({table}\)"):
        run(tables, [person], "2025-03", "2025-03", leave=[("S1", kind, date(2025, 3, 3), date(2025, 3, 4))])
