"""Issue 19: the voucher balances on the demo year and books each classification item the register's
component sums; the budget flags a unit over budget and over quota, and its projection of the rest
of the year is simulate's baseline; the income certificate's totals are the register's and it holds
no full ID number; each is written and logged as the CLI user sees it."""
from __future__ import annotations

import csv
import sys
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from conftest import THOROUGH
from handover_data import register_totals

from payroll.db import connect
from payroll.engine.run import run_months
from payroll.io.budget import import_budget
from payroll.io.idnumber import contains_full_id_number
from payroll.policy import load_policy
from payroll.reports.budget import budget_execution, export_budget, projection
from payroll.reports.certificate import write_certificate
from payroll.reports.register import export_register
from payroll.reports.voucher import voucher_lines

TABLES = Path(__file__).resolve().parent.parent / "tables"
DEMO_PEOPLE = 120          # the demo's roster generator and year, smaller (the 5,000 run is test_demo's)


def demo_database(path: Path, people: int, year: int = 2025, attendance: bool = True, last: str = "2025-12"):
    from payroll.synth import synth_roster, write_roster
    con = connect(path)
    employees, timesheet = synth_roster(people, seed=2025, year=year)
    write_roster(con, employees, timesheet if attendance else None)
    run_months(con, load_policy(), f"{year}-01", last)
    return con


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    directory = tmp_path_factory.mktemp("accounts")
    con = demo_database(directory / "demo.duckdb", DEMO_PEOPLE)
    return directory, con


def _mapping() -> dict[str, str]:
    """component -> economic item, read here from the table itself (debit side)."""
    with open(TABLES / "voucher_accounts.csv", encoding="utf-8") as handle:
        return {r["component"]: r["economic_item"] for r in csv.DictReader(handle) if r["side"] == "debit"}


@pytest.mark.parametrize("month", [f"2025-{m:02d}" for m in range(1, 13)])
def test_voucher_balances_and_each_item_is_the_registers_component_sum(demo, policy, month):
    directory, con = demo
    lines, totals = voucher_lines(con, policy, month)                # policy: conftest's, loaded once
    count, register = register_totals(con, month, directory)        # the register CSV, summed in Python
    assert totals["debit"] == totals["credit"] == register["employer_cost"]
    expected: dict[str, Decimal] = {}
    for component, item in _mapping().items():
        expected[item] = expected.get(item, Decimal(0)) + register.get(component, Decimal(0))
    debits = lines.dropna(subset=["debit"]).groupby("economic_item")["debit"].agg(lambda s: sum(s, Decimal(0)))
    assert {i: a for i, a in expected.items() if a} == {i: a for i, a in debits.items()}
    for unit, part in lines.groupby("unit"):                         # every unit's voucher balances
        assert sum(part.debit.dropna(), Decimal(0)) == sum(part.credit.dropna(), Decimal(0))


