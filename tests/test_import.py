"""`payroll import`: good files load (CSV, BOM, XLSX, Chinese headers, GB18030), every bad cell is
reported with file, row and column, and a bad file leaves the database exactly as it was."""
from __future__ import annotations

import csv
import os
import subprocess
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from conftest import database_copy, database_template, run_payroll
import xlsxwriter

from payroll.db import connect
from payroll.errors import InputError
from payroll.io.importer import ImportSummary, import_files
from payroll.io.readers import HEADER_ALIASES, cell_text
from payroll.policy import TABLES, load_policy

# ---------------------------------------------------------------- policy tables for the tests

REGIONS = [("000000", "中国", ""), ("320000", "江苏省", "000000"), ("320600", "南通市", "320000"),
           ("330000", "浙江省", "000000"), ("330100", "杭州市", "330000")]
POSTS = [("PATROL", "巡逻防控", "duty", "high"), ("COMMUNITY", "社区管理", "duty", "normal"),
         ("OFFICE", "内勤文职", "civilian", "normal"), ("DRIVER", "驾驶员", "all", "normal")]
PAY_SCALE = ([("320000", "duty", level) for level in (1, 2, 3)] +
             [("320000", "civilian", level) for level in (1, 2)] +
             [("330100", category, level) for category in ("duty", "civilian") for level in range(1, 8)])


