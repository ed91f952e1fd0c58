"""Issue 15: the fixed medical levies (大额医疗 / 大病, tables/medical_levies.csv, rules/medical_levy.py).

Hand cases: Kunming (1 a month employee, 43.58 employer) and Nantong (大病 10 a month) are in
tests/test_hand_computed.py (KUNMING_2026_MARCH, NANTONG_EXPECTED); here the Hohhot yearly levy,
the levy in a month that cannot pay it, and a directory without the table.
"""
import shutil
from datetime import date
from decimal import Decimal

import pytest
from conftest import SHIPPED_TABLES, run_engine

from payroll.errors import InputError
from payroll.policy import load_policy


def person(eid, region, hire, level=7, post="PATROL"):
    return {"employee_id": eid, "name": eid, "region_code": region, "unit": "U", "category": "duty",
            "level": level, "post": post, "hire_date": hire, "leave_date": None, "service_start": None,
            "special_deduction": Decimal(0), "contribution_base": None}


@pytest.fixture(scope="module")
def without_levies(tmp_path_factory):
    """The shipped tables less medical_levies.csv: a user's directory made before the table."""
    directory = tmp_path_factory.mktemp("tables") / "t"
    shutil.copytree(SHIPPED_TABLES, directory)
    (directory / "medical_levies.csv").unlink()
    return directory


HOHHOT = person("H2", "150100", date(2020, 1, 1))


def test_hohhot_yearly_levy_is_charged_once_on_the_first_payslip_of_the_year(without_levies):
    with_levy = run_engine(SHIPPED_TABLES, [HOHHOT], {}, "2026-01", "2026-02")
    without = run_engine(without_levies, [HOHHOT], {}, "2026-01", "2026-02")
    # medical_levies.csv 150100,2024-01-01: 50.00 a year, whole (4.17 × 12 = 50.04 would over-collect):
    # January 2026 is H2's first payslip of the year: 50; February: 0
    expected = {"2026-01": Decimal("50.00"), "2026-02": Decimal("0.00")}
    for month, levy in expected.items():
        row, bare = with_levy[("H2", month)], without[("H2", month)]
        assert row["medical_levy_employee"] == levy
        assert row["medical_levy_employer"] == Decimal("0.00")      # no employer share in the row
        assert bare["medical_levy_employee"] == Decimal("0.00")     # no table, no levy
        # withheld from net pay, not a 专项扣除: the tax is the same with or without it
        assert row["iit"] == bare["iit"]
        assert row["net_pay"] == bare["net_pay"] - levy
        assert row["employer_cost"] == bare["employer_cost"]


def test_a_month_that_cannot_pay_the_levy_carries_it_as_a_balance_owed(without_levies):
    # Nantong, a whole month of unpaid leave (23 paid days in May 2025 minus 23 days): gross 0, the
    # contributions on the base floor are still due, and so is the 大病 10 (320600,2024-01-01)
    nantong = person("N2", "320600", date(2019, 3, 1))
    leave = {("N2", "2025-05"): {"unpaid_leave_days": Decimal("23")}}
    row = run_engine(SHIPPED_TABLES, [nantong], leave, "2025-04", "2025-05")[("N2", "2025-05")]
    bare = run_engine(without_levies, [nantong], leave, "2025-04", "2025-05")[("N2", "2025-05")]
    assert row["medical_levy_employee"] == Decimal("10.00")
    assert row["net_pay"] == Decimal("0.00")
    contributions = (row["pension_employee"] + row["medical_employee"] + row["unemployment_employee"]
                     + row["housing_fund_employee"])
    assert row["shortfall_carried"] == contributions + Decimal("10.00") - row["gross_pay"] + row["iit"]
    assert row["shortfall_carried"] == bare["shortfall_carried"] + Decimal("10.00")
    assert row["balance_owed"] == bare["balance_owed"] + Decimal("10.00")


def test_two_levy_rows_with_the_same_region_and_date_are_refused(tmp_path):
    directory = tmp_path / "t"
    shutil.copytree(SHIPPED_TABLES, directory)
    path = directory / "medical_levies.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(lines + [lines[1]]) + "\n", encoding="utf-8")     # row 2 again, as row 6
    with pytest.raises(InputError) as caught:
        load_policy(directory)
    problems = [p for p in caught.value.problems if p.file == "medical_levies.csv"]
    assert problems and problems[0].row == 6 and "region_code" in problems[0].column
