"""Overtime pay: 劳动法 art. 44 (150 % extended hours, 200 % rest days without time off, 300 %
statutory holidays); 云南条例 art. 35 (overtime paid or time off in lieu). Hourly wage = overtime
base ÷ 21.75 ÷ 8 (劳社部发〔2008〕3号); the base is the fixed monthly pay for normal hours, not
below the minimum wage.
"""
from ..engine.rule import Rule

BASIS = "劳动法 art. 44; 劳社部发〔2008〕3号; 人社部发〔2025〕2号 (21.75 days, 8 hours)"


def _overtime_sql(hours: str, rate: str) -> str:
    """base × h/100 × r/1e6 ÷ (D/1e6 × H/1e6) = base × h × (r × 1e6) ÷ (100 × D × H), rounded once.

    The constant factor (r × 1e6) / (100 × D × H) is reduced by its gcd first (1/11600 for 150 %,
    21.75 days, 8 hours), so base × hours × numerator stays in 64-bit integers; the same fraction,
    so the same result as the unreduced one. 128-bit arithmetic, about 20 times slower, only if
    the reduced numerator is large (odd table values); an overflow is an error, never a wrong fen.
    """
    numerator, denominator = f"({rate} * 1000000)", "(100 * pay_days_per_month * hours_per_day)"
    divisor = f"gcd({numerator}, {denominator})"
    return (f"CASE WHEN {numerator} // {divisor} <= 1000"
            f" THEN round_div(overtime_base * {hours} * ({numerator} // {divisor}), {denominator} // {divisor})"
            f" ELSE round_div(CAST(overtime_base AS HUGEINT) * {hours} * {rate} * 1000000,"
            f" CAST(100 AS HUGEINT) * pay_days_per_month * hours_per_day) END")


def _overtime_kind(kind: str, zh: str, percent: str) -> Rule:
    hours, rate = f"overtime_{kind}_hours", f"overtime_{kind}_rate"
    return Rule(
        name=f"overtime_{kind}_pay",
        sql=_overtime_sql(hours, rate),
        label_zh=zh, label_en=f"Overtime at {percent}",
        formula=f"{{overtime_base}} ÷ {{pay_days_per_month}} ÷ {{hours_per_day}} × {{{hours}}} × {{{rate}}}",
        basis=BASIS, regional_basis="overtime",
    )


RULES = [
    Rule(
        name="overtime_base",
        sql="greatest(base_pay_full + seniority_pay_full + allowances_full, minimum_wage)",
        label_zh="加班工资基数", label_en="Overtime base",
        formula="max({base_pay_full} + {seniority_pay_full} + {allowances_full}, {minimum_wage})",
        basis="SPEC overtime rule; 最低工资规定 art. 12", reads=("minimum_wage_row",),
    ),
    _overtime_kind("workday", "工作日延时加班工资", "150 %"),
    _overtime_kind("restday", "休息日加班工资", "200 %"),
    _overtime_kind("holiday", "法定节假日加班工资", "300 %"),
    Rule(
        name="overtime_pay",
        sql="overtime_workday_pay + overtime_restday_pay + overtime_holiday_pay",
        label_zh="加班工资", label_en="Overtime pay",
        formula="{overtime_workday_pay} + {overtime_restday_pay} + {overtime_holiday_pay}",
        basis=BASIS, regional_basis="overtime",
    ),
]
