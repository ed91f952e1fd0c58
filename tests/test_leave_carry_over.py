"""Issue 14: untaken annual leave carried over (annual_leave_policy untaken = carry_over; 职工带薪年休假条例
art. 5: into the next year only), hand-computed. Tables as tests/test_leave_probation_death.py (a copy of
the shipped leave tables) with one carry_over row for city 100200 from 2025-01-01 (before it, the
national row pays: nothing is carried into 2025); the person, civilian level 3 DESK with
service since 2010, is entitled to 10 days a year (10 ≤ service < 20 years)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from conftest import SHIPPED_TABLES
from test_leave_probation_death import employee, make_tables, run

CARRY = "100200,2025-01-01,carry_over,2,12,test: the unit carries untaken leave over\n"


def carry_tables(tmp_path, *extra):
    tables = make_tables(tmp_path)
    with open(tables / "annual_leave_policy.csv", "a", encoding="utf-8") as handle:
        handle.write(CARRY + "".join(extra))
    return tables


def june_of_a_2026_leaver(tmp_path, leave_2025: list[tuple]) -> dict:
    """June 2026 of C1 (civilian 3 DESK, service since 2010, leaving 2026-06-30, Tue 3 and Wed 4 March
    2026 taken), after `leave_2025`'s (kind, start, end) in the carry-over year."""
    person = employee("C1", "100200", "civilian", 3, "DESK", date(2010, 1, 1), leave=date(2026, 6, 30))
    leave = [("C1", kind, start, end) for kind, start, end in leave_2025] + \
        [("C1", "annual", date(2026, 3, 3), date(2026, 3, 4))]
    slips, _ = run(carry_tables(tmp_path), [person], "2026-06", "2026-06", leave=leave)
    return slips[("C1", "2026-06")]


def test_a_leaver_is_paid_the_days_carried_from_last_year(tmp_path):
    # 2025 (carry_over): 10 entitled, 4 taken (Mon 3 … Thu 6 March, working days) → 6 carried into 2026.
    # Leaves 2026-06-30 with 2 taken in 2026 (Tue 3, Wed 4 March): 1/1–6/30 = 181 days;
    # ⌊181 ÷ 365 × 10⌋ = ⌊4.96⌋ = 4; 4 + 6 carried − 2 = 8 days.
    # No payslip history: the contract month 6,124.50 + 50 × 16 + 150.50 + 250 = 7,325;
    # 7,325 ÷ 21.75 × 200 % × 8 = 5,388.505… → 5,388.51
    # Two days of sick leave in 2025 (Mon 7, Tue 8 April) are not annual leave: nothing off the carry.
    june = june_of_a_2026_leaver(tmp_path, [("annual", date(2025, 3, 3), date(2025, 3, 6)),
                                            ("sick", date(2025, 4, 7), date(2025, 4, 8))])
    assert june["annual_leave_payout_days"] == 8
    assert june["annual_leave_wage"] == Decimal("7325.00")
    assert june["annual_leave_payout"] == Decimal("5388.51")


def test_a_year_with_every_day_taken_carries_nothing(tmp_path):
    # 2025 (carry_over): all 10 entitled days taken (Mon 3 … Fri 14 March, 10 working days) → 0
    # carried into 2026, not a day more. Leaves 2026-06-30 with 2 taken in 2026: 4 + 0 − 2 = 2 days;
    # 7,325 ÷ 21.75 × 200 % × 2 = 1,347.126… → 1,347.13
    june = june_of_a_2026_leaver(tmp_path, [("annual", date(2025, 3, 3), date(2025, 3, 14))])
    assert june["annual_leave_payout_days"] == 2
    assert june["annual_leave_payout"] == Decimal("1347.13")


