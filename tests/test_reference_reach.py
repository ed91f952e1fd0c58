"""The engine against the scalar reference where the first comparisons did not reach
(research/test-audit.md §2.3): records changing during the year, injuries with a base derived
from a full prior year, the minimum-wage top-up of the disability allowance, every tax bracket
(and exactly at each threshold), and arrears over random changes to closed months.

Each property is backed by explicit cases, so every branch is reached in every CI run;
tests/test_branches_reached.py counts them.
"""
from __future__ import annotations

import shutil
import tempfile
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import branches
import reference
from conftest import examples, policy_for, run_engine
from hypothesis import given, settings
from hypothesis import strategies as st
from test_reference_vs_engine import (POSTS, SLOW_OK, TABLES, attendance_row, check_identities, diff_rows,
                                      employee, money)

ZERO = Decimal("0.00")
BEGINNING = date(1, 1, 1)
HISTORY_COLUMNS = ("employee_id", "valid_from", "valid_until", "name", "region_code", "unit", "category",
                   "level", "post", "hire_date", "leave_date", "service_start", "special_deduction",
                   "contribution_base")


# ---- running both sides ------------------------------------------------------------------------

def store_history(con, employees: list[dict]) -> list[dict]:
    """Put each person's superseded records in employee_history; return the current records."""
    con.execute("DELETE FROM employee_history")
    current = []
    for person in employees:
        versions = reference.record_versions(person)
        for since, until, record in versions[:-1]:
            values = dict(record, valid_from=since or BEGINNING, valid_until=until,
                          special_deduction=record.get("special_deduction") or ZERO)
            con.execute(f"INSERT INTO employee_history ({', '.join(HISTORY_COLUMNS)}) VALUES "
                        f"({', '.join('?' * len(HISTORY_COLUMNS))})", [values[c] for c in HISTORY_COLUMNS])
        current.append(versions[-1][2])
    return current


def store_injuries(con, employees: list[dict]) -> None:
    for person in employees:
        injury = person.get("injury")
        if injury:
            con.execute("INSERT INTO events (employee_id, event_date, kind, disability_grade, stoppage_months, "
                        "work_arranged) VALUES (?, ?, 'injury', ?, ?, ?)",
                        [person["employee_id"], injury["event_date"], injury["disability_grade"],
                         injury["stoppage_months"], injury["work_arranged"]])


def run_both(tables, employees, attendance, months, source: str):
    from payroll.db import connect
    con = connect(":memory:")
    store_injuries(con, employees)
    current = store_history(con, employees)
    engine_rows = run_engine(tables, current, attendance, months[0], months[-1], con=con)
    reference_rows = reference.compute_year(employees, attendance, tables, months)
    problems = []
    if set(engine_rows) != set(reference_rows):
        problems.append(f"  payslips only in the reference: {sorted(set(reference_rows) - set(engine_rows))}; "
                        f"only in the engine: {sorted(set(engine_rows) - set(reference_rows))}")
    for key in sorted(set(engine_rows) & set(reference_rows)):
        problems += diff_rows(key, engine_rows[key], reference_rows[key])
        problems += check_identities(key, engine_rows[key])
    assert not problems, f"{source} {months[0]}..{months[-1]}\n" + "\n".join(problems[:40]) + "\n" + \
        "\n".join(f"  {e}" for e in employees)
    branches.record(source, reference_rows, employees, tables)
    return engine_rows, reference_rows


def person(eid, region="100100", category="duty", level=3, post="PATROL", hire=date(2015, 3, 2), leave=None,
           special=ZERO, base=None, **extra) -> dict:
    return dict(employee_id=eid, name=eid, region_code=region, unit="U1", category=category, level=level, post=post,
                hire_date=hire, leave_date=leave, service_start=None, special_deduction=special,
                contribution_base=base, **extra)


# ---- tables where the disability allowance needs the minimum-wage top-up -------------------------

