"""Housing fund (住房公积金): 住房公积金管理条例 arts. 16, 18–20 (base = the previous average monthly
wage, employee and employer each at least 5 %); 内蒙古条例 art. 25, 杭州规定 art. 22, 南通实施办法
art. 13 oblige the police to pay it for 辅警. Floor and ceiling are the city's (housing_fund table).
"""
from ..engine.rule import Rule
from .arrears import plus_arrears

BASIS = "住房公积金管理条例 arts. 16, 18–20"     # + the region's article: rules/citations.py

RULES = [
    Rule(
        name="housing_fund_base",
        sql="least(greatest(contribution_wage, housing_fund_base_floor), housing_fund_base_ceiling)",
        label_zh="住房公积金缴存基数", label_en="Housing-fund base",
        formula="min(max({contribution_wage}, {housing_fund_base_floor}), {housing_fund_base_ceiling})",
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
