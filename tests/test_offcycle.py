"""Issue 13 part 4: off-cycle runs and final settlements (payroll/engine/offcycle.py).

The rule: a person's payslips of a month add up to the month computed once with everything paid in
it (regular items + the payments of every run done). A bonus run pays state with its payments −
state without; a settlement pays state with its payments − the person's earlier payslips of the
month; the regular run pays the state − the off-cycle payslips before it.

Hand cases on the shipped tables with Hohhot's H1 (tests/test_hand_computed.py; December 2025 worked
in tests/test_year_end.py: a 36,000 bonus taxed apart costs 36,000 × 3 % = 1,080.00).
"""
from __future__ import annotations

from datetime import date
from pathlib import Path
from decimal import ROUND_HALF_UP, Decimal

import pytest
import reference
from conftest import SHIPPED_TABLES, database_copy, database_template, examples, policy_for, run_engine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from identities import BROKEN_IDENTITY
from test_hand_computed import HOHHOT, person

from payroll.db import connect
from payroll.engine.closing import close_through
from payroll.engine.offcycle import run_offcycle
from payroll.engine.run import run_months
from payroll.errors import PayrollError

POLICY = policy_for(str(SHIPPED_TABLES))
# a Hohhot leaver on 2025-12-09, same record as H1 otherwise
LEAVER = person("L1", "150100", "duty", 6, "PATROL", date(2018, 5, 1), leave=date(2025, 12, 9))
LINES = ("gross_pay", "annual_bonus", "other_payments", "annual_leave_payout", "base_pay", "pension_employee",
         "iit", "iit_annual_bonus", "net_pay", "employer_cost")


_NOVEMBERS: dict[tuple, Path] = {}


def _november_template(people=(HOHHOT, LEAVER)) -> Path:
    key = tuple(p["employee_id"] for p in people)
    if key not in _NOVEMBERS:
        _NOVEMBERS[key] = database_template(
            lambda con: run_engine(SHIPPED_TABLES, list(people), {}, "2025-11", "2025-11", con=con))
    return _NOVEMBERS[key]


def november(people=(HOHHOT, LEAVER), path=":memory:"):
    """A database with November 2025 run for the people (the history December reads): run once per
    roster (conftest.database_template, removed when the process ends), then copied: each case
    gets its own database (in memory, or in the file `path`)."""
    return database_copy(_november_template(people), path)


@pytest.fixture(scope="module")
def settled_first():
    """November, then L1's 1,000 paid by a December settlement run before the regular run: the
    template (built once: both settlement tests read that month) and the settlement's run id."""
    made = []

    def build(con):
        pay(con, "L1", "other", "1000", "settlement")
        made.append(run_offcycle(con, POLICY, "2025-12", "settlement", ["L1"]).run_id)
        run_months(con, POLICY, "2025-12")
    template = database_template(build, start=_november_template())
    return template, made[0]


def pay(con, eid, kind, amount, run_kind=None, method=None, month="2025-12", line=2):
    con.execute("INSERT INTO payments (employee_id, month, line_no, kind, amount, tax_method, run_kind) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)", [eid, month, line, kind, Decimal(amount), method, run_kind])


def rows(con, month="2025-12"):
    """{(run, employee_id): {line: value}}; the regular run is 'regular'."""
    select = ", ".join(LINES)
    found = con.execute(f"SELECT 'regular', employee_id, {select} FROM payslips WHERE month = ? UNION ALL "
                        f"SELECT offcycle_run_id, employee_id, {select} FROM offcycle_payslips WHERE month = ?",
                        [month, month]).fetchall()
    return {(r[0], r[1]): dict(zip(LINES, r[2:])) for r in found}


def month_totals(con, month="2025-12"):
    return dict(con.execute(
        "SELECT employee_id, sum(iit + iit_annual_bonus + iit_severance) FROM (SELECT employee_id, iit, "
        "iit_annual_bonus, iit_severance FROM payslips WHERE month = ? UNION ALL SELECT employee_id, iit, "
        "iit_annual_bonus, iit_severance FROM offcycle_payslips WHERE month = ?) GROUP BY 1", [month, month]).fetchall())


def broken(con) -> int:
    return con.execute(f"SELECT count(*) FROM offcycle_payslips WHERE {BROKEN_IDENTITY}").fetchall()[0][0] + \
        con.execute(f"SELECT count(*) FROM payslips WHERE {BROKEN_IDENTITY}").fetchall()[0][0]


