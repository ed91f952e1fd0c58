"""One person per region worked by hand on the SHIPPED tables (tables/), checked against the engine.

Every expected amount is a literal computed by hand from the table rows cited in the comments
(file: region,effective_from,… values); nothing here calls the reference or the engine's rules.
Rounding: half-up to the fen once per line item (docs/rules.md). D = 21.75 and 8 hours a day
(national_parameters.csv pay_days_per_month, hours_per_day), so an hourly wage is base ÷ 174;
overtime rates 1.5 / 2 / 3 (national_parameters.csv overtime_*_rate).

Shared rows (allowances.csv, all region 000000, 2024-01-01):
  seniority 50 per service_year (all); duty_allowance 550/month (duty); living_allowance 400/month
  (all); transport_allowance 200/month (all); high_risk_allowance 400/month (high_risk);
  night_shift 60 per night_shift (all).
  → allowances_full = 1,150 for duty, 600 for civilian; high-risk allowance 400 on high-risk posts.
posts.csv: PATROL, TRAFFIC, ESCORT high; TECH, PERMITS normal.

Month: 2025-05 unless said otherwise. May 2025 (holidays, China): 5/1, 5/2, 5/31 statutory, 5/5 a
day off, 19 working days → P = 22 paid days. April 2025: 22 working days + 4/4 → P = 23.
Each run starts from an empty database, so the month run first is the person's first payslip of
the year: months_employed_ytd = 1, no previous-year history.

The shipped pay scales are all above the minimum wage and the minimum wage is prorated by the same
factor as pay, so no shipped level can get a minimum-wage top-up; the top-up case (Kunming, K8)
uses a copy of the shipped tables with one extra, test-only pay_scale row (a probation level).
"""
from __future__ import annotations

import shutil
from datetime import date
from decimal import Decimal

import pytest
from conftest import SHIPPED_TABLES, run_engine

MONEY = ("base_pay", "seniority_pay", "allowances", "high_risk_allowance", "night_shift_pay", "overtime_pay",
         "floor_topup", "bonus", "gross_pay", "pension_employee", "medical_employee", "unemployment_employee",
         "housing_fund_employee", "taxable_income_ytd", "iit_ytd", "iit", "deduction", "net_pay",
         "pension_employer", "medical_employer", "unemployment_employer", "injury_employer",
         "maternity_employer", "housing_fund_employer", "accident_insurance_employer", "employer_cost",
         "medical_levy_employee", "medical_levy_employer")   # issue 15: fixed medical levies


def person(eid, region, category, level, post, hire, leave=None, service_start=None, special=0, base=None):
    return {"employee_id": eid, "name": eid, "region_code": region, "unit": "U", "category": category,
            "level": level, "post": post, "hire_date": hire, "leave_date": leave, "service_start": service_start,
            "special_deduction": Decimal(special), "contribution_base": None if base is None else Decimal(base)}


def attendance(unpaid=0, workday=0, restday=0, holiday=0, nights=0, bonus=0, deduction=0):
    return {"unpaid_leave_days": Decimal(str(unpaid)), "overtime_workday_hours": Decimal(str(workday)),
            "overtime_restday_hours": Decimal(str(restday)), "overtime_holiday_hours": Decimal(str(holiday)),
            "night_shifts": nights, "bonus": Decimal(str(bonus)), "deduction": Decimal(str(deduction))}


