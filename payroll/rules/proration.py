"""Proration for part months and unpaid leave, and completed years of service.

劳社部发〔2008〕3号: 21.75 paid days a month, day wage = monthly wage ÷ 21.75; statutory holidays
are paid. SPEC: a month partly employed pays monthly amounts × paid days employed ÷ paid days in
the month; unpaid leave deducts monthly amounts ÷ 21.75 per day. The factor is kept as an exact
fraction (numerator / denominator) so every prorated line is rounded once.
"""
from ..engine.rule import Rule

BASIS = "劳社部发〔2008〕3号 (21.75 paid days a month); SPEC proration rule"

RULES = [
    Rule(
        name="proration_numerator",
        # F = E/P − L/D over the common denominator P × D; L is in hundredths of a day, D in ppm
        # 工伤保险条例 art. 33: once the disability grade is assessed 原待遇 stops (grades 1–4, and
        # 5–6 without arranged work): no regular pay (payroll/rules/injury_pay.py)
        # issue 14 (rules/leave.py): maternity leave's paid days are not paid as regular pay (the
        # allowance replaces them); unpaid and sick days of the leave file deduct like unpaid_leave_days
        sql="CASE WHEN injury_regular_pay_stopped THEN 0 ELSE greatest(0,"
            " (paid_days_employed - maternity_paid_days) * pay_days_per_month"
            " - (unpaid_leave_days + leave_unpaid_days + sick_leave_days) * 10000 * paid_days_in_month) END",
        label_zh="折算系数分子", label_en="Proration numerator",
        formula="0 if {injury_regular_pay_stopped} else max(0, ({paid_days_employed} − {maternity_paid_days}) × "
                "{pay_days_per_month} − ({unpaid_leave_days} + {leave_unpaid_days} + {sick_leave_days}) × "
                "{paid_days_in_month})",
        basis=BASIS, unit="int",
    ),
    Rule(
        name="proration_denominator",
        sql="paid_days_in_month * pay_days_per_month",
        label_zh="折算系数分母", label_en="Proration denominator",
        formula="{paid_days_in_month} × {pay_days_per_month}",
        basis=BASIS, unit="int",
    ),
    Rule(
        name="service_years",
        # completed years from service_start to the first day of the month
        sql="greatest(0, year(month_start) - year(service_start)"
            " - CASE WHEN month(month_start) * 100 + day(month_start)"
            " < month(service_start) * 100 + day(service_start) THEN 1 ELSE 0 END)",
        label_zh="工龄（年）", label_en="Completed years of service",
        formula="completed years from {service_start} to {month_start}",
        basis="SPEC: service_start (工龄起算日期), default hire_date", unit="int",
    ),
]
