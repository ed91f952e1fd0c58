"""Retro pay: a change reaching into closed months is paid as arrears in the open month.

The independent check: the arrears of each person, closed month and component must equal, to the
fen, a fresh run of the same months on a fresh database with the corrected data, minus what was
paid. A second run of the same month adds nothing.
"""
from __future__ import annotations

import csv
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from conftest import ROSTER, SHIPPED_TABLES, database_copy, database_template, examples, insert_roster
from identities import BROKEN_IDENTITY

from payroll.db import connect, scalar
from payroll.engine.closing import close_through
from payroll.engine.retro import arrears_for
from payroll.engine.run import run_months
from payroll.errors import PayrollError
from payroll.io.importer import import_files
from payroll.policy import load_policy
from payroll.rules.arrears import COMPONENTS, PAY_ARREARS

CLOSED = [f"2025-{m:02d}" for m in range(1, 7)]
EMPLOYEE_HEADER = ["employee_id", "name", "region_code", "unit", "category", "level", "post", "hire_date",
                   "leave_date", "special_deduction", "contribution_base"]


def _roster_db(path=":memory:"):
    con = connect(path)
    for row in ROSTER:
        con.execute(f"INSERT INTO employees ({', '.join(EMPLOYEE_HEADER)}) VALUES ({', '.join('?' * 11)})",
                    list(row))
    return con


@pytest.fixture(scope="module")
def ran_through(policy):
    """ran_through(last, closed=False): the template of a database of ROSTER run on the shipped
    tables from January through `last` (and closed through `last` if `closed`), built once per
    module for the tests that start there; each test takes a `database_copy` of its own. The
    templates are built on one another, so the months are run once per module: January–February,
    then March on that, then April (closed through it) on March closed, then May–June."""
    built = {}
    # (last, closed): (the template it starts from, the first month it runs through `last`, if any)
    chain = {("2025-02", False): (None, "2025-01"), ("2025-02", True): (("2025-02", False), None),
             ("2025-03", False): (("2025-02", False), "2025-03"), ("2025-03", True): (("2025-03", False), None),
             ("2025-04", True): (("2025-03", True), "2025-04"), ("2025-06", True): (("2025-04", True), "2025-05")}

    def template(last, closed=False):
        key = (last, closed)
        if key not in built:
            start, first = chain[key]

            def build(con):
                if start is None:
                    insert_roster(con)
                if first is not None:
                    run_months(con, policy, first, last)
                if closed:
                    close_through(con, last)
            built[key] = database_template(build, start=template(*start) if start else None)
        return built[key]
    return template


@pytest.fixture(scope="module")
def closed_through(ran_through):
    """closed_through(last): the template of a database of ROSTER run on the shipped tables from
    January and closed through `last`."""
    return lambda last: ran_through(last, closed=True)


def _raised_tables(tmp_path: Path, region="150100", category="duty", level="6", raise_by=300) -> Path:
    """The shipped tables with one pay-scale row raised: a raise published later, effective from
    the row's own date (so it reaches back into the closed months)."""
    tables = tmp_path / "tables"
    shutil.copytree(SHIPPED_TABLES, tables)
    path = tables / "pay_scale.csv"
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    hits = 0
    for row in rows:
        if (row["region_code"], row["category"], row["level"]) == (region, category, level):
            row["base_pay"] = str(Decimal(row["base_pay"]) + raise_by)
            hits += 1
    assert hits >= 1
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return tables


@pytest.fixture(scope="module")
def raised_dir(tmp_path_factory) -> Path:
    """_raised_tables' default (H1's scale +300), written once for the module's tests."""
    return _raised_tables(tmp_path_factory.mktemp("raised"))


@pytest.fixture(scope="module")
def raised(raised_dir):
    """The policy of raised_dir, loaded once (and so installed once)."""
    return load_policy(raised_dir)


@pytest.fixture(scope="module")
def july_raised(closed_through, raised) -> Path:
    """The template of January–June run and closed on the shipped tables, then July run on the
    raised ones (the arrears paid in July): built once for the tests that read that July."""
    return database_template(lambda con: run_months(con, raised, "2025-07"), start=closed_through(CLOSED[-1]))


@pytest.fixture(scope="module")
def march_raised(closed_through, raised) -> Path:
    """The template of January–February run and closed on the shipped tables, then March run on
    the raised ones (600.00 of arrears paid in March), for the tests that read that March."""
    return database_template(lambda con: run_months(con, raised, "2025-03"), start=closed_through("2025-02"))


