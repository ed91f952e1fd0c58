"""Issue 13 worked by hand on the SHIPPED tables: the year-end bonus taxed apart or merged,
severance, deductions in their legal order with their limits, and the balance an employee owes.

Tables read (tables/):
- iit_bonus_brackets.csv (按月换算后的综合所得税率表, 财税〔2018〕164号 附件): rows above 0 / 3,000 /
  12,000 … at 3 % / 10 % / 20 % with quick deductions 0 / 210 / 1,410; the bonus ÷ 12 picks the row.
- iit_brackets.csv (the annual table): 0 3 %; 36,000 10 % − 2,520; 144,000 20 % − 16,920.
- national_parameters.csv: severance_exempt_average_wage_multiple 3; deduction_limited_share 0.2.
The person is Hohhot's H1 of tests/test_hand_computed.py (May 2025 worked there: gross 11,815.81,
contributions 2,658.56, tax 94.72; minimum wage 2,270, minimum_wage.csv 150100,2024-12-01).
"""
from __future__ import annotations

import atexit
import shutil
from datetime import date
from decimal import Decimal

import pytest
import tempfile
from pathlib import Path

from conftest import SHIPPED_TABLES as _SHIPPED
from conftest import run_engine
from test_hand_computed import HOHHOT, HOHHOT_ATT, PROBATION, PROBATION_ATT, PROBATION_ROW, person

from payroll.errors import PayrollError


def _tables_without_leave_payout() -> Path:
    """The shipped tables with no annual-leave entitlement: these hand cases are about bonuses,
    severance and deductions, worked before untaken annual leave was paid (issue 14 has its own
    cases); everyone here would otherwise be owed untaken days in December and on leaving."""
    made = tempfile.mkdtemp(prefix="year-end-tables-")
    atexit.register(shutil.rmtree, made, True)          # removed when the process ends
    folder = Path(made) / "tables"
    shutil.copytree(_SHIPPED, folder)
    path = folder / "annual_leave_entitlement.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    days = header.index("days")
    import csv, io
    rows = list(csv.reader(io.StringIO("\n".join(lines))))
    for row in rows[1:]:
        row[days] = "0"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")
    return folder


SHIPPED_TABLES = _tables_without_leave_payout()


# Hohhot's monthly average wage 10,000 from 2025-12-01 (test only): severance exempt 3 × 12 × 10,000
HOHHOT_AVERAGE_WAGE_TEST_ROW = '150100,2025-12-01,10000,test,"test only (tests/test_year_end.py)"'


def tables_with_row(tmp_path: Path, file: str, line: str) -> Path:
    """A copy of these cases' tables with one more row (a test-only figure) in `file`."""
    tables = tmp_path / "tables"
    shutil.copytree(SHIPPED_TABLES, tables)
    with open(tables / file, "a", encoding="utf-8") as handle:
        handle.write(line + "\n")
    return tables


def bonus(amount, method=""):
    return [{"kind": "annual_bonus", "amount": Decimal(amount), "tax_method": method}]


def december(payments, employee=HOHHOT, tables=SHIPPED_TABLES):
    rows = run_engine(tables, [employee], {}, "2025-12", "2025-12",
                      payments={(employee["employee_id"], "2025-12"): payments})
    return rows[(employee["employee_id"], "2025-12")]


