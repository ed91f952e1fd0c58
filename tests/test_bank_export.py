"""The bank transfer file: one line per person owed money, a 合计 line whose count and total equal
the register's, accounts only in this file, and clear errors for missing or malformed accounts."""
from __future__ import annotations

import csv
import shutil
import zipfile
from decimal import Decimal

import duckdb
import openpyxl
import pytest
from conftest import run_payroll
from handover_data import EMPLOYEE_HEADER, MONTHS, PEOPLE, build, register_totals, write_employees

from payroll.db import connect
from payroll.errors import InputError, PayrollError
from payroll.io.importer import import_files
from payroll.policy import load_policy
from payroll.reports.bank import BankLayout, export_bank
from payroll.reports.contributions import export_contributions
from payroll.reports.register import export_register
from payroll.reports.summary import export_summary

ACCOUNTS = {p[0]: p[11].replace(" ", "") for p in PEOPLE}


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    directory = tmp_path_factory.mktemp("bank")
    db, _ = build(directory)
    return directory, db


@pytest.fixture(scope="module")
def con(city):
    connection = duckdb.connect(str(city[1]), read_only=True)
    yield connection
    connection.close()


@pytest.mark.parametrize("month", MONTHS)
def test_csv_lines_count_and_total_equal_the_register(city, con, month):
    directory, _ = city
    count, register = register_totals(con, month, directory)
    result = export_bank(con, month, "csv", directory / f"bank-{month}.csv")
    with open(result.path, encoding="utf-8-sig") as handle:
        lines = list(csv.reader(handle))
    assert lines[0] == ["账号", "户名", "金额", "用途"]
    body, footer = lines[1:-1], lines[-1]
    assert len(body) == count == result.transfers          # nobody has net pay 0 here
    assert sum(Decimal(line[2]) for line in body) == register["net_pay"] == result.total
    assert footer == ["合计", f"共{count}笔", f"{register['net_pay']:.2f}", ""]
    year, mon = month.split("-")
    for account, name, amount, purpose in body:
        assert purpose == f"{year}年{int(mon)}月工资"
        person = next(p for p in PEOPLE if p[1] == name)
        assert account == ACCOUNTS[person[0]]                # spaces typed in the file are gone
        assert len(amount.split(".")[1]) == 2


def test_xlsx_total_row_is_exact_and_accounts_are_text(city, con):
    directory, _ = city
    count, register = register_totals(con, "2025-02", directory)
    path = export_bank(con, "2025-02", "xlsx", directory / "bank.xlsx").path
    rows = list(openpyxl.load_workbook(path, data_only=True).active.iter_rows(values_only=True))
    assert rows[2] == ("账号", "户名", "金额", "用途")
    body, total = rows[3:-1], rows[-1]
    assert len(body) == count
    assert all(isinstance(r[0], str) and r[0].isdigit() for r in body)   # not a float in E notation
    assert total[:2] == ("合计", f"共{count}笔")
    assert Decimal(str(total[2])).quantize(Decimal("0.01")) == register["net_pay"]
    sheet = openpyxl.load_workbook(path).active
    assert sheet.cell(4, 3).number_format == "#,##0.00"


def test_a_bank_specific_layout(city, con):
    directory, _ = city
    layout = BankLayout(columns=(("name", "收款人"), ("account", "收款账号"), ("amount", "交易金额"),
                                 ("employee_id", "工号")), purpose="工资")
    path = export_bank(con, "2025-01", "csv", directory / "custom.csv", layout=layout).path
    with open(path, encoding="utf-8-sig") as handle:
        lines = list(csv.reader(handle))
    assert lines[0] == ["收款人", "收款账号", "交易金额", "工号"]
    assert lines[1][1] == ACCOUNTS[lines[1][3]]
    with pytest.raises(PayrollError, match="unknown field"):
        BankLayout(columns=(("iban", "IBAN"), ("amount", "金额")))


def test_accounts_appear_in_no_other_output(city, con):
    directory, _ = city
    outputs = [export_register(con, "2025-02", "csv", directory / "r.csv").path,
               export_register(con, "2025-02", "xlsx", directory / "r.xlsx").path,
               export_summary(con, "2025-02", directory / "s.xlsx").path,
               export_contributions(con, "2025-02", directory / "c.xlsx").path]
    for path in outputs:
        if path.suffix == ".csv":
            text = path.read_text(encoding="utf-8-sig")
        else:
            with zipfile.ZipFile(path) as book:
                text = " ".join(book.read(n).decode() for n in book.namelist() if n.endswith(".xml"))
        for account in ACCOUNTS.values():
            assert account not in text, path.name


