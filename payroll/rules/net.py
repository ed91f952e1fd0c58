"""Net pay and employer cost: the SPEC identities every payslip reconciles to."""
from ..engine.rule import Rule

RULES = [
    Rule(
        name="net_pay",
        sql="gross_pay - pension_employee - medical_employee - unemployment_employee"
            " - housing_fund_employee - iit - deduction",
        label_zh="实发工资", label_en="Net pay",
        formula="{gross_pay} − {pension_employee} − {medical_employee} − {unemployment_employee} − "
                "{housing_fund_employee} − {iit} − {deduction}",
        basis="SPEC identity: net pay",
    ),
    Rule(
        name="employer_cost",
        sql="gross_pay + pension_employer + medical_employer + unemployment_employer + injury_employer"
            " + maternity_employer + housing_fund_employer + accident_insurance_employer",
        label_zh="单位总成本", label_en="Employer cost",
        formula="{gross_pay} + {pension_employer} + {medical_employer} + {unemployment_employer} + "
                "{injury_employer} + {maternity_employer} + {housing_fund_employer} + {accident_insurance_employer}",
        basis="SPEC identity: employer cost",
    ),
]