# ---- Hohhot 150100: full month, every component, anniversary of service on the 1st ---------------
HOHHOT = person("H1", "150100", "duty", 6, "PATROL", date(2018, 5, 1), special=1000)
HOHHOT_ATT = attendance(workday=6, restday=8, holiday=8, nights=4, bonus=500, deduction=50)
HOHHOT_EXPECTED = {
    # pay_scale.csv 150100,2024-01-01,duty,6,6830; F = 1 (whole month, no leave)
    "base_pay": "6830.00",
    # service 2018-05-01 → 2025-05-01 = 7 completed years (the anniversary is the 1st); 7 × 50
    "seniority_pay": "350.00",
    "allowances": "1150.00",            # 550 + 400 + 200
    "high_risk_allowance": "400.00",    # PATROL is high-risk
    "night_shift_pay": "240.00",        # 4 × 60
    # overtime base = max(6830 + 350 + 1150, minimum_wage.csv 150100,2024-12-01,2270) = 8,330
    # workday 8330 × 6 × 1.5 / 174 = 430.862… → 430.86; rest day 8330 × 8 × 2 / 174 = 765.977… → 765.98;
    # holiday 8330 × 8 × 3 / 174 = 1148.965… → 1148.97; total 2,345.81
    "overtime_pay": "2345.81",
    "floor_topup": "0.00",              # normal pay 8,330 ≥ 2,270
    "bonus": "500.00",
    # 6830 + 350 + 1150 + 400 + 240 + 2345.81 + 0 + 500
    "gross_pay": "11815.81",
    # contribution base: no declared base, no 2024 payslip, this month is whole → its own gross 11,815.81,
    # inside every floor/ceiling: social_insurance.csv 150000,2025-01-01 pension/unemployment/injury
    # 4907–24537; 150100,2025-01-01 medical/maternity 4907–24537; housing_fund.csv 150100,2024-01-01 2380–30498
    "pension_employee": "945.26",       # × 0.08 = 945.2648
    "medical_employee": "236.32",       # × 0.02 = 236.3162
    "unemployment_employee": "59.08",   # × 0.005 = 59.07905
    "housing_fund_employee": "1417.90", # × 0.12 = 1417.8972
    # 11815.81 − 5000 − (945.26 + 236.32 + 59.08 + 1417.90 = 2658.56) − 1000 special deduction
    "taxable_income_ytd": "3157.25",
    "iit": "94.72",                     # × 3 % = 94.7175 (iit_brackets.csv 2019-01-01,0,0.03,0)
    "iit_ytd": "94.72",
    "deduction": "50.00",
    # medical_levies.csv 150100,2024-01-01: 50 a year, on the first payslip of the year (May is H1's
    # first with us); withheld, not a 专项扣除, so the tax above is unchanged
    "medical_levy_employee": "50.00",
    "net_pay": "8962.53",               # 11815.81 − 2658.56 − 50 levy − 94.72 − 50
    "pension_employer": "1890.53",      # × 0.16 = 1890.5296
    "medical_employer": "791.66",       # × 0.067 = 791.65927
    "unemployment_employer": "59.08",   # × 0.005
    "injury_employer": "23.63",         # × 0.002 = 23.63162
    "maternity_employer": "0.00",       # 150100 maternity rate 0
    "housing_fund_employer": "1417.90", # × 0.12
    # accident_insurance.csv 150000,2022-01-01,personal_accident,high_risk,1200 → 1200 / 12
    "accident_insurance_employer": "100.00",
    "medical_levy_employer": "0.00",    # no employer share in the row
    # 11815.81 + 1890.53 + 791.66 + 59.08 + 23.63 + 0 + 1417.90 + 100
    "employer_cost": "16098.61",
}

# ---- Ordos 150600: hired mid-month (Mon 2025-05-12), first partial month ----------------------------
ORDOS = person("O1", "150600", "civilian", 7, "TECH", date(2025, 5, 12))
ORDOS_ATT = attendance(workday=2, restday=4, holiday=8, nights=2)
ORDOS_EXPECTED = {
    # paid days employed 5/12–5/31: 15 working days + 5/31 (Dragon Boat, statutory) = 16 of 22 → F = 8/11
    # pay_scale.csv 150600,2024-01-01,civilian,7,5830 → 5830 × 8/11 = 4240 exactly
    "base_pay": "4240.00",
    "seniority_pay": "0.00",            # 0 completed years
    "allowances": "436.36",             # civilian 400 + 200 = 600 × 8/11 = 436.3636…
    "high_risk_allowance": "0.00",      # TECH is normal
    "night_shift_pay": "120.00",        # 2 × 60, not prorated
    # overtime base = max(5830 + 0 + 600, 2270 (minimum_wage.csv 150600,2024-12-01)) = 6,430, not prorated
    # 6430 × 2 × 1.5 / 174 = 110.862… → 110.86; 6430 × 4 × 2 / 174 = 295.632… → 295.63;
    # 6430 × 8 × 3 / 174 = 886.896… → 886.90; total 1,293.39
    "overtime_pay": "1293.39",
    # normal pay 4240 + 0 + 436.36 = 4676.36 ≥ minimum 2270 × 8/11 = 1650.91
    "floor_topup": "0.00",
    "bonus": "0.00",
    "gross_pay": "6089.75",             # 4240 + 436.36 + 120 + 1293.39
    # base: first, partial month with no history → contract month 5830 + 0 + 600 + 0 = 6,430
    # (social_insurance.csv 150000,2025-01-01 4907–24537; 150600,2025-01-01 medical 0.064/0.02;
    #  housing_fund.csv 150600,2024-01-01 0.12/0.12, 2380–36108; medical employer 0.064 since issue 15:
    #  the Ordos rate for 行政事业单位)
    "pension_employee": "514.40",       # 6430 × 0.08
    "medical_employee": "128.60",       # 6430 × 0.02
    "unemployment_employee": "32.15",   # 6430 × 0.005
    "housing_fund_employee": "771.60",  # 6430 × 0.12
    "taxable_income_ytd": "0.00",       # 6089.75 − 5000 − 1446.75 < 0
    "iit": "0.00",
    "iit_ytd": "0.00",
    "deduction": "0.00",
    "medical_levy_employee": "50.00",   # medical_levies.csv 150600,2024-01-01: 50 on the hire month, the first of the year
    "net_pay": "4593.00",               # 6089.75 − 1446.75 − 50
    "pension_employer": "1028.80",      # × 0.16
    "medical_employer": "411.52",       # × 0.064 = 411.52
    "unemployment_employer": "32.15",
    "injury_employer": "12.86",         # × 0.002
    "maternity_employer": "0.00",
    "housing_fund_employer": "771.60",
    "accident_insurance_employer": "0.00",  # Ordos covers only high-risk posts (150000 row)
    "medical_levy_employer": "0.00",
    # 6089.75 + 1028.80 + 411.52 + 32.15 + 12.86 + 0 + 771.60
    "employer_cost": "8346.68",
}

