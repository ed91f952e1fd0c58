"""Performance pay by the annual appraisal result (考核结果与薪酬挂钩).

内蒙古条例 art. 33 (考核结果作为层级升降、奖惩、薪酬调整的依据); 云南条例 art. 28 (考核结果…与其薪酬
挂钩); 杭州规定 art. 15; 南通实施办法 art. 11. The `performance_pay` table turns the result of the
last completed appraisal year (year − 1) into

- a monthly performance line (月度绩效, `paid = monthly`): an amount or a multiple of the month's grade
  pay, prorated like the other monthly amounts, part of pay for normal hours; and
- an annual appraisal bonus (年度考核奖, `paid = annual`): a one-off line in the month `pay_month` of
  the year after the appraisal, paid as that month's 全年一次性奖金 (财税〔2018〕164号 art. 1(一); the
  tax rules are rules/one_off.py's): added to any annual_bonus imported for the month
  (`annual_bonus_total`) and taxed apart or merged by the method asked, the row's `tax_method`
  (separate | merged | empty = the cheaper for the year) unless an imported bonus of the same month
  states its own. Separate taxation is once a year (国税发〔2005〕9号 art. 3): after a bonus taxed
  apart earlier in the year the appraisal bonus is merged, as an imported bonus with no method is.

The row chosen for a person is the most specific in force on the first day of the month: the
person's region before its parents, then a row for the level before `all`, then one for the
category before `all`, then the latest effective_from. People without a result get no line.
"""
from __future__ import annotations

from ..db import table_exists
from ..engine.rule import ContextColumn, Rule

BASIS = "performance_pay table (考核结果与薪酬挂钩)"   # + the region's own article: rules/citations.py
BONUS_TAX_BASIS = "财税〔2018〕164号 art. 1(一) (paid as the month's 全年一次性奖金: rules/one_off.py)"

CONTEXT = [
    ContextColumn("appraisal_year", "int", "考核年度", "Appraisal year applied", "assessments"),
    ContextColumn("appraisal_result", "text", "考核等次", "Appraisal result", "assessments"),
    ContextColumn("performance_amount", "fen", "月度绩效标准（金额）", "Monthly performance amount",
                  "performance_pay", ("performance_pay_row",), stored=False),
    ContextColumn("performance_multiple", "ppm", "月度绩效系数（×层级工资）", "Monthly performance multiple",
                  "performance_pay", ("performance_pay_row",), stored=False),
    ContextColumn("performance_pay_row", "int", "绩效表行（月度）", "performance_pay row (monthly)",
                  "performance_pay"),
    ContextColumn("appraisal_bonus_amount", "fen", "年度考核奖标准（金额）", "Appraisal bonus amount",
                  "performance_pay", ("appraisal_bonus_row",), stored=False),
    ContextColumn("appraisal_bonus_multiple", "ppm", "年度考核奖系数（×层级工资）", "Appraisal bonus multiple",
                  "performance_pay", ("appraisal_bonus_row",), stored=False),
    ContextColumn("appraisal_bonus_row", "int", "绩效表行（年度）", "performance_pay row (annual)",
                  "performance_pay"),
    ContextColumn("appraisal_bonus_method_requested", "text", "年度考核奖计税方式（表）",
                  "Appraisal bonus tax method in the table (separate, merged, empty = the cheaper)",
                  "performance_pay", ("appraisal_bonus_row",)),
]

RULES = [
    Rule(
        name="performance_pay_full",
        sql="performance_amount + round_div(base_pay_full * performance_multiple, 1000000)",
        label_zh="月度绩效（整月）", label_en="Monthly performance pay, full month",
        formula="{performance_amount} + {base_pay_full} × {performance_multiple} ({appraisal_result}, {appraisal_year})",
        basis=BASIS, reads=("performance_pay_row",), regional_basis="appraisal_pay",
    ),
    Rule(
        name="performance_pay",
        sql="round_div(performance_pay_full * proration_numerator, proration_denominator)",
        label_zh="月度绩效", label_en="Monthly performance pay",
        formula="{performance_pay_full} × {proration_numerator} ÷ {proration_denominator}",
        basis=BASIS, reads=("performance_pay_row",), regional_basis="appraisal_pay",
    ),
    Rule(
        name="appraisal_bonus",
        sql="appraisal_bonus_amount + round_div(base_pay_full * appraisal_bonus_multiple, 1000000)",
        label_zh="年度考核奖", label_en="Annual appraisal bonus",
        formula="{appraisal_bonus_amount} + {base_pay_full} × {appraisal_bonus_multiple} "
                "({appraisal_result}, {appraisal_year})",
        basis=f"{BASIS}; {BONUS_TAX_BASIS}", reads=("appraisal_bonus_row",), regional_basis="appraisal_pay",
    ),
]

