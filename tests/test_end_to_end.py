"""Files written to the SPEC, through the command line as a finance department runs it:
import (CSV and XLSX), run, export; the exported register adds up to the database to the fen."""
from __future__ import annotations

import csv
import os
from decimal import Decimal

import duckdb
import pandas as pd
import pytest
from conftest import run_payroll

from payroll.columns import MONEY_COLUMNS, REGISTER_COLUMNS
from payroll.synth import synth_roster


def _cli(*args, cwd):
    env = {k: v for k, v in os.environ.items() if k not in ("PAYROLL_DB", "PAYROLL_TABLES")}
    return run_payroll(*args, cwd=cwd, env=env)


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    folder = tmp_path_factory.mktemp("city")
    employees, attendance = synth_roster(300, seed=11, year=2025)
    employees.to_csv(folder / "employees.csv", index=False)
    first_quarter = attendance[attendance.month.astype(str) <= "2025-03"]
    first_quarter.to_excel(folder / "attendance.xlsx", index=False)
    db = folder / "city.duckdb"
    imported = _cli("import", "--db", str(db), "--employees", "employees.csv",
                    "--attendance", "attendance.xlsx", cwd=folder)
    assert imported.returncode == 0, imported.stderr
    ran = _cli("run", "--db", str(db), "--month", "2025-01", "--through", "2025-03", cwd=folder)
    assert ran.returncode == 0, ran.stderr
    return folder, db, employees, first_quarter, ran


def test_import_keeps_every_row_and_masks_ids(city):
    folder, db, employees, attendance, _ = city
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*) FROM employees").fetchall()[0][0] == len(employees)
    assert con.execute("SELECT count(*) FROM attendance").fetchall()[0][0] == len(attendance)
    masked = dict(con.execute("SELECT employee_id, id_number_masked FROM employees").fetchall())
    for employee_id, number in zip(employees.employee_id, employees.id_number):
        assert masked[employee_id] == number[:6] + "*" * 8 + number[-4:]


def test_run_reports_every_month_and_the_floor(city):
    *_, ran = city
    for month in ("2025-01", "2025-02", "2025-03"):
        assert f"{month}: " in ran.stdout + ran.stderr
    assert "Average-wage floor" in ran.stdout


@pytest.mark.parametrize("month", ["2025-01", "2025-03"])
def test_exported_register_adds_up_to_the_database(city, month):
    folder, db, *_ = city
    out = folder / f"register-{month}.csv"
    exported = _cli("export", "--db", str(db), "--month", month, "--what", "register", "--format", "csv",
                    "--out", str(out), cwd=folder)
    assert exported.returncode == 0, exported.stderr
    with open(out, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0].keys()) == list(REGISTER_COLUMNS)
    con = duckdb.connect(str(db), read_only=True)
    money = [c for c in REGISTER_COLUMNS if c in MONEY_COLUMNS]
    totals = con.execute(f"SELECT count(*), {', '.join(f'sum({c})' for c in money)} FROM payslips "
                         f"WHERE month = ?", [month]).fetchall()[0]
    assert len(rows) == totals[0]
    for column, total in zip(money, totals[1:]):
        assert sum(Decimal(row[column]) for row in rows) == total, column
        assert all(len(row[column].split(".")[1]) == 2 for row in rows), column


def test_xlsx_register_opens_with_chinese_headers(city):
    folder, db, *_ = city
    out = folder / "register.xlsx"
    exported = _cli("export", "--db", str(db), "--month", "2025-02", "--out", str(out), cwd=folder)
    assert exported.returncode == 0, exported.stderr
    sheet = pd.read_excel(out, header=None, engine="openpyxl")
    assert "实发工资" in sheet.iloc[2].tolist() and "合计" in sheet.iloc[:, 0].tolist()