def test_bonus_36000_taxed_apart():
    # 36,000 ÷ 12 = 3,000, not above 3,000 → row 0: 3 %, quick deduction 0 → 36,000 × 3 % = 1,080.00.
    # December run twice: the second run replaces the first, whose bonus is not an earlier one
    from conftest import policy_for
    from payroll.db import connect
    from payroll.engine.run import run_months
    con = connect(":memory:")
    first = run_engine(SHIPPED_TABLES, [HOHHOT], {}, "2025-12", "2025-12", con=con,
                       payments={("H1", "2025-12"): bonus("36000", "separate")})[("H1", "2025-12")]
    run_months(con, policy_for(str(SHIPPED_TABLES)), "2025-12")
    cursor = con.execute("SELECT * FROM payslips WHERE employee_id = 'H1' AND month = '2025-12'")
    row = dict(zip([d[0] for d in cursor.description], cursor.fetchone()))
    assert {k: v for k, v in row.items() if k != "run_id"} == {k: v for k, v in first.items() if k != "run_id"}
    assert row["iit_annual_bonus"] == Decimal("1080.00")
    assert row["annual_bonus_method"] == "separate" and not row["annual_bonus_in_cliff"]
    # taxed apart: not in the cumulative income (gross 8,730 + 36,000 in gross, 8,730 in income_ytd)
    assert row["gross_pay"] - row["income_ytd"] == Decimal("36000.00")


def test_bonus_36001_falls_off_the_cliff():
    # 36,001 ÷ 12 = 3,000.08 > 3,000 → row 3,000: 10 %, quick deduction 210 → 3,600.10 − 210 = 3,390.10;
    # net 32,610.90 is less than 36,000 − 1,080 = 34,920 at the boundary: warned
    row = december(bonus("36001", "separate"))
    assert row["iit_annual_bonus"] == Decimal("3390.10")
    assert row["annual_bonus_in_cliff"]


def test_bonus_60000_taxed_apart():
    # 60,000 ÷ 12 = 5,000 → 10 % − 210 → 6,000 − 210 = 5,790.00; net 54,210 > 34,920: no cliff
    row = december(bonus("60000", "separate"))
    assert row["iit_annual_bonus"] == Decimal("5790.00")
    assert not row["annual_bonus_in_cliff"]


def test_merged_is_cheaper_and_chosen_when_no_method_is_given():
    # special deductions of 50,000 a month: December's regular pay (8,730) − 5,000 − contributions
    # − 50,000 is far below 0, so the year leaves more than 36,000 of deductions unused:
    # merged = tax of max(0, projected + 36,000) = 0; separate = 0 + 1,080 → merged is chosen
    rich_in_deductions = dict(HOHHOT, special_deduction=Decimal(50000))
    row = december(bonus("36000"), employee=rich_in_deductions)
    assert row["annual_bonus_method"] == "merged"
    assert row["annual_bonus_year_tax_merged"] == Decimal("0.00")
    assert row["annual_bonus_year_tax_separate"] == Decimal("1080.00")
    assert row["iit_annual_bonus"] == Decimal("0.00") and row["iit"] == Decimal("0.00")
    # asked for separate, it is taxed apart even though it costs more
    forced = december(bonus("36000", "separate"), employee=rich_in_deductions)
    assert forced["annual_bonus_method"] == "separate" and forced["iit_annual_bonus"] == Decimal("1080.00")


def test_empty_method_chooses_separate_when_cheaper():
    # December 2025 alone, with a 50,000 attendance bonus: gross 8,730 + 50,000 + 60,000 = 118,730;
    # contributions on that month's gross at the ceilings (social_insurance 150000/150100
    # 2025-01-01 24,537; housing_fund 150100 30,498): 1,962.96 + 490.74 + 122.69 + 3,659.76 = 6,236.15.
    # Year without the bonus: 118,730 − 60,000 − 5,000 − 6,236.15 − 1,000 = 46,493.85.
    # apart: 46,493.85 × 10 % − 2,520 = 2,129.39, + 5,790 (60,000 ÷ 12 = 5,000 → 10 % − 210) = 7,919.39
    # merged: 106,493.85 × 10 % − 2,520 = 8,129.39 → apart is cheaper by 210
    rows = run_engine(SHIPPED_TABLES, [HOHHOT], {("H1", "2025-12"): {"bonus": Decimal(50000)}}, "2025-12",
                      "2025-12", payments={("H1", "2025-12"): bonus("60000")})
    row = rows[("H1", "2025-12")]
    assert row["projected_taxable_year"] == Decimal("46493.85")
    assert row["annual_bonus_year_tax_separate"] == Decimal("7919.39")
    assert row["annual_bonus_year_tax_merged"] == Decimal("8129.39")
    assert row["annual_bonus_method"] == "separate"
    assert row["iit_annual_bonus"] == Decimal("5790.00")


