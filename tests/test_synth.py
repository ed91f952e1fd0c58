"""The synthetic roster: deterministic, plausible, valid ID numbers, consistent categories and
posts, sane dates, attendance only where employed; and stored with masked IDs only."""
from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import run_payroll

from payroll.calendar import STATUTORY, year_days
from payroll.db import connect
from payroll.io.idnumber import is_valid_id_number, mask_id_number
from payroll.synth import CITIES, EMPLOYEE_COLUMNS, ATTENDANCE_COLUMNS, city_units, synth_roster, write_roster

TABLES = Path(__file__).resolve().parent.parent / "tables"
PEOPLE = 2000
YEAR = 2025
WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


@pytest.fixture(scope="module")
def roster():
    return synth_roster(PEOPLE, seed=2025, year=YEAR)


def _check_char(first17: str) -> str:
    return "10X98765432"[sum(int(d) * w for d, w in zip(first17, WEIGHTS)) % 11]


def _posts() -> dict[str, str]:
    with open(TABLES / "posts.csv", encoding="utf-8-sig", newline="") as handle:
        return {row["post"]: row["category"] for row in csv.DictReader(handle)}


def _dates(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series.replace("", None), format="%Y-%m-%d")


def test_same_seed_same_roster_other_seed_other_roster(roster):
    employees, attendance = roster
    again_e, again_a = synth_roster(PEOPLE, seed=2025, year=YEAR)
    pd.testing.assert_frame_equal(employees, again_e)
    pd.testing.assert_frame_equal(attendance, again_a)
    other_e, _ = synth_roster(PEOPLE, seed=7, year=YEAR)
    assert not employees["id_number"].equals(other_e["id_number"])


def test_layout_is_the_spec_input_layout(roster):
    employees, attendance = roster
    assert tuple(employees.columns) == EMPLOYEE_COLUMNS
    assert tuple(attendance.columns) == ATTENDANCE_COLUMNS
    assert len(employees) == PEOPLE and employees["employee_id"].is_unique
    for column in EMPLOYEE_COLUMNS:
        if column != "level":
            assert employees[column].map(type).eq(str).all(), column      # text, "" when empty
    assert not attendance.duplicated(["employee_id", "month"]).any()
    assert set(attendance["employee_id"].astype(str)) <= set(employees["employee_id"])


def test_id_numbers_are_valid_gb11643(roster):
    employees, _ = roster
    ids = employees["id_number"]
    assert ids.str.len().eq(18).all() and ids.is_unique
    for number in ids:
        assert number[:17].isdigit() and number[17] == _check_char(number[:17]), number
    assert all(is_valid_id_number(number) for number in ids[:200])     # and the importer agrees
    birth = pd.to_datetime(ids.str[6:14], format="%Y%m%d")       # a real calendar date
    assert birth.dt.year.between(1970, 2003).all()
    assert ids.str[:2].isin({code[:2] for code in CITIES}).all()
    home = ids.str[:4] == employees["region_code"].str[:4]
    assert home.mean() > 0.75                                      # most born in the paying city
    hire = _dates(employees["hire_date"])
    assert ((hire - birth).dt.days >= 18 * 365).all()             # adults when hired


def test_categories_posts_regions_and_units(roster):
    employees, _ = roster
    posts = _posts()
    assert set(employees["post"]) <= set(posts)
    assert (employees["post"].map(posts) == employees["category"]).all()
    duty = (employees["category"] == "duty").mean()
    assert 0.64 < duty < 0.76
    assert set(employees["region_code"]) == set(CITIES)
    shares = employees["region_code"].value_counts(normalize=True)
    assert shares["330100"] > shares["530100"] > shares["150100"] > shares["150600"]
    for code in CITIES:
        units = city_units(code)
        assert 10 <= len(units) <= 20
        assert len({name for name, _ in units}) == len(units)
        assert set(employees.loc[employees.region_code == code, "unit"]) <= {n for n, _ in units}
    assert employees["unit"].str.contains("公安局|看守所").all()
    # traffic detachments staff traffic posts, detention houses escorts
    traffic = employees[employees.unit.str.endswith("交通警察支队") & (employees.category == "duty")]
    assert (traffic.post == "TRAFFIC").mean() > 0.7


def test_levels_and_a_runnable_pay_scale(roster):
    employees, _ = roster
    assert employees["level"].between(1, 7).all()
    assert employees["level"].isin([4, 5, 6, 7]).mean() > 0.7
    assert (employees["level"] == 7).mean() > (employees["level"] == 1).mean()
    with open(TABLES / "pay_scale.csv", encoding="utf-8-sig", newline="") as handle:
        scale = {(r["region_code"], r["category"], int(r["level"])) for r in csv.DictReader(handle)}
    keys = set(zip(employees.region_code, employees.category, employees.level))
    assert keys <= scale


