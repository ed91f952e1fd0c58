"""The withholding declaration (正常工资薪金所得): the client's 29-column layout, full ID numbers read
from the HR file at export time and checked against the masked ones imported, cumulative special
deductions by item, totals equal to the register, and full ID numbers nowhere else."""
from __future__ import annotations

import os
import shutil
import zipfile
from decimal import Decimal
from pathlib import Path

import duckdb
import openpyxl
import pytest
from conftest import run_payroll
from handover_data import EMPLOYEE_HEADER, MONTHS, PEOPLE, build, full_id, register_totals, write_employees

from payroll.db import connect
from payroll.engine.run import run_months
from payroll.errors import InputError, PayrollError
from payroll.io.idnumber import contains_full_id_number, find_full_id_numbers, mask_id_number
from payroll.io.importer import import_files
from payroll.policy import load_policy
from payroll.reports.tax import SHEET_NAME, TEMPLATE, export_tax

CENT = Decimal("0.01")
IDS = {p[0]: p[2] for p in PEOPLE}
# the layout of research/filing-formats.md, column by column
HEADERS = ["工号", "*姓名", "*证件类型", "*证件号码", "本期收入", "本期免税收入", "基本养老保险费",
           "基本医疗保险费", "失业保险费", "住房公积金", "累计子女教育", "累计继续教育", "累计住房贷款利息",
           "累计住房租金", "累计赡养老人", "累计3岁以下婴幼儿照护", "累计个人养老金", "企业(职业)年金",
           "商业健康保险", "税延养老保险", "公务交通费用", "通讯费用", "律师办案费用", "西藏附加减除费用", "其他",
           "准予扣除的捐赠额", "减免税额", "协定减免", "备注"]


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tax")
    db, employees = build(directory)
    return directory, db, employees


@pytest.fixture(scope="module")
def con(city):
    connection = duckdb.connect(str(city[1]), read_only=True)
    yield connection
    connection.close()


def _sheet_rows(path: Path) -> list[dict]:
    sheet = openpyxl.load_workbook(path)[SHEET_NAME]
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == HEADERS
    return [dict(zip(HEADERS, r)) for r in rows[1:]]


def _xml(path: Path) -> str:
    with zipfile.ZipFile(path) as book:
        return " ".join(book.read(n).decode() for n in book.namelist() if n.endswith(".xml"))


def test_template_has_the_29_columns_in_the_clients_order():
    assert [header for header, _ in TEMPLATE] == HEADERS and len(HEADERS) == 29


@pytest.mark.parametrize("month", MONTHS)
def test_one_row_per_payslip_with_full_ids_and_register_totals(city, con, month):
    directory, _, employees = city
    count, register = register_totals(con, month, directory)
    result = export_tax(con, month, employees, directory / f"tax-{month}.xlsx")
    rows = _sheet_rows(result.path)
    assert len(rows) == count == result.people
    for row in rows:
        assert row["*证件号码"] == IDS[row["工号"]]
        assert row["*证件类型"] == "居民身份证"
        assert row["本期免税收入"] is None and row["备注"] is None      # nobody injured in this roster
    pairs = {"本期收入": "gross_pay", "基本养老保险费": "pension_employee", "基本医疗保险费": "medical_employee",
             "失业保险费": "unemployment_employee", "住房公积金": "housing_fund_employee"}
    for header, column in pairs.items():
        assert sum(Decimal(str(r[header])) for r in rows).quantize(CENT) == register[column], header
        assert result.totals[column] == register[column]
    check = list(openpyxl.load_workbook(result.path)["核对"].iter_rows(values_only=True))
    shown = {label: Decimal(str(value)).quantize(CENT) for label, value in check[3:]}
    assert shown["本期收入"] == register["gross_pay"]
    assert shown["本月个税（本系统计算，供核对）"] == register["iit"]
    assert f"人数：{count}" in check[1][0]


def test_cumulative_deductions_by_item(city, con):
    directory, _, employees = city
    rows = {r["工号"]: r for r in _sheet_rows(export_tax(con, "2025-03", employees, directory / "t.xlsx").path)}
    # Z1: 子女教育 2000 + 赡养老人 1000 + 住房租金 1500 a month, three months of payslips in 2025
    assert (rows["Z1"]["累计子女教育"], rows["Z1"]["累计赡养老人"], rows["Z1"]["累计住房租金"]) == (6000, 3000, 4500)
    assert rows["Z1"]["累计继续教育"] is None and rows["Z1"]["累计个人养老金"] is None
    # H1: 子女教育 1000 a month (the total 1000 was derived from it at import) × 3 months
    assert rows["H1"]["累计子女教育"] == 3000
    # K1 gave a total (800) but no items: the client takes its own declarations, columns empty
    assert all(rows["K1"][h] is None for h in HEADERS[10:17])
    ytd = dict(con.execute("SELECT employee_id, CAST(special_deduction_ytd AS VARCHAR) FROM payslips "
                           "WHERE month = '2025-03'").fetchall())
    assert ytd["Z1"] == "13500.00" and ytd["H1"] == "3000.00"         # the items add up to it
    assert ytd["K1"] == "2400.00"


