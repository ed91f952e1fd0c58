"""Names and labels of the result columns, shared by the engine, the reports and explain.

REGISTER_COLUMNS is the SPEC register layout (never rename); LABELS gives the Chinese and English
labels finance staff read.
"""
from __future__ import annotations

PAY_COMPONENTS = (
    "base_pay", "seniority_pay", "allowances", "high_risk_allowance", "night_shift_pay",
    "overtime_pay", "floor_topup", "bonus", "injury_disability_allowance",
    "performance_pay", "appraisal_bonus",     # issue 16: by the appraisal result
    "annual_bonus", "severance_pay", "other_payments",            # issue 13: one-off payments
    "sick_pay", "maternity_allowance", "maternity_topup", "annual_leave_payout",   # issue 14: leave
)
# issue 15: the fixed medical levies (大额医疗 / 大病, rules/medical_levy.py), withheld and paid with
# the contributions; in the register after the SPEC columns
MEDICAL_LEVIES = ("medical_levy_employee", "medical_levy_employer")
EMPLOYEE_CONTRIBUTIONS = (
    "pension_employee", "medical_employee", "unemployment_employee", "housing_fund_employee",
    "medical_levy_employee",
)
EMPLOYER_CONTRIBUTIONS = (
    "pension_employer", "medical_employer", "unemployment_employer", "injury_employer",
    "maternity_employer", "housing_fund_employer", "medical_levy_employer",
)

REGISTER_COLUMNS = (
    "employee_id", "month", "region_code", "unit", "level",
    *PAY_COMPONENTS, "arrears_pay", "gross_pay",
    *EMPLOYEE_CONTRIBUTIONS[:3], "housing_fund_employee",
    "taxable_income_ytd", "iit_ytd", "iit", "deduction", "net_pay",
    *(c for c in EMPLOYER_CONTRIBUTIONS if c not in MEDICAL_LEVIES), "accident_insurance_employer", "employer_cost",
    "injury_stoppage",
    # issue 13: taxes apart, the balance owed, the bonus method and its cliff
    "iit_annual_bonus", "iit_severance", "balance_recovery", "shortfall_carried", "balance_owed",
    "annual_bonus_method", "annual_bonus_in_cliff",
    *MEDICAL_LEVIES,
)

MONEY_COLUMNS = frozenset(
    PAY_COMPONENTS + ("arrears_pay", "gross_pay",) + EMPLOYEE_CONTRIBUTIONS + EMPLOYER_CONTRIBUTIONS + (
        "taxable_income_ytd", "iit_ytd", "iit", "deduction", "net_pay",
        "accident_insurance_employer", "employer_cost",
        "iit_annual_bonus", "iit_severance", "balance_recovery", "shortfall_carried", "balance_owed",
    )
)

# column -> (中文, English)
LABELS: dict[str, tuple[str, str]] = {
    "employee_id": ("工号", "Employee ID"),
    "name": ("姓名", "Name"),
    "id_number_masked": ("身份证号", "ID number (masked)"),
    "month": ("月份", "Month"),
    "region_code": ("地区代码", "Region"),
    "unit": ("单位", "Unit"),
    "category": ("类别", "Category"),
    "level": ("层级", "Level"),
    "post": ("岗位", "Post"),
    "base_pay": ("层级工资", "Base pay"),
    "seniority_pay": ("工龄工资", "Seniority pay"),
    "allowances": ("津贴补贴", "Allowances"),
    "high_risk_allowance": ("高危岗位津贴", "High-risk allowance"),
    "night_shift_pay": ("夜班费", "Night-shift pay"),
    "overtime_pay": ("加班工资", "Overtime pay"),
    "floor_topup": ("最低工资补差", "Minimum-wage top-up"),
    "bonus": ("奖金", "Bonus"),
    "injury_disability_allowance": ("伤残津贴（单位支付）", "Disability allowance (employer)"),
    "injury_stoppage": ("停工留薪期", "Work-stoppage period"),
    "performance_pay": ("月度绩效", "Monthly performance pay"),
    "appraisal_bonus": ("年度考核奖", "Annual appraisal bonus"),
    "appraisal_result": ("考核等次", "Appraisal result"),
    "arrears_pay": ("补发工资", "Arrears of pay (closed months)"),
    "gross_pay": ("应发工资", "Gross pay"),
    "pension_employee": ("个人养老保险", "Pension (employee)"),
    "medical_employee": ("个人医疗保险", "Medical (employee)"),
    "unemployment_employee": ("个人失业保险", "Unemployment (employee)"),
    "housing_fund_employee": ("个人住房公积金", "Housing fund (employee)"),
    "taxable_income_ytd": ("累计应纳税所得额", "Taxable income YTD"),
    "iit_ytd": ("累计已扣个税", "Income tax YTD"),
    "iit": ("本月个税", "Income tax"),
    "deduction": ("其他扣款", "Other deduction"),
    "net_pay": ("实发工资", "Net pay"),
    "pension_employer": ("单位养老保险", "Pension (employer)"),
    "medical_employer": ("单位医疗保险", "Medical (employer)"),
    "unemployment_employer": ("单位失业保险", "Unemployment (employer)"),
    "injury_employer": ("单位工伤保险", "Work injury (employer)"),
    "maternity_employer": ("单位生育保险", "Maternity (employer)"),
    "housing_fund_employer": ("单位住房公积金", "Housing fund (employer)"),
    "accident_insurance_employer": ("意外伤害保险", "Accident insurance"),
    "medical_levy_employee": ("个人大额医疗（大病）", "Medical levy (employee)"),
    "medical_levy_employer": ("单位大额医疗（大病）", "Medical levy (employer)"),
    "employer_cost": ("单位总成本", "Employer cost"),
    "headcount": ("人数", "Headcount"),
    "annual_bonus": ("全年一次性奖金", "Annual one-off bonus"),
    "severance_pay": ("解除劳动合同一次性补偿金", "Severance pay"),
    "other_payments": ("其他一次性收入", "Other one-off payments"),
    "sick_pay": ("病假工资", "Sick pay"),
    "maternity_allowance": ("生育津贴", "Maternity allowance"),
    "maternity_topup": ("生育津贴补差", "Maternity allowance top-up"),
    "annual_leave_payout": ("未休年休假工资报酬", "Pay for untaken annual leave"),
    "iit_annual_bonus": ("全年一次性奖金个税", "Income tax on the bonus taxed apart"),
    "iit_severance": ("补偿金个税", "Income tax on severance"),
    "balance_recovery": ("扣回应收个人款", "Balance owed recovered"),
    "shortfall_carried": ("不足扣部分（转应收个人款）", "Shortfall carried"),
    "balance_owed": ("应收个人款余额", "Balance owed by the employee"),
    "annual_bonus_method": ("奖金计税方式", "Bonus tax method"),
    "annual_bonus_in_cliff": ("奖金临界点盲区", "Bonus in a cliff"),
}


def label_zh(column: str) -> str:
    return LABELS.get(column, (column, column))[0]
