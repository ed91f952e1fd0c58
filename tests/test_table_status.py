"""`payroll tables status` on the shipped tables, the run's warning line per region, and the
register's header note. Counts worked by hand from tables/*.csv (status column)."""
from __future__ import annotations

import os
from datetime import date
from decimal import Decimal

import openpyxl
import pytest
from conftest import SHIPPED_TABLES, run_engine, run_payroll

from payroll.db import connect
from payroll.policy import load_policy
from payroll.reports.register import export_register
from payroll.reports.table_status import counts_by_region, figures_needing_attention, register_header

ENV = {k: v for k, v in os.environ.items() if k not in ("PAYROLL_DB", "PAYROLL_TABLES")}


def _cli(*args, cwd=None):
    return run_payroll(*args, env=ENV, cwd=cwd)


def test_the_command_prints_the_same_in_this_process_as_in_its_own(tmp_path):
    """The tests run commands in their own process (conftest.run_payroll): its output must be a
    subprocess's to the character, wide tables wrapped at the same width (a pipe, not a terminal)."""
    import subprocess
    import sys
    alone = subprocess.run([sys.executable, "-m", "payroll.cli", "tables", "status"], capture_output=True, text=True,
                           env=ENV, cwd=tmp_path, timeout=300)
    here = _cli("tables", "status", cwd=tmp_path)
    assert (here.returncode, here.stdout, here.stderr) == (alone.returncode, alone.stdout, alone.stderr)
    assert alone.returncode == 0 and "┃ 表 table" in alone.stdout
    assert max(len(line) for line in alone.stdout.splitlines() if "┃" in line) > 80     # wider than rich's default


@pytest.fixture(scope="module")
def frames():
    return load_policy(SHIPPED_TABLES).frames


def test_counts_per_city_in_november_2026(frames):
    counts = counts_by_region(figures_needing_attention(frames, "2026-11"))
    # every city: pay_scale 14 (7 levels × duty, civilian) + allowances 6 (000000) + housing_fund 1
    # (its 12 %/12 % rate) + accident_insurance personal_accident 1 = 22, and
    #   150100, 150600: + the 2026 maternity row (split of the medical rate not found)        = 23
    #   320600: + average_wage 320600 2025-07 (Jiangsu stands in) = 23; minimum wage tier disputed
    #   330100: + public-transport cover, 330000 2026 pension/unemployment/injury bases and 330100
    #           2026 medical/maternity bases (carried forward) = 28; minimum-wage start disputed
    # and, from the level tables of issue 16 (all national sample rows), 25 more in every city:
    # level_rules 12, performance_pay 8, selection_quotas 3, pay_structure 1, appraisal_distribution 1;
    # and from issue 14 the sick-pay shares (national samples) 8 more in every city, and Jiangsu's
    # two non-work death items (samples) 2 more in Nantong; and from issue 15 the fixed medical levy
    # (medical_levies.csv, a sample row) 1 more in every city but Hangzhou
    assert {code: counts[code] for code in ("150100", "150600", "320600", "330100", "530100")} == {
        "150100": {"sample": 57}, "150600": {"sample": 57}, "320600": {"sample": 59, "disputed": 1},
        "330100": {"sample": 61, "disputed": 1}, "530100": {"sample": 56}}
    assert "000000" not in counts      # the national tables hold no sample


def test_the_nantong_measures_lapse_after_2027(frames):
    notes = figures_needing_attention(frames, "2028-01", ["320600"])
    expired = sorted((n.table, n.row_no) for n in notes if n.status == "expired")
    # accident_insurance.csv row 4 (南通实施办法 art. 13) and police_reference.csv row 6 end 2027-12-31
    assert expired == [("accident_insurance", 4), ("police_reference", 6)]
    assert all(n.valid_until == date(2027, 12, 31) for n in notes if n.status == "expired")
    # the floor itself is replaced by the 2028-01-01 `none` row, so it is not listed as expired
    assert not any(n.table == "pay_floor" for n in notes)


