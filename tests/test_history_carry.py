"""The year to date is carried from last month's payslip (engine.context.history_sql); people with
no payslip last month are looked up in the older history. Either way every payslip must hold the
same figures a full aggregate over its history gives: that is what these tests check. income_ytd
leaves out tax-exempt income (the disability allowance); last year's gross includes it."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from conftest import database_copy, database_template, insert_roster

from payroll.engine.run import run_months

# every year-to-date figure of a payslip against the sum over the person's payslips of the year,
# and the previous-year figures against last year's payslips
AGGREGATES = """
SELECT p.employee_id, p.month,
       p.months_employed_ytd, count(*) FILTER (h.month LIKE left(p.month, 4) || '%'),
       p.income_ytd, sum(h.gross_pay - h.tax_exempt_income) FILTER (h.month LIKE left(p.month, 4) || '%'),
       p.contributions_ytd, sum(h.employee_contributions) FILTER (h.month LIKE left(p.month, 4) || '%'),
       p.special_deduction_ytd, sum(h.special_deduction) FILTER (h.month LIKE left(p.month, 4) || '%'),
       p.iit_ytd, sum(h.iit) FILTER (h.month LIKE left(p.month, 4) || '%'),
       p.prior_year_months, count(*) FILTER (h.month LIKE (CAST(left(p.month, 4) AS INT) - 1) || '%'),
       p.prior_year_gross, sum(h.gross_pay) FILTER (h.month LIKE (CAST(left(p.month, 4) AS INT) - 1) || '%'),
       p.first_full_month_gross,
       arg_min(h.gross_pay, h.month) FILTER (h.month LIKE left(p.month, 4) || '%' AND h.month < p.month
                                             AND h.paid_days_employed = h.paid_days_in_month)
FROM payslips p JOIN payslips h ON h.employee_id = p.employee_id AND h.month <= p.month
GROUP BY ALL ORDER BY 1, 2"""


def _check_against_history(con) -> int:
    rows = con.execute(AGGREGATES).fetchall()
    for row in rows:
        who, pairs = row[:2], row[2:]
        for stored, aggregated in zip(pairs[0::2], pairs[1::2]):
            if aggregated is None and stored in (0, None):
                continue            # no payslip last year: 0 months, no gross
            assert stored == aggregated, (who, pairs)
    return len(rows)


def test_carried_year_to_date_equals_the_history_over_a_year_end(con, policy):
    # H1, O1, Z1 all year; K1 hired 2025-01-13; N1 leaves 2025-02-20
    run_months(con, policy, "2024-11", "2025-04")
    assert _check_against_history(con) == 4 + 4 + 5 + 5 + 4 + 4   # K1 from 2025-01, N1 to 2025-02


def test_a_person_rehired_after_a_gap_keeps_the_year_to_date(con, policy):
    run_months(con, policy, "2025-01", "2025-03")           # N1 paid January and February only
    con.execute("UPDATE employees SET hire_date = DATE '2025-04-07', leave_date = NULL WHERE employee_id = 'N1'")
    run_months(con, policy, "2025-04")                      # no March payslip to carry from
    months, income, iit = con.execute(
        "SELECT months_employed_ytd, income_ytd, iit_ytd FROM payslips "
        "WHERE employee_id = 'N1' AND month = '2025-04'").fetchall()[0]
    gross, taxes = con.execute("SELECT sum(gross_pay), sum(iit) FROM payslips WHERE employee_id = 'N1'").fetchall()[0]
    assert (months, income, iit) == (3, gross, taxes)      # January + February + April
    _check_against_history(con)


@pytest.fixture(scope="module")
def year_2024(policy):
    """The template of ROSTER run from 2024-01 through 2025-01, with N1 leaving on 2024-10-31 (paid
    January–October 2024, not in January 2025) and H1 injured on 2024-03-12 (grade 5, no work
    arranged: the exempt disability allowance from 2024-05): the thirteen months both tests below
    start from, run once. Neither change reaches the other person."""
    def build(con):
        insert_roster(con)
        con.execute("UPDATE employees SET leave_date = DATE '2024-10-31' WHERE employee_id = 'N1'")
        con.execute("INSERT INTO events (employee_id, event_date, kind, disability_grade, stoppage_months, "
                    "work_arranged) VALUES ('H1', DATE '2024-03-12', 'injury', 5, 2, false)")
        run_months(con, policy, "2024-01", "2025-01")
    return database_template(build)


def test_a_person_back_after_missing_january_gets_last_years_figures(year_2024, policy):
    # N1 paid January–October 2024, not in January 2025, back from February 2025
    con = database_copy(year_2024)          # 2024-01 … 2025-01 run, N1 left on 2024-10-31
    con.execute("UPDATE employees SET hire_date = DATE '2025-02-03', leave_date = NULL WHERE employee_id = 'N1'")
    run_months(con, policy, "2025-02")
    source, wage, months, gross = con.execute(
        "SELECT contribution_base_source, contribution_wage, prior_year_months, prior_year_gross "
        "FROM payslips WHERE employee_id = 'N1' AND month = '2025-02'").fetchall()[0]
    paid_2024 = con.execute("SELECT count(*), sum(gross_pay) FROM payslips "
                            "WHERE employee_id = 'N1' AND month LIKE '2024-%'").fetchall()[0]
    assert (months, gross) == paid_2024 and months == 10
    # 社保 base from last year's average monthly wage, half-up to the fen
    assert source == "previous_year"
    assert wage == (gross / months).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    _check_against_history(con)


def test_an_injured_person_s_exempt_allowance_over_a_year_end(year_2024, policy):
    """H1 (grade 5, no declared base, no work arranged) gets the exempt disability allowance from
    2024-05: income_ytd leaves it out, prior_year_gross keeps it (research/test-audit.md F1)."""
    con = database_copy(year_2024)          # 2024-01 … 2025-01 run, H1 injured on 2024-03-12
    run_months(con, policy, "2025-02")
    exempt = con.execute("SELECT sum(tax_exempt_income) FROM payslips WHERE employee_id = 'H1' "
                         "AND month LIKE '2024-%'").fetchone()[0]
    assert exempt > 0
    _check_against_history(con)