@pytest.fixture(scope="module")
def tables_dir(tmp_path_factory) -> Path:
    """Every policy file with its header; rows only in regions, posts and pay_scale."""
    directory = tmp_path_factory.mktemp("tables")
    rows = {
        "regions": [dict(region_code=c, name=n, parent_code=p) for c, n, p in REGIONS],
        "posts": [dict(post=p, name=n, category=c, risk_class=r) for p, n, c, r in POSTS],
        "pay_scale": [dict(region_code=r, effective_from="2024-01-01", category=c, level=l,
                           base_pay=5000 - 100 * l) for r, c, l in PAY_SCALE],
    }
    for name, columns in TABLES.items():
        with open(directory / f"{name}.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, [c.name for c in columns])
            writer.writeheader()
            for row in rows.get(name, []):
                writer.writerow({**row, "source": "test fixture"})
    return directory


@pytest.fixture(scope="module")
def policy(tables_dir):
    return load_policy(tables_dir)


@pytest.fixture
def con(tmp_path):
    connection = connect(tmp_path / "test.duckdb")
    yield connection
    connection.close()


# ---------------------------------------------------------------- input rows


def check_character(first_17: str) -> str:
    total = sum(int(digit) * pow(2, 17 - i, 11) for i, digit in enumerate(first_17))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


ID_E001 = "11010519491231002X"
ID_E003 = "33010619880512341" + check_character("33010619880512341")

EMPLOYEE_HEADER = ["employee_id", "name", "id_number", "region_code", "unit", "category", "level",
                   "post", "hire_date", "leave_date", "service_start", "special_deduction",
                   "contribution_base"]
ATTENDANCE_HEADER = ["employee_id", "month", "unpaid_leave_days", "overtime_workday_hours",
                     "overtime_restday_hours", "overtime_holiday_hours", "night_shifts", "bonus",
                     "deduction"]


def employee_rows() -> list[dict]:
    return [
        dict(employee_id="E001", name="张三", id_number=ID_E001, region_code="320600", unit="崇川分局",
             category="duty", level="1", post="PATROL", hire_date="2020-03-01", leave_date="",
             service_start="2018-01-01", special_deduction="1500.50", contribution_base=""),
        dict(employee_id="E002", name="李四", id_number="", region_code="320600", unit="港闸派出所",
             category="civilian", level="2", post="OFFICE", hire_date="2021-07-15", leave_date="",
             service_start="", special_deduction="", contribution_base="6000.25"),
        dict(employee_id="E003", name="王五", id_number=ID_E003, region_code="330100", unit="西湖分局",
             category="duty", level="7", post="DRIVER", hire_date="2019-01-01", leave_date="2025-06-30",
             service_start="", special_deduction="0", contribution_base=""),
    ]


def attendance_rows() -> list[dict]:
    return [
        dict(employee_id="E001", month="2025-01", unpaid_leave_days="1", overtime_workday_hours="12.5",
             overtime_restday_hours="8", overtime_holiday_hours="0", night_shifts="4", bonus="1000.10",
             deduction="50"),
        dict(employee_id="E002", month="2025-01", unpaid_leave_days="", overtime_workday_hours="",
             overtime_restday_hours="", overtime_holiday_hours="", night_shifts="", bonus="",
             deduction=""),
        dict(employee_id="E003", month="2025-02", unpaid_leave_days="0.5", overtime_workday_hours="0",
             overtime_restday_hours="0", overtime_holiday_hours="24", night_shifts="0", bonus="0",
             deduction="0.01"),
    ]


def write_csv(path: Path, header: list[str], rows: list[dict | list], encoding: str = "utf-8") -> Path:
    with open(path, "w", newline="", encoding=encoding) as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            writer.writerow([row.get(c, "") for c in header] if isinstance(row, dict) else row)
    return path


def write_xlsx(path: Path, header: list[str], rows: list[list]) -> Path:
    """Typed cells, as a user's workbook has them: numbers as numbers, dates as dates."""
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("data")
    day_format = book.add_format({"num_format": "yyyy-mm-dd"})
    month_format = book.add_format({"num_format": "yyyy-mm"})
    sheet.write_row(0, 0, header)
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            if isinstance(value, datetime):
                sheet.write_datetime(r, c, value, month_format if header[c] == "month" else day_format)
            elif value is None or value == "":
                continue
            else:
                sheet.write(r, c, value)
    book.add_worksheet("ignored").write_row(0, 0, ["not", "read"])
    book.close()
    return path


def table_contents(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    return {table: con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()
            for table in ("employees", "attendance")}


def load_good(con, policy, tmp_path) -> ImportSummary:
    employees = write_csv(tmp_path / "good_employees.csv", EMPLOYEE_HEADER, employee_rows())
    attendance = write_csv(tmp_path / "good_attendance.csv", ATTENDANCE_HEADER, attendance_rows())
    return import_files(con, policy, employees=employees, attendance=attendance)


def stored_employee(con, employee_id: str) -> dict:
    cursor = con.execute("SELECT * FROM employees WHERE employee_id = ?", [employee_id])
    names = [d[0] for d in cursor.description]
    return dict(zip(names, cursor.fetchall()[0]))


def stored_attendance(con, employee_id: str, month: str) -> dict:
    cursor = con.execute("SELECT * FROM attendance WHERE employee_id = ? AND month = ?", [employee_id, month])
    names = [d[0] for d in cursor.description]
    return dict(zip(names, cursor.fetchall()[0]))


def assert_good_rows_loaded(con) -> None:
    first = stored_employee(con, "E001")
    assert first["name"] == "张三"
    assert first["id_number_masked"] == "110105********002X"
    assert first["category"] == "duty" and first["level"] == 1 and first["post"] == "PATROL"
    assert first["hire_date"] == date(2020, 3, 1) and first["leave_date"] is None
    assert first["service_start"] == date(2018, 1, 1)
    assert first["special_deduction"] == Decimal("1500.50") and first["contribution_base"] is None
    second = stored_employee(con, "E002")
    assert second["id_number_masked"] is None and second["category"] == "civilian"
    assert second["special_deduction"] == Decimal("0") and second["contribution_base"] == Decimal("6000.25")
    assert second["service_start"] is None
    third = stored_employee(con, "E003")
    assert third["leave_date"] == date(2025, 6, 30) and third["level"] == 7
    assert third["id_number_masked"] == ID_E003[:6] + "********" + ID_E003[-4:]
    worked = stored_attendance(con, "E001", "2025-01")
    assert worked["unpaid_leave_days"] == Decimal("1") and worked["overtime_workday_hours"] == Decimal("12.5")
    assert worked["overtime_restday_hours"] == Decimal("8") and worked["night_shifts"] == 4
    assert worked["bonus"] == Decimal("1000.10") and worked["deduction"] == Decimal("50")
    empty = stored_attendance(con, "E002", "2025-01")
    assert all(empty[c] == 0 for c in ATTENDANCE_HEADER[2:])
    third_month = stored_attendance(con, "E003", "2025-02")
    assert third_month["unpaid_leave_days"] == Decimal("0.50") and third_month["deduction"] == Decimal("0.01")
    assert third_month["overtime_holiday_hours"] == Decimal("24")


def assert_no_full_id_stored(con) -> None:
    everything = str(table_contents(con))
    assert ID_E001 not in everything and ID_E003 not in everything


# ---------------------------------------------------------------- good files


def test_csv_loads(con, policy, tmp_path):
    summary = load_good(con, policy, tmp_path)
    assert str(summary) == ("employees: 3 rows (3 new, 0 updated); "
                            "attendance: 3 rows (3 new, 0 updated)")
    assert_good_rows_loaded(con)
    assert_no_full_id_stored(con)


def test_csv_with_bom_loads(con, policy, tmp_path):
    employees = write_csv(tmp_path / "bom_employees.csv", EMPLOYEE_HEADER, employee_rows(), "utf-8-sig")
    attendance = write_csv(tmp_path / "bom_attendance.csv", ATTENDANCE_HEADER, attendance_rows(), "utf-8-sig")
    assert (tmp_path / "bom_employees.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    import_files(con, policy, employees=employees, attendance=attendance)
    assert_good_rows_loaded(con)


def typed(row: dict, header: list[str]) -> list:
    """A CSV row as a workbook holds it: numbers, dates and months as typed cells."""
    cells = []
    for column in header:
        text = row[column]
        if text == "" or column in ("employee_id", "name", "id_number", "region_code", "unit",
                                    "category", "post"):
            cells.append(text)
        elif column == "month":
            cells.append(datetime.strptime(text, "%Y-%m"))
        elif column.endswith("_date") or column == "service_start":
            cells.append(datetime.strptime(text, "%Y-%m-%d"))
        else:
            cells.append(float(text))          # level 1 -> 1.0, 1500.50 -> 1500.5
    return cells


def test_xlsx_loads(con, policy, tmp_path):
    employees = write_xlsx(tmp_path / "employees.xlsx", EMPLOYEE_HEADER,
                           [typed(r, EMPLOYEE_HEADER) for r in employee_rows()])
    attendance = write_xlsx(tmp_path / "attendance.xlsx", ATTENDANCE_HEADER,
                            [typed(r, ATTENDANCE_HEADER) for r in attendance_rows()])
    import_files(con, policy, employees=employees, attendance=attendance)
    assert_good_rows_loaded(con)


def test_xlsx_text_that_pandas_takes_for_missing_is_kept(con, policy, tmp_path):
    """A name written "NA", "None", "null" or "NaN" is text like any other, as the CSV import keeps
    it; pandas' read_excel had blanked such cells by default (then a name reported missing)."""
    names = ("NA", "None", "NaN")            # one per row of the three; "null" and "n/a" alike
    rows = employee_rows()
    for row, name in zip(rows, names):
        row["name"] = name
    employees = write_xlsx(tmp_path / "employees.xlsx", EMPLOYEE_HEADER, [typed(r, EMPLOYEE_HEADER) for r in rows])
    import_files(con, policy, employees=employees)
    stored = dict(con.execute("SELECT employee_id, name FROM employees").fetchall())
    assert [stored[r["employee_id"]] for r in rows] == list(names)


def test_xlsx_cells_become_csv_text():
    assert cell_text(1234.5) == "1234.5"
    assert cell_text(3.0) == "3"
    assert cell_text(3) == "3"
    assert cell_text(0.1) == "0.1"
    assert cell_text(1000.1) == "1000.1"
    assert cell_text(datetime(2024, 3, 1)) == "2024-03-01"
    assert cell_text(date(2024, 3, 1)) == "2024-03-01"
    assert cell_text(None) == "" and cell_text(float("nan")) == ""
    assert cell_text(" E1 ") == " E1 "


def test_xlsx_errors_name_the_spreadsheet_row(con, policy, tmp_path):
    rows = [typed(r, EMPLOYEE_HEADER) for r in employee_rows()]
    rows[2][EMPLOYEE_HEADER.index("level")] = 9.0
    rows.insert(1, [""] * len(EMPLOYEE_HEADER))            # a blank row 3 keeps its number
    path = write_xlsx(tmp_path / "bad.xlsx", EMPLOYEE_HEADER, rows)
    with pytest.raises(InputError) as caught:
        import_files(con, policy, employees=path)
    assert [str(p) for p in caught.value.problems] == [
        "bad.xlsx, row 5, column level: level 9 is not on the duty pay scale of region 330100 "
        "(levels there: 1–7)"]


CHINESE = {column: HEADER_ALIASES[column][0] for column in EMPLOYEE_HEADER + ATTENDANCE_HEADER
           if column in HEADER_ALIASES}


def test_chinese_headers_and_category_names(con, policy, tmp_path):
    assert CHINESE["employee_id"] == "工号" and CHINESE["night_shifts"] == "夜班次数"
    rows = employee_rows()
    rows[0]["category"], rows[1]["category"], rows[2]["category"] = "勤务辅警", "文职", "勤务"
    header = [CHINESE[c] for c in EMPLOYEE_HEADER]
    employees = write_csv(tmp_path / "人员.csv", header, [[r[c] for c in EMPLOYEE_HEADER] for r in rows])
    attendance = write_csv(tmp_path / "考勤.csv", [CHINESE[c] for c in ATTENDANCE_HEADER],
                           [[r[c] for c in ATTENDANCE_HEADER] for r in attendance_rows()])
    import_files(con, policy, employees=employees, attendance=attendance)
    assert_good_rows_loaded(con)


def test_headers_ignore_case_and_spacing_and_extra_columns_ignored_on_purpose(con, policy, tmp_path):
    header = [f"  {c.upper()} " for c in EMPLOYEE_HEADER] + ["备注"]
    rows = [[r[c] for c in EMPLOYEE_HEADER] + ["anything"] for r in employee_rows()]
    employees = write_csv(tmp_path / "employees.csv", header, rows)
    with pytest.raises(InputError, match="column 备注: is not a column of the employees file"):
        import_files(con, policy, employees=employees)      # an unknown column is never dropped silently
    summary = import_files(con, policy, employees=employees, ignore=("备注",))
    assert summary.employees.rows == 3 and summary.attendance is None
    assert stored_employee(con, "E001")["special_deduction"] == Decimal("1500.50")


def test_gb18030_csv_loads_with_a_note(con, policy, tmp_path):
    header = [CHINESE[c] for c in EMPLOYEE_HEADER]
    employees = write_csv(tmp_path / "gbk.csv", header, [[r[c] for c in EMPLOYEE_HEADER] for r in employee_rows()],
                          encoding="gb18030")
    with pytest.raises(UnicodeDecodeError):
        employees.read_bytes().decode("utf-8")
    summary = import_files(con, policy, employees=employees)
    assert "GB18030" in str(summary) and "gbk.csv" in str(summary)
    assert stored_employee(con, "E002")["name"] == "李四" and stored_employee(con, "E002")["unit"] == "港闸派出所"


def test_import_again_replaces_rows(con, policy, tmp_path):
    load_good(con, policy, tmp_path)
    rows = employee_rows()
    rows[0]["name"], rows[0]["level"] = "张三丰", "2"
    rows.append(dict(rows[1], employee_id="E004", name="赵六"))
    employees = write_csv(tmp_path / "again.csv", EMPLOYEE_HEADER, rows)
    marks = [dict(attendance_rows()[0], bonus="1.00"), dict(attendance_rows()[0], month="2025-03")]
    attendance = write_csv(tmp_path / "again_attendance.csv", ATTENDANCE_HEADER, marks)
    summary = import_files(con, policy, employees=employees, attendance=attendance)
    assert str(summary).splitlines()[0] == ("employees: 4 rows (1 new, 3 updated); "
                                            "attendance: 2 rows (1 new, 1 updated)")
    # the change summary names the columns written and those the file leaves as stored
    assert "kept as stored (not in the file): bank_account" in str(summary)
    assert stored_employee(con, "E001")["name"] == "张三丰" and stored_employee(con, "E001")["level"] == 2
    assert stored_attendance(con, "E001", "2025-01")["bonus"] == Decimal("1.00")
    assert con.execute("SELECT count(*) FROM employees").fetchall()[0][0] == 4
    assert con.execute("SELECT count(*) FROM attendance").fetchall()[0][0] == 4


def test_attendance_alone_for_employees_already_in_the_database(con, policy, tmp_path):
    load_good(con, policy, tmp_path)
    attendance = write_csv(tmp_path / "later.csv", ATTENDANCE_HEADER,
                           [dict(attendance_rows()[0], month="2025-04")])
    summary = import_files(con, policy, attendance=attendance)
    assert str(summary) == "attendance: 1 rows (1 new, 0 updated)"


def test_money_keeps_every_fen(con, policy, tmp_path):
    rows = employee_rows()
    rows[0]["special_deduction"] = "12345678901234.99"
    rows[1]["contribution_base"] = "0.07"
    rows[2]["special_deduction"] = "3.100"                 # trailing zero is not a third place
    employees = write_csv(tmp_path / "money.csv", EMPLOYEE_HEADER, rows)
    import_files(con, policy, employees=employees)
    assert stored_employee(con, "E001")["special_deduction"] == Decimal("12345678901234.99")
    assert stored_employee(con, "E002")["contribution_base"] == Decimal("0.07")
    assert stored_employee(con, "E003")["special_deduction"] == Decimal("3.10")


# ---------------------------------------------------------------- bad files


def set_cell(row: int, column: str, value: str):
    """A change to the rows: spreadsheet row `row` (first data row = 2) gets value in column."""
    def change(header, rows):
        rows[row - 2][column] = value
        return header, rows
    return change


def drop_column(column: str):
    def change(header, rows):
        return [c for c in header if c != column], rows
    return change


def repeat_column(alias: str, of: str):
    def change(header, rows):
        for r in rows:
            r[alias] = r[of]
        return header + [alias], rows
    return change


def repeat_row(index: int):
    def change(header, rows):
        return header, rows + [dict(rows[index])]
    return change


# (case, file kind, change, row, column as in the header, words in the reason)
BAD_CASES = [
    ("wrong type", "employees", set_cell(3, "level", "二"), 3, "level", "not a whole number"),
    ("missing column", "employees", drop_column("post"), 1, "post", "missing"),
    ("duplicate column", "employees", repeat_column("工号", "employee_id"), 1, "工号", "repeats column"),
    ("duplicate employee", "employees", repeat_row(0), 5, "employee_id", "repeats employee_id 'E001' of row 2"),
    ("region not 6 digits", "employees", set_cell(2, "region_code", "3206"), 2, "region_code", "6-digit"),
    ("unknown region", "employees", set_cell(2, "region_code", "320700"), 2, "region_code", "not a region"),
    ("unknown level", "employees", set_cell(4, "level", "8"), 4, "level", "not on the duty pay scale"),
    ("level of the other category", "employees", set_cell(3, "level", "3"), 3, "level", "civilian pay scale"),
    ("unknown category", "employees", set_cell(2, "category", "police"), 2, "category", "not duty"),
    ("unknown post", "employees", set_cell(2, "post", "PILOT"), 2, "post", "not a post"),
    ("post of the other category", "employees", set_cell(3, "post", "PATROL"), 3, "post", "is for duty staff"),
    ("bad checksum ID", "employees", set_cell(2, "id_number", ID_E001[:17] + "1"), 2, "id_number", "checksum"),
    ("ID birth date", "employees", set_cell(2, "id_number", "11010519490231" + "002" +
                                            check_character("11010519490231002")), 2, "id_number", "birth date"),
    ("impossible date", "employees", set_cell(3, "hire_date", "2023-02-29"), 3, "hire_date", "not a real date"),
    ("date not ISO", "employees", set_cell(3, "hire_date", "2023/02/01"), 3, "hire_date", "YYYY-MM-DD"),
    ("leave before hire", "employees", set_cell(4, "leave_date", "2018-12-31"), 4, "leave_date", "before hire_date"),
    ("service after leaving", "employees", set_cell(4, "service_start", "2025-07-01"), 4, "service_start",
     "after leave_date"),
    ("empty name", "employees", set_cell(2, "name", " "), 2, "name", "is empty"),
    ("too many decimals", "employees", set_cell(2, "special_deduction", "10.555"), 2, "special_deduction",
     "more than 2 decimal places"),
    ("zero contribution base", "employees", set_cell(3, "contribution_base", "0"), 3, "contribution_base",
     "more than 0"),
    ("negative hours", "attendance", set_cell(2, "overtime_restday_hours", "-2"), 2, "overtime_restday_hours",
     "negative"),
    ("too many hours", "attendance", set_cell(3, "overtime_workday_hours", "745"), 3, "overtime_workday_hours",
     "more than 744"),
    ("too many decimals in money", "attendance", set_cell(4, "bonus", "1.005"), 4, "bonus", "decimal places"),
    ("night shifts not whole", "attendance", set_cell(2, "night_shifts", "1.5"), 2, "night_shifts", "whole number"),
    ("too much leave", "attendance", set_cell(2, "unpaid_leave_days", "32"), 2, "unpaid_leave_days", "more than 31"),
    ("bad month", "attendance", set_cell(3, "month", "2025-13"), 3, "month", "YYYY-MM"),
    ("duplicate month", "attendance", repeat_row(0), 5, "month", "repeats employee_id and month 'E001, 2025-01'"),
    ("attendance for an unknown employee", "attendance", set_cell(4, "employee_id", "E404"), 4, "employee_id",
     "not in the employees file or the database"),
]


@pytest.fixture(scope="module")
def good_database(policy, tmp_path_factory):
    """A database holding load_good's import, made once: each bad file starts from a copy of it."""
    folder = tmp_path_factory.mktemp("good")
    return database_template(lambda connection: load_good(connection, policy, folder))


@pytest.mark.parametrize("case, kind, change, row, column, words", BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_bad_file_is_refused_and_nothing_written(good_database, policy, tmp_path, case, kind, change, row, column,
                                                 words):
    con = database_copy(good_database, tmp_path / "test.duckdb")
    before = table_contents(con)
    assert before["employees"] and before["attendance"]           # the good files are there
    # a good change to the other file too: it must not be written either
    employees = [dict(r, name=r["name"] + "改") for r in employee_rows()]
    attendance = [dict(r, bonus="7") for r in attendance_rows()]
    header = EMPLOYEE_HEADER if kind == "employees" else ATTENDANCE_HEADER
    header, rows = change(list(header), employees if kind == "employees" else attendance)
    if kind == "employees":
        employees = rows
    else:
        attendance = rows
    employee_file = write_csv(tmp_path / "staff.csv", header if kind == "employees" else EMPLOYEE_HEADER, employees)
    attendance_file = write_csv(tmp_path / "hours.csv", header if kind == "attendance" else ATTENDANCE_HEADER,
                                attendance)
    with pytest.raises(InputError) as caught:
        import_files(con, policy, employees=employee_file, attendance=attendance_file)
    message = str(caught.value)
    file = "staff.csv" if kind == "employees" else "hours.csv"
    assert f"{file}, row {row}, column {column}: " in message
    assert words in message
    assert len(caught.value.problems) == 1, message
    assert ID_E001 not in message and ID_E001[:17] + "1" not in message
    assert table_contents(con) == before
    con.close()


def test_checksum_error_shows_the_number_masked(con, policy, tmp_path):
    rows = employee_rows()
    wrong = ID_E001[:17] + "1"
    rows[0]["id_number"] = wrong
    path = write_csv(tmp_path / "ids.csv", EMPLOYEE_HEADER, rows)
    with pytest.raises(InputError) as caught:
        import_files(con, policy, employees=path)
    assert "110105********0021" in str(caught.value) and wrong not in str(caught.value)


def test_an_id_number_in_the_wrong_column_is_masked_in_messages(con, policy, tmp_path):
    rows = employee_rows()
    rows[0]["region_code"], rows[0]["employee_id"] = ID_E001, ID_E003
    rows[1]["employee_id"] = ID_E003
    path = write_csv(tmp_path / "swapped.csv", EMPLOYEE_HEADER, rows)
    with pytest.raises(InputError) as caught:
        import_files(con, policy, employees=path)
    message = str(caught.value)
    assert "110105********002X" in message and "repeats employee_id" in message
    assert ID_E001 not in message and ID_E003 not in message


def test_every_problem_of_every_file_is_reported(con, policy, tmp_path):
    rows = employee_rows()
    rows[0]["level"], rows[1]["hire_date"], rows[2]["post"] = "x", "2021-13-01", ""
    employees = write_csv(tmp_path / "staff.csv", EMPLOYEE_HEADER, rows)
    marks = attendance_rows()
    marks[2]["bonus"] = "-1"
    attendance = write_csv(tmp_path / "hours.csv", ATTENDANCE_HEADER, marks)
    with pytest.raises(InputError) as caught:
        import_files(con, policy, employees=employees, attendance=attendance)
    where = [(p.file, p.row, p.column) for p in caught.value.problems]
    assert where == [("staff.csv", 2, "level"), ("staff.csv", 3, "hire_date"), ("staff.csv", 4, "post"),
                     ("hours.csv", 4, "bonus")]
    assert table_contents(con) == {"employees": [], "attendance": []}


def test_blank_lines_keep_row_numbers(con, policy, tmp_path):
    path = tmp_path / "gaps.csv"
    write_csv(path, EMPLOYEE_HEADER, employee_rows())
    lines = path.read_text(encoding="utf-8").splitlines()
    lines.insert(2, "")
    lines[-1] = lines[-1].replace("DRIVER", "PILOT")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        import_files(con, policy, employees=path)
    assert [(p.row, p.column) for p in caught.value.problems] == [(5, "post")]


@pytest.mark.parametrize("content, words", [
    (b"", "is empty"),
    (b"\n\n", "is empty"),
    (",".join(EMPLOYEE_HEADER).encode() + b"\n", "no data rows"),
])
def test_empty_file_is_refused(con, policy, tmp_path, content, words):
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    with pytest.raises(InputError) as caught:
        import_files(con, policy, employees=path)
    assert "empty.csv" in str(caught.value) and words in str(caught.value)


def test_row_with_too_many_cells(con, policy, tmp_path):
    path = write_csv(tmp_path / "wide.csv", EMPLOYEE_HEADER,
                     employee_rows()[:1] + [[r[c] for c in EMPLOYEE_HEADER] + ["extra"] for r in employee_rows()[1:]])
    with pytest.raises(InputError) as caught:
        import_files(con, policy, employees=path)
    assert "wide.csv, row 3: has 14 cells but the header has 13" in str(caught.value)


def test_missing_file_and_old_xls(con, policy, tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        import_files(con, policy, employees=tmp_path / "nowhere.csv")
    old = tmp_path / "old.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100)
    with pytest.raises(InputError, match="old.xls.*xlsx"):
        import_files(con, policy, employees=old)


def test_unreadable_employees_file_does_not_flood_attendance(con, policy, tmp_path):
    employees = write_csv(tmp_path / "staff.csv", EMPLOYEE_HEADER[1:], [])
    attendance = write_csv(tmp_path / "hours.csv", ATTENDANCE_HEADER, attendance_rows())
    with pytest.raises(InputError) as caught:
        import_files(con, policy, employees=employees, attendance=attendance)
    assert [p.file for p in caught.value.problems] == ["staff.csv"]


# ---------------------------------------------------------------- command line


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, COLUMNS="250")
    env.pop("PAYROLL_DB", None)
    env.pop("PAYROLL_TABLES", None)
    return run_payroll(*args, cwd=cwd, env=env)


def test_cli_import_good_file_exits_0(tables_dir, tmp_path):
    db = tmp_path / "cli.duckdb"
    employees = write_csv(tmp_path / "staff.csv", EMPLOYEE_HEADER, employee_rows())
    attendance = write_csv(tmp_path / "hours.csv", ATTENDANCE_HEADER, attendance_rows())
    done = run_cli("import", "--db", str(db), "--tables", str(tables_dir), "--employees", str(employees),
                   "--attendance", str(attendance), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "employees: 3 rows (3 new, 0 updated)" in done.stdout
    with duckdb.connect(str(db), read_only=True) as check:
        assert check.execute("SELECT count(*) FROM attendance").fetchall()[0][0] == 3


def test_cli_import_bad_file_exits_2_and_writes_nothing(tables_dir, tmp_path):
    db = tmp_path / "cli.duckdb"
    rows = employee_rows()
    rows[1]["region_code"] = "999999"
    employees = write_csv(tmp_path / "staff.csv", EMPLOYEE_HEADER, rows)
    done = run_cli("import", "--db", str(db), "--tables", str(tables_dir), "--employees", str(employees),
                   cwd=tmp_path)
    assert done.returncode == 2
    output = done.stderr + done.stdout
    assert "staff.csv, row 3, column region_code" in output and "not a region" in output
    with duckdb.connect(str(db), read_only=True) as check:
        assert check.execute("SELECT count(*) FROM employees").fetchall()[0][0] == 0