def test_full_ids_are_in_the_tax_file_only(city, con, tmp_path):
    directory, db, employees = city
    # the command runs in this process, where the module's `con` holds the file read-only: DuckDB
    # refuses a second configuration of one file in one process (its audit entry opens it for
    # writing), so it gets a copy of its own
    db = shutil.copy(db, tmp_path / "payroll.duckdb")
    outputs = {}
    for what, fmt in (("register", "xlsx"), ("register", "csv"), ("summary", "xlsx"),
                      ("contributions", "xlsx"), ("bank", "csv"), ("bank", "xlsx"), ("tax", "xlsx")):
        out = directory / f"cli-{what}.{fmt}"
        args = ["export", "--db", str(db), "--month", "2025-02", "--what", what, "--format", fmt,
                "--out", str(out)] + (["--employees", str(employees)] if what == "tax" else [])
        result = run_payroll(*args)
        assert result.returncode == 0, result.stderr
        assert not contains_full_id_number(result.stdout + result.stderr)
        text = out.read_text(encoding="utf-8-sig") if fmt == "csv" else _xml(out)
        outputs[(what, fmt)] = (text, result)
    tax_text, tax_run = outputs.pop(("tax", "xlsx"))
    # February: everyone is paid (N1 leaves on the 20th), so every full number is in the file
    assert set(find_full_id_numbers(tax_text)) == set(IDS.values())
    assert "FULL ID numbers" in tax_run.stderr and "warning" in tax_run.stderr
    for (what, fmt), (text, _) in outputs.items():
        assert not contains_full_id_number(text), (what, fmt)
    if os.name == "posix":
        assert (directory / "cli-tax.xlsx").stat().st_mode & 0o077 == 0      # owner only


def test_the_exempt_disability_allowance_is_declared_as_exempt_income(tmp_path):
    """H2 (level 5, no declared base) injured 2025-01-06, grade 5, 1 stoppage month, no work arranged:
    from February the employer pays the disability allowance, which is tax-exempt (财税〔2012〕40号).
    The declaration must file it as 本期免税收入 (research/test-audit.md F4), the same figure the
    engine's withholding left out of 累计收入, so that 本期收入 − 本期免税收入 is what was taxed."""
    policy = load_policy()
    con = connect(tmp_path / "db.duckdb")
    employees = write_employees(tmp_path / "e.csv")
    import_files(con, policy, employees=employees)
    con.execute("INSERT INTO events (employee_id, event_date, kind, disability_grade, stoppage_months, "
                "work_arranged) VALUES ('H2', DATE '2025-01-06', 'injury', 5, 1, false)")
    run_months(con, policy, "2024-12", "2025-03")        # December: the payslip 本人工资 is averaged over
    for month in ("2025-02", "2025-03"):
        rows = {r["工号"]: r for r in _sheet_rows(export_tax(con, month, employees, tmp_path / "t.xlsx").path)}
        gross, exempt, income_ytd, previous = con.execute(
            "SELECT gross_pay, tax_exempt_income, income_ytd, "
            "(SELECT income_ytd FROM payslips q WHERE q.employee_id = p.employee_id AND q.month = ?) "
            "FROM payslips p WHERE employee_id = 'H2' AND month = ?", [f"2025-0{int(month[-1]) - 1}", month]).fetchone()
        assert exempt > 0
        assert Decimal(str(rows["H2"]["本期免税收入"])) == exempt
        assert Decimal(str(rows["H2"]["本期收入"])) == gross
        # taxable income of the month as declared = the engine's own increase of 累计收入
        assert gross - exempt == income_ytd - previous
        assert all(r["本期免税收入"] is None for who, r in rows.items() if who != "H2")
    check = list(openpyxl.load_workbook(tmp_path / "t.xlsx")["核对"].iter_rows(values_only=True))
    assert {label: value for label, value in check[3:]}["本期免税收入"] == float(exempt)
    con.close()


def test_the_database_keeps_only_masked_ids(con):
    stored = dict(con.execute("SELECT employee_id, id_number_masked FROM employees").fetchall())
    assert stored == {e: mask_id_number(i) for e, i in IDS.items()}