def _mapping_by_side() -> dict[str, dict[str, tuple[str, str, str]]]:
    """side -> component -> (account code, account name, economic item), read here from the table."""
    booked: dict[str, dict[str, tuple[str, str, str]]] = {"debit": {}, "credit": {}}
    with open(TABLES / "voucher_accounts.csv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            booked[row["side"]][row["component"]] = (row["account_code"], row["account_name"], row["economic_item"])
    return booked


def test_the_voucher_balances_on_each_month_of_the_5000_person_demo(demo_year, policy, tmp_path):
    """The issue's test on the real `payroll demo` (5,000 people, 2025-01..12, built once per session
    in conftest): for every month and unit, debits = credits; each (unit, account, economic item)
    amount of the voucher is the sum of the register CSV's components the table maps to it, summed
    here in Python from the exported file (not by the voucher's SQL); the expense debits are the
    register's employer cost (a shortfall carried as owed is a receivable, debited besides)."""
    out, _ = demo_year
    con = connect(out / "payroll-demo.duckdb", read_only=True)
    booked = _mapping_by_side()
    summed_columns = {"employer_cost", "shortfall_carried", *booked["debit"], *booked["credit"]}
    try:
        for month in (f"2025-{m:02d}" for m in range(1, 13)):
            lines, totals = voucher_lines(con, policy, month)
            path = tmp_path / f"register-{month}.csv"
            export_register(con, month, "csv", path)
            by_unit: dict[str, list[dict]] = {}
            with open(path, encoding="utf-8-sig") as handle:
                for row in csv.DictReader(handle):
                    by_unit.setdefault(row["unit"], []).append(row)
            expected: dict[tuple, Decimal] = {}
            cost, receivable = Decimal(0), Decimal(0)
            for unit, rows in by_unit.items():
                column = {c: sum(map(Decimal, (r[c] for r in rows)), Decimal(0)) for c in summed_columns}
                cost += column["employer_cost"]
                receivable += column["shortfall_carried"]                 # owed by the employee: not an expense
                for side, components in booked.items():
                    for component, account in components.items():
                        key = (unit, side, *account)
                        expected[key] = expected.get(key, Decimal(0)) + column[component]
            ours: dict[tuple, Decimal] = {}
            for line in lines.to_dict("records"):
                side = "debit" if line["debit"] is not None and not pd.isna(line["debit"]) else "credit"
                key = (line["unit"], side, line["account_code"], line["account_name"], line["economic_item"])
                assert key not in ours, key                                  # one line per unit, account and item
                ours[key] = line[side]
            assert ours == {k: v for k, v in expected.items() if v}, month
            assert totals["employer_cost"] == cost and totals["debit"] == totals["credit"] == cost + receivable, month
            expense = sum((v for (_, side, _, _, item), v in ours.items() if side == "debit" and item), Decimal(0))
            assert expense == cost, month
            sides: dict[tuple, Decimal] = {}
            for (unit, side, *_), amount in ours.items():
                sides[unit, side] = sides.get((unit, side), Decimal(0)) + amount
            assert {unit for unit, _ in sides} == set(by_unit), month        # every unit of the register booked
            for unit in by_unit:
                assert sides[unit, "debit"] == sides[unit, "credit"] > 0, (month, unit)
    finally:
        con.close()


def test_an_unmapped_component_makes_the_voucher_refuse(demo, tmp_path):
    _, con = demo
    import shutil
    tables = tmp_path / "tables"
    shutil.copytree(TABLES, tables)
    rows = (tables / "voucher_accounts.csv").read_text(encoding="utf-8").splitlines()
    (tables / "voucher_accounts.csv").write_text("\n".join(r for r in rows if not r.startswith("bonus,debit")) + "\n",
                                                 encoding="utf-8")
    from payroll.errors import PayrollError
    month = con.execute("SELECT min(month) FROM payslips WHERE bonus > 0").fetchone()[0]
    with pytest.raises(PayrollError, match="does not balance.*bonus"):
        voucher_lines(con, load_policy(tables), month)


def _budget_file(path: Path, con, over_unit: str, over_quota_unit: str) -> Path:
    """A generous budget for every unit paid in the year, except over_unit (1,000 yuan); quota = the
    December headcount, except over_quota_unit (headcount − 1)."""
    units = con.execute("SELECT unit, count(*) FILTER (month = '2025-12') FROM payslips GROUP BY unit").fetchall()
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["年度", "单位", "核定员额", "30101 基本工资", "30102 津贴补贴", "30103", "30110", "30112",
                         "30113", "30199"])
        for unit, heads in units:
            amount = "1000" if unit == over_unit else "100000000"
            quota = heads - 1 if unit == over_quota_unit else heads
            writer.writerow(["2025", unit, quota, amount, amount, amount, amount, amount, amount, amount])
    return path


