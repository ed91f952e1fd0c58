"""Issue 19, tax round trip: the special deductions imported by item from the withholding client,
the tax file carrying every item, the client's result computed here by a scalar computation from
the tax files alone (the client knows nothing else), imported back: no difference. Then one
person's deduction changed in the client: exactly that person flagged, cause deductions."""
from __future__ import annotations

import csv
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import openpyxl
import pytest
from handover_data import MONTHS, PEOPLE, build

from payroll.db import connect
from payroll.engine.run import run_months
from payroll.io.deductions import import_deductions
from payroll.io.tax_feedback import import_feedback
from payroll.policy import load_policy
from payroll.reports.tax import export_tax
from payroll.reports.tax_check import export_tax_check, tax_differences

TABLES = Path(__file__).resolve().parent.parent / "tables"
CENT = Decimal("0.01")
PERSON = {p[0]: p for p in PEOPLE}


def deductions_file(path: Path) -> Path:
    """The client's download: monthly items for most, a cumulative item (累计, to March) for H2."""
    rows = [["工号", "*姓名", "*证件类型", "*证件号码", "所得期间止", "子女教育", "住房租金", "赡养老人",
             "累计赡养老人"],
            ["", PERSON["H1"][1], "居民身份证", PERSON["H1"][2], "2025-03-31", "1000", "", "", ""],
            ["", PERSON["H2"][1], "居民身份证", PERSON["H2"][2], "2025-03-31", "", "", "", "6000"],
            ["Z1", PERSON["Z1"][1], "居民身份证", PERSON["Z1"][2], "2025-03-31", "2000", "1500", "1000", ""],
            ["", PERSON["K1"][1], "居民身份证", PERSON["K1"][2], "2025-03-31", "", "800", "", ""]]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    directory = tmp_path_factory.mktemp("round_trip")
    db, employees = build(directory)
    con = connect(db)
    summary = import_deductions(con, deductions_file(directory / "deductions.csv"))
    assert summary.people == 4
    run_months(con, load_policy(), MONTHS[0], MONTHS[-1])       # the months again, with the items
    files = {}
    for month in MONTHS:
        result = export_tax(con, month, employees, directory / f"tax-{month}.xlsx")
        assert result.without_items == 0            # every person with deductions has the items
        files[month] = result.path
    return directory, con, files


def test_deductions_replace_the_monthly_total(city):
    _, con, _ = city
    totals = dict(con.execute("SELECT employee_id, CAST(special_deduction AS VARCHAR) FROM employees").fetchall())
    # H2: 累计赡养老人 6000 over January–March (3 months) = 2000 a month
    # Z1: 2000 + 1500 + 1000 = 4500; K1: 住房租金 800; H1: 1000
    assert totals["H2"] == "2000.00" and totals["Z1"] == "4500.00" and totals["K1"] == "800.00"
    items = con.execute("SELECT CAST(elderly_support AS VARCHAR) FROM employee_finance WHERE employee_id = 'H2'"
                        ).fetchone()[0]
    assert items == "2000.00"


def _brackets():
    with open(TABLES / "iit_brackets.csv", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle)]
    latest = max(r["effective_from"] for r in rows)
    return sorted(((Decimal(r["threshold"]), Decimal(r["rate"]), Decimal(r["quick_deduction"]))
                   for r in rows if r["effective_from"] == latest), reverse=True)


def client_result(files: dict[str, Path], change: dict | None = None) -> list[dict]:
    """The client's 累计预扣法 from what the tax files declare: income and contributions summed month
    by month, 5,000 per month declared, the cumulative items as declared; tax half-up to the fen."""
    brackets, seen, rows = _brackets(), {}, []
    for month, path in sorted(files.items()):
        sheet = openpyxl.load_workbook(path)["正常工资薪金收入"]
        header, *body = list(sheet.iter_rows(values_only=True))
        at = {h: i for i, h in enumerate(header)}
        for line in body:
            person = line[at["工号"]]
            money = lambda h: Decimal(str(line[at[h]] or 0))          # noqa: E731 — empty = nothing declared
            state = seen.setdefault(person, {"income": Decimal(0), "contributions": Decimal(0), "months": 0,
                                             "tax": Decimal(0)})
            state["income"] += money("本期收入")
            state["contributions"] += sum(money(h) for h in ("基本养老保险费", "基本医疗保险费", "失业保险费", "住房公积金"))
            state["months"] += 1
            deductions = sum(money(h) for h in header if str(h).startswith("累计"))   # the seven items
            if change and (person, month) in change:
                deductions += change[(person, month)]
            taxable = max(Decimal(0), state["income"] - 5000 * state["months"] - state["contributions"] - deductions)
            rate, quick = next((r, q) for t, r, q in brackets if taxable > t or t == 0)
            due = (taxable * rate - quick).quantize(CENT, ROUND_HALF_UP)
            tax = max(Decimal(0), due - state["tax"])
            state["tax"] += tax
            rows.append({"*姓名": line[at["*姓名"]], "*证件类型": "居民身份证", "*证件号码": line[at["*证件号码"]],
                         "所得期间止": f"{month}-28", "本期收入": f"{money('本期收入'):.2f}",
                         "累计专项附加扣除": f"{deductions:.2f}", "本期应预扣预缴税额": f"{tax:.2f}"})
    return rows


def write_feedback(path: Path, rows: list[dict]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_round_trip_has_no_difference_then_one_changed_deduction_is_flagged(city):
    directory, con, files = city
    import_feedback(con, write_feedback(directory / "feedback.csv", client_result(files)))
    for month in MONTHS:
        assert tax_differences(con, month).empty, month
    exported = export_tax_check(con, "2025-03", directory / "check.xlsx")
    assert exported.differences == 0
    # the client has H2 claim 1,000 more elderly support in March than the payroll
    changed = client_result(files, change={("H2", "2025-03"): Decimal(1000)})
    import_feedback(con, write_feedback(directory / "feedback2.csv", changed))
    march = tax_differences(con, "2025-03")
    assert list(march.employee_id) == ["H2"]
    assert list(march.cause) == ["deductions"]
    assert Decimal(march.difference[0]) < 0          # more deductions, less tax
    assert tax_differences(con, "2025-02").empty
    # the approval workflow (issue 18): March cannot be approved without a comment, February can
    from payroll.errors import PayrollError
    from payroll.office import workflow
    for month in ("2025-02", "2025-03"):
        workflow.advance(con, month, "submit", "clerk")
        workflow.advance(con, month, "pass", "reviewer")
    assert workflow.advance(con, "2025-02", "approve", "approver") == "approved"
    with pytest.raises(PayrollError, match="1 difference"):
        workflow.advance(con, "2025-03", "approve", "approver")
    assert workflow.advance(con, "2025-03", "approve", "approver", "H2's elderly support is in the client") \
        == "approved"


def test_a_person_missing_on_either_side_is_flagged(city):
    directory, con, files = city
    rows = [r for r in client_result(files) if r["所得期间止"].startswith("2025-02")]
    kept = [r for r in rows if r["*证件号码"] != PERSON["O1"][2]]
    con.execute("DELETE FROM tax_feedback WHERE month = '2025-02'")
    import_feedback(con, write_feedback(directory / "feedback3.csv", kept))
    february = tax_differences(con, "2025-02")
    assert list(february.employee_id) == ["O1"] and list(february.cause) == ["missing_in_client"]
