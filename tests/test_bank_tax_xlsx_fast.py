"""The bank and tax XLSX exports built column-wise (issue 17) write the same file as the row-wise
code they replaced: a reference copy of that code (below, as it was at c329be3) writes each file
again, and every cell is compared: value (openpyxl and calamine), type, number format, font,
fill, border and alignment, the sheets' layout (merged title, frozen panes, filter, widths, print
setup) and the package's styles part; the refusals give the same messages.

The roster: tests/handover_data.py's six people plus X1, whose name needs escaping (&, <, >) and
whose ID number ends in X (given as x, with spaces, in the HR file), run for 2025-01..03; then
February's payslips are edited into the cases the synthetic month lacks: an annual bonus taxed
apart, severance pay with and without an exempt part, exempt income (本期免税收入), a zero
contribution, and two people paid 0 (one with a shortfall carried, one with no gross pay)."""
from __future__ import annotations

import os
import shutil
import zipfile
from decimal import Decimal
from pathlib import Path

import duckdb
import openpyxl
import pandas as pd
import pytest
from handover_data import MONTHS, PEOPLE, full_id, write_employees
from python_calamine import CalamineWorkbook

from payroll.errors import CellProblem, InputError, PayrollError
from payroll.io.employee_extras import DEDUCTION_ITEMS
from payroll.io.idnumber import id_number_problems, mask_id_numbers
from payroll.io.readers import read_table
from payroll.reports import xlsx
from payroll.reports.bank import GENERIC, BankExport, BankLayout, _listed, export_bank, transfer_rows
from payroll.reports.handover import check_month, decimal_sums, month_title, target_path
from payroll.reports.tax import (BONUS_HEADERS, BONUS_SHEET, CHECKED, ID_TYPE_RESIDENT, MAX_LISTED, ONE_OFF_TEMPLATE,
                                 SEVERANCE_HEADERS, SEVERANCE_SHEET, SHEET_NAME, TEMPLATE, TEXT_FIELDS,
                                 TaxExport, export_tax)
from payroll.db import table_exists
from payroll.reports.bank import UNPAID_HEADERS

X1 = ("X1", "欧阳&<娜>", full_id("11010119900101004"), "150100", "新城分局", "duty", 5, "PATROL",
      "2020-01-01", "", "", "6222021234567890128", "", "", "")
ROSTER = [*PEOPLE, X1]
EDITED = "2025-02"
LAYOUTS = {"generic": GENERIC,
           "every field": BankLayout(columns=(("employee_id", "工号"), ("unit", "单位"), ("name", "户名"),
                                              ("account", "账号"), ("amount", "金额"), ("purpose", "用途")),
                                     purpose="{year}年{month}月 工资&奖金")}


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    """(directory, database path, HR file for the tax export) with February's payslips edited."""
    from payroll.db import connect
    from payroll.engine.run import run_months
    from payroll.io.importer import import_files
    from payroll.policy import load_policy
    directory = tmp_path_factory.mktemp("bank-tax")
    employees = write_employees(directory / "employees.csv", ROSTER)
    db = directory / "payroll.duckdb"
    con = connect(db)
    import_files(con, load_policy(), employees=employees)
    run_months(con, load_policy(), MONTHS[0], MONTHS[-1])
    edits = {
        "Z1": "annual_bonus_separate = 6000.00",
        "N1": "severance_pay = 12000.00, severance_exempt = 5000.00",
        "H1": "severance_pay = 3000.00, severance_exempt = 0",
        "H2": "tax_exempt_income = 1234.56",
        "K1": "pension_employee = 0, net_pay = 0, gross_pay = 0",
        "O1": "net_pay = 0, shortfall_carried = 12.34, balance_owed = 12.34",
    }
    for person, change in edits.items():
        con.execute(f"UPDATE payslips SET {change} WHERE employee_id = ? AND month = ?", [person, EDITED])
    con.close()
    # the HR file as people type it: X1's check character in lower case, H1's number spaced out
    typed = {"X1": X1[2].lower(), "H1": PEOPLE[0][2][:6] + " " + PEOPLE[0][2][6:14] + " " + PEOPLE[0][2][14:]}
    hr = write_employees(directory / "hr.csv", [p[:2] + (typed.get(p[0], p[2]),) + p[3:] for p in ROSTER])
    return directory, db, hr


