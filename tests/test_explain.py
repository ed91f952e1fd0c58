"""Explain reads the engine's own trace: every amount it shows equals the stored payslip, for every
person of a demo month; each line carries its formula with the numbers in, its legal basis and the
table rows it read; the three output formats carry the same figures."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal

import duckdb
import openpyxl
import pytest

from payroll.columns import MONEY_COLUMNS
from payroll.db import connect
from payroll.engine.pipeline import stored_columns
from payroll.errors import PayrollError
from payroll.policy import load_policy
from payroll.reports.explain import PAYSLIP_LINES, Explainer, explanation_text

from conftest import THOROUGH
from explain_demo import build_demo_database


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    return build_demo_database(tmp_path_factory.mktemp("explain"), last="2025-03")


@pytest.fixture(scope="module")
def explainer(demo_db):
    return Explainer(connect(demo_db, read_only=True), load_policy())


def _stored(con, month):
    cursor = con.execute("SELECT * FROM payslips WHERE month = ? ORDER BY employee_id", [month])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


@pytest.mark.parametrize("month", ["2025-01", "2025-03"])
def test_explain_equals_the_payslips_table_for_everyone(explainer, month):
    """Every stored money column of every person, from the explanation and from its JSON."""
    payslips = _stored(explainer.con, month)
    money = [c for c, unit in stored_columns().items() if unit == "fen"]
    assert len(payslips) > 150 and set(MONEY_COLUMNS) <= set(money)
    # CI explains every third person (the demo's mix of regions, posts and hires); thorough: everyone
    for payslip in payslips if THOROUGH else payslips[::3]:
        explanation = explainer.explain(payslip["employee_id"], month)
        assert explanation.mismatches == []
        shown = {line["name"]: Decimal(line["value"])
                 for section in explanation.to_dict()["payslip"] for line in section["lines"]}
        for column in money:
            assert explanation.amount(column) == payslip[column], (payslip["employee_id"], column)
            if column in shown:
                assert shown[column] == payslip[column], (payslip["employee_id"], column)
        assert set(PAYSLIP_LINES) <= set(shown)


def test_a_changed_payslip_is_reported_not_hidden(demo_db, tmp_path):
    """The check can fail: alter one stored amount in a copy and the explanation names it."""
    copy = tmp_path / "altered.duckdb"
    copy.write_bytes(demo_db.read_bytes())
    con = duckdb.connect(str(copy))
    employee_id = con.execute("SELECT min(employee_id) FROM payslips WHERE month = '2025-02'").fetchall()[0][0]
    con.execute("UPDATE payslips SET net_pay = net_pay + 0.01 WHERE employee_id = ? AND month = '2025-02'",
                [employee_id])
    con.close()
    explanation = Explainer(connect(copy, read_only=True), load_policy()).explain(employee_id, "2025-02")
    assert len(explanation.mismatches) == 1 and explanation.mismatches[0].startswith("net_pay:")
    assert "NOTE" in explanation_text(explanation)


def test_lines_carry_formula_basis_and_table_rows(explainer):
    employee_id = explainer.con.execute(
        "SELECT min(employee_id) FROM payslips WHERE month = '2025-02' AND overtime_workday_hours > 0"
    ).fetchall()[0][0]
    explanation = explainer.explain(employee_id, "2025-02")
    base = explanation.by_name["base_pay"]
    # base pay = round(full × numerator ÷ denominator), the full amount being the pay_scale row's base_pay
    (row,) = base.rows
    assert row.table == "pay_scale" and row.effective_from and row.source
    assert Decimal(str(row.values["base_pay"])) == explanation.by_name["base_pay_full"].yuan
    assert base.formula.startswith(explanation.by_name["base_pay_full"].shown + " × ")
    assert "art." in base.basis
    overtime = explanation.by_name["overtime_workday_pay"]
    hours = explanation.by_name["overtime_workday_hours"].shown
    # overtime = overtime base ÷ 21.75 ÷ 8 × hours × 1.5 (劳动法 art. 44)
    assert overtime.formula == (f"{explanation.by_name['overtime_base'].shown} ÷ 21.75 ÷ 8 × {hours} × 1.5")
    assert "劳动法 art. 44" in overtime.basis
    rate = explanation.by_name["iit_rate"]
    assert rate.rows and rate.rows[0].table == "iit_brackets"
    for line in explanation.rule_lines:
        assert line.basis and line.label_zh and line.label_en
    data = explanation.to_dict()
    assert data["employee"]["id_number_masked"].count("*") == 8
    assert any(r["table"] == "pay_scale" for line in data["lines"] for r in line["rows"])


def test_unknown_person_or_month_is_a_clear_error(explainer):
    with pytest.raises(PayrollError, match="no employee"):
        explainer.explain("NOBODY", "2025-02")
    someone = explainer.con.execute("SELECT min(employee_id) FROM employees").fetchall()[0][0]
    with pytest.raises(PayrollError, match="not a month"):
        explainer.explain(someone, "2025-13")


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "payroll.cli", *args], env=dict(os.environ),
                          capture_output=True, text=True, timeout=120)


def test_command_line_formats_agree(demo_db, tmp_path):
    con = duckdb.connect(str(demo_db), read_only=True)
    employee_id, net = con.execute("SELECT employee_id, net_pay FROM payslips WHERE month = '2025-03' "
                                   "ORDER BY employee_id LIMIT 1").fetchall()[0]
    con.close()
    text = _cli("explain", employee_id, "--month", "2025-03", "--db", str(demo_db))
    assert text.returncode == 0, text.stderr
    assert f"{net:,.2f}" in text.stdout and "依据 basis" in text.stdout and "effective_from" in text.stdout
    as_json = _cli("explain", employee_id, "--month", "2025-03", "--db", str(demo_db), "--format", "json")
    data = json.loads(as_json.stdout)
    assert data["matches_stored_payslip"] is True
    paid = [line for section in data["payslip"] for line in section["lines"] if line["name"] == "net_pay"]
    assert Decimal(paid[0]["value"]) == net
    out = tmp_path / "explain.xlsx"
    written = _cli("explain", employee_id, "--month", "2025-03", "--db", str(demo_db), "--format", "xlsx",
                   "--out", str(out))
    assert written.returncode == 0, written.stderr
    sheet = openpyxl.load_workbook(out).active
    values = {row[1]: row[2] for row in sheet.iter_rows(min_row=5, values_only=True)}
    assert Decimal(str(values["Net pay"])).quantize(Decimal("0.01")) == net
    missing = _cli("explain", "NOBODY", "--month", "2025-03", "--db", str(demo_db))
    assert missing.returncode == 2 and "no employee" in missing.stderr