def test_dates_are_sane(roster):
    employees, _ = roster
    hire = _dates(employees["hire_date"])
    leave = _dates(employees["leave_date"])
    start = _dates(employees["service_start"])
    assert hire.min() >= pd.Timestamp(YEAR - 20, 1, 1) and hire.max() <= pd.Timestamp(YEAR, 12, 31)
    hired_in_year = hire.dt.year == YEAR
    assert 0.01 < hired_in_year.mean() < 0.06
    assert hire[hired_in_year].dt.day.between(2, 28).all()            # inside a month: prorated
    left = leave.notna()
    assert 0.01 < left.mean() < 0.06
    assert (leave[left].dt.year == YEAR).all() and (leave[left] > hire[left]).all()
    assert leave[left].dt.day.between(2, 28).all()
    prior = start.notna()
    assert 0.05 < prior.mean() < 0.2 and (start[prior] < hire[prior]).all()
    assert (employees["hire_date"].str.match(r"^\d{4}-\d{2}-\d{2}$")).all()
    # ids follow the hire order
    assert hire.is_monotonic_increasing


def test_declarations(roster):
    employees, _ = roster
    special = employees["special_deduction"]
    assert 0.5 < (special != "").mean() < 0.7
    assert special[special != ""].astype(int).gt(0).all()
    base = employees["contribution_base"]
    assert 0.12 < (base != "").mean() < 0.28
    assert base[base != ""].astype(int).between(3000, 30000).all()
    assert employees["name"].str.len().between(2, 4).all()


def test_attendance_only_when_employed_and_in_range(roster):
    employees, attendance = roster
    staff = employees.set_index("employee_id")
    a = attendance.assign(employee_id=attendance.employee_id.astype(str),
                          month=attendance.month.astype(str))
    month_start = pd.to_datetime(a["month"] + "-01")
    month_end = month_start + pd.offsets.MonthEnd(0)
    hire = _dates(staff.loc[a.employee_id, "hire_date"]).to_numpy()
    leave = _dates(staff.loc[a.employee_id, "leave_date"]).to_numpy()
    assert (hire <= month_end.to_numpy()).all()
    assert (pd.isna(leave) | (leave >= month_start.to_numpy())).all()
    # about 80 % of the employed person-months have a row
    assert 0.7 < len(a) / (PEOPLE * 12) < 0.85
    for column, high in [("overtime_workday_hours", 20), ("overtime_restday_hours", 16),
                         ("overtime_holiday_hours", 24), ("unpaid_leave_days", 5)]:
        values = a[column]
        assert values.between(0, high).all(), column
        assert (values * 2 == np.round(values * 2)).all(), column        # steps of 0.5
        assert (values > 0).any(), column
    assert 0.01 < (a.unpaid_leave_days > 0).mean() < 0.06
    statutory_months = {f"{YEAR}-{d.month:02d}" for d, kind in year_days(YEAR) if kind == STATUTORY}
    assert set(a.loc[a.overtime_holiday_hours > 0, "month"]) <= statutory_months
    civilian = staff.loc[a.employee_id, "category"].to_numpy() == "civilian"
    assert (a.night_shifts[civilian] == 0).all()
    assert a.night_shifts.between(0, 8).all() and a.night_shifts[~civilian].gt(0).any()
    assert set(a.loc[a.bonus > 0, "month"]) <= {f"{YEAR}-01", f"{YEAR}-12"}
    assert (a.bonus > 0).any() and (a.deduction > 0).any() and a.deduction.between(0, 300).all()


def test_other_regions_and_years():
    employees, attendance = synth_roster(200, seed=1, regions=["320600"], year=2024)
    assert set(employees.region_code) == {"320600"}
    assert employees.unit.str.startswith(("南通", "如东", "启东", "如皋", "海安")).all()
    assert set(attendance.month.astype(str)) <= {f"2024-{m:02d}" for m in range(1, 13)}
    with pytest.raises(ValueError, match="999999"):
        synth_roster(10, regions=["999999"])
    empty_e, empty_a = synth_roster(0)
    assert len(empty_e) == 0 and len(empty_a) == 0


def test_csv_round_trip_keeps_every_cell(roster, tmp_path):
    employees, attendance = roster
    employees.to_csv(tmp_path / "employees.csv", index=False)
    attendance.head(500).to_csv(tmp_path / "attendance.csv", index=False)
    back = pd.read_csv(tmp_path / "employees.csv", dtype=str, keep_default_na=False)
    for column in EMPLOYEE_COLUMNS:
        assert back[column].tolist() == employees[column].astype(str).tolist(), column
    rows = list(csv.DictReader(open(tmp_path / "attendance.csv", encoding="utf-8")))
    assert rows[0]["month"].startswith(f"{YEAR}-") and re.match(r"^FJ\d+$", rows[0]["employee_id"])