def _payslips(con, months) -> dict:
    columns = ", ".join(COMPONENTS)
    rows = con.execute(f"SELECT employee_id, month, {columns} FROM payslips WHERE list_contains(?, month)",
                       [months]).fetchall()
    return {(r[0], r[1]): dict(zip(COMPONENTS, r[2:])) for r in rows}


def _arrears_by_key(con, month_paid) -> dict:
    rows = con.execute("SELECT employee_id, month_earned, component, sum(amount) FROM arrears "
                       "WHERE month_paid = ? GROUP BY ALL", [month_paid]).fetchall()
    return {(e, m, c): a for e, m, c, a in rows}


def _expected_differences(fresh: dict, paid: dict) -> dict:
    expected = {}
    for key in set(fresh) | set(paid):
        for component in COMPONENTS:
            diff = (fresh.get(key, {}).get(component) or 0) - (paid.get(key, {}).get(component) or 0)
            if diff:
                expected[(key[0], key[1], component)] = diff
    return expected


def test_a_closed_month_refuses_a_run(policy, ran_through):
    con = database_copy(ran_through("2025-03"))          # January–March run, none closed
    assert close_through(con, "2025-02") == ["2025-01", "2025-02"]
    with pytest.raises(PayrollError, match=r"cannot run 2025-02: 2025-02 is closed .*run --month 2025-03"):
        run_months(con, policy, "2025-02")
    with pytest.raises(PayrollError, match=r"2025-01 … 2025-02 \(2 months\) are closed"):
        run_months(con, policy, "2025-01", "2025-04")
    with pytest.raises(PayrollError, match="already closed"):
        close_through(con, "2025-01")
    with pytest.raises(PayrollError, match="2025-05 has not been run"):
        close_through(con, "2025-05")
    run_months(con, policy, "2025-03", "2025-04")     # open months still run


def test_a_raise_back_to_january_is_paid_as_arrears_in_july(policy, closed_through, raised, july_raised):
    before = database_copy(closed_through(CLOSED[-1]))  # January–June run and closed
    paid = _payslips(before, CLOSED)
    closed_before = before.execute("SELECT * FROM payslips ORDER BY month, employee_id").fetchall()

    # raised: H1 is 150100 duty level 6: +300 a month. The same database with July run on the
    # raised tables (the fixture july_raised: run_months(con, raised, "2025-07"))
    con = database_copy(july_raised)

    # the independent reference: a fresh database run on the raised tables from January
    fresh_con = _roster_db()
    run_months(fresh_con, raised, CLOSED[0], CLOSED[-1])
    expected = _expected_differences(_payslips(fresh_con, CLOSED), paid)
    got = _arrears_by_key(con, "2025-07")
    assert got == expected
    # the raise reaches H1 only; every closed month of H1 carries 300.00 of base pay arrears
    # (H1 is employed all half-year: no proration), and overtime base/contributions follow
    assert {k[0] for k in got} == {"H1"}
    assert [got[("H1", m, "base_pay")] for m in CLOSED] == [Decimal("300.00")] * 6

    # the closed payslips are untouched
    assert con.execute("SELECT * FROM payslips WHERE month <= '2025-06' ORDER BY month, employee_id"
                       ).fetchall() == closed_before

    # July's payslip carries the arrears: 6 × 300 of pay, taxed in July under cumulative withholding
    july = con.execute("SELECT arrears_pay, gross_pay, base_pay, income_ytd, pension_employee "
                       "FROM payslips WHERE employee_id = 'H1' AND month = '2025-07'").fetchall()[0]
    arrears_pay, gross, base, income_ytd, pension = july
    assert arrears_pay == sum(v for (e, m, c), v in got.items() if c in PAY_ARREARS) == Decimal("1800.00")
    paid_gross = sum(p["base_pay"] + p["seniority_pay"] + p["allowances"] + p["high_risk_allowance"]
                     + p["night_shift_pay"] + p["overtime_pay"] + p["floor_topup"] + p["bonus"]
                     for (e, m), p in paid.items() if e == "H1")
    assert income_ytd == paid_gross + gross                  # arrears are income of July
    assert base == Decimal("7130.00")                        # July itself at the raised scale
    assert not scalar(con, f"SELECT count(*) FROM payslips WHERE {BROKEN_IDENTITY}")

    # running July again adds nothing
    lines, total = con.execute("SELECT count(*), sum(amount) FROM arrears").fetchall()[0]
    july_before = con.execute("SELECT * EXCLUDE (run_id) FROM payslips WHERE month = '2025-07' "
                              "ORDER BY employee_id").fetchall()
    run_months(con, raised, "2025-07")
    assert con.execute("SELECT count(*), sum(amount) FROM arrears").fetchall()[0] == (lines, total)
    assert con.execute("SELECT * EXCLUDE (run_id) FROM payslips WHERE month = '2025-07' "
                       "ORDER BY employee_id").fetchall() == july_before
    # and August pays none again
    run_months(con, raised, "2025-08")
    assert scalar(con, "SELECT count(*) FROM arrears WHERE month_paid = '2025-08'") == 0
    assert scalar(con, "SELECT arrears_pay FROM payslips WHERE employee_id = 'H1' AND month = '2025-08'") == 0

    # explain sees each line with the month it was earned in
    lines = arrears_for(con, "H1", "2025-07")
    assert [(x.month_earned, x.amount) for x in lines if x.component == "base_pay"] == \
        [(m, Decimal("300.00")) for m in CLOSED]