@lru_cache(maxsize=None)
def topup_tables() -> Path:
    """tables_simple with a high minimum wage for city B (100200): 4,000 from 2024, below the
    average wage 8,000 (national row), so 本人工资 in [4,800, 24,000] gives 0.6 × 本人工资 below the
    minimum wage for 本人工资 < 6,666.67 and 0.7 × 本人工资 for 本人工资 < 5,714.29."""
    directory = Path(tempfile.mkdtemp(prefix="tables_topup_")) / "tables"
    shutil.copytree(TABLES, directory)
    with open(directory / "minimum_wage.csv", "a", encoding="utf-8") as handle:
        handle.write("100200,2024-01-01,4000,test: city B high minimum wage (allowance top-up)\n")
    return directory


# ---- records changing during the year ------------------------------------------------------------

CHANGES = {
    "special_deduction": st.sampled_from([ZERO, Decimal(1000), Decimal(2000), Decimal("3500.50")]),
    "level": st.integers(1, 5),
    "region_code": st.sampled_from(["100100", "100200", "100000"]),
    "contribution_base": st.one_of(st.none(), money(3000, 20000)),
    "unit": st.sampled_from(["U1", "U2"]),
}


@st.composite
def record_changes(draw, first: date, last: date):
    """1–3 dated changes of the record (any day: a change on the 15th applies from next month)."""
    out = []
    for _ in range(draw(st.integers(1, 3))):
        day = first + timedelta(days=draw(st.integers(0, (last - first).days)))
        fields = draw(st.lists(st.sampled_from(sorted(CHANGES)), min_size=1, max_size=3, unique=True))
        out.append((day, {f: draw(CHANGES[f]) for f in fields}))
    days = [d for d, _ in out]
    return [c for c in out if days.count(c[0]) == 1]          # one change per day


@st.composite
def changing_scenario(draw):
    months = reference.month_range(draw(st.sampled_from(["2024-11", "2024-12", "2025-01"])), "2025-03")
    window = (date(int(months[0][:4]), int(months[0][5:7]), 1), date(2025, 3, 31))
    employees = []
    for i in range(draw(st.integers(1, 6))):
        e = draw(employee(f"C{i}", window=window))
        if draw(st.integers(0, 9)) < 7:
            e["changes"] = draw(record_changes(window[0] + timedelta(days=1), window[1]))
        employees.append(e)
    attendance = {}
    for e in employees:
        for month in months:
            if reference.is_active(e, month) and draw(st.integers(0, 9)) < 3:
                attendance[(e["employee_id"], month)] = draw(attendance_row)
    return employees, attendance, months


# CI: 2 random cases each here (every branch is reached by the fixed cases below them:
# tests/test_branches_reached.py), the injuries over a year and the brackets 1; the thorough tier 2,000
@settings(max_examples=examples(2), **SLOW_OK)
@given(changing_scenario())
def test_records_changing_during_the_year_match_the_reference(case):
    run_both(TABLES, *case, source="record_changes")


def test_fixed_record_changes():
    """Special deduction, level, region and declared base changing on dated records.
    A1: special deduction 1,000 → 3,000 from 2025-02-01 (YTD = 1,000 + 3,000 + 3,000 in March, not
    3 × 3,000, the audit's M26); level 3 → 4 on 2025-01-15 (from February); region 100100 → 100200
    from 2025-03-01. A2: declared base 6,000 → 12,000 (above the ceiling) from 2025-02-01."""
    a1 = person("A1", special=Decimal(1000), changes=[
        (date(2025, 2, 1), {"special_deduction": Decimal(3000)}), (date(2025, 1, 15), {"level": 4}),
        (date(2025, 3, 1), {"region_code": "100200"})])
    a2 = person("A2", base=Decimal(6000), changes=[(date(2025, 2, 1), {"contribution_base": Decimal(12000)})])
    _, rows = run_both(TABLES, [a1, a2], {}, reference.month_range("2025-01", "2025-03"), "record_changes_fixed")
    assert rows[("A1", "2025-03")]["special_deduction_ytd"] == Decimal("7000.00")     # 1,000 + 3,000 + 3,000
    assert [rows[("A1", m)]["level"] for m in ("2025-01", "2025-02")] == [3, 4]
    assert rows[("A1", "2025-03")]["region_code"] == "100200"
    assert rows[("A2", "2025-02")]["contribution_wage"] == Decimal("12000.00")


