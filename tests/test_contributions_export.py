"""Contribution lists: one sheet per fund with each person's base and amounts as on the payslip,
masked ID numbers, and 合计 rows equal to the register's totals to the fen."""
from __future__ import annotations

from decimal import Decimal

import duckdb
import openpyxl
import pytest
from handover_data import MONTHS, PEOPLE, build, register_totals

from payroll.io.idnumber import contains_full_id_number, mask_id_number
from payroll.reports.contributions import FUNDS, export_contributions

CENT = Decimal("0.01")


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    directory = tmp_path_factory.mktemp("contributions")
    db, _ = build(directory)
    return directory, duckdb.connect(str(db), read_only=True)


@pytest.mark.parametrize("month", MONTHS)
def test_each_fund_total_equals_the_register(city, month):
    directory, con = city
    count, register = register_totals(con, month, directory)
    path = export_contributions(con, month, directory / f"c-{month}.xlsx").path
    values = openpyxl.load_workbook(path, data_only=True)
    assert values.sheetnames == ["汇总", *(zh for zh, *_ in FUNDS.values())]
    for fund, (zh, _, employee, employer) in FUNDS.items():
        rows = list(values[zh].iter_rows(values_only=True))
        header, body, total = rows[2], rows[3:-1], rows[-1]
        assert len(body) == count and total[0] == "合计"
        employer_at = header.index("单位缴纳")
        assert Decimal(str(total[employer_at])).quantize(CENT) == register[employer]
        assert sum(Decimal(str(r[employer_at])) for r in body).quantize(CENT) == register[employer]
        if employee:
            employee_at = header.index("个人缴纳")
            assert Decimal(str(total[employee_at])).quantize(CENT) == register[employee]
            assert sum(Decimal(str(r[employee_at])) for r in body).quantize(CENT) == register[employee]
        else:
            assert "个人缴纳" not in header          # injury and maternity: employer only
        both = header.index("合计缴纳")
        for r in body:                               # employee + employer = the row's total
            parts = Decimal(str(r[employer_at])) + (Decimal(str(r[header.index("个人缴纳")])) if employee else 0)
            assert parts.quantize(CENT) == Decimal(str(r[both])).quantize(CENT)
    overview = list(values["汇总"].iter_rows(values_only=True))
    employer_all = sum(register[e] for *_, e in FUNDS.values())
    assert Decimal(str(overview[-1][4])).quantize(CENT) == employer_all


def test_rows_show_the_payslip_base_and_masked_ids(city):
    directory, con = city
    path = export_contributions(con, "2025-03", directory / "c.xlsx").path
    sheet = openpyxl.load_workbook(path)["住房公积金"]
    rows = {r[0]: r for r in list(sheet.iter_rows(values_only=True))[3:-1]}
    bases = dict(con.execute("SELECT employee_id, CAST(housing_fund_base AS VARCHAR) FROM payslips "
                             "WHERE month = '2025-03'").fetchall())
    assert set(rows) == set(bases) and "N1" not in rows       # N1 left in February
    for person in PEOPLE:
        if person[0] in rows:
            assert rows[person[0]][2] == mask_id_number(person[2])
            assert Decimal(str(rows[person[0]][4])).quantize(CENT) == Decimal(bases[person[0]])
    import zipfile
    with zipfile.ZipFile(path) as book:
        xml = " ".join(book.read(n).decode() for n in book.namelist() if n.endswith(".xml"))
    assert not contains_full_id_number(xml)