# ---- Hangzhou 330100: unpaid leave, service_start before hire, declared base above the SI ceiling ---
HANGZHOU = person("Z1", "330100", "duty", 1, "TRAFFIC", date(2010, 9, 15), service_start=date(2008, 3, 1),
                  special=3000, base=30000)
HANGZHOU_ATT = attendance(unpaid=1.5, workday=10, restday=4, holiday=2.5, nights=3, bonus=2000)
HANGZHOU_EXPECTED = {
    # F = 1 − 1.5 / 21.75 = 27/29; pay_scale.csv 330100,2024-01-01,duty,1,14110 → × 27/29 = 13136.896…
    "base_pay": "13136.90",
    # service from 2008-03-01: 17 years × 50 = 850 × 27/29 = 791.379…
    "seniority_pay": "791.38",
    "allowances": "1070.69",            # 1150 × 27/29 = 1070.689…
    "high_risk_allowance": "372.41",    # 400 × 27/29 = 372.413… (TRAFFIC is high-risk)
    "night_shift_pay": "180.00",        # 3 × 60
    # overtime base = 14110 + 850 + 1150 = 16,110 (before leave); 16110 × 10 × 1.5 / 174 = 1388.793… →
    # 1388.79; 16110 × 4 × 2 / 174 = 740.689… → 740.69; 16110 × 2.5 × 3 / 174 = 694.396… → 694.40
    "overtime_pay": "2823.88",
    "floor_topup": "0.00",              # minimum_wage.csv 330100,2025-01-01,2490
    "bonus": "2000.00",
    # 13136.90 + 791.38 + 1070.69 + 372.41 + 180 + 2823.88 + 2000
    "gross_pay": "20375.26",
    # declared base 30,000: social insurance clamped to the ceiling 25,299 (330000,2025-01-01 pension,
    # unemployment, injury; 330100,2025-01-01 medical 0.089/0.02, maternity 0.006/0); housing fund
    # 30,000 is inside 2490–40694 (housing_fund.csv 330100,2024-01-01 0.12/0.12)
    "pension_employee": "2023.92",      # 25299 × 0.08
    "medical_employee": "505.98",       # 25299 × 0.02
    "unemployment_employee": "126.50",  # 25299 × 0.005 = 126.495 → half up
    "housing_fund_employee": "3600.00", # 30000 × 0.12
    # 20375.26 − 5000 − (2023.92 + 505.98 + 126.50 + 3600 = 6256.40) − 3000
    "taxable_income_ytd": "6118.86",
    "iit": "183.57",                    # × 3 % = 183.5658
    "iit_ytd": "183.57",
    "deduction": "0.00",
    "medical_levy_employee": "0.00",    # medical_levies.csv has no 杭州 row: no fixed levy
    "medical_levy_employer": "0.00",
    "net_pay": "13935.29",              # 20375.26 − 6256.40 − 183.57
    "pension_employer": "4047.84",      # 25299 × 0.16
    "medical_employer": "2251.61",      # 25299 × 0.089 = 2251.611
    "unemployment_employer": "126.50",
    "injury_employer": "50.60",         # 25299 × 0.002 = 50.598
    "maternity_employer": "151.79",     # 25299 × 0.006 = 151.794
    "housing_fund_employer": "3600.00",
    # accident_insurance.csv 330100,2021-01-01: personal_accident high_risk 1200 → 100; public_transport all 60 → 5
    "accident_insurance_employer": "105.00",
    # 20375.26 + 4047.84 + 2251.61 + 126.50 + 50.60 + 151.79 + 3600 + 105
    "employer_cost": "30708.60",
}

