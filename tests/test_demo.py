"""`payroll demo` end to end, as a user runs it: the SPEC identities on every row it computed,
the files it says it wrote, and no full ID number anywhere in what it printed or wrote."""
from __future__ import annotations

import csv
import os
import subprocess
import sys
import zipfile

import duckdb
import pytest
from identities import BROKEN_IDENTITY

from payroll.columns import REGISTER_COLUMNS
from payroll.io.idnumber import contains_full_id_number


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    env = {k: v for k, v in os.environ.items() if k not in ("PAYROLL_DB", "PAYROLL_TABLES")}
    result = subprocess.run([sys.executable, "-m", "payroll.cli", "demo", "--out", str(out)],
                            capture_output=True, text=True, env=env, cwd=out, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return out, result


def test_demo_writes_what_it_says(demo):
    out, result = demo
    for month in range(1, 13):
        assert (out / f"register-2025-{month:02d}.xlsx").stat().st_size > 10_000
    with open(out / "register-2025-12.csv", encoding="utf-8-sig") as handle:
        assert next(csv.reader(handle)) == list(REGISTER_COLUMNS)
    assert "平均工资底线" in result.stdout and "320600" in result.stdout
    assert "done in" in result.stdout
    # issue 15: the demo says its pay scales are samples, and which regions run on sample figures
    assert "pay scales (pay_scale.csv)" in result.stdout and "SAMPLES" in result.stdout
    assert "warning: 530100 昆明市 2025-12 uses" in result.stdout


def test_identities_hold_on_every_row_of_the_demo(demo):
    out, _ = demo
    con = duckdb.connect(str(out / "payroll-demo.duckdb"), read_only=True)
    total, people, broken = con.execute(f"""
        SELECT count(*), count(DISTINCT employee_id), count(*) FILTER (WHERE {BROKEN_IDENTITY}
          OR iit < 0 OR gross_pay < 0)
        FROM payslips""").fetchall()[0]
    assert people > 4_500 and total > 50_000
    assert broken == 0
    months = [r[0] for r in con.execute("SELECT DISTINCT month FROM payslips ORDER BY 1").fetchall()]
    assert months == [f"2025-{m:02d}" for m in range(1, 13)]


def test_no_full_id_number_leaves_the_demo(demo):
    out, result = demo
    assert not contains_full_id_number(result.stdout + result.stderr)
    for path in out.glob("*.csv"):
        assert not contains_full_id_number(path.read_text(encoding="utf-8-sig"))
    for path in out.glob("*.xlsx"):
        with zipfile.ZipFile(path) as book:
            xml = " ".join(book.read(name).decode("utf-8") for name in book.namelist() if name.endswith(".xml"))
        assert not contains_full_id_number(xml), path.name
    con = duckdb.connect(str(out / "payroll-demo.duckdb"), read_only=True)
    stored = " ".join(r[0] or "" for r in con.execute("SELECT id_number_masked FROM employees").fetchall())
    assert "*" in stored and not contains_full_id_number(stored)
    con.close()


def test_no_table_and_no_file_of_the_demo_holds_a_full_id_number(demo):
    """Every text cell of every table (ledger, snapshots, arrears …) and every other file written."""
    from test_privacy import text_of_every_table, text_of_file
    out, _ = demo
    assert not contains_full_id_number(text_of_every_table(out / "payroll-demo.duckdb"))
    for path in out.iterdir():
        if path.is_file() and not path.name.endswith((".duckdb", ".wal")):
            assert not contains_full_id_number(text_of_file(path)), path.name
