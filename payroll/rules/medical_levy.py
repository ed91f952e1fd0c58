"""Fixed medical levies (大额医疗费用补助 / 大病医疗): a per-head charge some cities add to the medical rate.

社会保险法 art. 23: employer and employee pay medical insurance as the state rules; the cities fund
大额医疗费用补助 (Hohhot, Ordos, Kunming) or 大病 (Nantong) with a fixed sum per insured person,
which the employer withholds from the wage with the other contributions (工资支付暂行规定 art. 15).
The amounts, and whether the employee's is charged each month or once a year, live in
`tables/medical_levies.csv`; a region without a row charges none. A yearly levy is charged whole on
the person's first payslip of the calendar year with us (no earlier month employed this year), not
spread: 50 ÷ 12 has no exact fen, and the cities collect it per year. The levy is withheld like a
contribution (an unpaid part is carried as a balance owed, rules/deductions.py) but it is not a
基本医疗保险费 专项扣除 for income tax: no tax rule reads it.
"""
from ..engine.rule import ContextColumn, Rule
from .arrears import plus_arrears

BASIS = "社会保险法 art. 23; the city's 大额医疗费用补助 / 大病医疗 rule (medical_levies table row)"  # + rules/citations.py

CONTEXT = [
    ContextColumn("medical_levy_employee_amount", "fen", "个人大额医疗（大病）标准", "Medical levy, employee amount",
                  "medical_levies", ("medical_levies_row",), False),
    ContextColumn("medical_levy_employee_period", "text", "个人大额医疗缴纳周期", "Medical levy period (month or year)",
                  "medical_levies", ("medical_levies_row",), False),
    ContextColumn("medical_levy_employer_amount", "fen", "单位大额医疗（大病）标准", "Medical levy, employer amount",
                  "medical_levies", ("medical_levies_row",), False),
    ContextColumn("medical_levies_row", "int", "大额医疗表行", "medical_levies row", "medical_levies"),
]

RULES = [
    Rule(
        name="medical_levy_employee",
        sql="CASE WHEN medical_levy_employee_period = 'year' AND prev_months_employed_ytd > 0 THEN 0"
            " ELSE medical_levy_employee_amount END" + plus_arrears("medical_levy_employee")[0],
        label_zh="个人大额医疗（大病）", label_en="Medical levy (employee)",
        formula="{medical_levy_employee_amount} each {medical_levy_employee_period}; a yearly levy only when "
                "{prev_months_employed_ytd} = 0 (first payslip of the year)" + plus_arrears("medical_levy_employee")[1],
        basis=BASIS, reads=("medical_levies_row",), regional_basis="social_insurance",
    ),
    Rule(
        name="medical_levy_employer",
        sql="medical_levy_employer_amount" + plus_arrears("medical_levy_employer")[0],
        label_zh="单位大额医疗（大病）", label_en="Medical levy (employer)",
        formula="{medical_levy_employer_amount} a month" + plus_arrears("medical_levy_employer")[1],
        basis=BASIS, reads=("medical_levies_row",), regional_basis="social_insurance",
    ),
]