def test_the_arrears_trace_line_shows_in_the_month_paid(policy, march_raised, raised):
    from payroll.engine.run import prepare_connection
    from payroll.engine.trace import trace_person
    con = database_copy(march_raised)       # January–February run and closed, March run on the raised tables
    prepare_connection(con, raised, [2025])
    lines = {line.name: line for line in trace_person(con, raised, "H1", "2025-03")}
    assert lines["arrears_pay"].shown == "600.00"            # 2 closed months × 300
    assert "arrears 600.00" in lines["gross_pay"].formula
    from payroll.engine.retro import arrears_trace_lines
    earned = {line.name: line for line in arrears_trace_lines(con, "H1", "2025-03")}
    assert earned["arrears[2025-01].base_pay"].shown == earned["arrears[2025-02].base_pay"].shown == "300.00"
    assert earned["arrears[2025-02].base_pay"].label_zh == "补发层级工资（2025-02）"
    # the contribution lines of March include the arrears of that fund, and say so
    pension = sum(line.raw for name, line in earned.items() if name.endswith(".pension_employee"))
    assert f"arrears {pension / 100:,.2f}" in lines["pension_employee"].formula


def _write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_late_overtime_and_a_back_dated_promotion(tmp_path, policy, closed_through):
    db = tmp_path / "p.duckdb"
    con = database_copy(closed_through("2025-04"), db)  # January–April run and closed
    paid = _payslips(con, CLOSED[:4])

    # late overtime for March, and O1 (150600 civilian level 5) promoted to level 4 from February
    attendance = _write_csv(tmp_path / "att.csv", ["employee_id", "month", "overtime_restday_hours"],
                            [["Z1", "2025-03", "16"]])
    o1 = next(r for r in ROSTER if r[0] == "O1")
    promoted = [o1[0], o1[1], o1[2], o1[3], o1[4], 4, o1[6], o1[7], "", o1[9], "", "2025-02-01"]
    employees = _write_csv(tmp_path / "emp.csv", EMPLOYEE_HEADER + ["effective_from"], [promoted])
    summary = import_files(con, policy, employees=employees, attendance=attendance)
    assert "closed month(s) 2025-03" in str(summary)
    assert scalar(con, "SELECT level FROM employees WHERE employee_id = 'O1'") == 4
    assert con.execute("SELECT valid_from, valid_until, level FROM employee_history").fetchall() == \
        [(date(1, 1, 1), date(2025, 2, 1), 5)]
    run_months(con, policy, "2025-05")

    # the reference: a fresh database that knew from the start that O1 was level 5 in January, 4 after
    fresh = _roster_db()
    fresh.execute("INSERT INTO employee_history SELECT employee_id, DATE '0001-01-01', DATE '2025-02-01', "
                  "* EXCLUDE (employee_id) FROM employees WHERE employee_id = 'O1'")
    fresh.execute("UPDATE employees SET level = 4 WHERE employee_id = 'O1'")
    fresh.execute("INSERT INTO attendance (employee_id, month, overtime_restday_hours) VALUES ('Z1', '2025-03', 16)")
    run_months(fresh, policy, "2025-01", "2025-04")
    expected = _expected_differences(_payslips(fresh, CLOSED[:4]), paid)
    got = _arrears_by_key(con, "2025-05")
    assert got == expected
    assert got[("Z1", "2025-03", "overtime_pay")] > 0
    assert {m for (e, m, c) in got if e == "O1"} == {"2025-02", "2025-03", "2025-04"}
    assert ("Z1", "2025-03", "overtime_pay") in got and not any(e == "Z1" and m != "2025-03" for e, m, c in got)
    # May itself is at level 4
    assert scalar(con, "SELECT level FROM payslips WHERE employee_id = 'O1' AND month = '2025-05'") == 4


