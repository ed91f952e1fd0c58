"""The register export: CSV in the SPEC layout with exact money, XLSX with Chinese headers, unit
subtotals and an exact grand total, masked ID numbers, and a clear error for a month not run."""
from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from payroll.columns import (EMPLOYEE_CONTRIBUTIONS, EMPLOYER_CONTRIBUTIONS, MONEY_COLUMNS,
                             PAY_COMPONENTS, REGISTER_COLUMNS, label_zh)
from payroll.db import connect
from payroll.errors import PayrollError
from payroll.reports import xlsx as xlsx_helpers
from payroll.reports.register import XLSX_COLUMNS, export_register

MONTH = "2025-03"
MONEY = [c for c in REGISTER_COLUMNS if c in MONEY_COLUMNS]
MONEY_RE = re.compile(r"^-?\d+\.\d{2}$")
MASKED_RE = re.compile(r"^\d{6}\*{8}\d{3}[\dX]$")

# (employee_id, name, full ID number, region, unit, level, base_pay, overtime, bonus, iit, deduction)
PEOPLE = [
    ("E003", "王伟", "150102199001011234", "150100", "呼和浩特市公安局新城区分局", 5, "7630.00", "123.45", "0.00", "12.34", "0.00"),
    ("E001", "李娜", "150102198505057890", "150100", "呼和浩特市公安局新城区分局", 4, "8430.00", "0.10", "0.20", "0.07", "10.00"),
    ("E002", "张强", "15010219950303456X", "150100", "呼和浩特市公安局新城区分局", 7, "6030.00", "999.99", "1000.00", "31.01", "0.00"),
    ("E005", "刘洋", "150102200001011111", "150100", "呼和浩特市公安局交通警察支队", 6, "6830.00", "0.01", "0.00", "0.00", "0.03"),
    ("E004", "陈静", "150102198812122222", "150100", "呼和浩特市公安局交通警察支队", 3, "9230.00", "1581.03", "500.00", "399.61", "0.00"),
]


def _row(person, month: str) -> dict:
    """A payslip that satisfies the SPEC identities, with awkward fen amounts."""
    eid, _name, _idn, region, unit, level, base, overtime, bonus, iit, deduction = person
    d = Decimal
    row = {c: d("0.00") for c in MONEY}
    row.update(employee_id=eid, month=month, region_code=region, unit=unit, level=level)
    row.update(base_pay=d(base), seniority_pay=d("350.00"), allowances=d("1150.00"),
               high_risk_allowance=d("400.00") if "交通" in unit else d("0.00"),
               night_shift_pay=d("120.00"), overtime_pay=d(overtime), bonus=d(bonus))
    row["gross_pay"] = sum(row[c] for c in PAY_COMPONENTS)
    row["pension_employee"] = (row["gross_pay"] * d("0.08")).quantize(d("0.01"))
    row["medical_employee"] = (row["gross_pay"] * d("0.02")).quantize(d("0.01"))
    row["unemployment_employee"] = (row["gross_pay"] * d("0.005")).quantize(d("0.01"))
    row["housing_fund_employee"] = (row["gross_pay"] * d("0.12")).quantize(d("0.01"))
    row["iit"] = d(iit)
    row["iit_ytd"] = d(iit) * 3
    row["taxable_income_ytd"] = d("12345.67")
    row["deduction"] = d(deduction)
    row["net_pay"] = (row["gross_pay"] - sum(row[c] for c in EMPLOYEE_CONTRIBUTIONS)
                      - row["iit"] - row["deduction"])
    for fund, rate in zip(EMPLOYER_CONTRIBUTIONS, ("0.16", "0.07", "0.005", "0.002", "0.008", "0.12")):
        row[fund] = (row["gross_pay"] * d(rate)).quantize(d("0.01"))
    row["accident_insurance_employer"] = d("100.00")
    row["employer_cost"] = (row["gross_pay"] + sum(row[c] for c in EMPLOYER_CONTRIBUTIONS)
                            + row["accident_insurance_employer"])
    row["category"] = "duty"
    row["post"] = "TRAFFIC" if "交通" in unit else "PATROL"
    return row