def test_a_day_taken_on_the_last_day_of_the_year_is_taken_in_that_year(tmp_path):
    # 2025 (carry_over): one day taken on Wed 31 December 2025, a working day and the year's last
    # → 9 carried into 2026. Leaves 2026-06-30 with 2 taken in 2026: 4 + 9 − 2 = 11 days;
    # 7,325 ÷ 21.75 × 200 % × 11 = 7,409.195… → 7,409.20
    june = june_of_a_2026_leaver(tmp_path, [("annual", date(2025, 12, 31), date(2025, 12, 31))])
    assert june["annual_leave_payout_days"] == 11
    assert june["annual_leave_payout"] == Decimal("7409.20")


def test_a_year_with_no_leave_taken_carries_every_day(tmp_path):
    # 2025 (carry_over): no annual leave at all (no leave row for the person) → all 10 days carried
    # into 2026, not a day fewer. Leaves 2026-06-30 with 2 taken in 2026: 4 + 10 − 2 = 12 days;
    # 7,325 ÷ 21.75 × 200 % × 12 = 8,082.758… → 8,082.76
    june = june_of_a_2026_leaver(tmp_path, [])
    assert june["annual_leave_payout_days"] == 12
    assert june["annual_leave_payout"] == Decimal("8082.76")


def test_a_hire_late_in_the_year_carries_the_days_counted_from_the_hire_day_itself(tmp_path):
    # Hired 2025-11-25 (service since 2010: 10 days a year), nothing taken in 2025: 25 November …
    # 31 December is 37 days counting both ends, ⌊37 × 10 ÷ 365⌋ = 1 day carried (36 or 35 days would
    # give 0). Leaves 2026-06-30 with 2 taken in 2026: 4 + 1 − 2 = 3 days;
    # 7,325 ÷ 21.75 × 200 % × 3 = 2,020.689… → 2,020.69
    tables = carry_tables(tmp_path)
    person = employee("C3", "100200", "civilian", 3, "DESK", date(2025, 11, 25), leave=date(2026, 6, 30),
                      service_start=date(2010, 1, 1))
    slips, _ = run(tables, [person], "2026-06", "2026-06",
                   leave=[("C3", "annual", date(2026, 3, 3), date(2026, 3, 4))])
    june = slips[("C3", "2026-06")]
    assert june["annual_leave_payout_days"] == 3
    assert june["annual_leave_payout"] == Decimal("2020.69")


def test_carried_days_are_paid_at_the_next_year_end_when_the_unit_then_pays(tmp_path):
    # carry_over until 2025, pay from 2026-01-01: 2025 carries 10 − 4 = 6 into 2026; at December 2026
    # 10 + 6 − 2 = 14 days, 7,325 ÷ 21.75 × 200 % × 14 = 9,429.885… → 9,429.89
    tables = carry_tables(tmp_path, "100200,2026-01-01,pay,2,12,test: the unit pays from 2026\n")
    person = employee("C2", "100200", "civilian", 3, "DESK", date(2010, 1, 1))
    slips, _ = run(tables, [person], "2026-12", "2026-12",
                   leave=[("C2", "annual", date(2025, 3, 3), date(2025, 3, 6)),
                          ("C2", "annual", date(2026, 3, 3), date(2026, 3, 4))])
    assert slips[("C2", "2026-12")]["annual_leave_payout_days"] == 14
    assert slips[("C2", "2026-12")]["annual_leave_payout"] == Decimal("9429.89")


def test_carried_days_are_used_first_and_lapse_after_one_year(tmp_path):
    # carry_over also in 2024 (a second row). 2024: nothing taken → 10 carried into 2025. 2025: 2 taken
    # (Mon 3, Tue 4 November), both from the 10 carried (used first); the other 8 carried days lapse at
    # the end of 2025, and 2025's own 10 are carried into 2026. Leaves 2026-06-30 with none taken in
    # 2026: ⌊181 ÷ 365 × 10⌋ = 4, 4 + 10 = 14 days (not 4 + 18 if carried days never lapsed, nor 4 + 8
    # if a year's own days were used first).
    tables = carry_tables(tmp_path, "100200,2024-01-01,carry_over,2,12,test: carried over from 2024 too\n")
    person = employee("C3", "100200", "civilian", 3, "DESK", date(2010, 1, 1), leave=date(2026, 6, 30))
    slips, _ = run(tables, [person], "2026-06", "2026-06",
                   leave=[("C3", "annual", date(2025, 11, 3), date(2025, 11, 4))])
    assert slips[("C3", "2026-06")]["annual_leave_payout_days"] == 14