@pytest.mark.slow     # a year run twice; CI: the fixed arrears cases and test_reference_reach's random closed months
def test_a_year_with_a_close_after_june_equals_the_year_run_month_by_month(policy):
    straight = _roster_db()
    for month in range(1, 13):
        run_months(straight, policy, f"2025-{month:02d}")
    closed = _roster_db()
    run_months(closed, policy, "2025-01", "2025-06")
    close_through(closed, "2025-06")
    run_months(closed, policy, "2025-07", "2025-12")
    query = "SELECT * EXCLUDE (run_id) FROM payslips ORDER BY month, employee_id"
    assert straight.execute(query).fetchall() == closed.execute(query).fetchall()
    assert scalar(closed, "SELECT count(*) FROM arrears") == 0
    assert scalar(closed, "SELECT count(*) FROM payslips") == 12 * 4 + 2   # N1 leaves in February


def _reference_employees() -> list[dict]:
    people = []
    for eid, name, region, unit, category, level, post, hire, leave, special, base in ROSTER:
        people.append(dict(employee_id=eid, name=name, region_code=region, unit=unit, category=category,
                           level=level, post=post, hire_date=date.fromisoformat(hire),
                           leave_date=date.fromisoformat(leave) if leave else None, service_start=None,
                           special_deduction=Decimal(special), contribution_base=Decimal(base) if base else None))
    return people


def test_arrears_and_the_july_payslip_match_the_scalar_reference(policy, july_raised, raised_dir):
    """Independent of the engine: the Decimal reference computes January–June on the old and on the
    raised tables; their difference is the arrears, and July is the reference month with those
    arrears, after the paid (old) months: tax, contributions and net to the fen."""
    import reference
    con = database_copy(july_raised)       # January–June run and closed, July run on the raised tables

    people = _reference_employees()
    old = reference.compute_year(people, {}, SHIPPED_TABLES, CLOSED)
    new = reference.compute_year(people, {}, raised_dir, CLOSED)
    expected = _expected_differences(new, old)
    assert _arrears_by_key(con, "2025-07") == expected

    tables = reference.Tables(raised_dir)
    engine_july = con.execute("SELECT * FROM payslips WHERE month = '2025-07'").df().set_index("employee_id")
    for person in people:
        if not reference.is_active(person, "2025-07"):
            continue
        owed = {}
        for (e, m, component), amount in expected.items():
            if e == person["employee_id"]:
                owed[component] = owed.get(component, Decimal("0.00")) + amount
        history = [old[(person["employee_id"], m)] for m in CLOSED if (person["employee_id"], m) in old]
        want = reference.compute_month(tables, person, "2025-07", {}, history, owed)
        got = engine_july.loc[person["employee_id"]]
        for column in reference.REGISTER[5:]:
            if isinstance(want[column], str):            # annual_bonus_method (issue 13)
                value = got[column]
            else:
                value = bool(got[column]) if isinstance(want[column], bool) else Decimal(str(got[column]))
            assert value == want[column], (person["employee_id"], column)
    # H1's July: 1800.00 arrears of base pay on top of its own month, all of it taxed in July
    assert Decimal(str(engine_july.loc["H1", "arrears_pay"])) == Decimal("1800.00")


def test_a_withdrawn_raise_is_taken_back_and_the_net_arrears_are_zero(policy, raised, closed_through):
    """补扣: the raise paid as arrears in July is withdrawn before August (tables back as they were):
    August takes back exactly what July paid for the closed months, line by line."""
    con = database_copy(closed_through("2025-03"))      # January–March run and closed
    run_months(con, raised, "2025-04")
    close_through(con, "2025-04")                       # April itself was paid at the raised scale
    paid_in_april = _arrears_by_key(con, "2025-04")
    assert paid_in_april[("H1", "2025-01", "base_pay")] == Decimal("300.00")
    run_months(con, policy, "2025-05")                  # the original tables again
    taken_back = _arrears_by_key(con, "2025-05")
    # January–March: the April lines reversed; April (paid raised, now recomputed without): −300
    assert {k: v for k, v in taken_back.items() if k[1] != "2025-04"} == {k: -v for k, v in paid_in_april.items()}
    assert taken_back[("H1", "2025-04", "base_pay")] == Decimal("-300.00")
    totals = con.execute("SELECT month_earned, component, sum(amount) FROM arrears WHERE employee_id = 'H1' "
                         "AND month_earned < '2025-04' GROUP BY ALL HAVING sum(amount) <> 0").fetchall()
    assert totals == []
    assert scalar(con, "SELECT arrears_pay FROM payslips WHERE employee_id = 'H1' AND month = '2025-05'") \
        == Decimal("-1200.00")                           # 4 months × −300
    assert not scalar(con, f"SELECT count(*) FROM payslips WHERE {BROKEN_IDENTITY}")