# ---- injuries over a full prior year, derived 本人工资, the minimum-wage top-up -----------------

@st.composite
def injured_year_scenario(draw):
    tables = draw(st.sampled_from([TABLES, topup_tables()]))
    # from September: a previous-year base over last year's payslips with the allowance in them (F1)
    # in January; the full twelve-month year is test_fixed_injuries_with_derived_base_and_topup's
    months = reference.month_range("2024-09", draw(st.sampled_from(["2025-01", "2025-02"])))
    window = (date(2024, 9, 1), date(2025, 2, 28))
    employees = []
    for i in range(draw(st.integers(1, 5))):
        e = draw(employee(f"J{i}", window=window, regions=("100100", "100200", "100200")))
        if draw(st.integers(0, 9)) < 7:
            e["leave_date"] = None
            paid_from = max(e["hire_date"], window[0]).replace(day=1)
            month_after = (paid_from + timedelta(days=32)).replace(day=1)
            latest = min(window[1], (paid_from + timedelta(days=366)).replace(day=1) - timedelta(days=1))
            if month_after <= latest:
                e["injury"] = {
                    "event_date": month_after + timedelta(days=draw(st.integers(0, (latest - month_after).days))),
                    "disability_grade": draw(st.one_of(st.sampled_from([5, 6, 5, 6]), st.none(), st.integers(1, 10))),
                    "stoppage_months": draw(st.integers(0, 3)),
                    "work_arranged": draw(st.integers(0, 3)) == 0,
                }
        employees.append(e)
    return tables, employees, {}, months


@settings(max_examples=examples(1), **SLOW_OK)
@given(injured_year_scenario())
def test_injuries_over_a_full_prior_year_match_the_reference(case):
    tables, employees, attendance, months = case
    run_both(tables, employees, attendance, months, source="injuries_year")


def test_fixed_injuries_with_derived_base_and_topup():
    """T5: city B on the top-up tables, level 5 civilian (base ≈ the SI floor), grade 6, injured
    2024-06-03, one stoppage month: from July the allowance is 0.6 × 本人工资 (injury bases of
    2024-01..05, clamped to at least 0.6 × 8,000 = 4,800) = 2,880.00 at most at the floor, below
    the minimum wage 4,000: topped up to 4,000.00. In January 2025 the previous-year base includes
    the allowance (F1). T1: grade 2 (fund pays; regular pay stops). T7: grade 5 with work arranged."""
    t5 = person("T5", region="100200", category="civilian", level=5, post="DESK", hire=date(2023, 2, 1),
                injury=dict(event_date=date(2024, 6, 3), disability_grade=6, stoppage_months=1, work_arranged=False))
    t1 = person("T1", region="100200", hire=date(2022, 5, 9),
                injury=dict(event_date=date(2024, 9, 20), disability_grade=2, stoppage_months=2, work_arranged=False))
    t7 = person("T7", region="100100", hire=date(2021, 5, 9),
                injury=dict(event_date=date(2024, 4, 2), disability_grade=5, stoppage_months=1, work_arranged=True))
    # T9: hired 2024-03-04, injured 2024-03-20, grade 5, no stoppage: the allowance from March, with no
    # payslip before the event month, so 本人工资 is the declared base (5,000 ≥ 0.6 × 8,000 = 4,800).
    # W1: hired Saturday 2024-06-01, leaves Sunday 2024-06-02: a payslip with E = 0 paid days.
    t9 = person("T9", region="100200", hire=date(2024, 3, 4), base=Decimal(5000),
                injury=dict(event_date=date(2024, 3, 20), disability_grade=5, stoppage_months=0, work_arranged=False))
    w1 = person("W1", hire=date(2024, 6, 1), leave=date(2024, 6, 2))
    _, rows = run_both(topup_tables(), [t5, t1, t7, t9, w1], {}, reference.month_range("2024-01", "2025-02"),
                       "injuries_fixed")
    assert rows[("T9", "2024-03")]["injury_wage_source"] == "declared"
    assert rows[("W1", "2024-06")]["paid_days_employed"] == 0
    july = rows[("T5", "2024-07")]
    assert july["injury_disability_allowance"] == Decimal("4000.00") and july["injury_employer_share"] < 4000
    assert rows[("T5", "2025-01")]["contribution_base_source"] == "previous_year"
    assert rows[("T1", "2024-11")]["base_pay"] == 0 and rows[("T1", "2024-11")]["injury_disability_allowance"] == 0
    assert rows[("T7", "2024-06")]["base_pay"] > 0