def _copy(city, name: str) -> duckdb.DuckDBPyConnection:
    """A writable copy of the database (for the refusals' edits)."""
    directory, db, _ = city
    target = directory / f"{name}.duckdb"
    shutil.copy(db, target)
    return duckdb.connect(str(target))


def _looks(path: Path) -> list[tuple]:
    """Each sheet's layout and every cell's value, type and look, as openpyxl reads them."""
    book = openpyxl.load_workbook(path)
    found = []
    for ws in book.worksheets:
        found.append((ws.title, sorted(str(r) for r in ws.merged_cells.ranges), ws.freeze_panes, ws.auto_filter.ref,
                      {k: (d.width, d.min, d.max) for k, d in ws.column_dimensions.items()},
                      {k: d.height for k, d in ws.row_dimensions.items()},
                      ws.page_setup.orientation, ws.page_setup.paperSize, ws.page_setup.fitToWidth,
                      ws.page_setup.fitToHeight, ws.print_title_rows, ws.max_row, ws.max_column))
        for row in ws.iter_rows():
            for cell in row:
                font, fill, border, align = cell.font, cell.fill, cell.border, cell.alignment
                found.append((ws.title, cell.coordinate, cell.value, cell.data_type, cell.number_format,
                              font.name, font.sz, font.b, font.color.rgb if font.color else None,
                              fill.fill_type, fill.fgColor.rgb,
                              tuple(getattr(border, side).style for side in ("left", "right", "top", "bottom")),
                              align.horizontal, align.vertical, align.wrap_text))
    return found


def _values(path: Path) -> dict[str, list[list]]:
    book = CalamineWorkbook.from_path(str(path))
    return {name: book.get_sheet_by_name(name).to_python() for name in book.sheet_names}


def _styles_part(path: Path) -> bytes:
    with zipfile.ZipFile(path) as package:
        return package.read("xl/styles.xml")


def _assert_same_file(new: Path, old: Path) -> None:
    assert _values(new) == _values(old)
    assert _looks(new) == _looks(old)
    assert _styles_part(new) == _styles_part(old)


@pytest.fixture(params=["fast", "fallback"])
def writer(request, monkeypatch):
    """The fast block writer, and xlsxwriter's per-cell path (PAYROLL_XLSX_FAST=0) for both codes."""
    if request.param == "fallback":
        monkeypatch.setenv(xlsx.FAST_ENV, "0")
    return request.param


def _without_fallback(writer: str, monkeypatch, export):
    """The new export's result; on the fast path it must not fall back to per-cell writing."""
    if writer == "fallback":
        return export()

    def no_fallback(*args, **kwargs):
        raise AssertionError("the fast path fell back to per-cell writing")

    with monkeypatch.context() as patch:
        patch.setattr(xlsx.Sheet, "_write_cells", no_fallback)
        return export()


@pytest.mark.parametrize("month", MONTHS)
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_the_bank_file_is_the_one_the_row_wise_code_wrote(city, writer, monkeypatch, month, layout):
    directory, db, _ = city
    con = duckdb.connect(str(db), read_only=True)
    new = _without_fallback(writer, monkeypatch, lambda: export_bank(
        con, month, "xlsx", directory / f"bank-new-{month}-{layout}-{writer}.xlsx", LAYOUTS[layout]))
    old = old_bank_export(con, month, "xlsx", directory / f"bank-old-{month}-{layout}-{writer}.xlsx", LAYOUTS[layout])
    con.close()
    _assert_same_file(new.path, old.path)
    assert (new.month, new.transfers, new.total, new.zero_pay) == (old.month, old.transfers, old.total, old.zero_pay)
    assert str(new.total) == str(old.total)
    if month == EDITED:              # the people paid 0 are on their own sheet, with the reason
        assert new.zero_pay == 2 and [r[0] for r in _values(new.path)["未发放"][3:]] == ["K1", "O1"]