def test_once_separate_taxation_has_ended_the_bonus_is_merged(tmp_path):
    # national_parameters.csv ends the separate method on 2028-01-01 (公告2023年第30号); a test row
    # ends it on 2025-12-01 instead, so December's 60,000 with a 50,000 attendance bonus (210.00
    # cheaper apart, above) is merged: the year's tax merged, 8,129.39, nothing taxed apart
    tables = tables_with_row(tmp_path, "national_parameters.csv",
                             'annual_bonus_separate_allowed,2025-12-01,0,"test only (tests/test_year_end.py)",sample,')
    row = run_engine(tables, [HOHHOT], {("H1", "2025-12"): {"bonus": Decimal(50000)}}, "2025-12", "2025-12",
                     payments={("H1", "2025-12"): bonus("60000")})[("H1", "2025-12")]
    assert row["annual_bonus_year_tax_merged"] - row["annual_bonus_year_tax_separate"] == Decimal("210.00")
    assert (row["annual_bonus_method"], row["iit_annual_bonus"], row["annual_bonus_separate"]) == \
        ("merged", Decimal("0.00"), Decimal("0.00"))
    assert row["iit"] == Decimal("8129.39")          # the month is the year: its tax is the merged year's
    assert row["income_ytd"] == row["gross_pay"]


def test_a_second_separate_bonus_in_the_year_is_refused():
    payments = {("H1", "2025-11"): bonus("10000", "separate"), ("H1", "2025-12"): bonus("20000", "separate")}
    with pytest.raises(PayrollError, match="second annual bonus taxed separately"):
        run_engine(SHIPPED_TABLES, [HOHHOT], {}, "2025-11", "2025-12", payments=payments)
    # with no method the second one is merged instead
    payments[("H1", "2025-12")] = bonus("20000")
    rows = run_engine(SHIPPED_TABLES, [HOHHOT], {}, "2025-11", "2025-12", payments=payments)
    assert rows[("H1", "2025-11")]["annual_bonus_method"] == "separate"
    assert rows[("H1", "2025-12")]["annual_bonus_method"] == "merged"
    assert rows[("H1", "2025-12")]["iit_annual_bonus"] == Decimal("0.00")


def test_severance_exempt_up_to_three_average_wages(tmp_path):
    # a copy of the tables with Hohhot's average wage 10,000 a month from 2025-12-01 (test only):
    # exempt 3 × 12 × 10,000 = 360,000; severance 460,000 → 100,000 taxed with the annual table:
    # 100,000 × 10 % − 2,520 = 7,480.00 (row 36,000); neither part enters the cumulative income
    tables = tables_with_row(tmp_path, "average_wage.csv", HOHHOT_AVERAGE_WAGE_TEST_ROW)
    row = december([{"kind": "severance", "amount": Decimal("460000")}], tables=tables)
    assert row["severance_exempt"] == Decimal("360000.00")
    assert row["severance_taxable"] == Decimal("100000.00")
    assert row["iit_severance"] == Decimal("7480.00")
    assert row["gross_pay"] - row["income_ytd"] == Decimal("460000.00")