# ---- Kunming 530100: leaves mid-month (Tue 2025-05-20) -------------------------------------------
KUNMING = person("K1", "530100", "duty", 4, "ESCORT", date(2021, 11, 30), leave=date(2025, 5, 20))
KUNMING_ATT = attendance(workday=3, restday=5.5, holiday=8, nights=5)
KUNMING_EXPECTED = {
    # paid days 5/1–5/20: 5/1, 5/2 statutory; 5/6–9, 5/12–16, 5/19–20 working = 13 of 22 → F = 13/22
    # pay_scale.csv 530100,2024-01-01,duty,4,9180 × 13/22 = 5424.545…
    "base_pay": "5424.55",
    "seniority_pay": "88.64",           # 3 years (from 2021-11-30) × 50 = 150 × 13/22 = 88.636…
    "allowances": "679.55",             # 1150 × 13/22 = 679.545…
    "high_risk_allowance": "236.36",    # 400 × 13/22 = 236.363…
    "night_shift_pay": "300.00",        # 5 × 60
    # overtime base 9180 + 150 + 1150 = 10,480; 10480 × 3 × 1.5 / 174 = 271.034… → 271.03;
    # 10480 × 5.5 × 2 / 174 = 662.528… → 662.53; 10480 × 8 × 3 / 174 = 1445.517… → 1445.52
    "overtime_pay": "2379.08",
    "floor_topup": "0.00",              # minimum_wage.csv 530100,2024-10-01,2070 × 13/22 = 1223.18 < 6192.74
    "bonus": "0.00",
    # issue 14, untaken annual leave of a leaver (企业职工带薪年休假实施办法 art. 12): 3 years of service
    # → 5 days (annual_leave_entitlement.csv); 1/1–5/20 = 140 days; 140 ÷ 365 × 5 = 1.92 → 1 day, none
    # taken; no payslips in the 12 months before → contract month 10,880 ÷ 21.75 × 200 % × 1 = 1000.459…
    "annual_leave_payout": "1000.46",
    "gross_pay": "10108.64",            # 5424.55 + 88.64 + 679.55 + 236.36 + 300 + 2379.08 + 1000.46
    # base: partial first month → contract month 9180 + 150 + 1150 + 400 = 10,880 (not prorated);
    # social_insurance.csv 530000,2025-01-01 4357–21789, unemployment 0.007/0.003 (云南 split, issue 15);
    # 530100,2025-01-01 medical 0.07/0.02, maternity 0.009/0; housing_fund.csv 530100,2024-01-01
    # 0.12/0.12 2170–32470
    "pension_employee": "870.40",       # 10880 × 0.08
    "medical_employee": "217.60",       # 10880 × 0.02
    "unemployment_employee": "32.64",   # 10880 × 0.003
    "housing_fund_employee": "1305.60", # 10880 × 0.12
    # 10108.64 − 5000 − (870.40 + 217.60 + 32.64 + 1305.60 = 2426.24)
    "taxable_income_ytd": "2682.40",
    "iit": "80.47",                     # × 3 % = 80.472
    "iit_ytd": "80.47",
    "deduction": "0.00",
    "medical_levy_employee": "0.00",    # medical_levies.csv 530100 starts 2025-10-01: none in May
    "medical_levy_employer": "0.00",
    "net_pay": "7601.93",               # 10108.64 − 2426.24 − 80.47
    "pension_employer": "1740.80",      # × 0.16
    "medical_employer": "761.60",       # × 0.07
    "unemployment_employer": "76.16",   # × 0.007
    "injury_employer": "21.76",         # × 0.002
    "maternity_employer": "97.92",      # × 0.009
    "housing_fund_employer": "1305.60",
    # accident_insurance.csv 530000,2024-07-01,personal_accident,high_risk,1200 → 100; not prorated
    "accident_insurance_employer": "100.00",
    # 10108.64 + 1740.80 + 761.60 + 76.16 + 21.76 + 97.92 + 1305.60 + 100
    "employer_cost": "14212.48",
}