@pytest.mark.parametrize("month", MONTHS)
def test_the_tax_file_is_the_one_the_row_wise_code_wrote(city, writer, monkeypatch, month):
    directory, db, hr = city
    con = duckdb.connect(str(db), read_only=True)
    new = _without_fallback(writer, monkeypatch, lambda: export_tax(con, month, hr, directory / f"tax-new-{month}-{writer}.xlsx"))
    old = old_tax_export_tax(con, month, hr, directory / f"tax-old-{month}-{writer}.xlsx")
    con.close()
    _assert_same_file(new.path, old.path)
    assert (new.month, new.people, new.totals, new.without_items) == (old.month, old.people, old.totals, old.without_items)
    assert os.stat(new.path).st_mode & 0o777 == os.stat(old.path).st_mode & 0o777
    sheets = _values(new.path)
    ids = {row[0]: row[3] for row in sheets[SHEET_NAME][1:]}
    assert ids["X1"] == X1[2] and ids["H1"] == PEOPLE[0][2]      # normalised: no spaces, X upper case
    if month == EDITED:              # the one-off incomes' sheets exist, exemptions of 0 left empty
        assert [row[:6] for row in sheets[BONUS_SHEET][1:]] == [["Z1", "钱三", ID_TYPE_RESIDENT, IDS["Z1"], 6000.0, ""]]
        assert sorted(row[0] for row in sheets[SEVERANCE_SHEET][1:]) == ["H1", "N1"]
        assert {row[0]: row[5] for row in sheets[SEVERANCE_SHEET][1:]} == {"H1": "", "N1": 5000.0}
        assert {row[0]: row[5] for row in sheets[SHEET_NAME][1:]}["H2"] == 1234.56


IDS = {p[0]: p[2] for p in ROSTER}


def _raised(call) -> Exception:
    with pytest.raises((PayrollError, InputError)) as error:
        call()
    return error.value


def _same_refusal(new: Exception, old: Exception) -> None:
    assert type(new) is type(old) and str(new) == str(old)
    assert getattr(new, "problems", None) == getattr(old, "problems", None)


@pytest.mark.parametrize("case", ["net pay below 0", "no account", "account empty"])
def test_the_bank_file_refuses_as_before(city, case):
    directory = city[0]
    con = _copy(city, f"bank-{case.replace(' ', '-')}")
    change = {"net pay below 0": "UPDATE payslips SET net_pay = -0.01 WHERE employee_id IN ('H1', 'Z1')",
              "no account": "UPDATE employee_finance SET bank_account = NULL WHERE employee_id = 'X1'",
              "account empty": "UPDATE employee_finance SET bank_account = '' WHERE employee_id = 'N1'"}[case]
    con.execute(change)
    new = _raised(lambda: export_bank(con, "2025-01", "xlsx", directory / "refused-new.xlsx"))
    old = _raised(lambda: old_bank_export(con, "2025-01", "xlsx", directory / "refused-old.xlsx"))
    _same_refusal(new, old)
    assert not (directory / "refused-new.xlsx").exists()
    con.close()


@pytest.mark.parametrize("case", ["HR file wrong", "paid but not in the HR file", "items changed"])
def test_the_tax_file_refuses_as_before(city, case):
    directory, _, hr = city
    con = _copy(city, f"tax-{case.replace(' ', '-')}")
    if case == "HR file wrong":
        other = full_id("33010219880303999")
        bad_checksum = IDS["H2"][:17] + ("0" if IDS["H2"][17] != "0" else "1")
        changed = {"Z1": other, "H2": bad_checksum, "O1": "", "X1": "12345"}
        hr = write_employees(directory / "hr-wrong.csv", [p[:2] + (changed.get(p[0], p[2]),) + p[3:]
                                                          for p in ROSTER + [ROSTER[0]]])   # H1 twice
    elif case == "paid but not in the HR file":
        hr = write_employees(directory / "hr-short.csv", [p for p in ROSTER if p[0] not in ("K1", "X1")])
    else:
        con.execute("UPDATE employee_finance SET children_education = 999 WHERE employee_id = 'Z1'")
    new = _raised(lambda: export_tax(con, "2025-03", hr, directory / "refused-new.xlsx"))
    old = _raised(lambda: old_tax_export_tax(con, "2025-03", hr, directory / "refused-old.xlsx"))
    _same_refusal(new, old)
    assert not (directory / "refused-new.xlsx").exists()
    con.close()


