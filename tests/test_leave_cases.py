"""Issue 20: leave edges that the mutation run found unguarded, worked by hand.

Each case is one person in one month, on the tables of tests/test_leave_probation_death.py
(tests/data/tables_simple plus the shipped national leave rows; see that module's docstring for
the cities' pay). Each names the one-line mutant of payroll/rules/leave.py it kills
(`python -m tests.mutate --match leave.py`). 2025 calendar (calendar_days.csv): March has 21
workdays (1 March is a Saturday); June 20 (2 June is the Dragon Boat holiday).
"""
from __future__ import annotations

from datetime import date

import pytest

from conftest import policy_for
from test_leave_probation_death import D, employee, make_tables, run, simple_tables


def test_unpaid_leave_across_a_month_end_counts_only_the_days_inside_the_month():
    # P1, 100200 duty 2 PATROL since 2015, unpaid leave Mon 24 March – Fri 4 April 2025.
    # March's piece is 24–31 March: workdays 24–28 and 31 = 6 (not the 21 of 1–31 March if the start
    # were taken as least(start, 1 March), nor 9 if the end ran into April: 1–3 April, 4 April Qingming).
    # base 7,000 × (21.75 − 6) ÷ 21.75 = 110,250 ÷ 21.75 = 5,068.965… → 5,068.97
    tables = simple_tables()
    person = employee("P1", "100200", "duty", 2, "PATROL", date(2015, 1, 1))
    slips, _ = run(tables, [person], "2025-03", "2025-03",
                   leave=[("P1", "unpaid", date(2025, 3, 24), date(2025, 4, 4))])
    march = slips[("P1", "2025-03")]
    assert march["leave_unpaid_days"] == D("6.00")
    assert march["base_pay"] == D("5068.97")


def test_sick_share_by_whole_service_years_on_the_month_s_first_day():
    # S3, 100200 duty 2 PATROL, service since 1 March 2023: on 1 March 2025 exactly 2 years
    # (2025 − 2023, anniversary not after 1 March) → sick_pay.csv 000000 row (2 years, 0 days): 0.7,
    # not the 0-year 0.6 (a strict "<" on the years) nor the 181-day rows (a join that ignores the
    # years and days). Contract month without high risk: 7,000 + (50 + 10) × 2 + 300 + 250 = 7,670;
    # × 0.7 = 5,369 (above 80 % of the 2,150 minimum wage = 1,720) × 2 days (3–4 March) ÷ 21.75
    # = 10,738 ÷ 21.75 = 493.701… → 493.70.
    # S5, the same but service since 10 March 2023: on 1 March 2025 the second anniversary is still
    # to come, 1 year → the 0-year row 0.6, not 0.7. Contract month 7,000 + 60 × 1 + 300 + 250 =
    # 7,610; × 0.6 = 4,566 × 2 days ÷ 21.75 = 9,132 ÷ 21.75 = 419.862… → 419.86
    tables = simple_tables()
    people = [employee("S3", "100200", "duty", 2, "PATROL", date(2023, 3, 1)),
              employee("S5", "100200", "duty", 2, "PATROL", date(2023, 3, 10))]
    sick = [(eid, "sick", date(2025, 3, 3), date(2025, 3, 4)) for eid in ("S3", "S5")]
    slips, _ = run(tables, people, "2025-03", "2025-03", leave=sick)
    march = slips[("S3", "2025-03")]
    assert march["sick_pay_share"] == D("0.700000")
    assert march["sick_pay"] == D("493.70")
    # the 2 sick days are not paid as regular pay (19.75 of 21.75 days) but as sick pay, in gross:
    # base 6,356.32 + seniority 108.97 + allowances 499.43 + high risk 400 × 19.75 ÷ 21.75 = 363.22
    # + sick pay 493.70 = 7,821.64
    assert march["gross_pay"] == D("7821.64")
    s5 = slips[("S5", "2025-03")]
    assert (s5["sick_pay_share"], s5["sick_pay"]) == (D("0.600000"), D("419.86"))


