"""`payroll demo` end to end, as a user runs it: the SPEC identities on every row it computed,
the files it says it wrote, and no full ID number anywhere in what it printed or wrote."""
from __future__ import annotations

import csv
import shutil
import os
import zipfile

import duckdb
import pytest
from conftest import run_payroll
from identities import BROKEN_IDENTITY

from payroll.columns import REGISTER_COLUMNS
from payroll.io.idnumber import contains_full_id_number


@pytest.fixture(scope="module")
def demo(demo_year):
    """The session's one `payroll demo` run (tests/conftest.py), shared with test_finance_accounts."""
    return demo_year


def test_demo_writes_what_it_says(demo):
    out, result = demo
    for month in range(1, 13):
        assert (out / f"register-2025-{month:02d}.xlsx").stat().st_size > 10_000
    with open(out / "register-2025-12.csv", encoding="utf-8-sig") as handle:
        assert next(csv.reader(handle)) == list(REGISTER_COLUMNS)
    assert "平均工资底线" in result.stdout and "320600" in result.stdout
    assert "done in" in result.stdout
    # issue 15: the demo says its pay scales are samples, and which regions run on sample figures
    assert "pay scales (pay_scale.csv)" in result.stdout and "SAMPLES" in result.stdout
    assert "warning: 530100 昆明市 2025-12 uses" in result.stdout


def test_identities_hold_on_every_row_of_the_demo(demo):
    out, _ = demo
    con = duckdb.connect(str(out / "payroll-demo.duckdb"), read_only=True)
    total, people, broken = con.execute(f"""
        SELECT count(*), count(DISTINCT employee_id), count(*) FILTER (WHERE {BROKEN_IDENTITY}
          OR iit < 0 OR gross_pay < 0)
        FROM payslips""").fetchall()[0]
    assert people > 4_500 and total > 50_000
    assert broken == 0
    months = [r[0] for r in con.execute("SELECT DISTINCT month FROM payslips ORDER BY 1").fetchall()]
    assert months == [f"2025-{m:02d}" for m in range(1, 13)]


def test_no_full_id_number_leaves_the_demo(demo):
    out, result = demo
    assert not contains_full_id_number(result.stdout + result.stderr)
    for path in out.glob("*.csv"):
        assert not contains_full_id_number(path.read_text(encoding="utf-8-sig"))
    for path in out.glob("*.xlsx"):
        with zipfile.ZipFile(path) as book:
            xml = " ".join(book.read(name).decode("utf-8") for name in book.namelist() if name.endswith(".xml"))
        assert not contains_full_id_number(xml), path.name
    con = duckdb.connect(str(out / "payroll-demo.duckdb"), read_only=True)
    stored = " ".join(r[0] or "" for r in con.execute("SELECT id_number_masked FROM employees").fetchall())
    assert "*" in stored and not contains_full_id_number(stored)
    con.close()


def test_no_table_and_no_file_of_the_demo_holds_a_full_id_number(demo):
    """Every text cell of every table (ledger, snapshots, arrears …) and every other file written."""
    from test_privacy import text_of_every_table, text_of_file
    out, _ = demo
    assert not contains_full_id_number(text_of_every_table(out / "payroll-demo.duckdb"))
    for path in out.iterdir():
        if path.is_file() and not path.name.endswith((".duckdb", ".wal")):
            assert not contains_full_id_number(text_of_file(path)), path.name


# commands of the README that need nothing but the demo's database (the others read files a
# user brings, serve a page or run for minutes)
README_RUNNABLE = ("explain", "benefits", "export", "history")


def readme_commands() -> list[list[str]]:
    """The README's `payroll …` lines, options in [brackets] left out, a|b alternatives as a."""
    import re
    import shlex
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    commands = []
    # the newcomer's blocks: install and demo, the tests, "Using it" (later blocks need files a unit brings)
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S)[:3]:
        for line in block.splitlines():
            line = line.split("  #")[0].split(" # ")[0].strip()
            if not line.startswith("payroll "):
                continue
            line = re.sub(r"\[[^\]]*\]", "", line)
            words = [w.split("|")[0] for w in shlex.split(line)]
            # the bank file refuses a month with a negative net pay, which the synthetic roster still
            # has until net pay is kept ≥ 0 (issue 13): the bank line is left out until then
            if words[1] in README_RUNNABLE and "--employees" not in words and "bank" not in words:
                commands.append(words[1:])
    return commands


