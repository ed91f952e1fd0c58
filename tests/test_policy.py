"""The shipped policy tables: complete for the five places 2024–2026, every row sourced, and bad
tables refused with the file, row and column named."""
from __future__ import annotations

import csv
import shutil
from pathlib import Path

import duckdb
import pytest
from conftest import FULL

from payroll.db import connect
from payroll.engine.context import Month, check_month_parameters, install_month_parameters
from payroll.engine.run import prepare_connection
from payroll.errors import InputError, PolicyError
from payroll.policy import FUNDS, SHIPPED_TABLES, TABLES, load_policy

CITIES = {"150100": "Hohhot", "150600": "Ordos", "330100": "Hangzhou", "530100": "Kunming",
          "320600": "Nantong"}
ALL_MONTHS = [f"{year}-{month:02d}" for year in (2024, 2025, 2026) for month in range(1, 13)]


def _months_the_tables_change() -> list[str]:
    """January 2024, and each month of 2024–2026 holding a day the rows in force change
    (Policy.change_dates) with the month after it: between two of these the same rows are in force,
    so the CI tier checks these and the full tier every month (CI time, DEVELOPERS.md)."""
    changing = {day.strftime("%Y-%m") for day in load_policy().change_dates()}
    checked = {ALL_MONTHS[0]}
    for index, month in enumerate(ALL_MONTHS):
        if month in changing:
            checked |= set(ALL_MONTHS[index:index + 2])
    return sorted(checked)


MONTHS = ALL_MONTHS if FULL else _months_the_tables_change()