def test_a_synthetic_month_gives_the_same_files(tmp_path):
    """A few hundred people of the benchmarks' synthetic roster (every stored column filled)."""
    from benchmarks.common import run_month, synth_database
    from payroll.db import EMPLOYEE_FINANCE_DDL, connect
    from payroll.policy import load_policy
    from payroll.synth import write_roster_files
    con = connect(":memory:")
    employees, attendance = synth_database(con, 300, ("2025-01",))
    run_month(con, load_policy(), "2025-01")
    con.execute(EMPLOYEE_FINANCE_DDL)
    con.execute("INSERT INTO employee_finance (employee_id, bank_account) SELECT employee_id, "
                "'6222020' || lpad(CAST(hash(employee_id) % 1000000000000 AS VARCHAR), 12, '0') FROM employees")
    hr, _ = write_roster_files(employees, attendance, tmp_path)
    for name, new, old in (
            ("bank", export_bank, old_bank_export),
            ("tax", lambda c, m, f, out: export_tax(c, m, hr, out), lambda c, m, f, out: old_tax_export_tax(c, m, hr, out))):
        _assert_same_file(new(con, "2025-01", "xlsx", tmp_path / f"{name}-new.xlsx").path,
                          old(con, "2025-01", "xlsx", tmp_path / f"{name}-old.xlsx").path)


def _old_block_xml(self, row_numbers, start: int, stop: int):
    """Block._xml as it was (c329be3): every column joined on its own, empty ones too."""
    import pyarrow.compute as pc
    pieces = ['<row r="', row_numbers, '">']
    for opening, look, middle, text, end in self.cells:
        values = text.slice(start, stop - start)
        middle = middle.format(look._get_xf_index())
        cell = pc.binary_join_element_wise(opening, row_numbers, middle, values, end, "")
        pieces.append(cell.fill_null("") if values.null_count else cell)
    pieces.append("</row>")
    return xlsx.joined_bytes(pieces)


def _parts(path: Path) -> dict[str, bytes]:
    """Every part of the package but docProps/core.xml (it holds the time of writing)."""
    with zipfile.ZipFile(path) as package:
        return {name: package.read(name) for name in package.namelist() if name != "docProps/core.xml"}


def test_every_export_is_byte_for_byte_what_the_writer_wrote_before(tmp_path, monkeypatch):
    """xlsx.py's additions (rows copied into the sheet as bytes, empty columns and columns without
    blanks joined in one pass) change no byte of any export: each file again with xlsxwriter's own
    worksheet and the old row rendering, every part compared."""
    import xlsxwriter.worksheet
    from benchmarks.common import run_month, synth_database
    from payroll.db import EMPLOYEE_FINANCE_DDL, connect
    from payroll.policy import load_policy
    from payroll.reports.contributions import export_contributions
    from payroll.reports.payslips import export_payslips
    from payroll.reports.register import export_register
    from payroll.reports.summary import export_summary
    from payroll.reports.voucher import export_voucher
    from payroll.synth import write_roster_files
    policy = load_policy()
    con = connect(":memory:")
    employees, attendance = synth_database(con, 300, ("2025-01",))
    run_month(con, policy, "2025-01")
    con.execute(EMPLOYEE_FINANCE_DDL)
    con.execute("INSERT INTO employee_finance (employee_id, bank_account) SELECT employee_id, "
                "'6222020' || lpad(CAST(hash(employee_id) % 1000000000000 AS VARCHAR), 12, '0') FROM employees")
    hr, _ = write_roster_files(employees, attendance, tmp_path)
    exports = {
        "register": lambda out: export_register(con, "2025-01", "xlsx", out),
        "payslips": lambda out: export_payslips(con, "2025-01", out),
        "contributions": lambda out: export_contributions(con, "2025-01", out),
        "bank": lambda out: export_bank(con, "2025-01", "xlsx", out),
        "tax": lambda out: export_tax(con, "2025-01", hr, out),
        "summary": lambda out: export_summary(con, "2025-01", out),
        "voucher": lambda out: export_voucher(con, policy, "2025-01", out),
    }
    for name, export in exports.items():
        export(tmp_path / f"{name}-new.xlsx")
        with monkeypatch.context() as patch:
            patch.setattr(xlsx.Workbook, "__init__", xlsxwriter.Workbook.__init__)
            patch.setattr(xlsx.Block, "_xml", _old_block_xml)
            export(tmp_path / f"{name}-old.xlsx")
        new, old = _parts(tmp_path / f"{name}-new.xlsx"), _parts(tmp_path / f"{name}-old.xlsx")
        assert new == old, name


