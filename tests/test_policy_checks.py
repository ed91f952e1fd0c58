"""Whole-table checks on load (payroll/policy_checks.py): each spoiled copy of the shipped tables is
refused with the file, row and column named, and nothing else is reported."""
from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from payroll.errors import InputError
from payroll.policy import SHIPPED_TABLES, load_policy


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "tables"
    shutil.copytree(SHIPPED_TABLES, target, ignore=shutil.ignore_patterns("*.md"))
    return target


def _edit(path: Path, edit) -> None:
    with open(path, encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        fields, rows = reader.fieldnames, list(reader)
    edit(rows)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def _line_of(path: Path, **match) -> int:
    with open(path, encoding="utf-8-sig") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            if all(row[k] == v for k, v in match.items()):
                return line
    raise AssertionError(match)


def _only_problem(tables: Path) -> str:
    with pytest.raises(InputError) as caught:
        load_policy(tables)
    assert len(caught.value.problems) == 1, str(caught.value)
    return str(caught.value.problems[0])


def test_the_shipped_tables_pass_every_check():
    load_policy(SHIPPED_TABLES)


def test_two_rows_with_the_same_key_and_date_overlap(tmp_path):
    tables = _copy(tmp_path)
    first = _line_of(tables / "minimum_wage.csv", region_code="320600", effective_from="2025-01-01")

    def duplicate(rows):
        rows.append({**rows[first - 2], "monthly_minimum_wage": "2500"})
    _edit(tables / "minimum_wage.csv", duplicate)
    last = sum(1 for _ in open(tables / "minimum_wage.csv", encoding="utf-8"))
    assert _only_problem(tables) == (f"minimum_wage.csv, row {last}, column region_code,effective_from: repeats "
                                     f"the key of row {first} (same region_code, effective_from)")


def test_a_rate_above_100_percent_is_refused(tmp_path):
    tables = _copy(tmp_path)
    line = _line_of(tables / "social_insurance.csv", region_code="320000", effective_from="2025-01-01", fund="pension")

    def spoil(rows):
        rows[line - 2]["employee_rate"] = "8"          # 8 %, typed as a percentage
    _edit(tables / "social_insurance.csv", spoil)
    assert _only_problem(tables).startswith(f"social_insurance.csv, row {line}, column employee_rate: 8 is above 1")


def test_a_housing_fund_floor_above_its_ceiling_is_refused(tmp_path):
    tables = _copy(tmp_path)
    line = _line_of(tables / "housing_fund.csv", region_code="330100", effective_from="2025-07-01")

    def spoil(rows):
        rows[line - 2]["base_floor"] = "50000"
    _edit(tables / "housing_fund.csv", spoil)
    assert _only_problem(tables) == (f"housing_fund.csv, row {line}, column base_floor: floor 50000 is above "
                                     f"the ceiling 40694")


def test_a_minimum_wage_above_the_average_wage_is_refused(tmp_path):
    tables = _copy(tmp_path)
    line = _line_of(tables / "minimum_wage.csv", region_code="330100", effective_from="2025-01-01")

    def spoil(rows):
        rows[line - 2]["monthly_minimum_wage"] = "24900"      # a zero too many
    _edit(tables / "minimum_wage.csv", spoil)
    message = _only_problem(tables)
    # average_wage.csv 330100,2024-07-01,13191.75 is in force on 2025-01-01
    assert message.startswith(f"minimum_wage.csv, row {line}, column monthly_minimum_wage: 24900 is above the "
                              f"average wage 13191.75 in force for 330100 on 2025-01-01")


def test_a_tax_rate_lower_than_the_bracket_below_is_refused(tmp_path):
    tables = _copy(tmp_path)

    def spoil(rows):
        rows[2]["rate"] = "0.05"          # 144,000 bracket: 20 % → 5 %, below the 10 % under it
    _edit(tables / "iit_brackets.csv", spoil)
    assert _only_problem(tables) == "iit_brackets.csv, row 4, column rate: 0.05 is below the rate 0.1 of the bracket under it"


@pytest.mark.parametrize("table, index, spoilt, threshold, must_be", [
    ("iit_brackets", 1, "2250", "36000", "2520"),         # 0 + 36,000 × (0.10 − 0.03) = 2,520
    ("iit_bonus_brackets", 2, "1401", "12000", "1410"),   # the monthly-converted table: 210 + 12,000 × (0.20 − 0.10)
])
def test_a_quick_deduction_that_makes_the_tax_jump_is_refused(tmp_path, table, index, spoilt, threshold, must_be):
    tables = _copy(tmp_path)

    def spoil(rows):
        rows[index]["quick_deduction"] = spoilt
    _edit(tables / f"{table}.csv", spoil)
    message = _only_problem(tables)
    assert message.startswith(f"{table}.csv, row {index + 2}, column quick_deduction: {spoilt} makes the tax "
                              f"jump at {threshold}")
    assert message.endswith(f"it must be {must_be}")


def test_a_quick_deduction_in_the_lowest_bracket_is_refused(tmp_path):
    tables = _copy(tmp_path)

    def spoil(rows):
        for row in rows:                      # every quick deduction 10 more: continuous, but tax(0) = −10
            row["quick_deduction"] = str(int(row["quick_deduction"]) + 10)
    _edit(tables / "iit_bonus_brackets.csv", spoil)
    assert _only_problem(tables).startswith("iit_bonus_brackets.csv, row 2, column quick_deduction: 10 in the "
                                            "lowest bracket would make the tax on a small income negative")


def test_every_shipped_quick_deduction_follows_from_the_rates():
    # 公告2018年第61号 预扣率表一, by hand: 2,520 = 36,000 × 0.07; 16,920 = 2,520 + 144,000 × 0.10;
    # 31,920 = 16,920 + 300,000 × 0.05; 52,920 = 31,920 + 420,000 × 0.05; 85,920 = 52,920 + 660,000 × 0.05;
    # 181,920 = 85,920 + 960,000 × 0.10
    brackets = load_policy().frames["iit_brackets"].sort_values("threshold")
    assert [int(q) for q in brackets.quick_deduction] == [0, 2520, 16920, 31920, 52920, 85920, 181920]


def test_valid_until_before_the_start_is_refused(tmp_path):
    tables = _copy(tmp_path)
    line = _line_of(tables / "pay_floor.csv", region_code="320600", effective_from="2023-03-01")

    def spoil(rows):
        rows[line - 2]["valid_until"] = "2022-12-31"
    _edit(tables / "pay_floor.csv", spoil)
    assert _only_problem(tables) == (f"pay_floor.csv, row {line}, column valid_until: 2022-12-31 is before "
                                     f"effective_from 2023-03-01")


def test_a_bad_status_is_refused(tmp_path):
    tables = _copy(tmp_path)

    def spoil(rows):
        rows[0]["status"] = "guess"
    _edit(tables / "allowances.csv", spoil)
    assert _only_problem(tables).startswith("allowances.csv, row 2, column status: 'guess' is not one of")


def test_tables_without_the_status_columns_still_load_and_samples_are_read_from_the_source(tmp_path):
    tables = _copy(tmp_path)
    for path in tables.glob("*.csv"):
        def strip(rows):
            for row in rows:
                if row.get("status") == "sample":
                    row["source"] = "sample: " + row["source"]
                row.pop("status", None)
                row.pop("valid_until", None)
        with open(path, encoding="utf-8-sig") as handle:
            fields = [f for f in csv.DictReader(handle).fieldnames if f not in ("status", "valid_until")]
        with open(path, encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
        strip(rows)
        with open(path, "w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)
    policy = load_policy(tables)
    assert set(policy.frames["pay_scale"].status) == {"sample"}
    assert set(policy.frames["injury_grades"].status) == {"official"}


@pytest.mark.parametrize("table, match, column, value", [
    ("national_parameters.csv", dict(name="pay_days_per_month", effective_from="2025-01-01"), "value", "0"),
    ("national_parameters.csv", dict(name="hours_per_day", effective_from="2008-01-01"), "value", "0"),
    ("maternity.csv", dict(region_code="000000", effective_from="2011-07-01"), "allowance_day_divisor", "0"),
])
def test_a_divisor_of_zero_is_refused_naming_file_row_and_column(tmp_path, table, match, column, value):
    """Defect 7: pay_days_per_month = 0 ended the run in a division by zero (a traceback, exit 1)."""
    tables = _copy(tmp_path)
    line = _line_of(tables / table, **match)

    def spoil(rows):
        rows[line - 2][column] = value
    _edit(tables / table, spoil)
    problem = _only_problem(tables)
    assert problem.startswith(f"{table}, row {line}, column {column}: ")
    assert "divide by it" in problem


def test_pay_days_per_month_zero_exits_2_from_run_and_writes_nothing(tmp_path, capsys):
    from payroll.cli import run_cli
    tables = _copy(tmp_path)
    line = _line_of(tables / "national_parameters.csv", name="pay_days_per_month", effective_from="2025-01-01")

    def spoil(rows):
        rows[line - 2]["value"] = "0"
    _edit(tables / "national_parameters.csv", spoil)
    database = tmp_path / "p.duckdb"
    assert run_cli(["run", "--month", "2025-03", "--db", str(database), "--tables", str(tables)]) == 2
    error = capsys.readouterr().err
    assert (f"national_parameters.csv, row {line}, column value: pay_days_per_month is 0: the pay rules divide "
            f"by it") in error
    assert "Traceback" not in error
    assert not database.exists()              # the tables are checked before the database is opened
