"""Net pay and employer cost: the SPEC identities every payslip reconciles to, with issue 13's
lines in their place (rules/deductions.py: the order of deductions and the balance owed)."""
from ..engine.rule import Rule

RULES = [
    Rule(
        name="net_pay",
        sql="gross_pay - pension_employee - medical_employee - unemployment_employee"
            " - housing_fund_employee - medical_levy_employee - iit - iit_annual_bonus - iit_severance - deduction"
            " - balance_recovery + shortfall_carried",
        label_zh="实发工资", label_en="Net pay",
        formula="{gross_pay} − {pension_employee} − {medical_employee} − {unemployment_employee} − "
                "{housing_fund_employee} − {medical_levy_employee} − {iit} − {iit_annual_bonus} − {iit_severance} − {deduction} − "
                "{balance_recovery} + {shortfall_carried}",
        basis="SPEC identity: net pay (issue 13: taxes apart, balance recovered, shortfall carried; "
              "issue 15: the fixed medical levy withheld)",
    ),
    Rule(
        name="employer_cost",
        sql="gross_pay + pension_employer + medical_employer + unemployment_employer + injury_employer"
            " + maternity_employer + housing_fund_employer + medical_levy_employer + accident_insurance_employer",
        label_zh="单位总成本", label_en="Employer cost",
        formula="{gross_pay} + {pension_employer} + {medical_employer} + {unemployment_employer} + "
                "{injury_employer} + {maternity_employer} + {housing_fund_employer} + {medical_levy_employer} + "
                "{accident_insurance_employer}",
        basis="SPEC identity: employer cost (issue 15: with the employer's fixed medical levy)",
    ),
]
