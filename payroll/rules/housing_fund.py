"""Housing fund (住房公积金): 住房公积金管理条例 arts. 16, 18–20 (base = the previous average monthly
wage, employee and employer each at least 5 %); 内蒙古条例 art. 25, 杭州规定 art. 22, 南通实施办法
art. 13 oblige the police to pay it for 辅警. Floor and ceiling are the city's (housing_fund table).
"""
from ..engine.rule import Rule
from .arrears import plus_arrears
from .social_insurance import base_rules

BASIS = "住房公积金管理条例 arts. 16, 18–20"     # + the region's article: rules/citations.py

# issue 14: its own base year (a July–June year in most cities), so its own wage (上一年度月平均工资)
RULES = base_rules("housing_fund", "housing_fund_wage", "公积金缴存工资", "Housing-fund wage",
                   "住房公积金管理条例 art. 16 (上一年度月平均工资)") + [
    Rule(
        name="housing_fund_base",
        sql="least(greatest(housing_fund_wage, housing_fund_base_floor), housing_fund_base_ceiling)",
        label_zh="住房公积金缴存基数", label_en="Housing-fund base",
        formula="min(max({housing_fund_wage}, {housing_fund_base_floor}), {housing_fund_base_ceiling})",
        basis=BASIS, reads=("housing_fund_row",), regional_basis="housing_fund",
    ),
    Rule(
        name="housing_fund_employee",
        sql="round_div(housing_fund_base * housing_fund_employee_rate, 1000000)"
            + plus_arrears("housing_fund_employee")[0],
        label_zh="个人住房公积金", label_en="Housing fund (employee)",
        formula="{housing_fund_base} × {housing_fund_employee_rate}" + plus_arrears("housing_fund_employee")[1],
        basis=BASIS, reads=("housing_fund_row",), regional_basis="housing_fund",
    ),
    Rule(
        name="housing_fund_employer",
        sql="round_div(housing_fund_base * housing_fund_employer_rate, 1000000)"
            + plus_arrears("housing_fund_employer")[0],
        label_zh="单位住房公积金", label_en="Housing fund (employer)",
        formula="{housing_fund_base} × {housing_fund_employer_rate}" + plus_arrears("housing_fund_employer")[1],
        basis=BASIS, reads=("housing_fund_row",), regional_basis="housing_fund",
    ),
]