def test_bonus_run_after_the_regular_run_pays_the_bonus_and_its_tax_only():
    con = november()
    pay(con, "H1", "annual_bonus", "36000", "bonus", "separate")
    run_months(con, POLICY, "2025-12")
    regular = rows(con)[("regular", "H1")]
    result = run_offcycle(con, POLICY, "2025-12", "bonus")
    assert result.run_id == "2025-12-bonus-1" and result.people == 1
    bonus = rows(con)[("2025-12-bonus-1", "H1")]
    # 36,000 ÷ 12 = 3,000 → 3 %, quick deduction 0 → 1,080.00; net 36,000 − 1,080 = 34,920.00; no
    # contributions (charged once, by the regular run); employer cost = the bonus
    assert bonus["annual_bonus"] == bonus["gross_pay"] == Decimal("36000.00")
    assert bonus["iit_annual_bonus"] == Decimal("1080.00") and bonus["iit"] == 0
    assert bonus["net_pay"] == Decimal("34920.00") and bonus["pension_employee"] == 0
    assert bonus["employer_cost"] == Decimal("36000.00")
    assert rows(con)[("regular", "H1")] == regular          # the regular payslip is not touched
    assert broken(con) == 0


def test_a_merged_bonus_is_taxed_cumulatively_with_the_regular_pay_in_either_order():
    """A merged 10,000 joins the month's cumulative income: its tax is the year's tax with it − without
    it, the same whether the bonus run comes before or after the regular run."""
    totals, splits = [], []
    for bonus_first in (True, False):
        con = november()
        pay(con, "H1", "annual_bonus", "10000", "bonus", "merged")
        if bonus_first:
            run_offcycle(con, POLICY, "2025-12", "bonus")
        run_months(con, POLICY, "2025-12")
        if not bonus_first:
            run_offcycle(con, POLICY, "2025-12", "bonus")
        totals.append(month_totals(con))
        splits.append(rows(con))
        assert broken(con) == 0
    assert totals[0] == totals[1]
    # and the same as paying it with the regular run
    con = november()
    pay(con, "H1", "annual_bonus", "10000", None, "merged")
    run_months(con, POLICY, "2025-12")
    assert month_totals(con) == totals[0]
    assert splits[0][("2025-12-bonus-1", "H1")]["iit"] > 0                  # merged: the bonus's own tax


def test_a_settlement_before_the_regular_run_pays_the_last_days_and_the_untaken_leave(settled_first):
    # the fixture: L1's 1,000 assigned to a settlement, the settlement run, then the regular run
    template, run_id = settled_first
    con = database_copy(template)
    found = rows(con)
    settled, regular = found[(run_id, "L1")], found[("regular", "L1")]
    # the whole month is in the settlement: 7 of 23 paid days of 6,830 = 2,078.70 (6,830 × 7 ÷ 23 =
    # 2,078.695… → 2,078.70), the untaken leave, the 1,000 and the month's contributions
    assert settled["base_pay"] == Decimal("2078.70") and settled["other_payments"] == Decimal("1000.00")
    assert settled["annual_leave_payout"] > 0 and settled["pension_employee"] > 0
    assert all(value == 0 for value in regular.values())    # the regular run pays them nothing more
    assert broken(con) == 0


def test_a_settlement_after_the_regular_run_pays_what_the_regular_run_did_not(settled_first):
    con = november()
    pay(con, "L1", "other", "1000", "settlement")
    run_months(con, POLICY, "2025-12")
    result = run_offcycle(con, POLICY, "2025-12", "settlement", ["L1"])
    settled = rows(con)[(result.run_id, "L1")]
    assert settled["other_payments"] == settled["gross_pay"] == Decimal("1000.00")
    assert settled["base_pay"] == 0 and settled["annual_leave_payout"] == 0 and settled["pension_employee"] == 0
    # either order: the same month in total (the fixture: the settlement before the regular run)
    other = database_copy(settled_first[0])
    assert month_totals(con) == month_totals(other)


def test_next_month_reads_the_tax_of_an_off_cycle_run_after_the_regular_run():
    """An off-cycle run after November's regular run: December's year to date starts from it."""
    con = november()
    pay(con, "H1", "other", "20000", "bonus", month="2025-11")
    # a bonus run pays every payment assigned to it, whatever its kind
    run_offcycle(con, POLICY, "2025-11", "bonus")
    ytd_after = con.execute("SELECT iit_ytd, income_ytd FROM offcycle_payslips WHERE employee_id = 'H1'").fetchall()[0]
    run_months(con, POLICY, "2025-12")
    december = con.execute("SELECT iit_ytd - iit, income_ytd FROM payslips WHERE employee_id = 'H1' AND month = '2025-12'"
                           ).fetchall()[0]
    assert december[0] == ytd_after[0]


