"""Net pay and employer cost: the SPEC identities every payslip reconciles to, with issue 13's
lines in their place (rules/deductions.py: the order of deductions and the balance owed)."""
from ..engine.rule import Rule

RULES = [
    Rule(
        name="net_pay",
        sql="gross_pay - pension_employee - medical_employee - unemployment_employee"
            " - housing_fund_employee - iit - iit_annual_bonus - iit_severance - deduction"
            " - balance_recovery + shortfall_carried",
        label_zh="实发工资", label_en="Net pay",
        formula="{gross_pay} − {pension_employee} − {medical_employee} − {unemployment_employee} − "
                "{housing_fund_employee} − {iit} − {iit_annual_bonus} − {iit_severance} − {deduction} − "
                "{balance_recovery} + {shortfall_carried}",
        basis="SPEC identity: net pay (issue 13: taxes apart, balance recovered, shortfall carried)",
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