def test_every_shipped_row_has_a_source_and_dates_where_they_change():
    for name, columns in TABLES.items():
        with open(SHIPPED_TABLES / f"{name}.csv", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
        for line, row in enumerate(rows, start=2):
            assert row["source"].strip(), f"{name}.csv line {line} has no source"
            if "effective_from" in row:
                assert row["effective_from"].strip(), f"{name}.csv line {line} has no effective_from"


def test_sample_rows_say_what_replaces_them():
    samples = 0
    for name in TABLES:
        with open(SHIPPED_TABLES / f"{name}.csv", encoding="utf-8-sig") as handle:
            for line, row in enumerate(csv.DictReader(handle), start=2):
                if row.get("status") == "sample":
                    assert "replace" in row["source"].lower() or "替换" in row["source"], \
                        f"{name}.csv line {line}: a sample row must say which official figure replaces it"
                    samples += 1
    assert samples > 100        # pay scales, allowances, premiums, housing-fund rates, …


def test_every_figure_row_has_a_status_and_no_source_sentence_carries_it():
    for name in TABLES:
        if name in ("regions", "posts"):
            continue
        with open(SHIPPED_TABLES / f"{name}.csv", encoding="utf-8-sig") as handle:
            for line, row in enumerate(csv.DictReader(handle), start=2):
                assert row["status"] in ("official", "secondary", "unverified", "sample", "disputed"), \
                    f"{name}.csv line {line}"
                assert not row["source"].startswith("sample:"), f"{name}.csv line {line}"


@pytest.fixture(scope="module")
def shipped():
    policy = load_policy()
    con = duckdb.connect()
    prepare_connection(con, policy, [2024, 2025, 2026])
    return policy, con


@pytest.mark.parametrize("month", MONTHS)
def test_every_city_has_every_figure_every_month(shipped, month):
    policy, con = shipped
    install_month_parameters(con, Month.parse(month))
    region = con.execute("SELECT * FROM params_region").df().set_index("region_code")
    for code in CITIES:
        row = region.loc[code]
        for column in ["minimum_wage_row", "housing_fund_row"] + [f"{f}_row" for f in FUNDS]:
            assert row[column] == row[column], f"{column} missing for {code} in {month}"
        for category in ("duty", "civilian"):
            levels = {r[0] for r in con.execute(
                "SELECT level FROM resolved_pay_scale WHERE for_region = ? AND category = ?",
                [code, category]).fetchall()}
            assert levels == set(range(1, 8)), f"pay scale of {code} {category} in {month}: {levels}"
        for table in ("average_wage", "pay_floor"):
            found = con.execute(f"SELECT count(*) FROM resolved_{table} WHERE for_region = ?", [code]).fetchall()
            assert found[0][0] == 1, f"{table} missing for {code} in {month}"


def test_the_most_specific_region_wins_then_the_latest_date(tmp_path):
    tables = _copy_tables(tmp_path)
    _append(tables / "minimum_wage.csv", ["320000", "2025-01-01", "2000", "test: province"])
    _append(tables / "minimum_wage.csv", ["320600", "2024-06-01", "1900", "test: city, older"])
    _append(tables / "minimum_wage.csv", ["000000", "2025-03-01", "2100", "test: nation, newer"])
    policy = load_policy(tables)
    con = duckdb.connect()
    prepare_connection(con, policy, [2025])
    install_month_parameters(con, Month.parse("2025-04"))
    wage = con.execute("SELECT minimum_wage FROM params_region WHERE region_code = '320600'").fetchall()[0][0]
    # Nantong's own rows win over the province's and the nation's, whatever their dates
    assert wage == _latest_city_minimum_wage(tables, "320600", "2025-04-01") * 100


def _latest_city_minimum_wage(tables: Path, code: str, day: str) -> int:
    with open(tables / "minimum_wage.csv", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["region_code"] == code and r["effective_from"] <= day]
    return int(float(max(rows, key=lambda r: r["effective_from"])["monthly_minimum_wage"]))


def _copy_tables(tmp_path: Path) -> Path:
    target = tmp_path / "tables"
    shutil.copytree(SHIPPED_TABLES, target, ignore=shutil.ignore_patterns("*.md"))
    return target


def _append(path: Path, row: list[str]) -> None:
    with open(path, "a", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerow(row)


def _rewrite(path: Path, edit) -> None:
    with open(path, encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    fields = list(rows[0].keys())
    rows = edit(rows)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


@pytest.mark.parametrize("file, column, value, reason", [
    ("social_insurance.csv", "employee_rate", "0.0812345", "more than 6 decimal places"),
    ("pay_scale.csv", "base_pay", "abc", "is not an amount in yuan"),
    ("pay_scale.csv", "effective_from", "2024-02-30", "is not a date"),
    ("allowances.csv", "per", "fortnight", "is not one of"),
    ("minimum_wage.csv", "source", "", "is empty"),
])
def test_a_bad_cell_names_file_row_and_column(tmp_path, file, column, value, reason):
    tables = _copy_tables(tmp_path)

    def spoil(rows):
        rows[2][column] = value
        return rows
    _rewrite(tables / file, spoil)
    with pytest.raises(InputError) as caught:
        load_policy(tables)
    message = str(caught.value)
    assert f"{file}, row 4, column {column}" in message and reason in message


def test_injury_insurance_with_an_employee_share_is_refused(tmp_path):
    tables = _copy_tables(tmp_path)

    def spoil(rows):
        for row in rows:
            if row["fund"] == "injury":
                row["employee_rate"] = "0.001"
                break
        return rows
    _rewrite(tables / "social_insurance.csv", spoil)
    with pytest.raises(InputError, match="employee_rate: injury has no employee share"):
        load_policy(tables)


def test_a_figure_no_row_provides_is_an_error_naming_table_region_and_month(tmp_path):
    tables = _copy_tables(tmp_path)
    _rewrite(tables / "housing_fund.csv", lambda rows: [r for r in rows if r["region_code"] != "320600"])
    policy = load_policy(tables)
    con = connect(":memory:")
    con.execute("INSERT INTO employees VALUES ('N1', '周一', NULL, '320600', '崇川分局', 'duty', 7, 'PATROL', "
                "'2020-01-01', NULL, NULL, 0, NULL)")
    prepare_connection(con, policy, [2025])
    month = Month.parse("2025-05")
    install_month_parameters(con, month)
    with pytest.raises(PolicyError, match="housing_fund: no row in force for region 320600 in 2025-05"):
        check_month_parameters(con, month)