# ------------------------------------------------------------------------------------------------
# The reference: the row-wise code as it was before issue 17's columnar change (c329be3), verbatim
# but for the names (old_…) and the CSV branch left out.

def old_bank_export(con: duckdb.DuckDBPyConnection, month: str, fmt: str = "xlsx",
                out: str | Path | None = None, layout: BankLayout = GENERIC) -> BankExport:
    fmt = check_month(con, month, fmt, formats=("xlsx", "csv"), what="bank")
    target = target_path(out, "bank", month, fmt)
    rows = transfer_rows(con, month)
    _check(rows, month)
    paid = [r for r in rows if r["amount"] > 0]
    total = sum((r["amount"] for r in paid), Decimal("0.00"))
    year, mon = month.split("-")
    purpose = layout.purpose.format(year=year, month=int(mon))
    fields = [f for f, _ in layout.columns]
    lines = [[purpose if f == "purpose" else r[f] for f in fields] for r in paid]
    footer = {fields[0]: xlsx.TOTAL_LABEL, **({fields[1]: f"共{len(paid)}笔"} if len(fields) > 1 else {})}
    footer["amount"] = total
    unpaid = [[r["employee_id"], r["name"], r["unit"], r["amount"], r["reason"]] for r in rows if r["amount"] == 0]
    old_bank_write_xlsx(target, layout, lines, footer, month, len(paid), total, unpaid)
    return BankExport(target, month, len(paid), total, len(rows) - len(paid))


def _check(rows: list[dict], month: str) -> None:
    negative = [r["employee_id"] for r in rows if r["amount"] < 0]
    if negative:
        raise PayrollError(f"{len(negative)} payslip(s) of {month} have net pay below 0, which no "
                           f"transfer can pay: {_listed(negative)}")
    missing = [r["employee_id"] for r in rows if r["amount"] > 0 and not r["account"]]
    if missing:
        raise PayrollError(
            f"{len(missing)} person(s) with net pay in {month} have no bank account: {_listed(missing)}; "
            f"add a bank_account (银行账号) column to the employees file and import it again. "
            f"Nothing was written.")


def old_bank_write_xlsx(target: Path, layout: BankLayout, lines: list[list], footer: dict, month: str,
                count: int, total: Decimal, unpaid: list[list] | None = None) -> None:
    kinds = {f: (xlsx.MONEY if f == "amount" else xlsx.TEXT) for f, _ in layout.columns}
    columns = xlsx.make_columns([f for f, _ in layout.columns], labels=dict(layout.columns),
                                kinds=kinds, widths={"account": 26, "name": 12, "purpose": 18,
                                                     "amount": xlsx.money_width(total)})
    with xlsx.atomic_output(target) as temporary:
        workbook = xlsx.new_workbook(temporary)
        sheet = xlsx.Sheet(workbook, f"代发工资 {month}", columns,
                           title=f"辅警工资代发清单（{month_title(month)}）",
                           subtitle=f"笔数：{count:,}　　金额合计：{total:,.2f} 元")
        first = sheet.row
        # column-wise, as write_row would write each line: text as str, amounts exact
        data = [list(values) if column.kind == xlsx.MONEY else [None if v is None else str(v) for v in values]
                for column, values in zip(columns, zip(*lines))] if lines else []
        if data:
            sheet.write_columns(data)
        last = sheet.row - 1
        sheet.finish(last)
        labels = {k: v for k, v in footer.items() if k != "amount"}
        sheet.write_sum_row(labels, {"amount": total}, first, last, row_kind="total")
        if unpaid:
            fields = ("employee_id", "name", "unit", "net_pay", "reason")
            columns = xlsx.make_columns(fields, labels=dict(zip(fields, UNPAID_HEADERS)),
                                        kinds={"net_pay": xlsx.MONEY, "employee_id": xlsx.TEXT, "name": xlsx.TEXT,
                                               "unit": xlsx.TEXT, "reason": xlsx.TEXT},
                                        widths={"reason": 70, "unit": 16})
            xlsx.write_simple_sheet(workbook, "未发放", columns, unpaid,
                                    title=f"实发为零人员（{month_title(month)}）",
                                    subtitle=f"{len(unpaid):,} 人，不列入代发清单")
        workbook.close()