@pytest.fixture
def con():
    con = connect(":memory:")
    columns = []
    for c in REGISTER_COLUMNS:
        sql_type = "DECIMAL(18,2)" if c in MONEY_COLUMNS else "INTEGER" if c == "level" else "VARCHAR"
        columns.append(f"{c} {sql_type}")
    con.execute(f"CREATE TABLE payslips ({', '.join(columns)}, category VARCHAR, post VARCHAR)")
    for index, person in enumerate(PEOPLE):
        eid, name, id_number, region, unit, level = person[:6]
        # the last person's ID was stored unmasked (a bad import): the export must still mask it
        stored_id = id_number if index == len(PEOPLE) - 1 else id_number[:6] + "*" * 8 + id_number[-4:]
        con.execute("INSERT INTO employees (employee_id, name, id_number_masked, region_code, unit, "
                    "category, level, post, hire_date) VALUES (?, ?, ?, ?, ?, 'duty', ?, 'PATROL', "
                    "DATE '2020-01-01')", [eid, name, stored_id, region, unit, level])
    rows = [_row(p, MONTH) for p in PEOPLE] + [_row(PEOPLE[0], "2025-02")]
    names = list(rows[0])
    con.executemany(f"INSERT INTO payslips ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                    [[r[c] for c in names] for r in rows])
    yield con
    con.close()


def expected_rows(month: str = MONTH, unit: str | None = None) -> list[dict]:
    rows = [_row(p, month) for p in PEOPLE if unit is None or p[4] == unit]
    return sorted(rows, key=lambda r: (r["region_code"], r["unit"], r["employee_id"]))


def exact_sum(rows, column) -> Decimal:
    return sum((r[column] for r in rows), Decimal("0.00"))


# ------------------------------------------------------------------------------------------- CSV

def test_csv_has_the_spec_header_a_bom_and_exact_money(con, tmp_path):
    out = tmp_path / "register.csv"
    summary = export_register(con, MONTH, "csv", out)
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "UTF-8 BOM so that Excel shows the Chinese text"
    reader = csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""))
    header, *rows = list(reader)
    assert header == list(REGISTER_COLUMNS)
    expected = expected_rows()
    assert len(rows) == len(expected) == summary.rows == 5
    assert [r[0] for r in rows] == [e["employee_id"] for e in expected]   # by unit, then employee
    for row, want in zip(rows, expected):
        record = dict(zip(header, row))
        assert record["month"] == MONTH and record["unit"] == want["unit"]
        assert record["level"] == str(want["level"])
        for column in MONEY:
            assert MONEY_RE.match(record[column]), (column, record[column])
            assert Decimal(record[column]) == want[column]
            assert record[column] == f"{want[column]:.2f}"
    assert summary.gross_pay == exact_sum(expected, "gross_pay")
    assert summary.net_pay == exact_sum(expected, "net_pay")
    assert summary.employer_cost == exact_sum(expected, "employer_cost")
    assert summary.path == out and summary.units == 2
    text = raw.decode("utf-8-sig")
    for person in PEOPLE:                                            # no ID numbers in the CSV
        assert person[2] not in text


def test_csv_of_one_unit(con, tmp_path):
    unit = "呼和浩特市公安局交通警察支队"
    summary = export_register(con, MONTH, "csv", tmp_path / "one.csv", unit=unit)
    with open(tmp_path / "one.csv", encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["employee_id"] for r in rows] == ["E004", "E005"]
    assert {r["unit"] for r in rows} == {unit}
    assert summary.rows == 2 and summary.gross_pay == exact_sum(expected_rows(unit=unit), "gross_pay")


# ------------------------------------------------------------------------------------------ XLSX

def _sheet(path: Path, data_only: bool = True):
    workbook = openpyxl.load_workbook(path, data_only=data_only)
    return workbook, workbook.worksheets[0]


def _header_row(ws) -> int:
    for row in range(1, 6):
        if ws.cell(row, 1).value == label_zh("employee_id"):
            return row
    raise AssertionError("no header row")