def test_budget_flags_the_unit_over_budget_and_the_unit_over_quota(demo, tmp_path):
    directory, con = demo
    units = [u for (u,) in con.execute("SELECT DISTINCT unit FROM payslips WHERE month = '2025-12' ORDER BY unit").fetchall()]
    import_budget(con, load_policy(), _budget_file(tmp_path / "budget.csv", con, units[0], units[1]))
    lines, by_unit = budget_execution(con, load_policy(), "2025-12")      # December: nothing left to project
    flagged = dict(zip(by_unit.unit, by_unit.flag))
    assert flagged[units[0]] == "超预算" and flagged[units[1]] == "超员额"
    assert all(not flag for unit, flag in flagged.items() if unit not in units[:2])
    spent = con.execute("SELECT CAST(sum(employer_cost) AS VARCHAR) FROM payslips").fetchone()[0]
    assert sum(by_unit.spent, Decimal(0)) == Decimal(spent)              # a unit's spending is its employer cost
    export = export_budget(con, load_policy(), "2025-12", tmp_path / "budget.xlsx")
    assert export.over_budget == [units[0]] and export.over_quota == [units[1]]
    sheet = openpyxl.load_workbook(export.path)["按单位"]
    flags = {r[0]: r[-1] for r in sheet.iter_rows(min_row=4, values_only=True) if r[0] in units}
    assert flags[units[0]] == "超预算" and flags[units[1]] == "超员额"


def test_budget_projection_is_simulates_baseline(tmp_path):
    """Payslips January–June with no attendance (simulate's baseline assumes none); the months the
    budget projects (July–December) equal the same months of simulate's baseline for the year."""
    from payroll.simulate.project import Projection, history_from_database, projection_months, roster_from_database
    con = demo_database(tmp_path / "half.duckdb", 60, attendance=False, last="2025-06")
    policy = load_policy()
    run = projection(con, policy, "2025-06")
    baseline = Projection(policy, projection_months(2025, 1), roster_from_database(con),
                          history_from_database(con, 2025))
    # CI compares the first two months the budget projects (July reads the stored payslips, August
    # the projected July) and runs the baseline that far; the thorough tier runs it to December and
    # compares all six
    through = "2025-12" if THOROUGH else "2025-08"
    baseline.run(stop="9999-12" if THOROUGH else "2025-09")
    query = ("SELECT month, employee_id, employer_cost, gross_pay, iit, net_pay, pension_employer FROM projected "
             f"WHERE month BETWEEN '2025-07' AND '{through}' ORDER BY month, employee_id")
    try:
        ours, theirs = run.con.execute(query).fetchall(), baseline.con.execute(query).fetchall()
        assert ours and ours == theirs and {row[0] for row in ours} >= {"2025-07", through}
        # and simulate's first half is what `payroll run` stored
        stored = con.execute("SELECT month, employee_id, employer_cost FROM payslips ORDER BY month, employee_id").fetchall()
        assert baseline.con.execute("SELECT month, employee_id, employer_cost FROM projected WHERE month <= '2025-06' "
                                    "ORDER BY month, employee_id").fetchall() == stored
    finally:
        run.close()
        baseline.close()


def test_certificate_totals_are_the_registers_and_it_holds_no_full_id(demo, tmp_path):
    directory, con = demo
    employee_id = con.execute("SELECT employee_id FROM payslips GROUP BY employee_id HAVING count(*) = 12 "
                              "ORDER BY employee_id LIMIT 1").fetchone()[0]
    result = write_certificate(con, employee_id, year=2025, out=tmp_path / "cert.xlsx")
    register = {}
    for month in range(1, 13):
        path = directory / f"register-2025-{month:02d}.csv"
        if not path.exists():
            register_totals(con, f"2025-{month:02d}", directory)
        with open(path, encoding="utf-8-sig") as handle:
            row = next(r for r in csv.DictReader(handle) if r["employee_id"] == employee_id)
        for column in ("gross_pay", "iit", "net_pay", "deduction", "pension_employee", "medical_employee",
                       "unemployment_employee", "housing_fund_employee"):
            register[column] = register.get(column, Decimal(0)) + Decimal(row[column])
    contributions = sum(register[c] for c in ("pension_employee", "medical_employee", "unemployment_employee",
                                              "housing_fund_employee"))
    assert result.totals == {"gross_pay": register["gross_pay"], "contributions": contributions,
                             "iit": register["iit"], "deduction": register["deduction"], "net_pay": register["net_pay"]}
    sheet = openpyxl.load_workbook(result.path)["收入证明"]
    cells = [c for row in sheet.iter_rows(values_only=True) for c in row if c is not None]
    assert "合计" in cells and any("盖章" in str(c) for c in cells)
    with zipfile.ZipFile(result.path) as book:
        xml = " ".join(book.read(n).decode() for n in book.namelist() if n.endswith(".xml"))
    assert not contains_full_id_number(xml)
    logged = con.execute("SELECT kind, employee_id, period FROM disclosures").fetchall()
    assert ("certificate", employee_id, "2025-01..2025-12") in logged


