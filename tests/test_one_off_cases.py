"""Issue 20: the earlier-separate-bonus lookup of payroll/rules/one_off.py, worked by hand.

A second annual bonus taxed apart in one year is refused (国税发〔2005〕9号 art. 3), so the run
looks for a bonus taxed apart in an earlier month of the same year. Ordinary payslips earlier in
the year, or a bonus taxed apart last year, must not count. Tables and person: tests/test_year_end.py
(Hohhot's H1 on the shipped tables, without annual-leave payouts).
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from conftest import run_engine
from test_hand_computed import HOHHOT
from test_year_end import SHIPPED_TABLES, bonus

from payroll.errors import PayrollError


def test_ordinary_payslips_earlier_in_the_year_do_not_block_a_bonus_taxed_apart():
    # H1 paid an ordinary November 2025 (no bonus), then a 36,000 bonus in December asked to be
    # taxed apart: November is no earlier separate bonus, so December is taxed apart:
    # 36,000 ÷ 12 = 3,000, not above 3,000 → 3 %, quick deduction 0 → 1,080.00
    rows = run_engine(SHIPPED_TABLES, [HOHHOT], {}, "2025-11", "2025-12",
                      payments={("H1", "2025-12"): bonus("36000", "separate")})
    november = rows[("H1", "2025-11")]
    assert november["annual_bonus_separate"] == 0
    # no bonus, no year's tax by either method: both columns 0, not a default
    assert (november["annual_bonus_year_tax_separate"], november["annual_bonus_year_tax_merged"]) == (0, 0)
    december = rows[("H1", "2025-12")]
    assert december["annual_bonus_method"] == "separate"
    assert december["iit_annual_bonus"] == Decimal("1080.00")


def test_a_bonus_taxed_apart_last_year_does_not_block_this_years():
    # 10,000 taxed apart in December 2024 (10,000 ÷ 12 = 833.33 → 3 % → 300.00), then 36,000 taxed
    # apart in January 2025: a new year, one bonus taxed apart in it → 36,000 × 3 % = 1,080.00
    payments = {("H1", "2024-12"): bonus("10000", "separate"), ("H1", "2025-01"): bonus("36000", "separate")}
    rows = run_engine(SHIPPED_TABLES, [HOHHOT], {}, "2024-12", "2025-01", payments=payments)
    assert rows[("H1", "2024-12")]["iit_annual_bonus"] == Decimal("300.00")
    january = rows[("H1", "2025-01")]
    assert january["annual_bonus_method"] == "separate"
    assert january["iit_annual_bonus"] == Decimal("1080.00")


@pytest.mark.parametrize("january", ["10000", "1.00"])      # a bonus of one yuan is a bonus too
def test_a_bonus_taxed_apart_in_january_blocks_a_second_in_february(january):
    # January 2025 is in the year: a bonus taxed apart then, 20,000 asked to be taxed apart in
    # February is a second one in the year → refused (国税发〔2005〕9号 art. 3)
    payments = {("H1", "2025-01"): bonus(january, "separate"), ("H1", "2025-02"): bonus("20000", "separate")}
    with pytest.raises(PayrollError, match="second annual bonus taxed separately"):
        run_engine(SHIPPED_TABLES, [HOHHOT], {}, "2025-01", "2025-02", payments=payments)


def test_a_one_fen_bonus_is_taxed_apart_like_any_other():
    # The year's tax with the bonus taxed apart is the tax of the year's regular income (the bonus
    # left out) plus the bonus's own tax. The regular part cannot depend on the bonus's size: for a
    # bonus of 0.01 (its own tax 0.01 × 3 % → 0.00) it is the 36,000 bonus's figure less its
    # 1,080.00 (first test above); a rule skipping bonuses "too small to matter" would give 0.
    # H1 declares a base of 8,000 here: a first run's base would otherwise come from December's
    # gross, bonus included, and the two years' contributions would differ.
    declared = {**HOHHOT, "contribution_base": Decimal("8000")}
    one_fen = run_engine(SHIPPED_TABLES, [declared], {}, "2025-12", "2025-12",
                         payments={("H1", "2025-12"): bonus("0.01")})[("H1", "2025-12")]
    usual = run_engine(SHIPPED_TABLES, [declared], {}, "2025-12", "2025-12",
                       payments={("H1", "2025-12"): bonus("36000")})[("H1", "2025-12")]
    assert one_fen["annual_bonus_separate_tax"] == Decimal("0.00")
    assert usual["annual_bonus_separate_tax"] == Decimal("1080.00")
    assert one_fen["projected_taxable_year"] == usual["projected_taxable_year"] > 0
    assert one_fen["annual_bonus_year_tax_separate"] == usual["annual_bonus_year_tax_separate"] - Decimal("1080.00")
    assert one_fen["annual_bonus_year_tax_separate"] > 0
    # merged, the fen adds nothing to the year's tax either (0.01 × 10 % → 0.00): a tie, and with no
    # method asked a tie keeps the bonus apart; a merged figure of 0 would make merged look cheaper
    assert one_fen["annual_bonus_year_tax_merged"] == one_fen["annual_bonus_year_tax_separate"]
    assert one_fen["annual_bonus_method"] == "separate"


def test_arrears_paid_with_a_bonus_are_not_projected_as_regular_pay(tmp_path):
    # The choice of bonus tax method projects the rest of the year at this month's regular pay.
    # H1's raise of 300 a month back to January (closed January–June) is paid as 1,800.00 of
    # arrears in July together with a 36,000 bonus: July's regular pay is the raised pay of one
    # month, the same as August's whole gross (no attendance, no bonus, no arrears in August).
    from test_retro import CLOSED, _raised_tables, _roster_db

    from payroll.engine.closing import close_through
    from payroll.engine.run import run_months
    from payroll.policy import load_policy

    con = _roster_db()
    run_months(con, load_policy(SHIPPED_TABLES), CLOSED[0], CLOSED[-1])
    close_through(con, CLOSED[-1])
    con.execute("INSERT INTO payments (employee_id, month, line_no, kind, amount, tax_method) "
                "VALUES ('H1', '2025-07', 2, 'annual_bonus', 36000, NULL)")
    run_months(con, load_policy(_raised_tables(tmp_path)), "2025-07", "2025-08")
    july, august = con.execute(
        "SELECT arrears_pay, annual_bonus_total, recurring_income_month, gross_pay FROM payslips "
        "WHERE employee_id = 'H1' ORDER BY month").fetchall()[-2:]
    assert july[:2] == (Decimal("1800.00"), Decimal("36000.00"))
    assert august[:2] == (Decimal("0.00"), Decimal("0.00"))
    assert july[2] == august[2] == august[3]


def test_a_bonus_whose_net_equals_the_boundary_s_is_not_in_the_cliff():
    # 36,000 taxed apart nets 36,000 − 1,080 = 34,920 (the boundary of the 10 % row). Above it,
    # B − (B × 10 % − 210) < 34,920 until 0.9 B + 210 = 34,920: B = 38,566.67 nets
    # 38,566.67 − round(3,856.667 − 210 = 3,646.667 → 3,646.67) = 34,920.00, exactly the boundary:
    # not less, so not in the cliff; one fen less (38,566.66, tax 3,646.67) nets 34,919.99: in it.
    def december_with(amount):
        return run_engine(SHIPPED_TABLES, [HOHHOT], {}, "2025-12", "2025-12",
                          payments={("H1", "2025-12"): bonus(amount, "separate")})[("H1", "2025-12")]
    at, below = december_with("38566.67"), december_with("38566.66")
    assert (at["annual_bonus_separate_tax"], at["annual_bonus_boundary_net"]) == (Decimal("3646.67"), Decimal("34920.00"))
    assert at["annual_bonus_in_cliff"] is False
    assert below["annual_bonus_separate_tax"] == Decimal("3646.67")
    assert below["annual_bonus_in_cliff"] is True


def test_the_cliff_above_the_144000_boundary_reads_the_row_below_s_quick_deduction():
    # 144,000 ÷ 12 = 12,000 is the 20 % row's lower boundary: taxed by the row below (10 %, quick
    # deduction 210) it nets 144,000 − (14,400 − 210) = 129,810.00. 160,000 taxed apart:
    # 32,000 − 1,410 = 30,590.00, net 129,410.00: less than at the boundary, so in the cliff
    row = run_engine(SHIPPED_TABLES, [HOHHOT], {}, "2025-12", "2025-12",
                     payments={("H1", "2025-12"): bonus("160000", "separate")})[("H1", "2025-12")]
    assert (row["annual_bonus_separate_tax"], row["annual_bonus_boundary_net"]) == \
        (Decimal("30590.00"), Decimal("129810.00"))
    assert row["annual_bonus_in_cliff"] is True


def test_severance_and_other_payments_with_a_bonus_in_one_regular_run():
    # H1 leaves on 31 December and is paid, with the December payslip, a 36,000 bonus, 5,000 of
    # other one-off pay and a severance (declared base 8,000: contributions do not move).
    # - Other payments are taxable income of the month, so the year's projected income rises by
    #   5,000, but they are not regular pay: the projection's regular month stays 8,730.
    # - Severance is taxed apart (财税〔2018〕164号 art. 5(1)): not in the year's income, and it
    #   reaches net pay less its own tax: 400,000 is above 3 × Hohhot's average wage, so it is taxed.
    leaver = {**HOHHOT, "leave_date": date(2025, 12, 31), "contribution_base": Decimal("8000")}
    other = [{"kind": "other", "amount": Decimal("5000"), "tax_method": ""}]
    severance = [{"kind": "severance", "amount": Decimal("400000"), "tax_method": ""}]

    def december_with(payments):
        return run_engine(SHIPPED_TABLES, [leaver], {}, "2025-12", "2025-12",
                          payments={("H1", "2025-12"): payments})[("H1", "2025-12")]
    alone, with_other, with_both = (december_with(bonus("36000")), december_with(bonus("36000") + other),
                                    december_with(bonus("36000") + other + severance))
    assert alone["recurring_income_month"] == with_other["recurring_income_month"] \
        == with_both["recurring_income_month"] == Decimal("8730.00")
    assert with_other["projected_taxable_year"] == alone["projected_taxable_year"] + 5000
    assert with_both["projected_taxable_year"] == with_other["projected_taxable_year"]
    assert with_both["iit_severance"] > 0
    assert with_both["net_pay"] - with_other["net_pay"] == Decimal("400000") - with_both["iit_severance"]


def test_an_attendance_bonus_is_not_regular_pay_in_the_projection():
    # December with a 5,000 attendance bonus (the attendance file's bonus) and a 36,000 annual
    # bonus: the projection's regular month is still H1's 8,730 (as with no attendance bonus above)
    row = run_engine(SHIPPED_TABLES, [HOHHOT], {("H1", "2025-12"): {"bonus": Decimal(5000)}}, "2025-12", "2025-12",
                     payments={("H1", "2025-12"): bonus("36000")})[("H1", "2025-12")]
    assert (row["bonus"], row["recurring_income_month"]) == (Decimal("5000.00"), Decimal("8730.00"))


def test_the_projection_is_the_year_so_far_plus_the_months_left_at_this_month_s_taxable_pay():
    # July: H1, with a special deduction of 1,000 a month, on maternity leave from 14 July (its
    # allowance is tax-exempt, 财税〔2008〕8号) and paid a 36,000 bonus taxed apart. The choice of
    # method projects the year: the taxable income so far, as the withholding rule counts it
    # (income_tax.py), plus the 5 months left at this month's regular pay less the exempt allowance,
    # the 5,000 basic deduction, the contributions and the special deduction
    from payroll.db import connect
    con = connect(":memory:")
    con.execute("INSERT INTO leave VALUES ('H1', 'maternity', DATE '2025-07-14', DATE '2025-11-30', NULL)")
    row = run_engine(SHIPPED_TABLES, [dict(HOHHOT, special_deduction=Decimal(1000))], {}, "2025-07", "2025-07",
                     con=con, payments={("H1", "2025-07"): bonus("36000", "separate")})[("H1", "2025-07")]
    assert row["tax_exempt_income"] > 0 and row["annual_bonus_method"] == "separate"
    assert row["months_left_in_year"] == 5
    assert row["recurring_income_month"] == row["gross_pay"] - row["tax_exempt_income"] - Decimal("36000")
    so_far = row["income_ytd"] - row["basic_deduction_ytd"] - row["contributions_ytd"] - row["special_deduction_ytd"]
    each_month_left = row["recurring_income_month"] - Decimal(5000) - row["employee_contributions"] - Decimal(1000)
    assert row["projected_taxable_year"] == so_far + 5 * each_month_left