def test_xlsx_layout_subtotals_and_exact_total(con, tmp_path):
    out = tmp_path / "register.xlsx"
    summary = export_register(con, MONTH, "xlsx", out)
    workbook, ws = _sheet(out)
    assert ws.title == f"工资表 {MONTH}"
    assert "2025" in str(ws.cell(1, 1).value)                        # the title row
    header_row = _header_row(ws)
    header = [ws.cell(header_row, c).value for c in range(1, ws.max_column + 1)]
    assert header == [label_zh(c) for c in XLSX_COLUMNS]
    assert header[:3] == ["工号", "姓名", "身份证号"] and "应发工资" in header and "实发工资" in header
    assert ws.freeze_panes is not None
    frozen = openpyxl.utils.cell.coordinate_from_string(ws.freeze_panes)
    assert frozen[1] == header_row + 1                               # everything below the header scrolls
    assert ws.auto_filter.ref and ws.auto_filter.ref.startswith(f"A{header_row}:")

    col = {key: index + 1 for index, key in enumerate(XLSX_COLUMNS)}
    body = list(ws.iter_rows(min_row=header_row + 1, values_only=True))
    kinds = [r[0] for r in body]
    assert kinds == ["E004", "E005", "小计", "E001", "E002", "E003", "小计", "合计"]
    expected = expected_rows()
    by_unit: dict[str, list[dict]] = {}
    for r in expected:
        by_unit.setdefault(r["unit"], []).append(r)
    details = {r[0]: r for r in body if r[0] not in ("小计", "合计")}
    for want in expected:
        got = details[want["employee_id"]]
        for column in MONEY:
            assert Decimal(str(got[col[column] - 1])) == want[column], column
        assert got[col["level"] - 1] == want["level"]
    subtotals = [r for r in body if r[0] == "小计"]
    assert {r[col["unit"] - 1] for r in subtotals} == set(by_unit)
    for r in subtotals:
        rows = by_unit[r[col["unit"] - 1]]
        assert r[col["name"] - 1] == f"{len(rows)}人"
        for column in MONEY:
            assert Decimal(str(r[col[column] - 1])) == exact_sum(rows, column), column
    total = body[-1]
    assert total[0] == "合计"
    for column in MONEY:
        assert Decimal(str(total[col[column] - 1])) == exact_sum(expected, column), column
    assert summary.gross_pay == exact_sum(expected, "gross_pay")

    # money cells carry the 2-decimal money format, detail, subtotal and total rows alike
    for excel_row in range(header_row + 1, ws.max_row + 1):
        for column in MONEY:
            assert ws.cell(excel_row, col[column]).number_format == xlsx_helpers.MONEY_FORMAT
    # subtotal and total cells are SUBTOTAL formulas over their rows (the cached values checked above)
    _, formulas = _sheet(out, data_only=False)
    total_cell = formulas.cell(ws.max_row, col["gross_pay"]).value
    assert str(total_cell).startswith("=SUBTOTAL(9,")
    # the per-unit summary sheet sums to the same total
    summary_sheet = workbook["单位汇总"]
    last = list(summary_sheet.iter_rows(values_only=True))[-1]
    assert "合计" in last and Decimal(str(last[3])) == exact_sum(expected, "gross_pay")


def test_xlsx_shows_masked_id_numbers_only(con, tmp_path):
    out = tmp_path / "register.xlsx"
    export_register(con, MONTH, "xlsx", out)
    _, ws = _sheet(out)
    header_row = _header_row(ws)
    id_col = XLSX_COLUMNS.index("id_number_masked") + 1
    shown = {}
    for excel_row in range(header_row + 1, ws.max_row + 1):
        employee = ws.cell(excel_row, 1).value
        if employee not in ("小计", "合计"):
            shown[employee] = ws.cell(excel_row, id_col).value
            assert ws.cell(excel_row, XLSX_COLUMNS.index("name") + 1).value
    assert len(shown) == len(PEOPLE)
    for eid, _name, id_number, *_ in PEOPLE:
        assert MASKED_RE.match(shown[eid]), shown[eid]
        assert shown[eid][:6] == id_number[:6] and shown[eid][-4:] == id_number[-4:]
    everything = " ".join(str(c.value) for row in ws.iter_rows() for c in row if c.value is not None)
    for _eid, _name, id_number, *_ in PEOPLE:
        assert id_number not in everything