def test_cli_certificate_and_exports(demo, tmp_path, capsys, monkeypatch):
    from payroll.cli import main
    directory, con = demo
    db = directory / "cli.duckdb"
    con.execute(f"ATTACH '{db}' AS cli_copy")
    con.execute("COPY FROM DATABASE demo TO cli_copy")
    con.execute("DETACH cli_copy")
    employee_id = con.execute("SELECT min(employee_id) FROM payslips WHERE month = '2025-03'").fetchone()[0]

    def payroll(*args) -> tuple[int, str]:
        """`payroll ARGS --db DB` in this process: exit code and stderr."""
        monkeypatch.setattr(sys, "argv", ["payroll", *map(str, args), "--db", str(db)])
        capsys.readouterr()
        try:
            main()
            code = 0
        except SystemExit as exit_:
            code = exit_.code
        return code, capsys.readouterr().err
    code, stderr = payroll("certificate", employee_id, "--months", "2025-02..2025-03", "--out", tmp_path / "c.xlsx")
    assert code == 0, stderr
    assert (tmp_path / "c.xlsx").is_file()
    for what, extra in (("voucher", ("--month", "2025-03")), ("si-changes", ("--month", "2025-03")),
                        ("si-base", ("--year", "2026"))):
        code, stderr = payroll("export", "--what", what, *extra, "--format", "csv", "--out", tmp_path / f"{what}.csv")
        assert code == 0, stderr
        assert (tmp_path / f"{what}.csv").stat().st_size > 0
    code, stderr = payroll("export", "--what", "tax-check", "--month", "2025-03", "--out", tmp_path / "t.xlsx")
    assert code == 2 and "import --tax-feedback" in stderr and not (tmp_path / "t.xlsx").exists()


def test_simulate_compares_the_scenario_with_the_loaded_budget(tmp_path):
    """The frame `payroll simulate` prints: budget per unit (fen) against simulate's per-unit costs."""
    import pandas as pd
    from payroll.reports.budget import budget_against_scenario, budget_totals
    con = connect(tmp_path / "b.duckdb")
    assert budget_totals(con, 2026) is None                               # no budget: nothing printed
    con.execute("INSERT INTO budget VALUES (2026, 'A', '30101', 100.00), (2026, 'A', '30102', 20.50), "
                "(2026, 'B', '30101', 50.00)")
    by_unit = pd.DataFrame({"year": [2026, 2026], "unit": ["A", "B"], "employer_cost_baseline": [11000, 4000],
                            "employer_cost_scenario": [12100, 5001]})
    frame = budget_against_scenario(budget_totals(con, 2026), 2026, by_unit)
    # A: budget 120.50 = 12050 fen < scenario 12100: over; B: 5000 < 5001: over by one fen
    assert list(frame.budget) == [12050, 5000] and list(frame.over_budget) == [True, True]
    by_unit.loc[1, "employer_cost_scenario"] = 5000
    assert list(budget_against_scenario(budget_totals(con, 2026), 2026, by_unit).over_budget) == [True, False]
