"""Issue 13 through the command line and the files finance hands on: `import --payments` refusing
bad rows (exit 2, file, row and column named, nothing written), the tax file's 全年一次性奖金收入 and
补偿金 sheets next to 正常工资薪金收入, and the bank file's 未发放 sheet for people paid 0."""
from __future__ import annotations

import csv
import os
from decimal import Decimal

import duckdb
import openpyxl
import pytest
from conftest import run_payroll
from handover_data import MONTHS, build

from payroll.db import connect
from payroll.engine.ledger import database_digest
from payroll.engine.run import run_months
from payroll.io.payments import import_payments
from payroll.policy import load_policy
from payroll.reports.bank import export_bank
from payroll.reports.tax import export_tax

LAST = MONTHS[-1]


def cli(*args, cwd):
    env = {k: v for k, v in os.environ.items() if k not in ("PAYROLL_DB", "PAYROLL_TABLES")}
    return run_payroll(*args, env=env, cwd=cwd)


def write(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([["employee_id", "month", "kind", "amount", "tax_method", "note"], *rows])
    return path


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    """The handover city, with a bonus taxed apart, a merged one, a severance and a damages
    deduction in its last month, which is run again."""
    directory = tmp_path_factory.mktemp("year_end")
    db, employees = build(directory)
    con = connect(str(db))
    import_payments(con, write(directory / "payments.csv", [
        ["H1", LAST, "annual_bonus", "36000", "separate", "年终奖"],
        ["H2", LAST, "annual_bonus", "20000", "merged", ""],
        ["H2", LAST, "other", "300", "", "慰问金"],
        ["H1", LAST, "severance", "50000", "", ""],
    ]))
    con.execute("UPDATE attendance SET deduction = 100000, deduction_kind = 'court' WHERE employee_id = 'H2' "
                "AND month = ?", [LAST])
    if not con.execute("SELECT count(*) FROM attendance WHERE employee_id = 'H2' AND month = ?", [LAST]).fetchall()[0][0]:
        con.execute("INSERT INTO attendance (employee_id, month, deduction, deduction_kind) VALUES ('H2', ?, 100000, 'court')",
                    [LAST])
    run_months(con, load_policy(), LAST)
    con.close()
    return directory, db, employees


@pytest.mark.parametrize("rows, column, reason", [
    ([["H1", LAST, "bonus", "100", "", ""]], "kind", "is not one of"),
    ([["H1", LAST, "other", "0", "", ""]], "amount", "more than 0"),
    ([["H1", LAST, "other", "-5", "", ""]], "amount", ""),
    ([["NOBODY", LAST, "other", "5", "", ""]], "employee_id", "not in the employees file"),
    ([["H1", LAST, "severance", "5", "separate", ""]], "tax_method", "only for an annual_bonus"),
    ([["H2", "2025-01", "annual_bonus", "5", "separate", ""], ["H2", LAST, "annual_bonus", "5", "separate", ""]],
     "tax_method", "second annual bonus"),
    ([["H1", "2025-02", "annual_bonus", "5", "separate", ""]], "tax_method", "second annual bonus"),  # H1's stored
])
def test_bad_payments_rows_exit_2_and_write_nothing(city, tmp_path, rows, column, reason):
    directory, db, _ = city
    path = write(tmp_path / "bad.csv", rows)
    con = duckdb.connect(str(db), read_only=True)
    before = database_digest(con)
    con.close()
    result = cli("import", "--payments", str(path), "--db", str(db), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "bad.csv, row" in result.stderr and f"column {column}" in result.stderr and reason in result.stderr
    con = duckdb.connect(str(db), read_only=True)
    assert database_digest(con) == before
    con.close()


def test_tax_file_has_the_bonus_and_severance_sheets(city):
    directory, db, employees = city
    con = duckdb.connect(str(db), read_only=True)
    result = export_tax(con, LAST, employees, directory / "tax.xlsx")
    book = openpyxl.load_workbook(result.path)
    assert book.sheetnames[:3] == ["正常工资薪金收入", "全年一次性奖金收入", "解除劳动合同一次性补偿金"]
    bonus = list(book["全年一次性奖金收入"].iter_rows(values_only=True))
    assert bonus[0][:5] == ("工号", "*姓名", "*证件类型", "*证件号码", "*全年一次性奖金额")
    assert [(r[0], Decimal(str(r[4]))) for r in bonus[1:]] == [("H1", Decimal(36000))]   # H2's is merged
    severance = list(book["解除劳动合同一次性补偿金"].iter_rows(values_only=True))
    assert severance[1][0] == "H1" and Decimal(str(severance[1][4])) == 50000
    # 正常工资薪金: 本期收入 is gross pay less what is taxed apart (H2's merged bonus and other stay in)
    wages = {r[0]: r for r in book["正常工资薪金收入"].iter_rows(values_only=True)}
    h1, h2 = con.execute(f"SELECT gross_pay - annual_bonus - severance_pay, gross_pay FROM payslips "
                         f"WHERE month = '{LAST}' AND employee_id IN ('H1', 'H2') ORDER BY employee_id").fetchall()
    assert Decimal(str(wages["H1"][4])) == h1[0] and Decimal(str(wages["H2"][4])) == h2[1]


def test_bank_file_lists_people_paid_zero_apart(city):
    directory, db, _ = city
    con = duckdb.connect(str(db), read_only=True)
    # H2's court order takes everything after tax and contributions: net 0
    assert con.execute(f"SELECT net_pay FROM payslips WHERE month = '{LAST}' AND employee_id = 'H2'").fetchall()[0][0] == 0
    result = export_bank(con, LAST, "csv", directory / "bank.csv")
    assert result.zero_pay == 1 and result.unpaid_path is not None
    with open(result.path, encoding="utf-8-sig") as handle:
        body = list(csv.reader(handle))[1:-1]
    assert body and all(Decimal(line[2]) > 0 for line in body)
    with open(result.unpaid_path, encoding="utf-8-sig") as handle:
        unpaid = list(csv.reader(handle))
    assert unpaid[1][0] == "H2" and unpaid[1][3] == "0.00" and unpaid[1][4]
    xlsx_result = export_bank(con, LAST, "xlsx", directory / "bank.xlsx")
    assert "未发放" in openpyxl.load_workbook(xlsx_result.path).sheetnames