def old_tax_full_id_numbers(employees_file: str | Path, wanted: pd.DataFrame) -> pd.Series:
    """employee_id -> full ID number from the HR file, for the people in `wanted` (employee_id,
    id_number_masked). InputError naming file, row and column for anything wrong."""
    from payroll.io.importer import EMPLOYEES    # the same columns and header aliases as the import
    table = read_table(Path(employees_file), EMPLOYEES)
    cells = table.frame
    ids = cells["id_number"].str.replace(r"\s+", "", regex=True).str.upper()
    problems: list[CellProblem] = []

    def flag(mask: pd.Series, column: str, reasons: pd.Series | str) -> None:
        reasons = reasons if isinstance(reasons, pd.Series) else pd.Series(reasons, index=cells.index)
        for index in mask[mask].index:
            problems.append(CellProblem(table.file, int(table.row_numbers[index]),
                                        table.header_of(column), str(reasons[index])))

    needed = cells["employee_id"].isin(wanted["employee_id"])
    flag(needed & (ids == ""), "id_number", "is empty: the tax declaration needs the full ID number")
    present = needed & (ids != "")
    reasons = id_number_problems(ids[present]).reindex(cells.index)
    flag(present & reasons.notna(), "id_number", reasons)
    stored = cells["employee_id"].map(dict(zip(wanted["employee_id"], wanted["id_number_masked"])))
    valid = present & reasons.isna()
    masked = mask_id_numbers(ids.where(valid, ""))
    mismatch = valid & (stored.fillna("") != masked)
    flag(mismatch, "id_number", "ID number " + masked + " does not match the one imported for this "
         "employee (" + stored.fillna("none").astype(str) + "): import this file again or use the file "
         "that was imported")
    repeated = needed & cells["employee_id"].duplicated(keep="first")
    flag(repeated, "employee_id", "repeats an employee_id")
    in_file = set(cells["employee_id"])
    absent = [e for e in wanted["employee_id"] if e not in in_file]
    if absent:
        shown = ", ".join(absent[:MAX_LISTED]) + (f" … and {len(absent) - MAX_LISTED} more"
                                                  if len(absent) > MAX_LISTED else "")
        problems.append(CellProblem(table.file, None, "employee_id",
                                    f"{len(absent)} person(s) paid this month are not in the file: {shown}"))
    if problems:
        raise InputError(sorted(problems, key=lambda p: (p.row is None, p.row or 0)))
    keep = needed & ~cells["employee_id"].duplicated(keep="first")
    return pd.Series(ids[keep].values, index=cells["employee_id"][keep].values)