def test_xlsx_of_one_unit(con, tmp_path):
    unit = "呼和浩特市公安局新城区分局"
    out = tmp_path / "unit.xlsx"
    summary = export_register(con, MONTH, "xlsx", out, unit=unit)
    _, ws = _sheet(out)
    body = list(ws.iter_rows(min_row=_header_row(ws) + 1, values_only=True))
    assert [r[0] for r in body] == ["E001", "E002", "E003", "小计", "合计"]
    assert summary.rows == 3 and summary.units == 1
    gross = XLSX_COLUMNS.index("gross_pay")
    assert Decimal(str(body[-1][gross])) == exact_sum(expected_rows(unit=unit), "gross_pay")


# ----------------------------------------------------------------------------------- errors, files

def test_a_month_without_payslips_is_refused(con, tmp_path):
    out = tmp_path / "none.csv"
    with pytest.raises(PayrollError, match=r"no payslips for 2025-04: run `payroll run --month 2025-04` first"):
        export_register(con, "2025-04", "csv", out)
    with pytest.raises(PayrollError, match="2025-04"):
        export_register(con, "2025-04", "xlsx", tmp_path / "none.xlsx")
    with pytest.raises(PayrollError, match="no payslips for unit"):
        export_register(con, MONTH, "csv", out, unit="没有这个单位")
    assert list(tmp_path.iterdir()) == []


def test_no_payslips_table_at_all(tmp_path):
    con = connect(":memory:")
    with pytest.raises(PayrollError, match="run `payroll run --month 2025-01` first"):
        export_register(con, "2025-01", "xlsx", tmp_path / "r.xlsx")


def test_bad_month_and_format_are_refused(con, tmp_path):
    with pytest.raises(PayrollError, match="YYYY-MM"):
        export_register(con, "2025-3", "csv", tmp_path / "r.csv")
    with pytest.raises(PayrollError, match="csv or xlsx"):
        export_register(con, MONTH, "pdf", tmp_path / "r.pdf")


def test_a_failed_export_leaves_no_file(con, tmp_path, monkeypatch):
    out = tmp_path / "register.xlsx"
    out.write_bytes(b"previous export")

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(xlsx_helpers.Block, "write", boom)      # the data rows, written in blocks
    with pytest.raises(RuntimeError, match="disk full"):
        export_register(con, MONTH, "xlsx", out)
    assert out.read_bytes() == b"previous export"                     # untouched
    assert [p.name for p in tmp_path.iterdir()] == ["register.xlsx"]  # no temporary left behind
    # and the connection is still usable
    assert export_register(con, MONTH, "csv", tmp_path / "after.csv").rows == 5


def test_export_into_a_folder_names_the_file(con, tmp_path):
    summary = export_register(con, MONTH, "csv", tmp_path)
    assert summary.path == tmp_path / f"register-{MONTH}.csv" and summary.path.exists()


def test_display_width_and_sheet_names():
    assert xlsx_helpers.display_width("工号") == 4
    assert xlsx_helpers.display_width("E001") == 4
    assert xlsx_helpers.safe_sheet_name("a/b:c" + "x" * 40) == ("a-b-c" + "x" * 40)[:31]


def test_synthetic_roster_through_the_engine_to_the_register(tmp_path):
    """End to end: a synthetic roster, run by the engine, exported; totals agree with the table."""
    from payroll.engine.run import run_months
    from payroll.policy import load_policy
    from payroll.synth import synth_roster, write_roster

    con = connect(":memory:")
    employees, attendance = synth_roster(300, seed=7)
    write_roster(con, employees, attendance)
    run_months(con, load_policy(None), "2025-01", "2025-02")
    summary = export_register(con, "2025-02", "csv", tmp_path / "r.csv")
    gross, people = con.execute("SELECT CAST(sum(gross_pay) AS VARCHAR), count(*) FROM payslips "
                                "WHERE month = '2025-02'").fetchall()[0]
    assert summary.rows == people > 250 and summary.gross_pay == Decimal(gross)
    with open(tmp_path / "r.csv", encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert sum(Decimal(r["gross_pay"]) for r in rows) == Decimal(gross)
    xlsx_summary = export_register(con, "2025-02", "xlsx", tmp_path / "r.xlsx")
    assert xlsx_summary.gross_pay == summary.gross_pay
    _, ws = _sheet(tmp_path / "r.xlsx")
    total = list(ws.iter_rows(values_only=True))[-1]
    assert total[0] == "合计"
    assert Decimal(str(total[XLSX_COLUMNS.index("gross_pay")])) == Decimal(gross)