def test_without_the_hr_file_the_export_refuses(city, con):
    directory, db, _ = city
    with pytest.raises(PayrollError, match="--employees"):
        export_tax(con, "2025-01", None, directory / "none.xlsx")
    result = run_payroll("export", "--db", db, "--month", "2025-01", "--what", "tax", "--out", directory / "none.xlsx")
    assert result.returncode == 2 and "--employees" in result.stderr
    assert not (directory / "none.xlsx").exists()


def _hr_file(directory: Path, changes: dict[str, str], drop: str | None = None) -> Path:
    people = [p[:2] + (changes.get(p[0], p[2]),) + p[3:] for p in PEOPLE if p[0] != drop]
    return write_employees(directory / "hr.csv", people,
                           [h if h != "id_number" else "身份证号" for h in EMPLOYEE_HEADER])


def test_an_hr_file_that_does_not_match_names_row_and_column(city, con):
    directory, _, _ = city
    other = full_id("33010219880303999")                     # valid, but not Z1's imported number
    bad_checksum = IDS["H2"][:17] + ("0" if IDS["H2"][17] != "0" else "1")
    hr = _hr_file(directory, {"Z1": other, "H2": bad_checksum, "O1": ""})
    with pytest.raises(InputError) as error:
        export_tax(con, "2025-01", hr, directory / "bad.xlsx")
    found = [(p.file, p.row, p.column) for p in error.value.problems]
    assert found == [("hr.csv", 3, "身份证号"), ("hr.csv", 4, "身份证号"), ("hr.csv", 5, "身份证号")]
    reasons = [p.reason for p in error.value.problems]
    assert "checksum" in reasons[0]
    assert "is empty" in reasons[1]
    assert "does not match the one imported" in reasons[2] and mask_id_number(other) in reasons[2]
    assert not contains_full_id_number(str(error.value))
    assert not (directory / "bad.xlsx").exists()


def test_a_person_paid_but_missing_from_the_hr_file(city, con):
    directory, _, _ = city
    with pytest.raises(InputError, match=r"1 person\(s\) paid this month are not in the file: K1"):
        export_tax(con, "2025-01", _hr_file(directory, {}, drop="K1"), directory / "missing.xlsx")


def test_items_that_changed_during_the_year_stop_the_export(tmp_path):
    """Jan–Feb run with Z1's items summing to 4500; then Z1 declares 5500 from March: the per-item
    split of the year-to-date total (4500 + 4500 + 5500) is unknown."""
    policy = load_policy()
    con = connect(tmp_path / "db.duckdb")
    employees = write_employees(tmp_path / "e.csv")
    import_files(con, policy, employees=employees)
    run_months(con, policy, "2025-01", "2025-02")
    changed = [p[:10] + ("5500",) + p[11:12] + ("3000",) + p[13:] if p[0] == "Z1" else p for p in PEOPLE]
    import_files(con, policy, employees=write_employees(tmp_path / "e2.csv", changed))
    run_months(con, policy, "2025-03", "2025-03")
    with pytest.raises(PayrollError, match=r"for 1 person\(s\): Z1"):
        export_tax(con, "2025-03", tmp_path / "e2.csv", tmp_path / "t.xlsx")
    assert not (tmp_path / "t.xlsx").exists()
    # and with the old items back, the year is consistent again and the file is written
    import_files(con, policy, employees=employees)
    run_months(con, policy, "2025-03", "2025-03")
    rows = _sheet_rows(export_tax(con, "2025-03", employees, tmp_path / "t.xlsx").path)
    assert next(r for r in rows if r["工号"] == "Z1")["累计子女教育"] == 6000


def test_items_and_total_must_agree_at_import(tmp_path):
    people = [PEOPLE[3][:10] + ("4000",) + PEOPLE[3][11:],             # items sum to 4500
              PEOPLE[0][:12] + ("1000.005",) + PEOPLE[0][13:]]
    header = [h if h != "special_deduction" else "专项附加扣除" for h in EMPLOYEE_HEADER]
    path = write_employees(tmp_path / "e.csv", people, header)
    with pytest.raises(InputError) as error:
        import_files(connect(tmp_path / "db.duckdb"), load_policy(), employees=path)
    found = [(p.row, p.column, p.reason) for p in error.value.problems]
    assert found == [(2, "专项附加扣除", "'4000' is not the sum of the special deduction items in this row (4500.00)"),
                     (3, "子女教育", "'1000.005' has more than 2 decimal places")]


def test_demo_never_writes_the_tax_file(demo_year):
    out, _ = demo_year                      # the session's `payroll demo` (conftest)
    written = [p for p in out.rglob("*") if p.is_file()]
    assert written and not [p for p in written if p.name.startswith("tax")]
    for path in written:
        if path.suffix == ".xlsx":
            xml = _xml(path)                # unzipped once for both checks
            assert SHEET_NAME not in xml and not contains_full_id_number(xml)