def test_an_earlier_off_cycle_run_without_a_bonus_taxed_apart_leaves_the_separate_method_open():
    # November's off-cycle run pays 20,000 of other pay; December's bonus asks to be taxed apart:
    # allowed, the year's one bonus taxed apart (国税发〔2005〕9号 art. 3), 36,000 × 3 % = 1,080.00
    con = november()
    pay(con, "H1", "other", "20000", "bonus", month="2025-11")
    run_offcycle(con, POLICY, "2025-11", "bonus")
    pay(con, "H1", "annual_bonus", "36000", None, "separate")
    run_months(con, POLICY, "2025-12")
    method, earlier, tax = con.execute("SELECT annual_bonus_method, separate_bonus_earlier, iit_annual_bonus "
                                       "FROM payslips WHERE employee_id = 'H1' AND month = '2025-12'").fetchone()
    assert (method, earlier, tax) == ("separate", False, Decimal("1080.00"))


def test_a_bonus_taxed_apart_by_an_off_cycle_run_stays_apart_in_the_month_s_regular_run():
    # the 36,000 bonus taxed apart (1,080.00) by a bonus run before December's regular run: that
    # run is this month's, not an earlier one, so the regular run keeps the bonus apart and the
    # month's tax is the same as in the other order (the regular run first)
    bonus_first, regular_first = november(), november()
    for con in (bonus_first, regular_first):
        pay(con, "H1", "annual_bonus", "36000", "bonus", "separate")
    run_offcycle(bonus_first, POLICY, "2025-12", "bonus")
    run_months(bonus_first, POLICY, "2025-12")
    run_months(regular_first, POLICY, "2025-12")
    run_offcycle(regular_first, POLICY, "2025-12", "bonus")
    assert rows(bonus_first)[("2025-12-bonus-1", "H1")]["iit_annual_bonus"] == Decimal("1080.00")
    assert month_totals(bonus_first) == month_totals(regular_first)
    assert broken(bonus_first) == 0


def test_bad_off_cycle_runs_are_refused_and_write_nothing():
    con = november()
    before = con.execute("SELECT count(*) FROM payslips").fetchall()[0][0]
    with pytest.raises(PayrollError, match="NOPE is not on the roster"):
        run_offcycle(con, POLICY, "2025-12", "settlement", ["NOPE"])
    with pytest.raises(PayrollError, match="G1 is not employed in 2025-12"):
        gone = november(people=(HOHHOT, person("G1", "150100", "duty", 6, "PATROL", date(2018, 5, 1),
                                               leave=date(2025, 11, 20))))
        run_offcycle(gone, POLICY, "2025-12", "settlement", ["G1"])
    with pytest.raises(PayrollError, match="not a kind"):
        run_offcycle(con, POLICY, "2025-12", "payday", ["H1"])
    with pytest.raises(PayrollError, match="needs --employees"):
        run_offcycle(con, POLICY, "2025-12", "settlement", None)
    close_through(con, "2025-11")
    with pytest.raises(PayrollError, match="2025-11: the month is closed"):
        run_offcycle(con, POLICY, "2025-11", "settlement", ["H1"])
    run_offcycle(con, POLICY, "2025-12", "settlement", ["L1"])
    with pytest.raises(PayrollError, match="already settled"):
        run_offcycle(con, POLICY, "2025-12", "settlement", ["L1"])
    assert con.execute("SELECT count(*) FROM payslips").fetchall()[0][0] == before
    assert con.execute("SELECT count(*) FROM offcycle_runs").fetchall()[0][0] == 1


# ---- property: the month's total tax does not depend on the order of its runs; every run's
# payslip agrees with the scalar reference (tests/reference.py month_runs) to the fen ------------

money = lambda low, high: st.integers(low * 100, high * 100).map(lambda fen: Decimal(fen) / 100)  # noqa: E731
line = st.one_of(
    st.fixed_dictionaries({"kind": st.just("annual_bonus"), "amount": money(1, 120000),
                           "tax_method": st.sampled_from(["", "separate", "merged"])}),
    st.fixed_dictionaries({"kind": st.just("other"), "amount": money(1, 30000), "tax_method": st.just("")}),
    st.fixed_dictionaries({"kind": st.just("severance"), "amount": money(1, 400000), "tax_method": st.just("")}),
)
PEOPLE = [HOHHOT, LEAVER, person("Z1", "330100", "duty", 4, "TRAFFIC", date(2015, 1, 1), special=3000)]