@pytest.fixture(scope="module")
def two_without_accounts(tmp_path_factory):
    """January run for a roster where O1 and Z1 have no bank account."""
    directory = tmp_path_factory.mktemp("no-account")
    people = [p[:11] + ("",) + p[12:] if p[0] in ("O1", "Z1") else p for p in PEOPLE]
    policy = load_policy()
    con = connect(directory / "db.duckdb")
    import_files(con, policy, employees=write_employees(directory / "e.csv", people))
    from payroll.engine.run import run_months
    run_months(con, policy, "2025-01", "2025-01")
    con.close()
    return directory / "db.duckdb"


WITHOUT_ACCOUNT_COLUMN = BankLayout(columns=(("employee_id", "工号"), ("name", "户名"), ("amount", "金额")))


@pytest.mark.parametrize("fmt, layout", [("csv", None), ("xlsx", None), ("csv", WITHOUT_ACCOUNT_COLUMN),
                                         ("xlsx", WITHOUT_ACCOUNT_COLUMN)])
def test_a_person_owed_pay_without_account_stops_the_export(two_without_accounts, tmp_path, fmt, layout):
    """The refusal names everyone owed pay without an account, in every format and whether or not
    the bank's layout prints the account, and nothing is written."""
    con = duckdb.connect(str(two_without_accounts), read_only=True)
    with pytest.raises(PayrollError) as error:
        export_bank(con, "2025-01", fmt, tmp_path / f"bank.{fmt}", **({"layout": layout} if layout else {}))
    con.close()
    assert "2 person(s)" in str(error.value) and "O1, Z1" in str(error.value)
    assert "Nothing was written" in str(error.value)
    assert list(tmp_path.iterdir()) == []


def test_without_any_account_everyone_owed_pay_is_refused(two_without_accounts, tmp_path):
    """No employee_finance table at all (nobody's file had the column): every person owed pay is
    counted, at most MAX_LISTED named."""
    shutil.copy(two_without_accounts, tmp_path / "db.duckdb")
    con = duckdb.connect(str(tmp_path / "db.duckdb"))
    con.execute("DROP TABLE employee_finance")
    paid = con.execute("SELECT count(*) FROM payslips WHERE month = '2025-01' AND net_pay > 0").fetchall()[0][0]
    with pytest.raises(PayrollError) as error:
        export_bank(con, "2025-01", "csv", tmp_path / "bank.csv")
    con.close()
    assert f"{paid} person(s) with net pay in 2025-01 have no bank account" in str(error.value)
    assert not (tmp_path / "bank.csv").exists()


def test_bad_accounts_are_refused_at_import_naming_row_and_column(tmp_path):
    people = [PEOPLE[0][:11] + ("6222-0212-34x",) + PEOPLE[0][12:],
              PEOPLE[1][:11] + ("123456789",) + PEOPLE[1][12:],
              PEOPLE[2][:11] + ("1" * 31,) + PEOPLE[2][12:]]
    header = [h if h != "bank_account" else "银行账号" for h in EMPLOYEE_HEADER]
    path = write_employees(tmp_path / "e.csv", people, header)
    with pytest.raises(InputError) as error:
        import_files(connect(tmp_path / "db.duckdb"), load_policy(), employees=path)
    found = [(p.row, p.column, p.reason) for p in error.value.problems]
    assert found == [(2, "银行账号", "is not a bank account number: only digits are allowed"),
                     (3, "银行账号", "has 9 digits; a bank account has 10–30"),
                     (4, "银行账号", "has 31 digits; a bank account has 10–30")]
    assert "123456789" not in str(error.value)             # the number itself is never quoted


def test_cli_bank_export(city, tmp_path):
    directory, db = city
    # the command runs in this process, where the module's `con` holds the file read-only: DuckDB
    # refuses a second configuration of one file in one process (its audit entry opens it for
    # writing), so it gets a copy of its own
    db = shutil.copy(db, tmp_path / "payroll.duckdb")
    result = run_payroll("export", "--db", db, "--month", "2025-03", "--what", "bank", "--format", "csv",
                         "--out", directory / "cli-bank.csv")
    assert result.returncode == 0, result.stderr
    assert "bank transfers 2025-03: 5 transfers" in result.stdout