def old_tax_declaration_rows(con: duckdb.DuckDBPyConnection, month: str) -> pd.DataFrame:
    """One row per payslip of the month with the template's figures (money as Decimal strings)."""
    items = list(DEDUCTION_ITEMS) if table_exists(con, "employee_finance") else []
    year = month[:4]
    item_sql = ", ".join(f"CAST(f.{i} AS VARCHAR) AS {i}" for i in items)
    finance_join = "LEFT JOIN employee_finance f USING (employee_id)" if items else ""
    return con.execute(f"""
        WITH year_months AS (
            SELECT employee_id, count(*) AS months,
                   count(DISTINCT special_deduction) AS distinct_totals,
                   any_value(special_deduction) AS one_total
            FROM payslips WHERE month BETWEEN '{year}-01' AND ? GROUP BY employee_id)
        SELECT p.employee_id, e.name, e.id_number_masked,
               CAST(p.gross_pay - p.income_taxed_apart AS VARCHAR) AS gross_pay,
               CAST(p.annual_bonus_separate AS VARCHAR) AS annual_bonus_separate,
               CAST(p.severance_pay AS VARCHAR) AS severance_pay,
               CAST(p.severance_exempt AS VARCHAR) AS severance_exempt,
               -- 本期免税收入: the employer disability allowance (财税〔2012〕40号), which the engine's
               -- withholding already leaves out of 累计收入; empty when there is none, as the client wants
               CAST(nullif(p.tax_exempt_income, 0) AS VARCHAR) AS tax_exempt_income,
               CAST(p.pension_employee AS VARCHAR) AS pension_employee,
               CAST(p.medical_employee AS VARCHAR) AS medical_employee,
               CAST(p.unemployment_employee AS VARCHAR) AS unemployment_employee,
               CAST(p.housing_fund_employee AS VARCHAR) AS housing_fund_employee,
               CAST(p.special_deduction_ytd AS VARCHAR) AS special_deduction_ytd,
               y.months, y.distinct_totals, CAST(y.one_total AS VARCHAR) AS one_total
               {', ' + item_sql if items else ''}
        FROM payslips p LEFT JOIN employees e USING (employee_id) {finance_join}
        JOIN year_months y USING (employee_id)
        WHERE p.month = ? ORDER BY p.region_code, p.unit, p.employee_id""", [month, month]).df()