def test_long_sickness_in_the_first_service_year_takes_the_zero_year_row():
    # S4, 100200 duty 2 PATROL hired 1 October 2024, sick since 1 December 2024 to 30 June 2025.
    # June 2025: service years 2025 − 2024 − 1 (1 October is after 1 June) = 0; sick days before
    # June = 1 June − 1 December = 182 ≥ 181 → sick_pay.csv row (0 years, 181 days): 0.4, not the
    # 1-year row 0.5. Contract month without high risk: 7,000 + 0 seniority + 300 + 250 = 7,550;
    # × 0.4 = 3,020 (above 1,720) × 20 June workdays ÷ 21.75 = 60,400 ÷ 21.75 = 2,777.011… → 2,777.01
    tables = simple_tables()
    person = employee("S4", "100200", "duty", 2, "PATROL", date(2024, 10, 1))
    slips, _ = run(tables, [person], "2025-06", "2025-06", leave=[("S4", "sick", date(2024, 12, 1), date(2025, 6, 30))])
    june = slips[("S4", "2025-06")]
    assert (june["sick_leave_days"], june["sick_pay_share"]) == (D("20.00"), D("0.400000"))
    assert june["sick_pay"] == D("2777.01")


def test_a_leaver_before_the_service_anniversary_has_one_year_less():
    # L2, 100200 civilian 3 DESK, service since 1 September 2015, last day 30 June 2025: on 30 June
    # 9 full years (2025 − 2015 − 1, 1 September is after 30 June) → 5 days (annual_leave_entitlement
    # 1–9 years), not 10; 1 January – 30 June = 181 days, ⌊181 × 5 ÷ 365⌋ = ⌊2.47⌋ = 2 days.
    # No history: contract month 6,124.50 + 50 × 9 + 150.50 + 250 = 6,975;
    # 6,975 × 200 % × 2 ÷ 21.75 = 27,900 ÷ 21.75 = 1,282.758… → 1,282.76
    # L4, the same but service since 10 June 2015: the anniversary (10 June) is before 30 June, so
    # 10 full years → 10 days; ⌊181 × 10 ÷ 365⌋ = ⌊4.96⌋ = 4 days.
    # L5, service since 20 June 2015, last day 10 June 2025: the anniversary is later in the same
    # month, so 9 full years → 5 days (the day counts, not only the month: leave.py's
    # `month * 100 + day` → `− day`); 1 January – 10 June = 161 days, ⌊161 × 5 ÷ 365⌋ = ⌊2.21⌋ = 2.
    # L6, service since 30 June 2015, last day 30 June 2025: the anniversary is the day itself, a
    # full year (`<`, not `<=`) → 10 years, 10 days, 4 paid as L4.
    tables = simple_tables()
    people = [employee("L2", "100200", "civilian", 3, "DESK", date(2015, 9, 1), leave=date(2025, 6, 30)),
              employee("L4", "100200", "civilian", 3, "DESK", date(2015, 6, 10), leave=date(2025, 6, 30)),
              employee("L5", "100200", "civilian", 3, "DESK", date(2015, 6, 20), leave=date(2025, 6, 10)),
              employee("L6", "100200", "civilian", 3, "DESK", date(2015, 6, 30), leave=date(2025, 6, 30))]
    slips, _ = run(tables, people, "2025-06", "2025-06")
    june = slips[("L2", "2025-06")]
    assert (june["annual_leave_entitlement"], june["annual_leave_payout_days"]) == (5, 2)
    assert june["annual_leave_payout"] == D("1282.76")
    after_anniversary = slips[("L4", "2025-06")]
    assert (after_anniversary["annual_leave_entitlement"], after_anniversary["annual_leave_payout_days"]) == (10, 4)
    later_in_the_month = slips[("L5", "2025-06")]
    assert (later_in_the_month["annual_leave_entitlement"], later_in_the_month["annual_leave_payout_days"]) == (5, 2)
    on_the_day = slips[("L6", "2025-06")]
    assert (on_the_day["annual_leave_entitlement"], on_the_day["annual_leave_payout_days"]) == (10, 4)


