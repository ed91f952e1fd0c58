"""Benefits: work injury, death (work and non-work), martyr, and the maternity allowance, in one home.

`calculator.py` figures the event packages (moved here from payroll/benefits.py); the rule
modules it reads item names from stay in payroll/rules/ (work_injury, injury_pay).
"""
from .calculator import (NATIONAL_AT_MACRO, BenefitFailure, Calculator, compute_benefits_each, EventBenefits, Figure, Line, Lookup,  # noqa: F401
                         benefit_wages, benefit_wages_sql, compute_benefits, number, ppm, prepare,
                         store_benefits, yuan)