# ---- Nantong 320600: two months (April, May); May's base is April's gross ----------------------------
NANTONG = person("N1", "320600", "duty", 7, "PATROL", date(2019, 3, 1))
NANTONG_ATT = attendance(workday=2.5, restday=3, holiday=4, nights=6, bonus=3000, deduction=120.50)
# April (no attendance row): pay_scale.csv 320600,2024-01-01,duty,7,6340 + seniority 6 years × 50 = 300
# + 1150 + 400 high-risk = 8,190 gross, a whole month (23 of 23) → base 8,190 (first full month).
# April tax: 8190 − 5000 − 1842.75 = 1347.25 × 3 % = 40.4175 → 40.42.
NANTONG_EXPECTED = {
    "base_pay": "6340.00",
    "seniority_pay": "300.00",          # 2019-03-01 → 2025-05-01: 6 years
    "allowances": "1150.00",
    "high_risk_allowance": "400.00",
    "night_shift_pay": "360.00",        # 6 × 60
    # overtime base 6340 + 300 + 1150 = 7,790; 7790 × 2.5 × 1.5 / 174 = 167.887… → 167.89;
    # 7790 × 3 × 2 / 174 = 268.620… → 268.62; 7790 × 4 × 3 / 174 = 537.241… → 537.24
    "overtime_pay": "973.75",
    "floor_topup": "0.00",              # minimum_wage.csv 320600,2025-01-01,2490
    "bonus": "3000.00",
    "gross_pay": "12523.75",            # 6340 + 300 + 1150 + 400 + 360 + 973.75 + 3000
    # base = April's gross 8,190 (the year's first whole month, an earlier payslip), not May's 12,523.75;
    # social_insurance.csv 320000,2025-01-01 pension 0.16/0.08, unemployment 0.005/0.005, injury 0.002,
    # 4952–24762; 320600,2025-01-01 medical 0.08/0.02, maternity 0.01/0 (南通 9 % incl. 1 % maternity,
    # issue 15); housing_fund.csv 320600,2024-01-01
    # 0.12/0.12, 2490–34000
    "pension_employee": "655.20",       # 8190 × 0.08
    "medical_employee": "163.80",       # 8190 × 0.02
    "unemployment_employee": "40.95",   # 8190 × 0.005
    "housing_fund_employee": "982.80",  # 8190 × 0.12
    # cumulative: (8190 + 12523.75) − 2 × 5000 − 2 × 1842.75 = 7,028.25
    "taxable_income_ytd": "7028.25",
    "iit_ytd": "210.85",                # 7028.25 × 3 % = 210.8475
    "iit": "170.43",                    # 210.85 − 40.42 withheld in April
    "deduction": "120.50",
    "medical_levy_employee": "10.00",   # medical_levies.csv 320600,2024-01-01: 大病 10 a month
    "net_pay": "10380.07",              # 12523.75 − 1842.75 − 10 − 170.43 − 120.50
    "pension_employer": "1310.40",      # 8190 × 0.16
    "medical_employer": "655.20",       # 8190 × 0.08
    "unemployment_employer": "40.95",
    "injury_employer": "16.38",         # 8190 × 0.002
    "maternity_employer": "81.90",      # 8190 × 0.01
    "housing_fund_employer": "982.80",
    # accident_insurance.csv 320600,2023-03-01,personal_accident,high_risk,1200 → 100
    "accident_insurance_employer": "100.00",
    "medical_levy_employer": "0.00",
    # 12523.75 + 1310.40 + 655.20 + 40.95 + 16.38 + 81.90 + 982.80 + 100
    "employer_cost": "15711.38",
}

# ---- Kunming 530100, probation level 8 (test-only row): minimum-wage top-up -------------------------
PROBATION_ROW = ('530100,2024-01-01,civilian,8,1200,'
                 '"test only (tests/test_hand_computed.py): a probation level below the minimum wage"')