def test_arrears_of_someone_who_has_left_are_recorded_and_reported(tmp_path, policy, closed_through):
    """N1 (320600 duty level 7) left on 2025-02-20: a raise back to January is owed to N1 but N1 has
    no March payslip. The lines are kept and the run says who (a documented limit: pay off-cycle)."""
    con = database_copy(closed_through("2025-02"))      # January–February run and closed
    raised = load_policy(_raised_tables(tmp_path, region="320600", category="duty", level="7", raise_by=100))
    reported = []
    run_months(con, raised, "2025-03", retro=reported.append)
    assert reported and reported[0].not_on_payroll == ["N1"]
    assert reported[0].months_recomputed == ["2025-01", "2025-02"]
    # January whole: +100.00; February prorated by the paid days employed (engine's own proration)
    january, february = (scalar(con, "SELECT amount FROM arrears WHERE employee_id = 'N1' AND month_earned = ? "
                                      "AND component = 'base_pay'", [m]) for m in ("2025-01", "2025-02"))
    assert january == Decimal("100.00") and Decimal(0) < february < Decimal("100.00")
    assert scalar(con, "SELECT count(*) FROM payslips WHERE employee_id = 'N1' AND month = '2025-03'") == 0


ROSTER_IDS = [row[0] for row in ROSTER]


@given(changes=st.lists(st.tuples(st.sampled_from(ROSTER_IDS), st.sampled_from(CLOSED[:4]),
                                  st.sampled_from(["overtime_workday_hours", "overtime_holiday_hours", "bonus",
                                                   "unpaid_leave_days", "night_shifts"]),
                                  st.integers(min_value=0, max_value=20)),
                        min_size=1, max_size=4, unique_by=lambda c: (c[0], c[1], c[2])),
       second_round=st.booleans())
@pytest.mark.slow     # CI: test_reference_reach's random closed-month changes against the reference
@settings(max_examples=examples(3), deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_late_attendance_property(policy, changes, second_round):
    """Any late attendance for closed months: arrears paid in May equal, to the fen, a fresh run that
    had the corrected attendance from the start minus what was paid. With a second round of the same
    corrections imported again, June adds nothing."""
    con = _roster_db()
    run_months(con, policy, CLOSED[0], CLOSED[3])
    close_through(con, CLOSED[3])
    paid = _payslips(con, CLOSED[:4])
    fresh = _roster_db()
    for eid, month, column, value in changes:
        for target in (con, fresh):
            target.execute(f"INSERT INTO attendance (employee_id, month, {column}) VALUES (?, ?, ?) "
                           f"ON CONFLICT DO UPDATE SET {column} = excluded.{column}", [eid, month, value])
    run_months(con, policy, "2025-05")
    run_months(fresh, policy, CLOSED[0], CLOSED[3])
    assert _arrears_by_key(con, "2025-05") == _expected_differences(_payslips(fresh, CLOSED[:4]), paid)
    if second_round:
        for eid, month, column, value in changes:          # the same values again: no change
            con.execute(f"UPDATE attendance SET {column} = ? WHERE employee_id = ? AND month = ?",
                        [value, eid, month])
        run_months(con, policy, "2025-06")
        assert scalar(con, "SELECT count(*) FROM arrears WHERE month_paid = '2025-06'") == 0


def test_explain_shows_each_arrears_line_with_the_month_it_was_earned(tmp_path, policy, march_raised, raised):
    """`payroll explain` of the month paid lists the arrears per month earned, after the month's own
    lines, and still matches the stored payslip (arrears_pay is part of gross pay)."""
    from payroll.reports.explain import Explainer, explanation_text
    db = tmp_path / "retro.duckdb"
    # January–February run and closed, March run on the raised tables, in a file of its own
    database_copy(march_raised, db).close()
    explanation = Explainer(connect(str(db), read_only=True), raised).explain("H1", "2025-03")
    assert not explanation.mismatches
    assert explanation.amount("arrears_pay") == Decimal("600.00")       # 2 closed months × 300
    assert explanation.amount("arrears[2025-01].base_pay") == Decimal("300.00")
    assert explanation.amount("arrears[2025-02].base_pay") == Decimal("300.00")
    text = explanation_text(explanation)
    assert "补发层级工资（2025-01）" in text and "补发层级工资（2025-02）" in text
