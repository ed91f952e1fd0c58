"""Contribution bases clamped at the floor and the ceiling in each hand-case region, with every
contribution line, on the SHIPPED tables (issue 20: a typo in a floor, a ceiling or a rate of a row
in force must fail a test).

June 2025; one person per region with a declared base of 1.00 (LO: every fund at its floor) and one
with 999,999.00 (HI: every fund at its ceiling). Every expected figure is a literal: the floor or
ceiling of the row in force on 2025-06-01, times the row's rate, half-up to the fen. Rows read:
- social_insurance.csv 2025-01-01, floor / ceiling: 150000 (Hohhot, Ordos) 4,907 / 24,537;
  330000 (Hangzhou) 4,986 / 25,299; 530000 (Kunming) 4,357 / 21,789; 320000 (Nantong) 4,952 / 24,762.
  Rates: pension 16 % / 8 %, unemployment 0.5 % / 0.5 % (Kunming 0.7 % / 0.3 %), injury 0.2 %
  employer; medical employer 6.7 % Hohhot, 6.4 % Ordos, 8.9 % Hangzhou, 7 % Kunming, 8 % Nantong,
  employee 2 %; maternity employer 0 Hohhot and Ordos, 0.6 % Hangzhou, 0.9 % Kunming, 1 % Nantong.
- housing_fund.csv 2024-01-01 (the rows in force in June 2025), 12 % / 12 %, floor / ceiling:
  Hohhot 2,380 / 30,498; Ordos 2,380 / 36,108; Hangzhou 2,490 / 40,694; Kunming 2,170 / 32,470;
  Nantong 2,490 / 34,000.
E.g. HI Kunming: unemployment employer 21,789 × 0.7 % = 152.523 → 152.52; housing fund
32,470 × 12 % = 3,896.40. LO Hangzhou: maternity 4,986 × 0.6 % = 29.916 → 29.92.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from conftest import SHIPPED_TABLES, run_engine
from test_hand_computed import person

REGIONS = ("150100", "150600", "330100", "530100", "320600")

EXPECTED = {
    ("LO", "150100"): {"pension_base": "4907.00", "pension_employer": "785.12", "pension_employee": "392.56", "medical_base": "4907.00", "medical_employer": "328.77", "medical_employee": "98.14", "unemployment_base": "4907.00", "unemployment_employer": "24.54", "unemployment_employee": "24.54", "injury_base": "4907.00", "injury_employer": "9.81", "maternity_base": "4907.00", "maternity_employer": "0.00", "housing_fund_base": "2380.00", "housing_fund_employee": "285.60", "housing_fund_employer": "285.60"},
    ("HI", "150100"): {"pension_base": "24537.00", "pension_employer": "3925.92", "pension_employee": "1962.96", "medical_base": "24537.00", "medical_employer": "1643.98", "medical_employee": "490.74", "unemployment_base": "24537.00", "unemployment_employer": "122.69", "unemployment_employee": "122.69", "injury_base": "24537.00", "injury_employer": "49.07", "maternity_base": "24537.00", "maternity_employer": "0.00", "housing_fund_base": "30498.00", "housing_fund_employee": "3659.76", "housing_fund_employer": "3659.76"},
    ("LO", "150600"): {"pension_base": "4907.00", "pension_employer": "785.12", "pension_employee": "392.56", "medical_base": "4907.00", "medical_employer": "314.05", "medical_employee": "98.14", "unemployment_base": "4907.00", "unemployment_employer": "24.54", "unemployment_employee": "24.54", "injury_base": "4907.00", "injury_employer": "9.81", "maternity_base": "4907.00", "maternity_employer": "0.00", "housing_fund_base": "2380.00", "housing_fund_employee": "285.60", "housing_fund_employer": "285.60"},
    ("HI", "150600"): {"pension_base": "24537.00", "pension_employer": "3925.92", "pension_employee": "1962.96", "medical_base": "24537.00", "medical_employer": "1570.37", "medical_employee": "490.74", "unemployment_base": "24537.00", "unemployment_employer": "122.69", "unemployment_employee": "122.69", "injury_base": "24537.00", "injury_employer": "49.07", "maternity_base": "24537.00", "maternity_employer": "0.00", "housing_fund_base": "36108.00", "housing_fund_employee": "4332.96", "housing_fund_employer": "4332.96"},
    ("LO", "330100"): {"pension_base": "4986.00", "pension_employer": "797.76", "pension_employee": "398.88", "medical_base": "4986.00", "medical_employer": "443.75", "medical_employee": "99.72", "unemployment_base": "4986.00", "unemployment_employer": "24.93", "unemployment_employee": "24.93", "injury_base": "4986.00", "injury_employer": "9.97", "maternity_base": "4986.00", "maternity_employer": "29.92", "housing_fund_base": "2490.00", "housing_fund_employee": "298.80", "housing_fund_employer": "298.80"},
    ("HI", "330100"): {"pension_base": "25299.00", "pension_employer": "4047.84", "pension_employee": "2023.92", "medical_base": "25299.00", "medical_employer": "2251.61", "medical_employee": "505.98", "unemployment_base": "25299.00", "unemployment_employer": "126.50", "unemployment_employee": "126.50", "injury_base": "25299.00", "injury_employer": "50.60", "maternity_base": "25299.00", "maternity_employer": "151.79", "housing_fund_base": "40694.00", "housing_fund_employee": "4883.28", "housing_fund_employer": "4883.28"},
    ("LO", "530100"): {"pension_base": "4357.00", "pension_employer": "697.12", "pension_employee": "348.56", "medical_base": "4357.00", "medical_employer": "304.99", "medical_employee": "87.14", "unemployment_base": "4357.00", "unemployment_employer": "30.50", "unemployment_employee": "13.07", "injury_base": "4357.00", "injury_employer": "8.71", "maternity_base": "4357.00", "maternity_employer": "39.21", "housing_fund_base": "2170.00", "housing_fund_employee": "260.40", "housing_fund_employer": "260.40"},
    ("HI", "530100"): {"pension_base": "21789.00", "pension_employer": "3486.24", "pension_employee": "1743.12", "medical_base": "21789.00", "medical_employer": "1525.23", "medical_employee": "435.78", "unemployment_base": "21789.00", "unemployment_employer": "152.52", "unemployment_employee": "65.37", "injury_base": "21789.00", "injury_employer": "43.58", "maternity_base": "21789.00", "maternity_employer": "196.10", "housing_fund_base": "32470.00", "housing_fund_employee": "3896.40", "housing_fund_employer": "3896.40"},
    ("LO", "320600"): {"pension_base": "4952.00", "pension_employer": "792.32", "pension_employee": "396.16", "medical_base": "4952.00", "medical_employer": "396.16", "medical_employee": "99.04", "unemployment_base": "4952.00", "unemployment_employer": "24.76", "unemployment_employee": "24.76", "injury_base": "4952.00", "injury_employer": "9.90", "maternity_base": "4952.00", "maternity_employer": "49.52", "housing_fund_base": "2490.00", "housing_fund_employee": "298.80", "housing_fund_employer": "298.80"},
    ("HI", "320600"): {"pension_base": "24762.00", "pension_employer": "3961.92", "pension_employee": "1980.96", "medical_base": "24762.00", "medical_employer": "1980.96", "medical_employee": "495.24", "unemployment_base": "24762.00", "unemployment_employer": "123.81", "unemployment_employee": "123.81", "injury_base": "24762.00", "injury_employer": "49.52", "maternity_base": "24762.00", "maternity_employer": "247.62", "housing_fund_base": "34000.00", "housing_fund_employee": "4080.00", "housing_fund_employer": "4080.00"},
}


@pytest.fixture(scope="module")
def payslips():
    people = [person(f"{side}{region}", region, "duty", 1, "PATROL", date(2020, 1, 1),
                     base="1.00" if side == "LO" else "999999.00")
              for region in REGIONS for side in ("LO", "HI")]
    return run_engine(SHIPPED_TABLES, people, {}, "2025-06", "2025-06")


@pytest.mark.parametrize("side, region", list(EXPECTED))
def test_every_fund_at_its_floor_or_ceiling(payslips, side, region):
    row = payslips[(f"{side}{region}", "2025-06")]
    got = {column: row[column] for column in EXPECTED[(side, region)]}
    assert got == {column: Decimal(value) for column, value in EXPECTED[(side, region)].items()}
