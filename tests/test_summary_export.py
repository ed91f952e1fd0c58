"""The finance reimbursement summary: each group sums its payslips, and the 合计 row of both sheets
is the register's total to the fen (register CSV summed here in Python, independently of the SQL)."""
from __future__ import annotations

import csv
from decimal import Decimal

import duckdb
import openpyxl
import pytest
from handover_data import MONTHS, build, register_totals

from payroll.errors import PayrollError
from payroll.reports.summary import FIGURES, export_summary

CENT = Decimal("0.01")


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    directory = tmp_path_factory.mktemp("summary")
    db, _ = build(directory)
    return directory, duckdb.connect(str(db), read_only=True)


def _cells(sheet):
    return [list(r) for r in sheet.iter_rows(values_only=True)]


def _expected(register: dict[str, Decimal]) -> dict[str, Decimal]:
    """The summary's figures from the register's columns, written out."""
    r = register
    return {
        "gross_pay": r["gross_pay"], "net_pay": r["net_pay"], "iit": r["iit"],
        # issue 15: the fixed medical levy is paid with the social insurance
        "si_employee": (r["pension_employee"] + r["medical_employee"] + r["unemployment_employee"]
                        + r["medical_levy_employee"]),
        "housing_fund_employee": r["housing_fund_employee"],
        "si_employer": (r["pension_employer"] + r["medical_employer"] + r["unemployment_employer"]
                        + r["injury_employer"] + r["maternity_employer"] + r["medical_levy_employer"]),
        "housing_fund_employer": r["housing_fund_employer"],
        "accident_insurance_employer": r["accident_insurance_employer"],
        "employer_cost": r["employer_cost"],
    }


@pytest.mark.parametrize("month", MONTHS)
def test_summary_totals_equal_the_register(city, month):
    directory, con = city
    count, register = register_totals(con, month, directory)
    result = export_summary(con, month, directory / f"summary-{month}.xlsx")
    expected = _expected(register)
    assert result.headcount == count
    assert result.totals == expected
    book = openpyxl.load_workbook(result.path)
    assert book.sheetnames == ["按单位", "按层级"]
    for sheet in book.worksheets:
        rows = _cells(sheet)
        header = rows[2]
        assert header[header.index("人数"):] == ["人数", *(label for label, _ in FIGURES.values())]
        body, total = rows[3:-1], rows[-1]
        assert total[1] == "合计"
        first = header.index("人数")
        # the 合计 row's cached values are the exact totals; the groups add up to them too
        assert sum(r[first] for r in body) == count
        book_values = openpyxl.load_workbook(result.path, data_only=True)[sheet.title]
        cached = list(book_values.iter_rows(values_only=True))[-1]
        for offset, name in enumerate(FIGURES, start=first + 1):
            assert Decimal(str(cached[offset])).quantize(CENT) == expected[name], name
            assert sum(Decimal(str(r[offset])) for r in body).quantize(CENT) == expected[name], name
        assert sheet.cell(4, first + 2).number_format == "#,##0.00"


def test_summary_by_unit_matches_the_register_rows_of_each_unit(city):
    directory, con = city
    month = "2025-02"
    register_totals(con, month, directory)
    with open(directory / f"register-{month}.csv", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    book = openpyxl.load_workbook(export_summary(con, month, directory / "s.xlsx").path)
    body = _cells(book["按单位"])[3:-1]
    assert len(body) == len({r["unit"] for r in rows}) == 5
    for region, unit, heads, gross, net, *_ in body:
        mine = [r for r in rows if r["unit"] == unit]
        assert heads == len(mine) and region == mine[0]["region_code"]
        assert Decimal(str(net)).quantize(CENT) == sum(Decimal(r["net_pay"]) for r in mine)


def test_summary_refuses_a_month_not_run_and_csv(city):
    directory, con = city
    with pytest.raises(PayrollError, match="no payslips for 2025-07"):
        export_summary(con, "2025-07", directory / "x.xlsx")
    with pytest.raises(PayrollError, match="xlsx"):
        export_summary(con, "2025-01", directory / "x.csv", fmt="csv")
    assert not (directory / "x.xlsx").exists() and not (directory / "x.csv").exists()
