"""Explain reads the engine's own trace: every amount it shows equals the stored payslip, for every
person of a demo month; each line carries its formula with the numbers in, its legal basis and the
table rows it read; the three output formats carry the same figures."""
from __future__ import annotations

import json
import re
import shutil
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

from conftest import THOROUGH, run_payroll
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


# CI: March (its year to date crosses a bracket); the thorough tier adds January
@pytest.mark.parametrize("month", ["2025-03", pytest.param("2025-01", marks=pytest.mark.slow)])
def test_explain_equals_the_payslips_table_for_everyone(explainer, month):
    """Every stored money column of every person, from the explanation and from its JSON."""
    payslips = _stored(explainer.con, month)
    money = [c for c, unit in stored_columns().items() if unit == "fen"]
    assert len(payslips) > 150 and set(MONEY_COLUMNS) <= set(money)
    # CI explains every tenth person (about 30 of the demo's mix of regions, posts and hires);
    # thorough: everyone
    for payslip in payslips if THOROUGH else payslips[::10]:
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
    # overtime = overtime base ÷ 21.75 days ÷ 8 hours × hours × 150 % (劳动法 art. 44), as people write it
    assert hours.endswith(" hours")
    assert overtime.formula == (f"{explanation.by_name['overtime_base'].shown} ÷ 21.75 days ÷ 8 hours × {hours} "
                                f"× 150 %")
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
    return run_payroll(*args)


def test_command_line_formats_agree(demo_db, tmp_path):
    con = duckdb.connect(str(demo_db), read_only=True)
    employee_id, net = con.execute("SELECT employee_id, net_pay FROM payslips WHERE month = '2025-03' "
                                   "ORDER BY employee_id LIMIT 1").fetchall()[0]
    con.close()
    # the commands run in this process, where the module's explainer holds demo_db read-only: DuckDB
    # refuses a second configuration of one file in one process, so they get a copy of their own
    demo_db = shutil.copy(demo_db, tmp_path / "demo.duckdb")
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


# ---------------------------------------------------------------- wording (issue 12, defect 12)

BARE_NUMBER = re.compile(r"(?<![\w.,-])\d{5,}(?![\w.,])")     # 5+ digits with no thousands separator


def _human(name: str, unit: str, raw) -> str:
    """How a person writes a traced figure, written out here apart from engine.trace: money in yuan
    with thousands separators, rates in %, days and hours with their word."""
    if unit == "fen":
        return f"{Decimal(raw) / 100:,.2f}"
    if unit == "ppm" and name.endswith(("_rate", "_share", "_ratio")):
        return f"{(Decimal(raw) / 10000).normalize():f} %"
    number = f"{(Decimal(raw) / (100 if unit == 'centi' else 1_000_000)).normalize():f}"
    if name in ("pay_days_per_month", "unpaid_leave_days", "leave_unpaid_days", "paid_leave_days",
                "sick_leave_days", "annual_leave_taken_ytd"):
        return number + " days"
    if name in ("hours_per_day", "overtime_workday_hours", "overtime_restday_hours", "overtime_holiday_hours"):
        return number + " hours"
    return number


def test_explain_prints_no_internal_fixed_point_number(explainer):
    """Defect 12: explain printed proration factors such as 356250000 and tax thresholds in fen.
    A realistic month (the five sample places, overtime, unpaid leave, the tax brackets): every
    scaled figure is printed as people write it, and no bare 5+ digit number is left in the text."""
    month = "2025-03"
    # the first person of each place, of overtime and of unpaid leave: seven explanations
    picked = explainer.con.execute(
        "SELECT DISTINCT employee_id, region_code FROM payslips WHERE month = ? AND employee_id IN ("
        "SELECT min(employee_id) FROM payslips WHERE month = ? GROUP BY region_code UNION ALL "
        "SELECT min(employee_id) FROM payslips WHERE month = ? AND overtime_workday_hours > 0 UNION ALL "
        "SELECT min(employee_id) FROM payslips WHERE month = ? AND unpaid_leave_days > 0) ORDER BY employee_id",
        [month] * 4).fetchall()
    assert len({code for _, code in picked}) >= 4
    seen_leave = seen_overtime = False
    for employee_id, region in picked:
        explanation = explainer.explain(employee_id, month)
        text = explanation_text(explanation)
        # the person's lines print every scaled figure in its human form
        for line in explanation.lines:
            if line.raw is None or line.unit not in ("fen", "ppm", "centi"):
                continue
            assert line.shown == _human(line.name, line.unit, line.raw), (employee_id, line.name)
        seen_leave |= explanation.by_name["unpaid_leave_days"].raw > 0
        seen_overtime |= explanation.by_name["overtime_workday_hours"].raw > 0
        # no bare fixed-point number anywhere (table rows are printed as their CSV writes them; the
        # heading and the region code are identifiers, not figures)
        body = [l for l in text.splitlines()[1:] if not l.lstrip().startswith("表 table")]
        bare = [n for l in body for n in BARE_NUMBER.findall(l) if n != region]
        assert bare == [], (employee_id, bare[:5])
        assert "21.75 days" in text and "8 hours" in text
        # 预扣率表一 (国家税务总局公告2018年第61号): thresholds 36,000 and 144,000 yuan, rates 3 % and 10 %
        assert "[0.00, 36,000.00, 144,000.00, 300,000.00, 420,000.00, 660,000.00, 960,000.00]" in text
        assert "[3 %, 10 %, 20 %, 25 %, 30 %, 35 %, 45 %]" in text
    assert seen_leave and seen_overtime


def test_proration_factor_is_shown_in_days(explainer):
    # 2025-03 has 21 paid days (no holiday): a whole month's denominator is 21 × 21.75 = 456.75
    # (the engine holds 456750000, days × 21.75 in millionths)
    employee_id = explainer.con.execute(
        "SELECT min(employee_id) FROM payslips WHERE month = '2025-03' AND unpaid_leave_days = 0").fetchall()[0][0]
    explanation = explainer.explain(employee_id, "2025-03")
    assert explanation.by_name["proration_denominator"].raw == 456_750_000
    assert explanation.by_name["proration_denominator"].shown == "456.75"
    assert explanation.by_name["proration_denominator"].formula == "21 × 21.75 days"