def test_the_readme_examples_run_against_the_demo(demo, tmp_path):
    """The newcomer's path: after `payroll demo`, the README's commands work as printed, with the
    PAYROLL_DB line the demo prints."""
    out, result = demo
    printed = " ".join(result.stdout.split())
    assert f"export PAYROLL_DB={out / 'payroll-demo.duckdb'}" in printed
    commands = readme_commands()
    assert len(commands) >= 8 and ["explain", "FJ000042", "--month", "2025-08"] in commands
    # in this process (conftest.run_payroll), on a copy: the other demo tests hold the file open
    # read-only, and the exports record themselves in it
    work = tmp_path / "readme"
    work.mkdir()
    shutil.copy(out / "payroll-demo.duckdb", work / "payroll-demo.duckdb")
    env = {k: v for k, v in os.environ.items() if k != "PAYROLL_TABLES"}
    env["PAYROLL_DB"] = str(work / "payroll-demo.duckdb")
    for command in commands:
        done = run_payroll(*command, env=env, cwd=work)
        assert done.returncode == 0, (command, done.stderr[-2000:])
        assert not contains_full_id_number(done.stdout + done.stderr), command
    from test_privacy import text_of_file
    for path in work.iterdir():                 # the files the README's exports wrote
        if path.is_file() and not path.name.endswith((".duckdb", ".wal")):
            assert not contains_full_id_number(text_of_file(path)), path.name

def test_the_demo_year_pays_every_month(demo):
    """Issue 13: a leaver whose contributions exceed the month's pay is paid net 0 and the rest is
    carried as a balance owed (the demo's FJ004255 was −67.47 before; since issue 14 pays its
    untaken annual leave, 3,465.10, it nets 9,838.24, and others of the demo carry a shortfall);
    December holds bonuses with every method, one severance is paid; a bank file for every
    month, with no line ≤ 0, and the people paid 0 on the sheet 未发放."""
    import openpyxl
    out, result = demo
    con = duckdb.connect(str(out / "payroll-demo.duckdb"), read_only=True)
    carried = con.execute("SELECT employee_id, month, CAST(net_pay AS VARCHAR), CAST(shortfall_carried AS VARCHAR), "
                          "CAST(balance_owed AS VARCHAR) FROM payslips WHERE shortfall_carried > 0 "
                          "ORDER BY month, employee_id").fetchall()
    assert carried, "the demo should hold at least one shortfall carried"
    assert all(net == "0.00" and owed == shortfall for _, _, net, shortfall, owed in carried)
    assert con.execute("SELECT count(*) FROM payslips WHERE net_pay < 0").fetchone()[0] == 0
    first_id, first_month, _, first_shortfall, _ = carried[0]
    methods = dict(con.execute("SELECT annual_bonus_method, count(*) FROM payslips WHERE month = '2025-12' "
                               "AND annual_bonus > 0 GROUP BY 1").fetchall())
    assert methods.get("separate", 0) > 0 and methods.get("merged", 0) > 0
    # the severance is paid once, by the leaver's final settlement (an off-cycle run)
    assert con.execute("SELECT count(*) FROM payslips WHERE severance_pay > 0").fetchall()[0][0] == 0
    assert con.execute("SELECT count(*) FROM offcycle_payslips WHERE severance_pay > 0").fetchall()[0][0] == 1
    # issue 16: the appraisal bonus is paid as the 全年一次性奖金: in January (the national rows) some
    # taxed apart; in December (Nantong's rows) added to an imported bonus; never two taxed apart a year
    january = dict(con.execute("SELECT annual_bonus_method, count(*) FROM payslips WHERE month = '2025-01' "
                               "AND appraisal_bonus > 0 GROUP BY 1").fetchall())
    assert january.get("separate", 0) > 0
    assert con.execute("SELECT count(*) FROM payslips WHERE annual_bonus_total <> annual_bonus + appraisal_bonus"
                       ).fetchall()[0][0] == 0
    assert con.execute("SELECT count(*) FROM payslips WHERE month = '2025-12' AND appraisal_bonus > 0 "
                       "AND annual_bonus > 0").fetchall()[0][0] > 0
    assert con.execute("SELECT max(n) FROM (SELECT count(*) AS n FROM payslips WHERE annual_bonus_separate > 0 "
                       "GROUP BY employee_id)").fetchall()[0][0] == 1
    assert "年度考核奖 appraisal bonuses, paid as the 全年一次性奖金: 2025-01 " in result.stdout
    assert "cliff" in result.stdout
    for month in range(1, 13):
        book = openpyxl.load_workbook(out / f"bank-2025-{month:02d}.xlsx", read_only=True)
        sheet = book.worksheets[0]
        amounts = [row[2] for row in sheet.iter_rows(values_only=True) if isinstance(row[2], (int, float))]
        assert amounts and min(amounts) > 0
    book = openpyxl.load_workbook(out / f"bank-{first_month}.xlsx", read_only=True)
    assert "未发放" in book.sheetnames
    unpaid = [row for row in book["未发放"].iter_rows(values_only=True) if row[0] == first_id]
    assert unpaid and first_shortfall in unpaid[0][4]