def test_a_court_order_takes_what_is_left_after_the_bonus_and_severance_taxes(tmp_path):
    # art. 15: the tax withheld comes first, the bonus's and the severance's included. H1's
    # December bonus of 36,000 taxed apart (1,080.00, above) and H2's severance of 460,000 (7,480.00,
    # above, with the same test average wage): a court order larger than the pay takes exactly the
    # pay after all the taxes and contributions, and net pay is 0
    tables = tables_with_row(tmp_path, "average_wage.csv", HOHHOT_AVERAGE_WAGE_TEST_ROW)
    court = {"deduction": Decimal(1_000_000), "deduction_kind": "court"}
    h2 = dict(HOHHOT, employee_id="H2")
    rows = run_engine(tables, [HOHHOT, h2], {("H1", "2025-12"): court, ("H2", "2025-12"): court},
                      "2025-12", "2025-12", payments={
                          ("H1", "2025-12"): bonus("36000", "separate"),
                          ("H2", "2025-12"): [{"kind": "severance", "amount": Decimal("460000")}]})
    h1_row, h2_row = rows[("H1", "2025-12")], rows[("H2", "2025-12")]
    assert (h1_row["iit_annual_bonus"], h2_row["iit_severance"]) == (Decimal("1080.00"), Decimal("7480.00"))
    for row in (h1_row, h2_row):
        taxes = row["iit"] + row["iit_annual_bonus"] + row["iit_severance"]
        assert row["tax_withheld"] == taxes
        left = row["gross_pay"] - taxes - row["employee_contributions"] - row["medical_levy_employee"]
        assert (row["court_deduction"], row["net_pay"], row["balance_owed"]) == (left, Decimal("0.00"), Decimal("0.00"))


def test_a_bonus_with_no_bonus_table_in_force_is_refused(tmp_path):
    # the monthly-converted table dated from 2026 only: a December 2025 bonus, even of one fen,
    # has no rates to be taxed apart with, and the run names the table and the month
    from payroll.errors import PolicyError
    tables = tmp_path / "tables"
    shutil.copytree(SHIPPED_TABLES, tables)
    path = tables / "iit_bonus_brackets.csv"
    path.write_text(path.read_text(encoding="utf-8").replace("\n2019-01-01,", "\n2026-01-01,"), encoding="utf-8")
    with pytest.raises(PolicyError, match="iit_bonus_brackets: no monthly-converted table with a row from 0 in "
                                          "force in 2025-12"):
        december(bonus("0.01"), tables=tables)
    # without a bonus (another one-off payment only) the month runs, and its register shows no bonus
    # rate, quick deduction nor tax
    row = december([{"kind": "other", "amount": Decimal("100"), "tax_method": ""}], tables=tables)
    assert (row["annual_bonus_total"], row["annual_bonus_rate"], row["annual_bonus_quick_deduction"],
            row["annual_bonus_separate_tax"], row["iit_annual_bonus"]) == (0, 0, 0, 0, 0)


def may(employee, att, first="2025-05", last="2025-05", tables=SHIPPED_TABLES):
    return run_engine(tables, [employee], {(employee["employee_id"], "2025-05"): att}, first, last)


def test_damages_capped_at_20_percent_and_carried():
    # May: gross 11,815.81; 20 % = 2,363.162 → 2,363.16. After tax, contributions and the yearly
    # 大额 levy of 50 (medical_levies.csv 150100; May is H1's first payslip of the year) 11,815.81 −
    # 2,658.56 − 94.72 − 50 = 9,012.53, less the minimum wage 2,270 = 6,742.53: the 20 % binds.
    rows = may(HOHHOT, dict(HOHHOT_ATT, deduction=Decimal(10000), deduction_kind="damages"), last="2025-06")
    row = rows[("H1", "2025-05")]
    assert row["deduction"] == Decimal("2363.16")
    assert row["net_pay"] == Decimal("6649.37")          # 9,012.53 − 2,363.16
    assert row["balance_owed"] == Decimal("7636.84")     # 10,000 − 2,363.16 carried
    # June (no attendance): gross 6,830 + 350 + 1,150 + 400 = 8,730; 20 % = 1,746.00. Contributions as
    # May (base = May, the first whole month) 2,658.56; tax: (11,815.81 + 8,730) − 10,000 − 5,317.12
    # − 2,000 = 3,228.69 × 3 % = 96.86 − 94.72 = 2.14; 8,730 − 2,658.56 − 2.14 = 6,069.30, less
    # 2,270 = 3,799.30 > 1,746: 1,746.00 recovered, 5,890.84 still owed
    june = rows[("H1", "2025-06")]
    assert june["balance_recovery"] == Decimal("1746.00")
    assert june["net_pay"] == Decimal("4323.30")          # 6,069.30 − 1,746.00
    assert june["balance_owed"] == Decimal("5890.84")