def test_the_payout_wage_is_the_average_of_the_months_before():
    # L3, 100200 civilian 3 DESK, service since 2010, hired again 16 June 2025 (paid 16–30 June),
    # last day 31 July 2025. July's payout: 15 years → 10 days; hired this year, counted from the
    # hire (实施办法 art. 5): 16 June – 31 July = 46 days, ⌊46 × 10 ÷ 365⌋ = ⌊1.26⌋ = 1 day. The wage
    # is the average of the payslips of July 2024 – June 2025 (art. 11): June's alone, prorated, not
    # the contract month (7,275).
    # June: 11 paid days of 20 (16–30 June); each item × 11 ÷ 20: 6,124.50 → 3,368.475 → 3,368.48;
    # seniority 50 × 15 = 750 → 412.50; office 150.50 → 82.775 → 82.78; living 250 → 137.50;
    # gross 4,001.26. Payout 4,001.26 × 200 % × 1 ÷ 21.75 = 8,002.52 ÷ 21.75 = 367.931… → 367.93
    tables = simple_tables()
    person = employee("L3", "100200", "civilian", 3, "DESK", date(2025, 6, 16), leave=date(2025, 7, 31),
                      service_start=date(2010, 1, 1))
    slips, _ = run(tables, [person], "2025-06", "2025-07")
    assert slips[("L3", "2025-06")]["gross_pay"] == D("4001.26")
    july = slips[("L3", "2025-07")]
    assert (july["annual_leave_entitlement"], july["annual_leave_payout_days"]) == (10, 1)
    assert july["annual_leave_wage_base"] == D("4001.26")
    assert july["annual_leave_payout"] == D("367.93")


def _carry_over(tables):
    """City 100200 carries untaken leave over: December's gross holds no payout."""
    with open(tables / "annual_leave_policy.csv", "a", encoding="utf-8") as handle:
        handle.write("100200,2020-01-01,carry_over,2,12,test: the unit carries untaken leave over\n")


def test_two_units_of_one_city_each_take_their_own_average(tmp_path):
    # M5 in unit U1 (100200 civilian 3 DESK since 2023-06-01) and M6 in unit U2 (100200 duty 2
    # PATROL since 2015), each alone in the unit, paid all of December 2024, then on maternity
    # leave all of January 2025 (31 days). Each unit's 2024 average is its one December base:
    # U1 6,124.50 + 50 + 150.50 + 200 = 6,525.00; U2 7,000 + 60 × 9 + 300 + 200 + 400 = 8,440.00
    # (within the 4,000–9,000 base bounds). Allowances: 6,525 × 31 ÷ 30 = 6,742.50;
    # 8,440 × 31 ÷ 30 = 261,640 ÷ 30 = 8,721.333… → 8,721.33 (not a mix of the two units).
    tables = make_tables(tmp_path)
    _carry_over(tables)
    people = [employee("M5", "100200", "civilian", 3, "DESK", date(2023, 6, 1), unit="U1"),
              employee("M6", "100200", "duty", 2, "PATROL", date(2015, 1, 1), unit="U2")]
    maternity = [(e, "maternity", date(2025, 1, 1), date(2025, 3, 31)) for e in ("M5", "M6")]
    slips, _ = run(tables, people, "2024-12", "2025-01", leave=maternity)
    assert [slips[(e, "2024-12")]["gross_pay"] for e in ("M5", "M6")] == [D("6525.00"), D("8440.00")]
    assert [slips[(e, "2025-01")]["maternity_unit_average_wage"] for e in ("M5", "M6")] == [D("6525.00"),
                                                                                           D("8440.00")]
    assert [slips[(e, "2025-01")]["maternity_allowance"] for e in ("M5", "M6")] == [D("6742.50"), D("8721.33")]


def test_one_day_of_maternity_leave_in_the_month_pays_one_day():
    # M7, 100200 duty 2 PATROL since 2015, maternity leave from Monday 31 March 2025: 1 calendar day
    # in March. No unit payslips last year → contract month 7,000 + 60 × 10 + 300 + 250 + 400 = 8,550;
    # 8,550 × 1 ÷ 30 = 285.00 (maternity.csv 000000: ÷ 30, no top-up)
    tables = simple_tables()
    person = employee("M7", "100200", "duty", 2, "PATROL", date(2015, 1, 1))
    slips, _ = run(tables, [person], "2025-03", "2025-03",
                   leave=[("M7", "maternity", date(2025, 3, 31), date(2025, 7, 6))])
    march = slips[("M7", "2025-03")]
    assert march["maternity_leave_days"] == 1
    assert march["maternity_allowance"] == D("285.00")
    # the allowance's row (maternity.csv) and the maternity insurance fund's (social_insurance.csv)
    # are two context columns; under one name DuckDB silently renamed the second, and the payslip
    # and explain named the fund's row as the allowance's source
    frames = policy_for(str(tables)).frames
    maternity, fund = frames["maternity"], frames["social_insurance"]
    assert march["maternity_allowance_row"] == int(maternity[maternity.region_code == "000000"].row_no.iloc[0])
    assert march["maternity_row"] in set(fund[fund.fund == "maternity"].row_no)