# ---- every tax bracket, and exactly at each threshold ---------------------------------------------

def _with_bonus_to_reach(tables, people: list[dict], months: list[str], targets: dict) -> dict:
    """Attendance with a bonus per (person, month) that puts taxable_income_ytd exactly at the target:
    the person has a declared base (contributions do not move with gross pay) and the bonus is not
    prorated, so taxable income moves one for one with it."""
    attendance: dict = {}
    for (eid, month), target in sorted(targets.items(), key=lambda t: t[0][1]):
        rows = reference.compute_year(people, attendance, tables, months)
        row = rows[(eid, month)]
        unclamped = row["income_ytd"] - row["basic_deduction_ytd"] - row["contributions_ytd"] - row["special_deduction_ytd"]
        attendance[(eid, month)] = {"bonus": target - unclamped}
    return attendance


def _bracket_thresholds(tables) -> list[Decimal]:
    return [b["threshold"] for b in reference.Tables(tables).brackets(date(2025, 1, 1))]


def test_every_bracket_at_and_around_each_threshold():
    """One person per threshold of 预扣率表一, three months: taxable income YTD one fen below the
    threshold in January, exactly at it in February (the lower bracket's rate applies, 61号: 超过),
    one fen above it in March. Engine and reference agree to the fen, which needs the quick
    deductions to make the tax continuous at the threshold (engine: threshold ≤ taxable; reference:
    threshold < taxable)."""
    months = reference.month_range("2025-01", "2025-03")
    thresholds = [t for t in _bracket_thresholds(TABLES) if t > 0]
    people = [person(f"B{i}", base=Decimal(8000)) for i in range(len(thresholds))]
    targets = {}
    for p, threshold in zip(people, thresholds):
        for month, offset in zip(months, (Decimal("-0.01"), ZERO, Decimal("0.01"))):
            targets[(p["employee_id"], month)] = threshold + offset
    attendance = _with_bonus_to_reach(TABLES, people, months, targets)
    _, rows = run_both(TABLES, people, attendance, months, "brackets_fixed")
    for (eid, month), target in targets.items():
        assert rows[(eid, month)]["taxable_income_ytd"] == target
    rates = {rows[k]["iit_rate"] for k in rows}
    assert len(rates) == len(thresholds) + 1             # all seven brackets reached


def test_every_bracket_on_the_shipped_tables():
    """The shipped 预扣率表一 (tables/iit_brackets.csv) at and around each threshold: a quick deduction
    off by a typo makes the engine (threshold ≤ taxable) and the reference (threshold < taxable)
    disagree exactly at the threshold (the audit's M22). Kunming, declared base 8,000."""
    from conftest import SHIPPED_TABLES
    months = reference.month_range("2025-01", "2025-03")
    thresholds = [t for t in _bracket_thresholds(SHIPPED_TABLES) if t > 0]
    people = [person(f"S{i}", region="530100", level=4, post="PATROL", base=Decimal(8000))
              for i in range(len(thresholds))]
    targets = {(p["employee_id"], month): threshold + offset
               for p, threshold in zip(people, thresholds)
               for month, offset in zip(months, (Decimal("-0.01"), ZERO, Decimal("0.01")))}
    attendance = _with_bonus_to_reach(SHIPPED_TABLES, people, months, targets)
    _, rows = run_both(SHIPPED_TABLES, people, attendance, months, "brackets_shipped")
    assert all(rows[key]["taxable_income_ytd"] == target for key, target in targets.items())
    # and the tax is continuous at every threshold: rate_below × t − qd_below = rate_above × t − qd_above
    brackets = reference.Tables(SHIPPED_TABLES).brackets(date(2025, 1, 1))
    for below, above in zip(brackets, brackets[1:]):
        t = above["threshold"]
        assert below["rate"] * t - below["quick_deduction"] == above["rate"] * t - above["quick_deduction"], t


