"""Payslips (工资条): one block per person, amounts equal to the payslips table, ID numbers masked,
a unit or everyone, through the command line."""
from __future__ import annotations

from decimal import Decimal

import duckdb
import openpyxl
import pytest

from conftest import run_payroll
from explain_demo import build_demo_database
from payroll.columns import LABELS
from payroll.db import connect
from payroll.errors import PayrollError
from payroll.io.idnumber import contains_full_id_number
from payroll.reports.payslips import AMOUNTS, COLUMNS, export_payslips


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    return build_demo_database(tmp_path_factory.mktemp("payslips"), people=80, last="2025-02")


def _blocks(path):
    rows = list(openpyxl.load_workbook(path).active.iter_rows(values_only=True))
    blocks = [rows[i:i + 4] for i in range(0, len(rows), 4)]
    return {block[2][0]: block for block in blocks}


def test_one_block_per_person_with_the_stored_amounts(demo_db, tmp_path):
    con = connect(demo_db, read_only=True)
    out = tmp_path / "payslips.xlsx"
    summary = export_payslips(con, "2025-02", out)
    cursor = con.execute(f"SELECT p.employee_id, e.name, e.id_number_masked, p.unit, "
                         f"{', '.join('p.' + c for c in AMOUNTS)} FROM payslips p JOIN employees e "
                         "USING (employee_id) WHERE month = '2025-02'")
    stored = {row[0]: row for row in cursor.fetchall()}
    blocks = _blocks(out)
    assert set(blocks) == set(stored) and summary.people == len(stored)
    for employee_id, (title, header, values, *blank) in blocks.items():
        # a blank line to cut along (the file's last one is not stored)
        assert title[0].startswith("工资条 2025-02") and all(set(row) == {None} for row in blank)
        assert list(header) == [LABELS[c][0] for c in COLUMNS]
        expected = stored[employee_id]
        assert values[1] == expected[1] and values[2] == expected[2] and values[2].count("*") == 8
        for index in range(4, len(COLUMNS)):
            assert Decimal(str(values[index])).quantize(Decimal("0.01")) == expected[index], COLUMNS[index]
    assert summary.net_pay == sum(row[-1] for row in stored.values())
    text = " ".join(str(v) for block in blocks.values() for row in block for v in row if v is not None)
    assert not contains_full_id_number(text)


def test_one_unit_or_one_person(demo_db, tmp_path):
    con = connect(demo_db, read_only=True)
    unit, count = con.execute("SELECT unit, count(*) FROM payslips WHERE month = '2025-01' "
                              "GROUP BY unit ORDER BY count(*) DESC, unit LIMIT 1").fetchall()[0]
    summary = export_payslips(con, "2025-01", tmp_path / "unit.xlsx", unit=unit)
    blocks = _blocks(tmp_path / "unit.xlsx")
    assert summary.people == count == len(blocks) and {b[2][3] for b in blocks.values()} == {unit}
    someone = next(iter(blocks))
    export_payslips(con, "2025-01", tmp_path / "one.xlsx", employee_id=someone)
    assert list(_blocks(tmp_path / "one.xlsx")) == [someone]
    with pytest.raises(PayrollError, match="no payslips for unit"):
        export_payslips(con, "2025-01", tmp_path / "none.xlsx", unit="没有这个单位")
    assert not (tmp_path / "none.xlsx").exists()


def test_command_line(demo_db, tmp_path):
    out = tmp_path / "cli.xlsx"
    done = run_payroll("export", "--what", "payslips", "--month", "2025-02", "--db", demo_db, "--out", out)
    assert done.returncode == 0, done.stderr
    people = duckdb.connect(str(demo_db), read_only=True).execute(
        "SELECT count(*) FROM payslips WHERE month = '2025-02'").fetchall()[0][0]
    assert len(_blocks(out)) == people and "payslips 2025-02" in done.stdout
    refused = run_payroll("export", "--what", "payslips", "--month", "2025-02", "--db", demo_db, "--format", "pdf",
                          "--out", tmp_path / "x.pdf")
    assert refused.returncode == 2 and "PDF is not available" in refused.stderr
