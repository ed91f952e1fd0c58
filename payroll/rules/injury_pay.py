"""Work injury in the monthly payroll.

- 停工留薪期 (工伤保险条例 art. 33): the usual pay continues unchanged; the payslip is marked
  `injury_stoppage` for the months of the period (from the event month, `stoppage_months` long).
- After the period the disability grade is assessed and 原待遇 stops (art. 33): for grades 1–4
  (art. 35, allowance from the fund, outside this payroll) and grades 5–6 without arranged work
  (art. 36) the regular pay lines are not paid (`injury_regular_pay_stopped`, read by proration).
- Grades 5–6 without arranged work: the employer pays the monthly disability allowance, 70 / 60 %
  of 本人工资 (art. 64, payroll/benefits.py), topped up to the month's minimum wage, as its own pay
  line. It is a 工伤保险待遇 and exempt from individual income tax (财税〔2012〕40号 arts. 1–2, under
  个人所得税法 art. 4: "经国务院财政部门批准免税的所得"), so it is in gross pay but not in income_ytd.

The per-person figures come from the small temp table `injury_month_status`, built each month
from the events table; people without an injury event get false / 0 through the context's LEFT JOIN.
"""
from __future__ import annotations

from ..db import table_exists
from ..engine.rule import Rule

BASIS = "工伤保险条例 (2010) arts. 33, 36(二), 64"
TAX_BASIS = "财税〔2012〕40号 (工伤保险待遇免征个人所得税); 个人所得税法 art. 4; 国家税务总局公告2018年第61号 art. 6 (累计免税收入)"

EMPTY_STATUS = """
CREATE OR REPLACE TEMP TABLE injury_month_status (
    employee_id VARCHAR, injury_stoppage BOOLEAN, injury_regular_pay_stopped BOOLEAN,
    injury_allowance_share BIGINT)"""


def install_month_status(con, month) -> None:
    """Build injury_month_status for the month: who is in a stoppage period, whose regular pay has
    stopped, and the employer allowance share (before the minimum-wage top-up) in fen."""
    from ..benefits import NATIONAL_AT_MACRO, benefit_wages_sql
    from ..errors import PolicyError

    con.execute(EMPTY_STATUS)
    if not table_exists(con, "events") or not con.execute(
            "SELECT count(*) FROM events WHERE kind = 'injury'").fetchall()[0][0]:
        return
    con.execute(NATIONAL_AT_MACRO)
    start = f"DATE '{month.start}'"
    con.execute(f"""
    INSERT INTO injury_month_status
    WITH wages AS ({benefit_wages_sql(table_exists(con, "payslips"))}),
    injuries AS (
        SELECT v.*, w.benefit_wage, g.allowance_rate, g.allowance_payer,
               date_trunc('month', v.event_date) AS first_month,
               date_trunc('month', v.event_date) + to_months(v.stoppage_months) AS allowance_from
        FROM events v JOIN wages w USING (employee_id, event_date, kind)
        LEFT JOIN policy_injury_grades g ON g.disability_grade = v.disability_grade
        WHERE v.kind = 'injury'),
    status AS (
        SELECT employee_id, benefit_wage, allowance_payer,
               {start} >= first_month AND {start} < allowance_from AS in_stoppage,
               coalesce(allowance_rate, 0) > 0 AND {start} >= allowance_from
                   AND (allowance_payer <> 'employer' OR NOT work_arranged) AS allowance_due,
               CAST(allowance_rate * 1000000 AS BIGINT) AS allowance_ppm
        FROM injuries)
    SELECT employee_id, bool_or(in_stoppage), bool_or(allowance_due),
           coalesce(max(round_div(benefit_wage * allowance_ppm, 1000000))
                    FILTER (allowance_due AND allowance_payer = 'employer'), 0)
    FROM status GROUP BY employee_id""")
    # an allowance due without a 本人工资 would be a silent zero: refuse instead
    missing = con.execute(f"""
        SELECT v.employee_id FROM events v JOIN policy_injury_grades g USING (disability_grade)
        JOIN ({benefit_wages_sql(table_exists(con, "payslips"))}) w USING (employee_id, event_date, kind)
        WHERE g.allowance_payer = 'employer' AND NOT v.work_arranged AND w.benefit_wage IS NULL
          AND date_trunc('month', v.event_date) + to_months(v.stoppage_months) <= {start}""").fetchall()
    if missing:
        raise PolicyError(f"{month.label}: no 本人工资 for the disability allowance of "
                          f"{', '.join(m[0] for m in missing[:10])} (no payslips before the injury, no declared "
                          "contribution_base, or no average_wage row in force on the event date)")


RULES = [
    Rule(
        name="injury_disability_allowance",
        sql="CASE WHEN injury_regular_pay_stopped AND injury_allowance_share > 0"
            " THEN round_div(greatest(injury_allowance_share, minimum_wage) * paid_days_employed,"
            " paid_days_in_month) ELSE 0 END",
        label_zh="伤残津贴（单位支付）", label_en="Disability allowance (employer)",
        formula="max({injury_allowance_share}, {minimum_wage}) × {paid_days_employed} ÷ {paid_days_in_month}"
                " when {injury_regular_pay_stopped}",
        basis=BASIS + " (grades 5–6 without arranged work; topped up to the minimum wage)",
        reads=("minimum_wage_row",),
    ),
    Rule(
        name="tax_exempt_income", sql="injury_disability_allowance + maternity_allowance",
        label_zh="免税收入", label_en="Tax-exempt income",
        formula="{injury_disability_allowance} + {maternity_allowance}",
        basis=TAX_BASIS + "; 财税〔2008〕8号 art. 2 (生育津贴免征个人所得税; issue 14)",
    ),
]