def test_new_damages_and_the_balance_owed_share_one_20_percent():
    # May as above leaves 7,636.84 owed; June (room 1,746.00, as above) also asks 1,000 of new
    # damages: the new deduction is taken first, the balance gets the 746.00 of room left
    june_att = {"deduction": Decimal(1000), "deduction_kind": "damages"}     # nothing else in June
    rows = run_engine(SHIPPED_TABLES, [HOHHOT], {
        ("H1", "2025-05"): dict(HOHHOT_ATT, deduction=Decimal(10000), deduction_kind="damages"),
        ("H1", "2025-06"): june_att}, "2025-05", "2025-06")
    june = rows[("H1", "2025-06")]
    assert (june["limited_deduction_room"], june["limited_deduction"], june["balance_recovery"]) == \
        (Decimal("1746.00"), Decimal("1000.00"), Decimal("746.00"))
    assert june["net_pay"] == Decimal("4323.30")          # 6,069.30 − 1,000.00 − 746.00
    assert june["balance_owed"] == Decimal("6890.84")     # 7,636.84 − 746.00


def test_the_balance_is_recovered_only_from_what_a_court_or_other_deduction_leaves():
    # both owe 7,636.84 after May (above). June: 6,069.30 after tax and contributions; H1 has a
    # court order and H2 another deduction of 3,000 each, taken whole; the room left for the
    # balance is min(1,746.00, 6,069.30 − 3,000 − 2,270 minimum wage) = 799.30, so June's net is
    # exactly the minimum wage
    h2 = dict(HOHHOT, employee_id="H2")
    may_att = dict(HOHHOT_ATT, deduction=Decimal(10000), deduction_kind="damages")
    rows = run_engine(SHIPPED_TABLES, [HOHHOT, h2], {
        ("H1", "2025-05"): may_att, ("H2", "2025-05"): may_att,
        ("H1", "2025-06"): {"deduction": Decimal(3000), "deduction_kind": "court"},
        ("H2", "2025-06"): {"deduction": Decimal(3000), "deduction_kind": "other"}}, "2025-05", "2025-06")
    for person_id in ("H1", "H2"):
        june = rows[(person_id, "2025-06")]
        assert (june["deduction"], june["limited_deduction_room"], june["balance_recovery"]) == \
            (Decimal("3000.00"), Decimal("799.30"), Decimal("799.30")), person_id
        assert june["net_pay"] == Decimal("2270.00")
        assert june["balance_owed"] == Decimal("6837.54")      # 7,636.84 − 799.30


def test_a_month_with_no_paid_day_and_the_contributions_above_the_pay_takes_no_deduction():
    # H1 hired on Saturday 29 November 2025: no paid day employed in November, so the prorated
    # minimum wage is 0; an attendance bonus of 100 is the whole gross, the month's contributions
    # (1,885.50) exceed it, and nothing is left for 50 of damages, not even a fen: net 0, and the
    # 1,835.50 shortfall plus the 50 untaken are owed
    hired = dict(HOHHOT, hire_date=date(2025, 11, 29))
    att = {"bonus": Decimal(100), "deduction": Decimal(50), "deduction_kind": "damages"}
    row = run_engine(SHIPPED_TABLES, [hired], {("H1", "2025-11"): att}, "2025-11", "2025-11")[("H1", "2025-11")]
    assert (row["paid_days_employed"], row["minimum_wage_prorated"], row["gross_pay"]) == \
        (0, Decimal("0.00"), Decimal("100.00"))
    assert row["pay_after_contributions"] == Decimal("-1835.50")
    assert (row["limited_deduction_room"], row["deduction"], row["net_pay"]) == (0, 0, 0)
    assert row["balance_owed"] == Decimal("1885.50")