@pytest.mark.slow        # 13 months run (about 8 s of CPU); in CI the window is checked by
# test_the_payout_wage_is_the_average_of_the_months_before (two months), which cannot reach its first month
def test_the_payout_wage_window_starts_twelve_months_back():
    # L5, 100200 civilian 3 DESK, service since 2010, hired 1 July 2024, last day 31 July 2025, paid
    # every month. July 2025's payout wage is the average of the 12 payslips of July 2024 – June 2025
    # (art. 11), July 2024 included, untaken-leave pay left out:
    # July – December 2024: 6,124.50 + 50 × 14 + 150.50 + 200 = 7,175.00 each;
    # January – June 2025: 6,124.50 + 50 × 15 + 150.50 + 250 = 7,275.00 each;
    # (6 × 7,175 + 6 × 7,275) ÷ 12 = 86,700 ÷ 12 = 7,225.00 (August – June alone: 79,525 ÷ 11 = 7,229.55).
    # 15 years → 10 days; 1 January – 31 July = 212 days, ⌊212 × 10 ÷ 365⌋ = ⌊5.8⌋ = 5 days;
    # 7,225 × 200 % × 5 ÷ 21.75 = 72,250 ÷ 21.75 = 3,321.839… → 3,321.84
    tables = simple_tables()
    person = employee("L5", "100200", "civilian", 3, "DESK", date(2024, 7, 1), leave=date(2025, 7, 31),
                      service_start=date(2010, 1, 1))
    slips, _ = run(tables, [person], "2024-07", "2025-07")
    assert slips[("L5", "2024-07")]["gross_pay"] == D("7175.00")
    assert slips[("L5", "2025-06")]["gross_pay"] == D("7275.00")
    july = slips[("L5", "2025-07")]
    assert (july["annual_leave_wage_base"], july["annual_leave_payout_days"]) == (D("7225.00"), 5)
    assert july["annual_leave_payout"] == D("3321.84")


def test_the_employer_tops_up_only_an_allowance_below_own_pay(tmp_path):
    # City 100200 with a test row maternity.csv employer_topup = true (as 江苏 320000); untaken leave
    # carried over, so December holds no payout. One unit U3: M8 (civilian 3 DESK since 2023-06-01)
    # and M9 (duty 2 PATROL since 2015), paid all of December 2024 (6,525.00 and 8,440.00, as M5 and
    # M6 above), both on maternity leave all of January 2025. Unit average 2024 = (6,525 + 8,440) ÷ 2
    # = 7,482.50; allowance each 7,482.50 × 31 ÷ 30 = 231,957.5 ÷ 30 = 7,731.916… → 7,731.92. Own pay
    # for the days = the contract month × 24 ÷ 24 paid days: M8 6,124.50 + 50 + 150.50 + 250 (living
    # from 2025) = 6,575.00, below the allowance: top-up 0 (not 0.01: leave.py's greatest(0, …) →
    # greatest(1, …)); M9 7,000 + 60 × 10 + 300 + 250 + 400 = 8,550.00: 8,550 − 7,731.92 = 818.08.
    tables = make_tables(tmp_path)
    _carry_over(tables)
    with open(tables / "maternity.csv", "a", encoding="utf-8") as handle:
        handle.write("100200,2020-01-01,30,true,test: the employer tops the allowance up to own pay,secondary\n")
    people = [employee("M8", "100200", "civilian", 3, "DESK", date(2023, 6, 1), unit="U3"),
              employee("M9", "100200", "duty", 2, "PATROL", date(2015, 1, 1), unit="U3")]
    maternity = [(e, "maternity", date(2025, 1, 1), date(2025, 3, 31)) for e in ("M8", "M9")]
    slips, _ = run(tables, people, "2024-12", "2025-01", leave=maternity)
    m8, m9 = slips[("M8", "2025-01")], slips[("M9", "2025-01")]
    assert m8["maternity_allowance"] == m9["maternity_allowance"] == D("7731.92")
    assert (m8["maternity_own_pay"], m8["maternity_topup"]) == (D("6575.00"), D("0.00"))
    assert (m9["maternity_own_pay"], m9["maternity_topup"]) == (D("8550.00"), D("818.08"))
    # a whole month on leave: gross pay is the allowance plus the top-up (pay.py's gross_pay)
    assert (m8["gross_pay"], m9["gross_pay"]) == (D("7731.92"), D("8550.00"))