def test_a_row_past_its_valid_until_is_no_longer_charged(tmp_path):
    # tables_simple with its 100200 personal cover (1,300 a year) ending 2025-03-31: in April the
    # province's row applies again (100000: 1,001 a year), as the engine's lookup skips a lapsed row
    import shutil
    from conftest import DATA
    tables = tmp_path / "tables"
    shutil.copytree(DATA / "tables_simple", tables)
    path = tables / "accident_insurance.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[0] += ",status,valid_until"
    lines = [lines[0]] + [line + (",,2025-03-31" if line.startswith("100200,") else ",,") for line in lines[1:]]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    patrol = {"employee_id": "P1", "name": "P1", "region_code": "100200", "unit": "U", "category": "duty",
              "level": 1, "post": "PATROL", "hire_date": date(2020, 1, 1), "leave_date": None,
              "service_start": None, "special_deduction": Decimal(0), "contribution_base": None}
    payslips = run_engine(tables, [patrol], {}, "2025-03", "2025-04")
    # March: 1,300 ÷ 12 = 108.33 + transport 60 ÷ 12 = 5.00; April: 1,001 ÷ 12 = 83.416… → 83.42 + 5.00
    assert payslips[("P1", "2025-03")]["accident_insurance_employer"] == Decimal("113.33")
    assert payslips[("P1", "2025-04")]["accident_insurance_employer"] == Decimal("88.42")


def test_tables_status_cli_lists_samples_and_says_where(tmp_path):
    result = _cli("tables", "status", "--region", "530100", "--month", "2026-10", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "530100 昆明市 2026-10: 56 sample" in out
    assert "pay_scale.csv" in out and "housing_fund.csv" in out and "allowances.csv" in out
    assert "56 figure(s) to replace or settle" in out
    assert "medical_levies.csv" in out          # issue 15: the Kunming levy is a sample


def test_tables_status_cli_refuses_an_unknown_region(tmp_path):
    result = _cli("tables", "status", "--region", "999999", cwd=tmp_path)
    assert result.returncode == 2
    assert "999999" in result.stderr and "regions.csv" in result.stderr


def test_run_warns_once_per_region_and_the_register_header_says_so(tmp_path):
    db = tmp_path / "p.duckdb"
    employees = tmp_path / "employees.csv"
    employees.write_text("employee_id,name,region_code,unit,category,level,post,hire_date\n"
                         "K1,甲,530100,所,duty,7,PATROL,2020-01-01\n"
                         "K2,乙,530100,所,civilian,6,TECH,2020-01-01\n"
                         "N1,丙,320600,所,duty,7,PATROL,2020-01-01\n", encoding="utf-8")
    assert _cli("import", "--db", str(db), "--employees", str(employees), cwd=tmp_path).returncode == 0
    ran = _cli("run", "--db", str(db), "--month", "2026-11", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    # the sample warnings (issue 12's opening-balance warning of a first run after January is apart)
    warnings = [line for line in ran.stderr.splitlines()
                if line.startswith("warning:") and "opening balances" not in line]
    assert [w.split(" uses ")[0] for w in warnings] == ["warning: 320600 南通市 2026-11",
                                                        "warning: 530100 昆明市 2026-11"]
    assert "59 sample, 1 disputed" in warnings[0] and "56 sample" in warnings[1]
    con = connect(str(db), read_only=True)
    note = register_header(con, "2026-11")
    assert note == "含样本或有争议的政策数字（payroll tables status）：南通市 59 sample, 1 disputed；昆明市 56 sample"
    export_register(con, "2026-11", "xlsx", tmp_path / "r.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "r.xlsx").worksheets[0]
    assert any(note in str(cell.value) for row in sheet.iter_rows(max_row=3) for cell in row)


def test_a_table_replaced_in_the_same_frames_is_read_again():
    # the notes' month-independent part is kept per frames dict and regions (reports/table_status.py):
    # replacing a table in that dict must not give the old table's notes
    from payroll.reports.table_status import figures_needing_attention
    frames = dict(load_policy(SHIPPED_TABLES).frames)
    before = [n for n in figures_needing_attention(frames, "2025-03", ["330100"]) if n.table == "average_wage"]
    assert before and before[0].status in ("sample", "disputed")
    frames["average_wage"] = frames["average_wage"].assign(status="official")
    assert not [n for n in figures_needing_attention(frames, "2025-03", ["330100"]) if n.table == "average_wage"]