EMPTY = """
CREATE OR REPLACE TEMP TABLE performance_month (
    employee_id VARCHAR, appraisal_year INTEGER, appraisal_result VARCHAR,
    performance_amount BIGINT, performance_multiple BIGINT, performance_pay_row INTEGER,
    appraisal_bonus_amount BIGINT, appraisal_bonus_multiple BIGINT, appraisal_bonus_row INTEGER,
    appraisal_bonus_method_requested VARCHAR)"""


def assessments_in_force_sql() -> str:
    """Each person's result per year: the latest import (a correction is a new import, kept)."""
    return """SELECT * FROM assessments
              QUALIFY row_number() OVER (PARTITION BY employee_id, year ORDER BY import_seq DESC) = 1"""


def install_month_performance(con, month) -> None:
    """performance_month: per person with a result for year − 1, the monthly and (in its pay month)
    the annual row in force, as integer fen and ppm."""
    from ..engine.employee_history import employees_as_of_sql

    con.execute(EMPTY)
    if not table_exists(con, "assessments") or not con.execute("SELECT count(*) FROM assessments").fetchall()[0][0]:
        return
    year = month.year - 1
    con.execute(f"""
    INSERT INTO performance_month
    WITH results AS ({assessments_in_force_sql()}),
    people AS (
        SELECT e.employee_id, e.region_code, e.category, e.level, a.result
        FROM ({employees_as_of_sql(month)}) e JOIN results a ON a.employee_id = e.employee_id AND a.year = {year}),
    chosen AS (
        SELECT p.employee_id, p.result, t.paid, t.row_no, t.pay_month, t.tax_method,
               CAST(coalesce(t.amount, 0) * 100 AS BIGINT) AS amount_fen,
               CAST(coalesce(t.multiple, 0) * 1000000 AS BIGINT) AS multiple_ppm
        FROM people p
        JOIN region_chain c ON c.region_code = p.region_code
        JOIN policy_performance_pay t ON t.region_code = c.ancestor_code
        WHERE t.effective_from <= DATE '{month.start}' AND t.result = p.result
          AND t.category IN ('all', p.category) AND t.level IN ('all', CAST(p.level AS VARCHAR))
        QUALIFY row_number() OVER (PARTITION BY p.employee_id, t.paid
                                   ORDER BY c.depth, t.level = 'all', t.category = 'all', t.effective_from DESC) = 1)
    SELECT employee_id, {year}, any_value(result),
        coalesce(max(amount_fen) FILTER (paid = 'monthly'), 0),
        coalesce(max(multiple_ppm) FILTER (paid = 'monthly'), 0),
        max(row_no) FILTER (paid = 'monthly'),
        coalesce(max(amount_fen) FILTER (paid = 'annual'), 0),
        coalesce(max(multiple_ppm) FILTER (paid = 'annual'), 0),
        max(row_no) FILTER (paid = 'annual'),
        coalesce(max(tax_method) FILTER (paid = 'annual'), '')
    -- the annual row in force is chosen first, then paid only in its month (a region's own row with
    -- another pay_month must not let a national row pay in this one)
    FROM (SELECT * FROM chosen WHERE paid = 'monthly' OR pay_month = {month.start.month} UNION ALL BY NAME
          SELECT employee_id, result, NULL AS paid FROM people) GROUP BY employee_id""")


def context_select(alias: str) -> str:
    """The context's columns from performance_month (zero / NULL for people without a result)."""
    return (f"{alias}.appraisal_year, {alias}.appraisal_result, "
            f"coalesce({alias}.performance_amount, 0) AS performance_amount, "
            f"coalesce({alias}.performance_multiple, 0) AS performance_multiple, {alias}.performance_pay_row, "
            f"coalesce({alias}.appraisal_bonus_amount, 0) AS appraisal_bonus_amount, "
            f"coalesce({alias}.appraisal_bonus_multiple, 0) AS appraisal_bonus_multiple, "
            f"{alias}.appraisal_bonus_row, "
            f"coalesce({alias}.appraisal_bonus_method_requested, '') AS appraisal_bonus_method_requested")
