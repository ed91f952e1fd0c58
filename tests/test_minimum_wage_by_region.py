"""The minimum wage in force in June 2025 in each hand-case region, pinned by a top-up (issue 20: no
shipped level pays below the minimum wage, so a typo in a shipped minimum wage changed no payslip
and passed every test).

As the Kunming and Inner Mongolia cases of test_hand_computed.py: a copy of the shipped tables with a
test-only civilian probation level 8 at 1,200 in each region. Hired 2025-01-06, June 2025 is a whole
month (F = 1): normal pay 1,200 + civilian allowances 600 (living 400 + transport 200) = 1,800, and
the minimum-wage top-up (rules/floors.py) = the minimum wage − 1,800. Rows (minimum_wage.csv):
150100 and 150600 2024-12-01 2,270 (内蒙古); 330100 2025-01-01 2,490 (浙江 tier 1); 530100
2024-10-01 2,070 (云南 class I); 320600 2025-01-01 2,490 (江苏 tier 1).
"""
from __future__ import annotations

import shutil
from datetime import date
from decimal import Decimal

import pytest
from conftest import SHIPPED_TABLES, run_engine
from test_hand_computed import person

EXPECTED_TOPUP = {"150100": "470.00", "150600": "470.00", "330100": "690.00", "530100": "270.00",
                  "320600": "690.00"}


@pytest.fixture(scope="module")
def june(tmp_path_factory):
    tables = tmp_path_factory.mktemp("minimum-wage") / "tables"
    shutil.copytree(SHIPPED_TABLES, tables)
    scale = tables / "pay_scale.csv"
    text = scale.read_text(encoding="utf-8")
    rows = "".join(f'{region},2024-01-01,civilian,8,1200,"test only (tests/test_minimum_wage_by_region.py): '
                   f'a probation level below the minimum wage"\n' for region in EXPECTED_TOPUP)
    scale.write_text(text + ("" if text.endswith("\n") else "\n") + rows, encoding="utf-8")
    people = [person(f"P{region}", region, "civilian", 8, "TECH", date(2025, 1, 6)) for region in EXPECTED_TOPUP]
    return run_engine(tables, people, {}, "2025-06", "2025-06")


@pytest.mark.parametrize("region", list(EXPECTED_TOPUP))
def test_the_topup_brings_pay_to_the_regions_minimum_wage(june, region):
    row = june[(f"P{region}", "2025-06")]
    assert (row["base_pay"], row["allowances"]) == (Decimal("1200.00"), Decimal("600.00"))
    assert row["floor_topup"] == Decimal(EXPECTED_TOPUP[region])
    assert row["gross_pay"] == Decimal("1800.00") + Decimal(EXPECTED_TOPUP[region])