def test_write_roster_stores_masked_ids_and_replaces(roster):
    employees, attendance = roster
    con = connect(":memory:")
    assert write_roster(con, employees, attendance) == (PEOPLE, len(attendance))
    stored = dict(con.execute("SELECT employee_id, id_number_masked FROM employees").fetchall())
    for eid, number in zip(employees.employee_id, employees.id_number):
        assert stored[eid] == number[:6] + "********" + number[-4:] == mask_id_number(number)
    full = set(employees.id_number)
    dump = con.execute("SELECT * FROM employees").fetchall()
    assert not any(str(v) in full for row in dump for v in row)
    # typed columns, defaults applied, empty cells NULL
    row = con.execute("SELECT count(*) FILTER (WHERE leave_date IS NOT NULL), "
                      "count(*) FILTER (WHERE contribution_base IS NOT NULL), "
                      "count(*) FILTER (WHERE special_deduction = 0), min(level), max(level) "
                      "FROM employees").fetchall()[0]
    assert row[0] == (employees.leave_date != "").sum()
    assert row[1] == (employees.contribution_base != "").sum()
    assert row[2] == (employees.special_deduction == "").sum()
    assert 1 <= row[3] <= row[4] <= 7
    total = con.execute("SELECT CAST(sum(overtime_workday_hours) AS VARCHAR), "
                        "CAST(sum(bonus) AS VARCHAR) FROM attendance").fetchall()[0]
    assert float(total[0]) == pytest.approx(attendance.overtime_workday_hours.sum())
    assert int(float(total[1])) == attendance.bonus.sum()
    # written again: replaced, not appended
    small_e, small_a = synth_roster(50, seed=3)
    assert write_roster(con, small_e, small_a) == (50, len(small_a))
    # a bad frame changes nothing
    bad = pd.concat([small_a.head(2), small_a.head(2)])
    with pytest.raises(Exception):
        write_roster(con, employees, bad)
    assert con.execute("SELECT count(*) FROM employees").fetchall()[0][0] == 50
    # the keys are still enforced after the bulk load
    with pytest.raises(Exception):
        con.execute("INSERT INTO attendance (employee_id, month) SELECT employee_id, month "
                    "FROM attendance LIMIT 1")


def _synth_cli(*args, cwd):
    import os
    env = {**os.environ, "PAYROLL_DB": "", "PAYROLL_TABLES": ""}
    return run_payroll("synth", *args, cwd=cwd, env=env)


def test_cli_synth_writes_the_same_files_for_the_same_seed_and_they_import(tmp_path):
    for folder in ("a", "b"):
        result = _synth_cli("--people", "300", "--seed", "11", "--regions", "150100,330100",
                            "--out", str(tmp_path / folder), cwd=tmp_path)
        assert result.returncode == 0, result.stderr
    for name in ("employees.csv", "attendance.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    employees = pd.read_csv(tmp_path / "a" / "employees.csv", dtype=str, keep_default_na=False)
    assert tuple(employees.columns) == EMPLOYEE_COLUMNS and len(employees) == 300
    assert set(employees.region_code) == {"150100", "330100"}

    from payroll.io.importer import import_files
    from payroll.policy import load_policy
    con = connect(str(tmp_path / "imported.duckdb"))
    import_files(con, load_policy(TABLES), employees=tmp_path / "a" / "employees.csv",
                 attendance=tmp_path / "a" / "attendance.csv")
    stored = dict(con.execute("SELECT employee_id, id_number_masked FROM employees").fetchall())
    assert stored == {eid: mask_id_number(number) for eid, number in zip(employees.employee_id, employees.id_number)}


def test_cli_synth_into_the_database_refuses_to_overwrite_a_roster(tmp_path):
    db = str(tmp_path / "p.duckdb")
    assert _synth_cli("--people", "50", "--db", db, cwd=tmp_path).returncode == 0
    again = _synth_cli("--people", "60", "--db", db, cwd=tmp_path)
    assert again.returncode == 2 and "--replace" in again.stderr
    assert _synth_cli("--people", "60", "--db", db, "--replace", cwd=tmp_path).returncode == 0
    con = connect(db, read_only=True)
    assert con.execute("SELECT count(*) FROM employees").fetchall()[0][0] == 60
    bad = _synth_cli("--people", "10", "--regions", "999999", "--out", str(tmp_path / "x"), cwd=tmp_path)
    assert bad.returncode == 2 and "999999" in bad.stderr