def old_tax_item_ytd(rows: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Add <item>_ytd = monthly item × months (Decimal); check it adds up to the engine's total."""
    items = [i for i in DEDUCTION_ITEMS if i in rows.columns]
    has_items = rows[items].notna().any(axis=1) if items else pd.Series(False, index=rows.index)
    bad = []
    for i in DEDUCTION_ITEMS:
        rows[f"{i}_ytd"] = pd.Series(None, index=rows.index, dtype=object)
    for index in rows.index[has_items]:
        row = rows.loc[index]
        monthly = {i: Decimal(row[i]) if row[i] is not None and not pd.isna(row[i]) else Decimal("0.00")
                   for i in items}
        ytd = {i: monthly[i] * int(row["months"]) for i in items}
        if int(row["distinct_totals"]) != 1 or sum(monthly.values()) != Decimal(row["one_total"]) \
                or sum(ytd.values()) != Decimal(row["special_deduction_ytd"]):
            bad.append(row["employee_id"])
        for i in items:          # an item with nothing declared stays empty, as the template wants
            rows.at[index, f"{i}_ytd"] = ytd[i] if ytd[i] else None
    if bad:
        shown = ", ".join(bad[:MAX_LISTED]) + (f" … and {len(bad) - MAX_LISTED} more" if len(bad) > MAX_LISTED else "")
        raise PayrollError(
            f"the special deductions by item in the employees file (as imported) do not add up to the year-to-date "
            f"total the payroll used for {len(bad)} person(s): {shown}. The monthly amounts changed "
            f"during the year, so the split by item is not known; correct the items or leave them "
            f"empty for these people (the client then uses their own declarations)")
    without = int(((~has_items) & (rows["special_deduction_ytd"].map(Decimal) > 0)).sum())
    return rows, without


def old_tax_export_tax(con: duckdb.DuckDBPyConnection, month: str, employees_file: str | Path,
               out: str | Path | None = None, fmt: str = "xlsx") -> TaxExport:
    fmt = check_month(con, month, fmt, what="tax declaration")
    if employees_file is None:
        raise PayrollError("the tax declaration needs the full ID numbers, which the database does not "
                           "keep: give the HR employees file with --employees")
    target = target_path(out, "tax", month, fmt)
    rows = old_tax_declaration_rows(con, month)
    full = old_tax_full_id_numbers(employees_file, rows[["employee_id", "id_number_masked"]])
    rows, without_items = old_tax_item_ytd(rows)
    rows["id_number"] = rows["employee_id"].map(full)
    rows["id_type"] = ID_TYPE_RESIDENT
    totals = decimal_sums(con, month, {c: "p.gross_pay - p.income_taxed_apart" if c == "gross_pay" else f"p.{c}"
                                       for c in CHECKED})
    old_tax_write(target, rows, totals, month)
    return TaxExport(target, month, len(rows), totals, without_items)


def old_tax_write(target: Path, rows: pd.DataFrame, totals: dict[str, Decimal], month: str) -> None:
    fields = [field or f"_empty{i}" for i, (_, field) in enumerate(TEMPLATE)]
    kinds = {f: (xlsx.TEXT if f in TEXT_FIELDS else xlsx.MONEY) for f in fields}
    columns = xlsx.make_columns(fields, labels={f: h for f, (h, _) in zip(fields, TEMPLATE)}, kinds=kinds,
                                widths={"id_number": 21, "name": 10, "id_type": 12})
    with xlsx.atomic_output(target) as temporary:
        workbook = xlsx.new_workbook(temporary)
        sheet = xlsx.Sheet(workbook, SHEET_NAME, columns, landscape=True, header_height=20)
        # column-wise (the fast block path), each cell as write_row would take it
        data = [[old_tax_cell(v, f) for v in rows[f].tolist()] if f in rows.columns else [None] * len(rows)
                for f in fields]
        if len(rows):
            sheet.write_columns(data)
        old_tax_write_one_off(workbook, rows, "annual_bonus_separate", None, BONUS_SHEET, BONUS_HEADERS)
        old_tax_write_one_off(workbook, rows, "severance_pay", "severance_exempt", SEVERANCE_SHEET, SEVERANCE_HEADERS)
        check = xlsx.make_columns(("item", "amount"), labels={"item": "项目", "amount": "合计（元）"},
                                  kinds={"amount": xlsx.MONEY}, widths={"item": 34, "amount": 18})
        xlsx.write_simple_sheet(
            workbook, "核对", check,
            [[label, totals[c]] for c, label in CHECKED.items()],
            title=f"扣缴申报核对（{month_title(month)}）",
            subtitle=f"人数：{len(rows):,}；各合计等于本月工资表（导入客户端时不读本表）")
        workbook.close()
        try:
            os.chmod(temporary, 0o600)       # owner-only: the file holds full ID numbers
        except OSError:
            pass


def old_tax_write_one_off(workbook, rows: pd.DataFrame, amount: str, exempt: str | None, sheet_name: str,
                   headers: dict[str, str]) -> None:
    """One row per person with that income this month; no sheet when nobody has it."""
    paid = rows[rows[amount].map(Decimal) > 0]
    if paid.empty:
        return
    fields = [field or f"_empty{i}" for i, (_, field) in enumerate(ONE_OFF_TEMPLATE)]
    labels = {f: headers.get(h, h) for f, (h, _) in zip(fields, ONE_OFF_TEMPLATE)}
    kinds = {f: (xlsx.TEXT if f in TEXT_FIELDS else xlsx.MONEY) for f in fields}
    columns = xlsx.make_columns(fields, labels=labels, kinds=kinds, widths={"id_number": 21, "name": 10, "id_type": 12})
    sheet = xlsx.Sheet(workbook, sheet_name, columns, landscape=True, header_height=20)
    for record in paid.to_dict("records"):
        values = dict(record, amount=record[amount], exempt=record[exempt] if exempt else None)
        if values["exempt"] is not None and Decimal(values["exempt"]) == 0:
            values["exempt"] = None
        sheet.write_row([old_tax_cell(values.get(f), f) for f in fields])


def old_tax_cell(value, field: str):
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if field in TEXT_FIELDS:
        return str(value)
    return Decimal(value) if isinstance(value, str) else value