def test_a_payslips_table_made_before_a_column_existed_gets_it(tmp_path):
    # an office's database from an earlier version: the next run adds the new rule columns (NULL for
    # the months already run) instead of failing on the INSERT
    from payroll.db import connect
    from payroll.engine.run import run_months
    tables = simple_tables()
    path = tmp_path / "old.duckdb"
    con = connect(path)
    person = employee("M7", "100200", "duty", 2, "PATROL", date(2015, 1, 1))
    con.execute("INSERT INTO employees (employee_id, name, region_code, unit, category, level, post, hire_date) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [person[c] for c in ("employee_id", "name", "region_code", "unit",
                                                                     "category", "level", "post", "hire_date")])
    run_months(con, policy_for(str(tables)), "2025-02")
    con.execute("ALTER TABLE payslips DROP COLUMN maternity_allowance_row")
    run_months(con, policy_for(str(tables)), "2025-03")
    rows = con.execute("SELECT month, maternity_allowance_row IS NULL, net_pay > 0 FROM payslips ORDER BY month").fetchall()
    assert rows == [("2025-02", True, True), ("2025-03", True, True)]   # no maternity leave: no row either month


def test_the_unit_average_is_last_years_payslips_only(tmp_path):
    # 社会保险法 art. 56: the unit's previous-year average. M9 (unit U1 alone, 100200 civilian 3 DESK
    # since 2023-06-01) is paid October–December 2024, a 3,000 bonus in November (base 6,525.00
    # each month: no 2023 payslips, the contract month, as M5 above), then January 2025, whose
    # base is 2024's average wage (6,525 + 3,000 ÷ 3 = 7,525.00), and is on maternity leave from
    # 1 February 2025: February's unit average is 2024's three bases, 6,525.00, not 6,775.00 with
    # January 2025's base mixed in.
    tables = make_tables(tmp_path)
    _carry_over(tables)
    person = employee("M9", "100200", "civilian", 3, "DESK", date(2023, 6, 1), unit="U1")
    slips, _ = run(tables, [person], "2024-10", "2025-02", attendance={("M9", "2024-11"): {"bonus": 3000}},
                   leave=[("M9", "maternity", date(2025, 2, 1), date(2025, 5, 31))])
    assert [slips[("M9", m)]["maternity_base"] for m in ("2024-10", "2024-11", "2024-12", "2025-01")] == \
        [D("6525.00")] * 3 + [D("7525.00")]
    assert slips[("M9", "2025-02")]["maternity_unit_average_wage"] == D("6525.00")


def test_no_entitlement_row_for_the_years_served_gives_no_annual_leave(tmp_path):
    # an entitlement table from 1 year of service only (the 0-year row left out): A5, 100200
    # civilian 3, hired 1 January 2024, has 0 whole years on 31 December 2024, so no row applies and
    # nothing is owed in the December payout, not a default day (职工带薪年休假条例 art. 2: 连续工作1年以上)
    tables = make_tables(tmp_path)
    path = tables / "annual_leave_entitlement.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(line for line in lines if not line.startswith("2008-01-01,0,")) + "\n", encoding="utf-8")
    person = employee("A5", "100200", "civilian", 3, "DESK", date(2024, 1, 1))
    slips, _ = run(tables, [person], "2024-12", "2024-12")
    december = slips[("A5", "2024-12")]
    assert (december["annual_leave_entitlement"], december["annual_leave_payout_days"]) == (0, 0)
    assert december["annual_leave_payout"] == D("0.00")


def test_leave_ending_on_the_first_of_a_month_counts_that_day():
    # P2, as P1: unpaid leave Mon 31 March – Tue 1 April 2025. April's piece is 1 April alone, a
    # workday: 1 day, though no other leave touches April (the month's shortcut for "no leave" must
    # not skip it). base 7,000 × (21.75 − 1) ÷ 21.75 = 145,250 ÷ 21.75 = 6,678.160… → 6,678.16
    tables = simple_tables()
    person = employee("P2", "100200", "duty", 2, "PATROL", date(2015, 1, 1))
    slips, _ = run(tables, [person], "2025-03", "2025-04",
                   leave=[("P2", "unpaid", date(2025, 3, 31), date(2025, 4, 1))])
    assert slips[("P2", "2025-03")]["leave_unpaid_days"] == D("1.00")
    april = slips[("P2", "2025-04")]
    assert april["leave_unpaid_days"] == D("1.00")
    assert april["base_pay"] == D("6678.16")