def test_damages_never_take_pay_below_the_minimum_wage(tmp_path):
    # Kunming K8 (tests/test_hand_computed.py): after tax and contributions 2,486.90 − 747.20 =
    # 1,739.70, below the prorated minimum wage 1,879.66: nothing may be deducted for damages
    tables = tables_with_row(tmp_path, "pay_scale.csv", PROBATION_ROW)
    rows = run_engine(tables, [PROBATION], {("K8", "2025-05"): dict(PROBATION_ATT, deduction=Decimal(500),
                                                                     deduction_kind="damages")},
                      "2025-05", "2025-05")
    row = rows[("K8", "2025-05")]
    assert row["deduction"] == Decimal("0.00")
    assert row["net_pay"] == Decimal("1739.70")
    assert row["balance_owed"] == Decimal("500.00")


def test_court_order_comes_before_other_deductions_and_is_not_carried():
    # 9,012.53 after tax, contributions and the 50 levy (May above): a court order of 10,000 takes all
    # of it; net 0, and the 987.47 it could not take is not a debt to the employer
    row = may(HOHHOT, dict(HOHHOT_ATT, deduction=Decimal(10000), deduction_kind="court"))[("H1", "2025-05")]
    assert row["deduction"] == Decimal("9012.53")
    assert row["net_pay"] == Decimal("0.00")
    assert row["balance_owed"] == Decimal("0.00")


def test_contributions_above_the_pay_leave_net_zero_and_a_balance():
    # a leaver on Tue 2025-06-03: June 2025 has 20 paid days (21 weekdays, less Mon 6/2, the
    # Dragon Boat 补休 rest day), employed 1 of them (6/1, 6/2 are rest days) → 8,730 ÷ 20 = 436.50;
    # contributions on May's base (its first whole month) 2,658.56; tax: the year's taxable is below
    # 0, nothing more due → net 0 and 2,658.56 − 436.50 = 2,222.06 owed
    leaver = dict(HOHHOT, leave_date=date(2025, 6, 3))
    rows = may(leaver, dict(HOHHOT_ATT), last="2025-06")
    june = rows[("H1", "2025-06")]
    assert june["paid_days_employed"] == 1 and june["paid_days_in_month"] == 20
    assert june["gross_pay"] == Decimal("436.50")
    assert june["net_pay"] == Decimal("0.00")
    assert june["shortfall_carried"] == Decimal("2222.06")
    assert june["balance_owed"] == Decimal("2222.06")


def test_recovery_kind_shares_the_20_percent_with_the_balance():
    person_ = person("R1", "150100", "duty", 6, "PATROL", date(2018, 5, 1), special=1000)
    att = dict(HOHHOT_ATT, deduction=Decimal(1000), deduction_kind="recovery")
    row = run_engine(SHIPPED_TABLES, [person_], {("R1", "2025-05"): att}, "2025-05", "2025-05")[("R1", "2025-05")]
    # 1,000 ≤ 2,363.16 (20 %): taken whole
    assert row["deduction"] == Decimal("1000.00") and row["balance_owed"] == Decimal("0.00")


def test_a_deduction_in_a_month_with_nothing_left_is_carried_whole():
    # the June leaver above, with an ordinary deduction of 500 (kind other): pay after tax and
    # contributions is 436.50 − 2,658.56 < 0, so nothing can be taken (not even a fen); the 500 joins
    # the 2,222.06 shortfall as the balance owed: 2,722.06
    leaver = dict(HOHHOT, leave_date=date(2025, 6, 3))
    june_att = {"deduction": Decimal(500), "deduction_kind": "other"}     # nothing else in June
    rows = run_engine(SHIPPED_TABLES, [leaver], {("H1", "2025-05"): dict(HOHHOT_ATT), ("H1", "2025-06"): june_att},
                      "2025-05", "2025-06")
    june = rows[("H1", "2025-06")]
    assert june["deduction"] == Decimal("0.00") and june["net_pay"] == Decimal("0.00")
    assert june["balance_owed"] == Decimal("2722.06")