@st.composite
def month_of_runs(draw):
    """Per person at most one payment per run, one annual bonus; the runs in two orders."""
    payments = {}
    for employee in PEOPLE:
        bonus_taken = False
        for run_kind in ("regular", "bonus", "settlement"):
            if run_kind == "settlement" and employee["employee_id"] != "L1":
                continue
            if draw(st.booleans()):
                drawn = draw(line)
                if drawn["kind"] == "annual_bonus":
                    if bonus_taken:
                        continue
                    bonus_taken = True
                payments[(employee["employee_id"], run_kind)] = drawn
    kinds = ["regular", "settlement"] + (["bonus"] if any(k == "bonus" for _, k in payments) else [])
    orders = draw(st.lists(st.permutations(kinds), min_size=2, max_size=2))
    return payments, orders


def _engine_month(payments, order):
    con = november(people=PEOPLE)
    for number, ((eid, run_kind), drawn) in enumerate(sorted(payments.items()), start=2):
        pay(con, eid, drawn["kind"], drawn["amount"], None if run_kind == "regular" else run_kind,
            drawn["tax_method"] or None, line=number)
    names = []
    for kind in order:
        if kind == "regular":
            run_months(con, POLICY, "2025-12")
            names.append("regular")
        else:
            names.append(run_offcycle(con, POLICY, "2025-12", kind, ["L1"] if kind == "settlement" else None).run_id)
    return con, names