PROBATION = person("K8", "530100", "civilian", 8, "PERMITS", date(2024, 3, 4))
PROBATION_ATT = attendance(unpaid=2, workday=4, restday=8, holiday=8, nights=1, deduction=30)
PROBATION_EXPECTED = {
    # F = 1 − 2 / 21.75 = 79/87; base 1200 × 79/87 = 1089.655…
    "base_pay": "1089.66",
    "seniority_pay": "45.40",           # 1 year (from 2024-03-04) × 50 × 79/87 = 45.402…
    "allowances": "544.83",             # civilian 600 × 79/87 = 544.827…
    "high_risk_allowance": "0.00",
    "night_shift_pay": "60.00",
    # overtime base = max(1200 + 50 + 600 = 1850, minimum_wage.csv 530100,2024-10-01,2070) = 2,070:
    # 2070 × 4 × 1.5 / 174 = 71.379… → 71.38; 2070 × 8 × 2 / 174 = 190.344… → 190.34;
    # 2070 × 8 × 3 / 174 = 285.517… → 285.52
    "overtime_pay": "547.24",
    # minimum 2070 × 79/87 = 1879.655… → 1879.66; normal pay 1089.66 + 45.40 + 544.83 = 1679.89
    "floor_topup": "199.77",
    "bonus": "0.00",
    "gross_pay": "2486.90",             # 1089.66 + 45.40 + 544.83 + 60 + 547.24 + 199.77
    # base: whole month (unpaid leave does not make it partial) → its own gross 2,486.90; social
    # insurance raised to the floor 4,357 (530000/530100 2025-01-01); housing fund 2,486.90 ≥ 2,170
    "pension_employee": "348.56",       # 4357 × 0.08
    "medical_employee": "87.14",        # 4357 × 0.02
    "unemployment_employee": "13.07",   # 4357 × 0.003 = 13.071 (云南 split, issue 15)
    "housing_fund_employee": "298.43",  # 2486.90 × 0.12 = 298.428
    "taxable_income_ytd": "0.00",
    "iit": "0.00",
    "iit_ytd": "0.00",
    "deduction": "30.00",
    "medical_levy_employee": "0.00",    # 530100 levy from 2025-10-01 only
    "medical_levy_employer": "0.00",
    "net_pay": "1709.70",               # 2486.90 − (348.56 + 87.14 + 13.07 + 298.43 = 747.20) − 30
    "pension_employer": "697.12",       # 4357 × 0.16
    "medical_employer": "304.99",       # 4357 × 0.07
    "unemployment_employer": "30.50",   # 4357 × 0.007 = 30.499
    "injury_employer": "8.71",          # 4357 × 0.002 = 8.714
    "maternity_employer": "39.21",      # 4357 × 0.009 = 39.213
    "housing_fund_employer": "298.43",
    "accident_insurance_employer": "0.00",   # PERMITS is normal
    # 2486.90 + 697.12 + 304.99 + 30.50 + 8.71 + 39.21 + 298.43
    "employer_cost": "3865.86",
}


def check(row: dict, expected: dict) -> None:
    got = {k: row[k] for k in expected}
    want = {k: Decimal(v) for k, v in expected.items()}
    wrong = {k: f"engine {got[k]} hand {want[k]}" for k in want if got[k] != want[k]}
    assert not wrong, wrong


@pytest.fixture(scope="module")
def may_payslips():
    people = [HOHHOT, ORDOS, HANGZHOU, KUNMING]
    att = {("H1", "2025-05"): HOHHOT_ATT, ("O1", "2025-05"): ORDOS_ATT, ("Z1", "2025-05"): HANGZHOU_ATT,
           ("K1", "2025-05"): KUNMING_ATT}
    return run_engine(SHIPPED_TABLES, people, att, "2025-05", "2025-05")


def test_hohhot(may_payslips):
    check(may_payslips[("H1", "2025-05")], HOHHOT_EXPECTED)


def test_ordos_mid_month_hire(may_payslips):
    row = may_payslips[("O1", "2025-05")]
    assert (row["paid_days_employed"], row["paid_days_in_month"]) == (16, 22)
    check(row, ORDOS_EXPECTED)


def test_hangzhou_unpaid_leave_and_declared_base(may_payslips):
    check(may_payslips[("Z1", "2025-05")], HANGZHOU_EXPECTED)


def test_kunming_leaver(may_payslips):
    row = may_payslips[("K1", "2025-05")]
    assert (row["paid_days_employed"], row["paid_days_in_month"]) == (13, 22)
    check(row, KUNMING_EXPECTED)


def test_nantong_second_month():
    payslips = run_engine(SHIPPED_TABLES, [NANTONG], {("N1", "2025-05"): NANTONG_ATT}, "2025-04", "2025-05")
    april = payslips[("N1", "2025-04")]
    assert (april["gross_pay"], april["iit"]) == (Decimal("8190.00"), Decimal("40.42"))
    check(payslips[("N1", "2025-05")], NANTONG_EXPECTED)