@st.composite
def bracket_case(draw):
    thresholds = _bracket_thresholds(TABLES) + [Decimal(1_200_000)]
    months = reference.month_range("2025-01", draw(st.sampled_from(["2025-01", "2025-02", "2025-03"])))
    people = [person(f"R{i}", region=draw(st.sampled_from(["100100", "100200"])), level=draw(st.integers(1, 5)),
                     base=draw(money(3000, 20000)), special=draw(st.sampled_from([ZERO, Decimal(1500)])))
              for i in range(draw(st.integers(1, 3)))]
    targets = {}
    for p in people:
        for month in months:
            k = draw(st.integers(0, len(thresholds) - 2))
            low, high = thresholds[k], thresholds[k + 1]
            offset = draw(st.one_of(st.sampled_from([ZERO, Decimal("0.01"), Decimal("-0.01")]),
                                    st.integers(0, int((high - low) * 100)).map(lambda f: Decimal(f) / 100)))
            targets[(p["employee_id"], month)] = max(low + offset, ZERO)
    # cumulative income only grows: keep the targets non-decreasing per person
    for p in people:
        running = ZERO
        for month in months:
            running = max(running, targets[(p["employee_id"], month)])
            targets[(p["employee_id"], month)] = running
    return people, targets, months


@settings(max_examples=examples(1), **SLOW_OK)
@given(bracket_case())
def test_any_bracket_matches_the_reference(case):
    people, targets, months = case
    attendance = _with_bonus_to_reach(TABLES, people, months, targets)
    if any(a["bonus"] < 0 for a in attendance.values()):
        attendance = {k: {"bonus": max(a["bonus"], ZERO)} for k, a in attendance.items()}
    run_both(TABLES, people, attendance, months, "brackets")


# ---- arrears over random changes to closed months -----------------------------------------------

# docs/rules.md "Closed months and arrears": every pay component and every contribution line
CONTRIBUTION_ARREARS = (
    "pension_employee", "medical_employee", "unemployment_employee", "housing_fund_employee",
    "pension_employer", "medical_employer", "unemployment_employer", "injury_employer", "maternity_employer",
    "housing_fund_employer", "accident_insurance_employer",
    "medical_levy_employee", "medical_levy_employer")      # issue 15
ARREARS_COMPONENTS = reference.PAY_COMPONENTS + CONTRIBUTION_ARREARS


@st.composite
def retro_case(draw):
    closed = reference.month_range(draw(st.sampled_from(["2024-11", "2024-12"])), "2025-02")
    window = (date(2024, 10, 1), date(2025, 3, 31))
    # PX is paid in every month, so each closed month has payslips to close
    employees = [person("PX")] + [draw(employee(f"P{i}", window=window)) for i in range(draw(st.integers(1, 5)))]
    late = {}
    for _ in range(draw(st.integers(1, 4))):
        who = draw(st.sampled_from(employees))
        month = draw(st.sampled_from(closed))
        if reference.is_active(who, month):
            late[(who["employee_id"], month)] = draw(attendance_row)
    changed = {}
    for e in employees:
        if draw(st.integers(0, 3)) == 0:
            changed[e["employee_id"]] = draw(record_changes(date(2024, 11, 1), date(2025, 3, 1)))
    return employees, closed, late, changed


def _store_roster(con, employees):
    from conftest import EMPLOYEE_COLUMNS, _employee_value
    con.execute("DELETE FROM employees")
    current = store_history(con, employees)
    con.executemany(f"INSERT INTO employees ({', '.join(EMPLOYEE_COLUMNS)}) VALUES "
                    f"({', '.join('?' * len(EMPLOYEE_COLUMNS))})",
                    [[_employee_value(e, c) for c in EMPLOYEE_COLUMNS] for e in current])


