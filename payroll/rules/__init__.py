"""The rule families, in the order a payslip is built. The engine stages them by their inputs."""
from . import (accident_insurance, deductions, floors, housing_fund, income_tax, injury_pay, leave, medical_levy, net,
               one_off, overtime, pay, performance_pay, proration, social_insurance)

RULES = (
    proration.RULES + injury_pay.RULES + leave.RULES + pay.RULES + performance_pay.RULES + overtime.RULES
    + floors.RULES + social_insurance.RULES + medical_levy.RULES
    + housing_fund.RULES + accident_insurance.RULES + income_tax.RULES + income_tax.BRACKET_RULES + income_tax.AFTER_BRACKET
    + one_off.RULES + deductions.RULES + net.RULES
)
