"""The rule families, in the order a payslip is built. The engine stages them by their inputs."""
from . import (accident_insurance, floors, housing_fund, income_tax, injury_pay, leave, net, overtime, pay,
               performance_pay, proration, social_insurance)

RULES = (
    proration.RULES + injury_pay.RULES + leave.RULES + pay.RULES + performance_pay.RULES + overtime.RULES
    + floors.RULES + social_insurance.RULES
    + housing_fund.RULES + accident_insurance.RULES + income_tax.RULES + income_tax.BRACKET_RULES + income_tax.AFTER_BRACKET
    + net.RULES
)