def test_kunming_minimum_wage_topup(tmp_path):
    tables = tmp_path / "tables"
    shutil.copytree(SHIPPED_TABLES, tables)
    scale = tables / "pay_scale.csv"
    text = scale.read_text(encoding="utf-8")
    scale.write_text(text + ("" if text.endswith("\n") else "\n") + PROBATION_ROW + "\n", encoding="utf-8")
    payslips = run_engine(tables, [PROBATION], {("K8", "2025-05"): PROBATION_ATT}, "2025-05", "2025-05")
    check(payslips[("K8", "2025-05")], PROBATION_EXPECTED)


def test_expected_rows_are_complete():
    for expected in (HOHHOT_EXPECTED, ORDOS_EXPECTED, HANGZHOU_EXPECTED, KUNMING_EXPECTED, NANTONG_EXPECTED,
                     PROBATION_EXPECTED):
        # issue 14: a leaver's row also states the untaken-leave line
        assert set(MONEY) <= set(expected) <= set(MONEY) | {"annual_leave_payout"}


# ---- issue 15: Kunming 2026, the corrected 云南 unemployment split and medical base ---------------
# Full months January–September 2026, declared base 4,380: between the 2025 medical floor (4,357) and
# the 2026 floor (4,403). Pension, unemployment and injury use the 2026 bounds from January
# (social_insurance.csv 530000,2026-01-01 4403–22017; unemployment 0.007 employer / 0.003 employee);
# medical and maternity keep the 2025 bounds 4357–21789 until 2026-08-31 (530100,2025-01-01) and take
# 4403–22017 only from 2026-09-01 (530100,2026-09-01; 云人社发〔2026〕8号).
KUNMING_2026 = person("K26", "530100", "duty", 7, "PATROL", date(2020, 1, 1), base="4380")
KUNMING_2026_MARCH = {
    "base_pay": "6780.00",              # pay_scale.csv 530100,2024-01-01,duty,7,6780
    "seniority_pay": "300.00",          # 2020-01-01 → 2026-03-01: 6 years × 50
    "allowances": "1150.00",            # 550 + 400 + 200
    "high_risk_allowance": "400.00",    # PATROL
    "night_shift_pay": "0.00",
    "overtime_pay": "0.00",
    "floor_topup": "0.00",              # 8,230 ≥ minimum_wage.csv 530100,2025-10-01,2170
    "bonus": "0.00",
    "gross_pay": "8630.00",             # 6780 + 300 + 1150 + 400
    "pension_employee": "352.24",       # 4403 (the 2026 floor) × 0.08
    "medical_employee": "87.60",        # 4380 (inside the 2025 medical bounds) × 0.02
    "unemployment_employee": "13.21",   # 4403 × 0.003 = 13.209 (0.5 % would have been 22.02)
    "housing_fund_employee": "525.60",  # 4380 × 0.12 (housing_fund.csv 530100,2026-01-01 2170–32543)
    # employee contributions 352.24 + 87.60 + 13.21 + 525.60 = 978.65 a month, the same each month;
    # March: 3 × 8630 − 3 × 5000 − 3 × 978.65 = 25890 − 15000 − 2935.95
    "taxable_income_ytd": "7954.05",
    "iit_ytd": "238.62",                # × 3 % = 238.6215
    "iit": "79.54",                     # 238.62 − 159.08 (Feb: 5302.70 × 3 % = 159.081)
    "deduction": "0.00",
    # medical_levies.csv 530100,2025-10-01: 1 a month employee, 43.58 employer (0.6 % × 7,263 = 43.578)
    "medical_levy_employee": "1.00",
    "net_pay": "7570.81",               # 8630 − 978.65 − 1 − 79.54
    "pension_employer": "704.48",       # 4403 × 0.16
    "medical_employer": "306.60",       # 4380 × 0.07
    "unemployment_employer": "30.82",   # 4403 × 0.007 = 30.821
    "injury_employer": "8.81",          # 4403 × 0.002 = 8.806
    "maternity_employer": "39.42",      # 4380 × 0.009
    "housing_fund_employer": "525.60",
    "accident_insurance_employer": "100.00",  # accident_insurance.csv 530000,2024-07-01 1200 ÷ 12
    "medical_levy_employer": "43.58",
    # 8630 + 704.48 + 306.60 + 30.82 + 8.81 + 39.42 + 525.60 + 43.58 + 100
    "employer_cost": "10389.31",
}