@settings(max_examples=examples(1), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(month_of_runs())
def test_month_tax_is_the_same_in_any_order_and_agrees_with_the_reference(case):
    payments, orders = case
    totals = []
    tables = reference.Tables(SHIPPED_TABLES)
    for order in orders:
        con, names = _engine_month(payments, order)
        assert broken(con) == 0
        assert con.execute("SELECT count(*) FROM offcycle_payslips WHERE net_pay < 0").fetchall()[0][0] == 0
        totals.append(month_totals(con))
        # the reference: November, then each person's December in the runs' order
        november_rows = reference.compute_year(PEOPLE, {}, SHIPPED_TABLES, ["2025-11"])
        for employee in PEOPLE:
            eid = employee["employee_id"]
            runs = [(name, kind, [dict(payments[(eid, kind)], tax_method=payments[(eid, kind)]["tax_method"])]
                     if (eid, kind) in payments else [])
                    for name, kind in zip(names, order) if kind != "settlement" or eid == "L1"]
            history = [row for (e, _), row in sorted(november_rows.items()) if e == eid]
            expected = reference.month_runs(tables, reference.record_in_force(employee, "2025-12"), "2025-12", {},
                                            history, runs)
            engine_rows = rows_full(con, eid)
            for name, row in expected:
                if name != "regular" and (name, eid) not in engine_rows:
                    # a bonus run pays only the people with a payment assigned to it
                    assert all(row[c] == 0 for c in reference.OFFCYCLE_LINES), (name, eid)
                    continue
                got = engine_rows[(name, eid)]
                wrong = [f"{c}: engine {got[c]} reference {row[c]}" for c in reference.REGISTER[5:]
                         if c in got and isinstance(row.get(c), Decimal) and Decimal(got[c]) != row[c]]
                assert not wrong, f"{eid} {name} in order {order}, payments {payments}:\n" + "\n".join(wrong)
    assert totals[0] == totals[1], (orders, payments)


def rows_full(con, eid):
    cursor = con.execute("SELECT 'regular' AS run, * FROM payslips WHERE month = '2025-12' AND employee_id = ?", [eid])
    names = [d[0] for d in cursor.description]
    found = {(r[0], eid): dict(zip(names, r)) for r in cursor.fetchall()}
    cursor = con.execute("SELECT offcycle_run_id AS run, * FROM offcycle_payslips WHERE employee_id = ?", [eid])
    names = [d[0] for d in cursor.description]
    found.update({(r[0], eid): dict(zip(names, r)) for r in cursor.fetchall()})
    return found


# ---- the command line: run --off-cycle prints the run's id; export --run and explain --run -------

def _cli(capsys, *args):
    from payroll.cli import run_cli
    code = run_cli([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_command_line_runs_exports_and_explains_an_off_cycle_run(tmp_path, capsys, monkeypatch):
    (tmp_path / "db").mkdir()
    con = november(path=tmp_path / "db" / "case.duckdb")    # a file: the commands open it
    path = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchall()[0][0]
    con.execute("CREATE TABLE IF NOT EXISTS employee_finance (employee_id VARCHAR PRIMARY KEY, bank_account VARCHAR)")
    con.execute("INSERT INTO employee_finance (employee_id, bank_account) VALUES ('H1', '6222020200001234567'), "
                "('L1', '6222020200007654321')")
    pay(con, "L1", "other", "1000", "settlement")
    con.close()
    monkeypatch.chdir(tmp_path)
    db = ["--db", path, "--tables", str(SHIPPED_TABLES)]
    code, text = _cli(capsys, "run", "--month", "2025-12", *db)
    assert code == 0, text
    code, text = _cli(capsys, "run", "--month", "2025-12", "--off-cycle", "settlement", "--employees", "L1", *db)
    assert code == 0 and "run id: 2025-12-settlement-1" in text, text
    # every run its own bank file; the default is the regular run
    code, text = _cli(capsys, "export", "--what", "bank", "--month", "2025-12", "--run", "2025-12-settlement-1",
                      "--format", "csv", "--db", path)
    assert code == 0, text
    written = [p for p in tmp_path.iterdir() if "settlement" in p.name]
    assert written and "1000.00" in written[0].read_text(encoding="utf-8-sig")
    code, text = _cli(capsys, "export", "--what", "register", "--month", "2025-12", "--format", "csv",
                      "--out", tmp_path / "regular.csv", "--db", path)
    assert code == 0 and "L1" in (tmp_path / "regular.csv").read_text(encoding="utf-8-sig")
    # --run all: the month's runs added up (the tax declaration's one line per person and month)
    code, text = _cli(capsys, "export", "--what", "register", "--month", "2025-12", "--run", "all", "--format", "csv",
                      "--out", tmp_path / "all.csv", "--db", path)
    assert code == 0, text
    import csv as _csv
    with open(tmp_path / "all.csv", encoding="utf-8-sig") as handle:
        together = {row["employee_id"]: row for row in _csv.DictReader(handle)}
    with open(tmp_path / "regular.csv", encoding="utf-8-sig") as handle:
        regular_rows = {row["employee_id"]: row for row in _csv.DictReader(handle)}
    assert Decimal(together["L1"]["gross_pay"]) == Decimal(regular_rows["L1"]["gross_pay"]) + Decimal("1000.00")
    assert together["H1"] == regular_rows["H1"]
    code, text = _cli(capsys, "explain", "L1", "--month", "2025-12", "--run", "2025-12-settlement-1", *db)
    assert code == 0 and "2025-12-settlement-1 = 1,000.00" in text and "NOTE" not in text, text
    # bad input: exit 2 naming what is wrong, nothing written
    files = set(tmp_path.iterdir())
    for args, phrase in [
        (("export", "--what", "bank", "--month", "2025-12", "--run", "2025-12-bonus-9", "--db", path),
         "no such run in 2025-12"),
        (("run", "--month", "2025-12", "--off-cycle", "settlement", "--employees", "NOBODY", *db), "not on the roster"),
        (("explain", "H1", "--month", "2025-12", "--run", "2025-12-settlement-1", *db), "H1 has no payslip of that run"),
    ]:
        code, text = _cli(capsys, *args)
        assert code == 2 and phrase in text, (args, text)
    code, text = _cli(capsys, "close", "--month", "2025-12", "--db", path)
    assert code == 0, text
    code, text = _cli(capsys, "run", "--month", "2025-12", "--off-cycle", "settlement", "--employees", "H1", *db)
    assert code == 2 and "the month is closed" in text and "closes all its runs" in text
    assert set(tmp_path.iterdir()) == files


def test_retro_on_a_closed_month_with_an_off_cycle_run_pays_no_false_arrears():
    """November: regular run, then a bonus run; closed. A correction to someone else's November
    recomputes the month: the recomputed state less the bonus run equals H1's regular payslip, so H1
    gets no arrears, and the corrected person does."""
    con = november(people=PEOPLE)
    pay(con, "H1", "annual_bonus", "20000", "bonus", "merged", month="2025-11")
    run_offcycle(con, POLICY, "2025-11", "bonus")
    close_through(con, "2025-11")
    con.execute("INSERT INTO attendance (employee_id, month, overtime_workday_hours) VALUES ('Z1', '2025-11', 10)")
    run_months(con, POLICY, "2025-12")
    owed = dict(con.execute("SELECT employee_id, sum(amount) FROM arrears GROUP BY 1").fetchall())
    assert "H1" not in owed and owed.get("Z1", 0) > 0, owed
    assert broken(con) == 0


def test_a_settlement_recovers_the_balance_owed_within_the_limits_and_shows_the_rest():
    """L1 owes a balance from November (a 20,000 damages deduction takes at most 20 % of the month's
    pay: the rest is carried). The settlement recovers what the art. 16 limits allow of December's pay
    and shows the rest as still owed."""
    from payroll.db import connect as _connect
    con = _connect(":memory:")
    run_engine(SHIPPED_TABLES, [HOHHOT, LEAVER], {("L1", "2025-11"): {"deduction": Decimal("20000"),
                                                                     "deduction_kind": "damages"}},
               "2025-11", "2025-11", con=con)
    owed_before = con.execute("SELECT balance_owed FROM payslips WHERE employee_id = 'L1'").fetchall()[0][0]
    assert owed_before > 0
    result = run_offcycle(con, POLICY, "2025-12", "settlement", ["L1"])
    recovery, owed, gross, net = con.execute(
        "SELECT balance_recovery, balance_owed, gross_pay, net_pay FROM offcycle_payslips WHERE offcycle_run_id = ?",
        [result.run_id]).fetchall()[0]
    # 工资支付暂行规定 art. 16: at most 20 % of the month's pay, to the fen half-up (5,867.99 × 20 % =
    # 1,173.598 → 1,173.60)
    assert 0 < recovery <= (gross * Decimal("0.2")).quantize(Decimal("0.01"), ROUND_HALF_UP)
    assert owed == owed_before - recovery and owed > 0      # the rest still owed, on the settlement
    assert net >= 0 and broken(con) == 0


def test_the_payments_file_says_which_run_pays_a_row(tmp_path):
    from payroll.errors import InputError
    from payroll.io.payments import import_payments
    con = november()
    good = tmp_path / "payments.csv"
    good.write_text("employee_id,month,kind,amount,tax_method,note,run\n"
                    "H1,2025-12,annual_bonus,36000,separate,,bonus\nL1,2025-12,severance,30000,,,离职结算\n"
                    "H1,2025-12,other,500,,,\n", encoding="utf-8")
    import_payments(con, good)
    assert con.execute("SELECT employee_id, kind, run_kind FROM payments ORDER BY line_no").fetchall() == [
        ("H1", "annual_bonus", "bonus"), ("L1", "severance", "settlement"), ("H1", "other", None)]
    bad = tmp_path / "bad.csv"
    bad.write_text("employee_id,month,kind,amount,run\nH1,2025-12,other,5,weekly\n", encoding="utf-8")
    with pytest.raises(InputError) as refused:
        import_payments(con, bad)
    assert "bad.csv" in str(refused.value) and "row 2" in str(refused.value) and "column run" in str(refused.value)
    assert con.execute("SELECT count(*) FROM payments").fetchall()[0][0] == 3
    run_offcycle(con, POLICY, "2025-12", "bonus")
    again = tmp_path / "again.csv"
    again.write_text("employee_id,month,kind,amount\nH1,2025-12,other,5\n", encoding="utf-8")
    with pytest.raises(InputError) as refused:
        import_payments(con, again)
    assert "column month" in str(refused.value) and "paid by an off-cycle run" in str(refused.value)


# ---- arrears owed to someone who has left, paid by a settlement (issue 13 on issue 7's arrears) ----

def test_arrears_owed_to_a_leaver_are_paid_by_a_later_settlement_once(tmp_path):
    """M1 (Hohhot duty level 6, as H1) left on 2025-05-31. January–June are closed; then the pay scale
    of 150100 duty 6 is raised by 300.00 back to January (tests/test_retro.py's _raised_tables). The
    July run records M1's arrears but M1 is on no July payslip; a July settlement pays them.

    Arrears owed (retro, each closed month recomputed − paid):
      pay: base 5 × 300.00 + May's untaken-leave payout recomputed at the raised wage 55.17 = 1,555.17
      employee contributions, each month Jan–May: pension 24.00 + medical 6.00 + unemployment 1.50
        + housing fund 36.00 = 67.50; × 5 = 337.50
      employer: pension 240.00 + medical 100.50 + unemployment 7.50 + injury 3.00 + housing fund 180.00 = 531.00
    Tax (国家税务总局公告2018年第61号 art. 6), year to date of M1's May payslip: income 45,046.32,
      contributions 9,765.00, tax 308.44, 5 months employed (July is not a month employed: 25,000.00)
      income 45,046.32 + 1,555.17 = 46,601.49; contributions 9,765.00 + 337.50 = 10,102.50
      taxable 46,601.49 − 25,000.00 − 10,102.50 = 11,498.99 → 3 %, quick deduction 0: 344.9697 → 344.97
      July tax 344.97 − 308.44 = 36.53
    Net 1,555.17 − 337.50 − 36.53 = 1,181.14; employer cost 1,555.17 + 531.00 = 2,086.17."""
    from test_retro import _raised_tables
    from payroll.engine.context import Month
    from payroll.engine.offcycle import departed_owed, select_run
    from payroll.policy import load_policy
    from payroll.reports.bank import export_bank
    con = connect(":memory:")
    leaver = person("M1", "150100", "duty", 6, "PATROL", date(2018, 5, 1), leave=date(2025, 5, 31))
    run_engine(SHIPPED_TABLES, [HOHHOT, leaver], {}, "2025-01", "2025-06", con=con)
    close_through(con, "2025-06")
    raised = load_policy(_raised_tables(tmp_path))
    reported = []
    run_months(con, raised, "2025-07", retro=reported.append)
    assert reported[0].not_on_payroll == ["M1"]
    assert con.execute("SELECT count(*) FROM payslips WHERE employee_id = 'M1' AND month = '2025-07'").fetchall() \
        == [(0,)]
    result = run_offcycle(con, raised, "2025-07", "settlement", ["M1"])
    got = con.execute("SELECT arrears_pay, gross_pay, base_pay, employee_contributions, iit, net_pay, employer_cost, "
                      "income_ytd, iit_ytd, months_employed_ytd, after_regular FROM offcycle_payslips "
                      "WHERE offcycle_run_id = ?", [result.run_id]).fetchall()
    D = Decimal
    assert got == [(D("1555.17"), D("1555.17"), D("0.00"), D("337.50"), D("36.53"), D("1181.14"), D("2086.17"),
                    D("46601.49"), D("344.97"), 5, False)]
    assert broken(con) == 0
    # the run's bank file pays M1 the net; the tax declaration (--run all) carries M1's line
    con.execute("CREATE TABLE IF NOT EXISTS employee_finance (employee_id VARCHAR PRIMARY KEY, bank_account VARCHAR)")
    con.execute("INSERT INTO employee_finance (employee_id, bank_account) VALUES ('M1', '6222020200001234567')")
    select_run(con, "2025-07", result.run_id)
    bank = export_bank(con, "2025-07", "csv", tmp_path / "bank.csv")
    assert "1181.14" in (tmp_path / "bank.csv").read_text(encoding="utf-8-sig"), bank
    con.execute("DROP VIEW temp.payslips")
    select_run(con, "2025-07", "all")
    assert con.execute("SELECT iit FROM payslips WHERE employee_id = 'M1' AND month = '2025-07'").fetchall() \
        == [(D("36.53"),)]
    con.execute("DROP VIEW temp.payslips")
    # paid once: every line is marked paid by the run; a second settlement is refused, in July or later
    assert con.execute("SELECT count(*), count(*) FILTER (settled_run_id = ?) FROM arrears_settled",
                       [result.run_id]).fetchall()[0] == con.execute(
        "SELECT count(*), count(*) FROM arrears WHERE employee_id = 'M1'").fetchall()[0]
    with pytest.raises(PayrollError, match="already settled in 2025-07"):
        run_offcycle(con, raised, "2025-07", "settlement", ["M1"])
    assert departed_owed(con, Month.parse("2025-08"), ["M1"]) == []
    # explain shows the run's part although M1 has no regular payslip in July
    from payroll.reports.explain import Explainer
    explained = Explainer(con, raised).explain("M1", "2025-07")
    assert explained.amount(f"run[{result.run_id}].net_pay") == D("1181.14") and not explained.mismatches


def test_the_run_names_the_settlement_command_for_arrears_owed_to_leavers():
    from payroll.cli import _retro_text
    from payroll.engine.retro import RetroResult
    text = _retro_text(RetroResult(["2025-01", "2025-06"], 50, Decimal("3355.17"), ["M1", "N1"]), "2025-07")
    assert "payroll run --month 2025-07 --off-cycle settlement --employees M1,N1" in text
    assert "by hand" not in text


def test_a_leavers_arrears_in_a_new_tax_year_start_from_zero_and_recover_the_balance_within_the_limits():
    """departed_payslip alone (no database). The leaver's last payslip is of 2024-11; arrears paid in
    2025-07: no payslip in 2025, so the year to date starts at 0 (国家税务总局公告2018年第61号 art. 6)
    and no month is employed in 2025 (basic deduction 0). Owed: base pay 1,500.00, pension 120.00.
      taxable 1,500.00 − 0 − 120.00 = 1,380.00 → 3 %: tax 41.40
      pay after tax and contributions 1,500.00 − 41.40 − 120.00 = 1,338.60
      art. 16 room: 20 % × 1,500.00 = 300.00 (≤ 1,338.60; no paid day, no minimum-wage floor)
      balance owed 500.00 → recovered 300.00, still owed 200.00; net 1,338.60 − 300.00 = 1,038.60."""
    from payroll.engine.context import Month
    from payroll.engine.offcycle import departed_payslip
    # the shipped 预扣率表一 and national figures, in fen and ppm (tables/iit_brackets.csv, national_parameters.csv)
    constants = {"iit_thresholds": [0, 3_600_000, 14_400_000, 30_000_000, 42_000_000, 66_000_000, 96_000_000],
                 "iit_rates": [30_000, 100_000, 200_000, 250_000, 300_000, 350_000, 450_000],
                 "iit_quick_deductions": [0, 252_000, 1_692_000, 3_192_000, 5_292_000, 8_592_000, 18_192_000],
                 "iit_basic_deduction_monthly": 500_000, "iit_no19_annual_deduction": 6_000_000,
                 "deduction_limited_share": 200_000}
    last = {"month": "2024-11", "income_ytd": Decimal("90000"), "contributions_ytd": Decimal("20000"),
            "special_deduction_ytd": Decimal(0), "iit_ytd": Decimal("900"), "months_employed_ytd": 11,
            "no19_applies": False, "balance_owed": Decimal("500.00")}
    got = departed_payslip(last, {"base_pay": 150_000, "pension_employee": 12_000}, Month.parse("2025-07"), constants)
    assert (got["income_ytd"], got["basic_deduction_ytd"], got["taxable_income_ytd"]) == (150_000, 0, 138_000)
    assert (got["iit"], got["balance_recovery"], got["balance_owed"], got["net_pay"]) == (4_140, 30_000, 20_000, 103_860)
    assert got["net_pay"] == got["gross_pay"] - got["employee_contributions"] - got["iit"] - got["balance_recovery"]


# January too: the year's first month is inside the year (month >= 'YYYY-01'); and a bonus of one
# yuan taxed apart is the year's one bonus taxed apart as much as 12,000 is
@pytest.mark.parametrize("first, second, amount", [("2025-10", "2025-11", "12000.00"), ("2025-01", "2025-02", "1.00")])
def test_a_bonus_taxed_apart_by_an_earlier_off_cycle_run_blocks_a_second_one(first, second, amount):
    """国税发〔2005〕9号 art. 3: the separate method once a year, counting off-cycle runs. The first
    month's bonus run pays a bonus taxed apart; a second one in the next month's regular run is
    refused with nothing written, and the same bonus merged is paid."""
    con = connect(":memory:")
    run_engine(SHIPPED_TABLES, [HOHHOT], {}, first, first, con=con)
    pay(con, "H1", "annual_bonus", amount, "bonus", "separate", month=first)
    run_offcycle(con, POLICY, first, "bonus")
    assert rows(con, first)[(f"{first}-bonus-1", "H1")]["annual_bonus"] == Decimal(amount)
    pay(con, "H1", "annual_bonus", "5000", None, "separate", month=second)
    with pytest.raises(PayrollError, match="second annual bonus taxed separately"):
        run_months(con, POLICY, second)
    assert con.execute("SELECT count(*) FROM payslips WHERE month = ?", [second]).fetchall()[0][0] == 0
    con.execute("UPDATE payments SET tax_method = 'merged' WHERE month = ?", [second])
    run_months(con, POLICY, second)
    paid = rows(con, second)[("regular", "H1")]
    assert paid["annual_bonus"] == Decimal("5000.00") and paid["iit_annual_bonus"] == 0