def check_retro(employees, closed, late, changed, source="retro"):
    """Closed months paid on the first records and attendance; then late attendance and back-dated
    record changes: the arrears in the next month equal the reference recomputed minus the reference
    paid, and that month's payslip equals the reference month with those arrears (history = paid)."""
    from payroll.db import connect
    from payroll.engine.closing import close_through
    from payroll.engine.run import run_months

    paid_month = reference.month_range(closed[-1], "2025-03")[1]
    policy = policy_for(str(TABLES))
    con = connect(":memory:")
    _store_roster(con, employees)
    run_months(con, policy, closed[0], closed[-1])
    close_through(con, closed[-1])
    after = [dict(e, changes=changed[e["employee_id"]]) if e["employee_id"] in changed else e for e in employees]
    _store_roster(con, after)
    for (eid, month), row in late.items():
        con.execute("INSERT INTO attendance (employee_id, month, " + ", ".join(row) + ") VALUES (?, ?, "
                    + ", ".join("?" * len(row)) + ")", [eid, month, *row.values()])
    run_months(con, policy, paid_month)

    paid = reference.compute_year(employees, {}, TABLES, closed)
    fresh = reference.compute_year(after, late, TABLES, closed)
    expected = {}
    for key in set(paid) | set(fresh):
        for component in ARREARS_COMPONENTS:
            diff = fresh.get(key, {}).get(component, ZERO) - paid.get(key, {}).get(component, ZERO)
            if diff:
                expected[(key[0], key[1], component)] = diff
    got = {(e, m, c): a for e, m, c, a in con.execute(
        "SELECT employee_id, month_earned, component, sum(amount) FROM arrears WHERE month_paid = ? GROUP BY ALL "
        "HAVING sum(amount) <> 0", [paid_month]).fetchall()}
    assert got == expected

    tables = reference.Tables(TABLES)
    cursor = con.execute("SELECT * FROM payslips WHERE month = ?", [paid_month])
    names = [d[0] for d in cursor.description]
    engine_rows = {(r[0], paid_month): dict(zip(names, r)) for r in cursor.fetchall()}
    reference_rows, problems = {}, []
    for p in after:
        record = reference.record_in_force(p, paid_month)
        if not reference.is_active(record, paid_month):
            continue
        owed = {}
        for (e, _, component), amount in expected.items():
            if e == p["employee_id"]:
                owed[component] = owed.get(component, ZERO) + amount
        history = [paid[(p["employee_id"], m)] for m in closed if (p["employee_id"], m) in paid]
        row = reference.compute_month(tables, record, paid_month, {}, history, owed)
        row["_contribution_arrears"] = any(owed.get(c) for c in CONTRIBUTION_ARREARS)
        reference_rows[(p["employee_id"], paid_month)] = row
    assert set(engine_rows) == set(reference_rows)
    for key in reference_rows:
        problems += diff_rows(key, engine_rows[key], reference_rows[key])
    assert not problems, "\n".join(problems[:30])
    branches.record(source, reference_rows, after, TABLES)
    return expected, reference_rows


@settings(max_examples=examples(2), **SLOW_OK)
@given(retro_case())
def test_arrears_over_random_closed_month_changes_match_the_reference(case):
    check_retro(*case)


def test_fixed_arrears():
    """R1: 10 h of workday overtime and a 500.00 bonus recorded late for closed December; R2: declared
    base 5,000 → 9,000 back-dated to 2024-12-01 (contribution arrears for December, January and
    February)."""
    r1 = person("R1", hire=date(2016, 4, 1))
    r2 = person("R2", base=Decimal(5000))
    late = {("R1", "2024-12"): {"overtime_workday_hours": Decimal(10), "bonus": Decimal(500)}}
    changed = {"R2": [(date(2024, 12, 1), {"contribution_base": Decimal(9000)})]}
    expected, rows = check_retro([r1, r2], reference.month_range("2024-12", "2025-02"), late, changed,
                                 source="retro_fixed")
    assert expected[("R1", "2024-12", "bonus")] == Decimal("500.00")
    assert expected[("R2", "2025-01", "pension_employee")] > 0
    assert rows[("R1", "2025-03")]["arrears_pay"] > Decimal("500.00")