def test_kunming_2026_unemployment_split_and_medical_base():
    payslips = run_engine(SHIPPED_TABLES, [KUNMING_2026], {}, "2026-01", "2026-09")
    check(payslips[("K26", "2026-03")], KUNMING_2026_MARCH)
    august, september = payslips[("K26", "2026-08")], payslips[("K26", "2026-09")]
    # August: still the 2025 medical bounds, 4380 × 0.02 = 87.60
    assert august["medical_employee"] == Decimal("87.60")
    # September: the medical base rises to the new floor 4,403: × 0.02 = 88.06, × 0.07 = 308.21,
    # maternity × 0.009 = 39.627 → 39.63; unemployment unchanged 13.21
    assert (september["medical_employee"], september["medical_employer"], september["maternity_employer"],
            september["unemployment_employee"]) == (Decimal("88.06"), Decimal("308.21"), Decimal("39.63"),
                                                    Decimal("13.21"))


# ---- issue 15: Inner Mongolia, the 2,380 minimum wage from 2025-12-01 (内政办发〔2025〕40号) ----------
# A test-only probation level below the minimum wage (as the Kunming case above), civilian, normal post.
HOHHOT_PROBATION_ROW = ('150100,2024-01-01,civilian,8,1200,'
                        '"test only (tests/test_hand_computed.py): a probation level below the minimum wage"')
HOHHOT_PROBATION = person("H8", "150100", "civilian", 8, "TECH", date(2025, 6, 2))
HOHHOT_DECEMBER = {
    "base_pay": "1200.00",
    "seniority_pay": "0.00",            # 0 completed years
    "allowances": "600.00",             # civilian: 400 + 200
    "high_risk_allowance": "0.00",
    "night_shift_pay": "0.00",
    "overtime_pay": "0.00",
    # minimum_wage.csv 150100,2025-12-01,2380 (was dated 2026-07-01: 2,270 would have applied);
    # normal pay 1200 + 600 = 1,800; 2380 − 1800
    "floor_topup": "580.00",
    "bonus": "0.00",
    "gross_pay": "2380.00",
    # base: November's gross 2,270 (the first full month; 1800 + 470 top-up to the 2,270 then in force),
    # raised to the social-insurance floor 4,907 (social_insurance.csv 150000/150100,2025-01-01) and to
    # the housing-fund floor 2,380 (housing_fund.csv 150100,2024-01-01 2380–30498)
    "pension_employee": "392.56",       # 4907 × 0.08
    "medical_employee": "98.14",        # 4907 × 0.02
    "unemployment_employee": "24.54",   # 4907 × 0.005 = 24.535 → half up
    "housing_fund_employee": "285.60",  # 2380 × 0.12
    "taxable_income_ytd": "0.00",       # 2270 + 2380 − 2 × 5000 − … < 0
    "iit_ytd": "0.00",
    "iit": "0.00",
    "deduction": "0.00",
    # medical_levies.csv 150100: the yearly 50 was charged in November, H8's first payslip of 2025
    "medical_levy_employee": "0.00",
    "medical_levy_employer": "0.00",
    "net_pay": "1579.16",               # 2380 − (392.56 + 98.14 + 24.54 + 285.60 = 800.84)
    "pension_employer": "785.12",       # 4907 × 0.16
    "medical_employer": "328.77",       # 4907 × 0.067 = 328.769
    "unemployment_employer": "24.54",
    "injury_employer": "9.81",          # 4907 × 0.002 = 9.814
    "maternity_employer": "0.00",
    "housing_fund_employer": "285.60",
    "accident_insurance_employer": "0.00",   # TECH is normal
    # 2380 + 785.12 + 328.77 + 24.54 + 9.81 + 0 + 285.60
    "employer_cost": "3813.84",
}


def test_inner_mongolia_december_2025_minimum_wage_topup(tmp_path):
    tables = tmp_path / "tables"
    shutil.copytree(SHIPPED_TABLES, tables)
    scale = tables / "pay_scale.csv"
    text = scale.read_text(encoding="utf-8")
    scale.write_text(text + ("" if text.endswith("\n") else "\n") + HOHHOT_PROBATION_ROW + "\n", encoding="utf-8")
    payslips = run_engine(tables, [HOHHOT_PROBATION], {}, "2025-11", "2025-12")
    # November: minimum_wage.csv 150100,2024-12-01,2270 still; 2270 − 1800 = 470
    assert payslips[("H8", "2025-11")]["floor_topup"] == Decimal("470.00")
    check(payslips[("H8", "2025-12")], HOHHOT_DECEMBER)


def test_issue_15_cases_are_complete():
    for expected in (KUNMING_2026_MARCH, HOHHOT_DECEMBER):
        assert set(expected) == set(MONEY)