def test_an_import_beyond_the_entitlement_and_the_carried_days_is_refused(tmp_path):
    # 2025: 4 of 10 taken → 6 carried; 2026 may take 10 + 6 = 16 working days. 2026-03-02 … 03-24 is
    # 17 working days (Mon 2 March … Tue 24 March, no holiday): refused; … 03-23 (16) is accepted.
    import shutil
    from payroll.db import connect
    from payroll.errors import InputError
    from payroll.io.importer import import_files
    from conftest import policy_for
    import pytest
    tables = tmp_path / "shipped"
    shutil.copytree(SHIPPED_TABLES, tables)
    with open(tables / "annual_leave_policy.csv", "a", encoding="utf-8") as handle:
        handle.write("320600,2025-01-01,carry_over,2,12,test: the unit carries untaken leave over\n")
    (tmp_path / "emp.csv").write_text(
        "employee_id,name,region_code,unit,category,level,post,hire_date,leave_date,service_start,probation_end\n"
        "A1,甲,320600,所,duty,5,PATROL,2010-01-01,,2010-01-01,\n", encoding="utf-8")
    con = connect(":memory:")
    policy = policy_for(str(tables))
    import_files(con, policy, employees=tmp_path / "emp.csv")
    (tmp_path / "y2025.csv").write_text("employee_id,kind,start,end\nA1,annual,2025-03-03,2025-03-06\n",
                                        encoding="utf-8")
    import_files(con, policy, leave=tmp_path / "y2025.csv")
    (tmp_path / "over.csv").write_text("employee_id,kind,start,end\nA1,annual,2026-03-02,2026-03-24\n",
                                       encoding="utf-8")
    with pytest.raises(InputError) as caught:
        import_files(con, policy, leave=tmp_path / "over.csv")
    reasons = {(p.file, p.row, p.column): p.reason for p in caught.value.problems}
    assert ("annual leave beyond the balance: 17 working days in 2026, entitlement 10 + 6 carried from 2025"
            in reasons[("over.csv", 2, "end")])
    (tmp_path / "ok.csv").write_text("employee_id,kind,start,end\nA1,annual,2026-03-02,2026-03-23\n",
                                     encoding="utf-8")
    import_files(con, policy, leave=tmp_path / "ok.csv")
    assert con.execute("SELECT count(*) FROM leave").fetchall()[0][0] == 2


def test_a_unit_that_pays_its_untaken_leave_carries_none_beside_one_that_carries(tmp_path):
    # P1 in city 100100 (the national row: untaken leave paid at the year end, not carried) and C1 in
    # 100200 (carry_over from 2025), alike otherwise and with no 2025 leave: leaving 2026-06-30 with
    # 2 days taken in 2026, C1 is paid 4 + 10 carried − 2 = 12 days, P1 4 − 2 = 2
    people = [employee(eid, region, "civilian", 3, "DESK", date(2010, 1, 1), leave=date(2026, 6, 30))
              for eid, region in (("C1", "100200"), ("P1", "100100"))]
    slips, _ = run(carry_tables(tmp_path), people, "2026-06", "2026-06",
                   leave=[(eid, "annual", date(2026, 3, 3), date(2026, 3, 4)) for eid in ("C1", "P1")])
    days = {eid: slips[(eid, "2026-06")]["annual_leave_payout_days"] for eid in ("C1", "P1")}
    assert days == {"C1": 12, "P1": 2}