def test_the_demo_settles_a_leaver_off_cycle_with_its_own_bank_file(demo):
    """Issue 13 part 4: one final settlement, before the regular run of the leaving month: it pays
    the last days, the untaken leave and the severance; the regular run pays that person nothing
    more; the identities hold on its row; its own bank file has a line > 0."""
    import openpyxl
    out, result = demo
    con = duckdb.connect(str(out / "payroll-demo.duckdb"), read_only=True)
    (run_id, month, employee_id, severance, base, net, broken), = con.execute(f"""
        SELECT offcycle_run_id, month, employee_id, severance_pay, base_pay, net_pay, {BROKEN_IDENTITY}
        FROM offcycle_payslips""").fetchall()
    assert severance == 30000 and base > 0 and net > 0 and not broken
    regular = con.execute("SELECT gross_pay, net_pay FROM payslips WHERE month = ? AND employee_id = ?",
                          [month, employee_id]).fetchall()
    assert regular == [(0, 0)]
    assert f"off-cycle: {month} off-cycle run {run_id}" in result.stdout
    book = openpyxl.load_workbook(out / f"bank-{month}-{run_id}.xlsx", read_only=True)
    amounts = [row[2] for row in book.worksheets[0].iter_rows(values_only=True) if isinstance(row[2], (int, float))]
    assert amounts == [float(net)]
    # the regular bank file lists the person apart, paid 0: paid in the settlement
    book = openpyxl.load_workbook(out / f"bank-{month}.xlsx", read_only=True)
    unpaid = [row for row in book["未发放"].iter_rows(values_only=True) if row[0] == employee_id]
    assert unpaid and f"离职结算 {run_id}" in unpaid[0][4]


# ---- from outside the engine: the exported register and the scalar reference ----------------------

def test_identities_on_the_exported_register_csv(demo):
    """The December register as finance receives it (CSV), every row and the column totals summed
    here with Decimal from the text of the file, not by the engine's SQL."""
    from decimal import Decimal
    from reference import EMPLOYEE_SHARES, EMPLOYER_SHARES, PAY_COMPONENTS
    out, _ = demo
    with open(out / "register-2025-12.csv", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    people = [r for r in rows if r["employee_id"] and not r["employee_id"].startswith(("合计", "Total"))]
    assert len(people) > 4_500
    money = lambda row, c: Decimal(row[c])      # noqa: E731 — text → exact amount; raises on anything else
    totals = {c: Decimal("0.00") for c in ("gross_pay", "net_pay", "employer_cost", "iit")}
    for row in people:
        gross = money(row, "gross_pay")
        assert gross == sum(money(row, c) for c in PAY_COMPONENTS if c in row) + money(row, "arrears_pay"), row
        # the extended identity (docs/rules.md): taxes apart, a balance recovered, a shortfall carried
        assert money(row, "net_pay") == gross - sum(money(row, c) for c in EMPLOYEE_SHARES) \
            - money(row, "medical_levy_employee") - money(row, "iit") - money(row, "iit_annual_bonus") - money(row, "iit_severance") \
            - money(row, "deduction") - money(row, "balance_recovery") + money(row, "shortfall_carried"), row
        assert money(row, "net_pay") >= 0, row
        assert money(row, "employer_cost") == gross + sum(money(row, c) for c in EMPLOYER_SHARES) \
            + money(row, "medical_levy_employer") + money(row, "accident_insurance_employer"), row
        assert all(money(row, c) == money(row, c).quantize(Decimal("0.01")) for c in totals)
        for c in totals:
            totals[c] += money(row, c)
    con = duckdb.connect(str(out / "payroll-demo.duckdb"), read_only=True)
    stored = con.execute("SELECT sum(gross_pay), sum(net_pay), sum(employer_cost), sum(iit) FROM payslips "
                         "WHERE month = '2025-12'").fetchone()
    con.close()
    assert tuple(totals.values()) == stored


def _demo_against_the_reference(demo, sample, seed):
    from from_database import compare_stored_year, sample_ids
    from conftest import SHIPPED_TABLES
    out, _ = demo
    con = duckdb.connect(str(out / "payroll-demo.duckdb"), read_only=True)
    ids = sample_ids(con, sample, seed)
    compared, problems = compare_stored_year(con, SHIPPED_TABLES, ids, [f"2025-{m:02d}" for m in range(1, 13)])
    con.close()
    assert compared > 0 and not problems, f"{len(problems)} differences:\n" + "\n".join(problems[:40])
    return compared


def test_a_random_sample_of_the_demo_year_matches_the_reference(demo):
    """150 people drawn at random (a new draw each day, so the sample moves), all twelve months."""
    import datetime
    assert _demo_against_the_reference(demo, 150, datetime.date.today().toordinal()) > 1_000


@pytest.mark.slow
def test_the_whole_demo_year_matches_the_reference(demo):
    """All 60,000 payslips of the demo year against the scalar reference (thorough tier)."""
    assert _demo_against_the_reference(demo, None, 0) > 50_000
