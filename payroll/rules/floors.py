"""Minimum-wage top-up (最低工资规定 art. 12: pay for normal hours, excluding overtime, night-shift
and special-condition allowances, may not fall below the local minimum wage), prorated like the
monthly amounts. The average-wage floor (南通实施办法 art. 7) is a check over the year, in
payroll/reports/floor.py.
"""
from ..engine.rule import Rule

BASIS = "最低工资规定 (劳动和社会保障部令第21号) art. 12; 2016 国办意见 art. 18 (辅警 pay above the minimum wage)"

RULES = [
    Rule(
        name="minimum_wage_prorated",
        sql="round_div(minimum_wage * proration_numerator, proration_denominator)",
        label_zh="最低工资（折算）", label_en="Minimum wage, prorated",
        formula="{minimum_wage} × {proration_numerator} ÷ {proration_denominator}",
        basis=BASIS, reads=("minimum_wage_row",),
    ),
    Rule(
        name="normal_pay", sql="base_pay + seniority_pay + allowances + performance_pay",
        label_zh="正常工作时间工资", label_en="Pay for normal hours",
        formula="{base_pay} + {seniority_pay} + {allowances} + {performance_pay}",
        basis=BASIS + "; 月度绩效 is pay for normal hours",
    ),
    Rule(
        name="floor_topup", sql="greatest(0, minimum_wage_prorated - normal_pay)",
        label_zh="最低工资补差", label_en="Minimum-wage top-up",
        formula="max(0, {minimum_wage_prorated} − {normal_pay})", basis=BASIS,
    ),
]

# only a region with a pay_floor row has a floor; 南通 is the one that sets it (内蒙古条例 art. 24 and
# 云南条例 art. 33 only ask pay to be referenced to the average wage: no floor)
AVERAGE_WAGE_FLOOR_BASIS = "南通实施办法 art. 7 para. 3 (辅警平均工资水平不低于当地在岗职工上年度平均工资)"


def average_wage_floor_sql(month_label: str) -> str:
    """Per region: year-to-date average monthly gross pay against ratio × average wage in force.

    Reads the month's resolved pay_floor and average_wage rows (engine.context); `holds` is NULL
    where the region has no floor rule.
    """
    year_start = month_label[:4] + "-01"
    return f"""
    WITH ytd AS (
        SELECT region_code, count(*) AS payslips_ytd,
               count(*) FILTER (month = '{month_label}') AS people,
               sum(gross_pay) AS gross_ytd
        FROM payslips WHERE month BETWEEN '{year_start}' AND '{month_label}' GROUP BY region_code)
    SELECT y.region_code, y.people, y.payslips_ytd,
        CAST(round(y.gross_ytd / y.payslips_ytd, 2) AS DECIMAL(18,2)) AS average_gross_ytd,
        coalesce(f.rule, 'none') AS rule, f.ratio, aw.monthly_average_wage,
        CASE WHEN f.rule = 'average_not_below_average_wage'
             THEN CAST(f.ratio * aw.monthly_average_wage AS DECIMAL(18,2)) END AS floor,
        CASE WHEN f.rule = 'average_not_below_average_wage'
             THEN y.gross_ytd >= y.payslips_ytd * f.ratio * aw.monthly_average_wage END AS holds,
        f.row_no AS pay_floor_row, f.source AS pay_floor_source,
        aw.row_no AS average_wage_row, aw.effective_from AS average_wage_from, aw.source AS average_wage_source
    FROM ytd y
    LEFT JOIN resolved_pay_floor f ON f.for_region = y.region_code
    LEFT JOIN resolved_average_wage aw ON aw.for_region = y.region_code
    ORDER BY y.region_code"""
