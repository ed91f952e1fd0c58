"""The SPEC identities as one SQL condition, shared by the tests that check them on every row."""

BROKEN_IDENTITY = """(
    gross_pay <> base_pay + seniority_pay + allowances + high_risk_allowance + night_shift_pay
                 + overtime_pay + floor_topup + bonus + injury_disability_allowance + arrears_pay
                 + performance_pay + appraisal_bonus + annual_bonus + severance_pay + other_payments
                 + sick_pay + maternity_allowance + maternity_topup + annual_leave_payout
    OR net_pay <> gross_pay - pension_employee - medical_employee - unemployment_employee
                  - housing_fund_employee - medical_levy_employee - iit - iit_annual_bonus - iit_severance - deduction
                  - balance_recovery + shortfall_carried
    OR net_pay < 0 OR (shortfall_carried > 0 AND net_pay <> 0)
    OR employer_cost <> gross_pay + pension_employer + medical_employer + unemployment_employer
                  + injury_employer + maternity_employer + housing_fund_employer
                  + medical_levy_employer + accident_insurance_employer)"""
