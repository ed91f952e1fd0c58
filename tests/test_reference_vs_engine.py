"""The engine against the scalar reference (tests/reference.py) on random rosters, to the fen.

Tables: tests/data/tables_simple/ (two cities 100100 and 100200 under province 100000, national
fallback 000000; minimum wage, social-insurance bases, housing fund, pay scale and allowances change
inside 2024-11..2025-03, one row on the 15th so it only applies from the next month).
Month ranges start in 2024-01 (so 公告2020年第19号 can apply in 2025) or within 2024-11..2025-03.
"""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import branches
import reference
from conftest import DATA, SHIPPED_TABLES, examples, run_engine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

TABLES = DATA / "tables_simple"
REGIONS = ["100100", "100200", "100000"]
POSTS = {"duty": ["PATROL", "DESK", "SWAT"], "civilian": ["DESK", "TECH"]}
STARTS = ["2024-01", "2024-11", "2024-12", "2025-01", "2025-02", "2025-03"]
LAST = "2025-03"

# everything the engine stores that the reference also computes
EXTRA = ("paid_days_in_month", "paid_days_employed", "service_years", "overtime_base",
         "overtime_workday_pay", "overtime_restday_pay", "overtime_holiday_pay", "normal_pay",
         "minimum_wage_prorated", "contribution_base_source", "contribution_wage",
         "housing_fund_wage_source", "housing_fund_wage", "contribution_year_start", "housing_fund_year_start",
         "pension_base", "medical_base", "unemployment_base", "injury_base", "maternity_base",
         "housing_fund_base", "months_employed_ytd", "income_ytd", "contributions_ytd",
         "special_deduction_ytd", "basic_deduction_ytd", "no19_applies", "iit_due_ytd",
         "projected_taxable_year", "annual_bonus_year_tax_separate", "annual_bonus_year_tax_merged",
         "annual_bonus_separate_tax", "severance_exempt", "severance_taxable", "deduction_untaken",
         "balance_owed_before")
ZERO = Decimal("0.00")


def money(low, high):
    return st.integers(low * 100, high * 100).map(lambda fen: Decimal(fen) / 100)


def days_between(first: date, last: date):
    return st.integers(0, (last - first).days).map(lambda n: first + timedelta(days=n))


@st.composite
def employee(draw, eid: str, regions=tuple(REGIONS), posts=POSTS, levels=5,
             window=(date(2024, 10, 1), date(2025, 3, 31))):
    """window: the months run, give or take; hires and leaves fall in it or (hires) long before."""
    category = draw(st.sampled_from(["duty", "civilian"]))
    recent = draw(st.booleans())
    hire = draw(days_between(*window) if recent
                else days_between(date(2010, 1, 1), window[0] - timedelta(days=1)))
    leave = None
    if draw(st.integers(0, 9)) < 3:
        leave = draw(days_between(max(hire, window[0]), window[1] + timedelta(days=61)))
    service_start = None
    if draw(st.booleans()):
        service_start = hire - timedelta(days=draw(st.integers(0, 5000)))
    declared = draw(st.one_of(st.none(), st.none(), money(1000, 40000)))
    return {
        "employee_id": eid, "name": eid, "region_code": draw(st.sampled_from(regions)), "unit": "U" + eid[-1],
        "category": category, "level": draw(st.integers(1, levels)), "post": draw(st.sampled_from(posts[category])),
        "hire_date": hire, "leave_date": leave, "service_start": service_start,
        "special_deduction": draw(st.sampled_from([Decimal(0), Decimal(0), Decimal(1000), Decimal(1500),
                                                   Decimal(3000), Decimal("4500.50")])),
        "contribution_base": declared,
    }


def quarter_hours(high):
    return st.integers(0, high * 4).map(lambda q: Decimal(q) / 4)


attendance_row = st.fixed_dictionaries({
    "unpaid_leave_days": st.sampled_from([Decimal(0), Decimal("0.5"), Decimal(1), Decimal("2.5"),
                                          Decimal("7.25"), Decimal(23)]),
    "overtime_workday_hours": quarter_hours(40),
    "overtime_restday_hours": st.one_of(st.just(Decimal(0)), quarter_hours(24)),
    "overtime_holiday_hours": st.one_of(st.just(Decimal(0)), st.sampled_from([Decimal("8"), Decimal("3.5"),
                                                                              Decimal("0.01")])),
    "night_shifts": st.integers(0, 10),
    "bonus": st.one_of(st.just(ZERO), money(0, 30000)),
    "deduction": st.one_of(st.just(ZERO), money(0, 500), money(0, 20000)),
    "deduction_kind": st.sampled_from([None, "other", "court", "damages", "recovery"]),
})

# issue 13: one-off payments of a month (bonus with each method, severance, other)
payment_line = st.one_of(
    st.fixed_dictionaries({"kind": st.just("annual_bonus"), "amount": money(1, 150000),
                           "tax_method": st.sampled_from(["", "", "separate", "merged"])}),
    st.fixed_dictionaries({"kind": st.just("severance"), "amount": money(1, 400000)}),
    st.fixed_dictionaries({"kind": st.just("other"), "amount": money(1, 20000)}),
)


@st.composite
def scenario(draw, starts=tuple(STARTS), last=LAST, **people):
    first = draw(st.sampled_from(starts))
    months = reference.month_range(first, last)
    months = months[:draw(st.integers(1, len(months)))]
    n = draw(st.integers(1, 30))
    employees = [draw(employee(f"E{i:02d}", **people)) for i in range(n)]
    attendance, payments, separate = {}, {}, set()
    for e in employees:
        for month in months:
            if reference.is_active(e, month) and draw(st.integers(0, 9)) < 4:
                attendance[(e["employee_id"], month)] = draw(attendance_row)
            if reference.is_active(e, month) and draw(st.integers(0, 9)) < 2:
                line = draw(payment_line)
                year_key = (e["employee_id"], month[:4])
                if line["kind"] == "annual_bonus":
                    if year_key in separate:        # a second separate bonus is refused (tested apart)
                        line = dict(line, tax_method="merged")
                    separate.add(year_key)           # an empty method may pick separate too
                payments[(e["employee_id"], month)] = [line]
    return employees, attendance, months, payments


def diff_rows(key, eng: dict, ref: dict) -> list[str]:
    out = []
    for column in reference.REGISTER + EXTRA:
        if column not in eng or column not in ref:
            continue
        a, b = eng[column], ref[column]
        if isinstance(b, Decimal) and a is not None:
            a = Decimal(a)
        if a != b:
            out.append(f"  {key[0]} {key[1]} {column}: engine {a} reference {b}")
    return out


def check_identities(key, row) -> list[str]:
    out = []
    components = sum(row[c] for c in reference.PAY_COMPONENTS)
    if row["gross_pay"] != components:
        out.append(f"  {key}: gross_pay {row['gross_pay']} != sum of components {components}")
    net = (row["gross_pay"] - sum(row[c] for c in reference.EMPLOYEE_SHARES) - row["medical_levy_employee"]
           - row["iit"] - row["iit_annual_bonus"]
           - row["iit_severance"] - row["deduction"] - row["balance_recovery"] + row["shortfall_carried"])
    if row["net_pay"] != net or row["net_pay"] < 0:
        out.append(f"  {key}: net_pay {row['net_pay']} != {net} or below 0")
    cost = (row["gross_pay"] + sum(row[c] for c in reference.EMPLOYER_SHARES) + row["medical_levy_employer"]
            + row["accident_insurance_employer"])
    if row["employer_cost"] != cost:
        out.append(f"  {key}: employer_cost {row['employer_cost']} != {cost}")
    for c in reference.REGISTER[5:]:
        if isinstance(row[c], Decimal) and row[c] != row[c].quantize(Decimal("0.01")):
            out.append(f"  {key}: {c} {row[c]} is not whole fen")
    return out


def describe(employees, attendance, payments=None) -> str:
    lines = ["payments:"] + [f"  {k}: {v}" for k, v in sorted((payments or {}).items())] + ["roster:"]
    lines += [f"  {e}" for e in employees]
    lines += ["attendance:"] + [f"  {k}: {v}" for k, v in sorted(attendance.items())]
    return "\n".join(lines)


def compare(tables, employees, attendance, months, payments=None):
    engine_rows = run_engine(tables, employees, attendance, months[0], months[-1], payments=payments)
    reference_rows = reference.compute_year(employees, attendance, tables, months, payments)
    problems = []
    missing = sorted(set(reference_rows) - set(engine_rows))
    extra = sorted(set(engine_rows) - set(reference_rows))
    if missing or extra:
        problems.append(f"  payslips only in the reference: {missing}; only in the engine: {extra}")
    for key in sorted(set(engine_rows) & set(reference_rows)):
        problems += diff_rows(key, engine_rows[key], reference_rows[key])
    for key, row in engine_rows.items():
        problems += check_identities(key, row)
    assert not problems, f"months {months[0]}..{months[-1]}\n" + "\n".join(problems[:60]) + "\n" + \
        describe(employees, attendance, payments)
    branches.record(f"random {Path(tables).name}", reference_rows, employees, tables)


SLOW_OK = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# CI: 6 random rosters (every branch is reached by the fixed cases too: tests/test_branches_reached.py);
# the thorough tier runs 2,000
@settings(max_examples=examples(4), **SLOW_OK)     # CI: 4 rosters (fixed cases reach every branch); thorough 2,000
@given(scenario())
def test_engine_matches_reference(case):
    compare(TABLES, *case)


SHIPPED_PEOPLE = dict(regions=("150100", "150600", "330100", "530100", "320600"), levels=7,
                      window=(date(2025, 10, 1), date(2026, 2, 28)),
                      posts={"duty": ["PATROL", "COMMUNITY", "TRAFFIC", "ESCORT", "SWAT"],
                             "civilian": ["RECEPTION", "PERMITS", "TECH"]})


@settings(max_examples=examples(2), **SLOW_OK)     # CI: 2 rosters; the thorough tier 2,000
@given(scenario(starts=("2025-11", "2025-12", "2026-01"), last="2026-02", **SHIPPED_PEOPLE))
def test_engine_matches_reference_on_shipped_tables(case):
    """The shipped tables across the 2025/2026 boundary (new bases and minimum wages in 2026)."""
    compare(SHIPPED_TABLES, *case)


def test_engine_matches_reference_on_a_fixed_roster():
    """A deterministic case that triggers every path at least once, for a quick signal."""
    d = date
    employees = [
        # low paid all 2024 → No. 19 in 2025, with a bonus in January so the tax differs
        dict(employee_id="L1", region_code="100100", category="duty", level=4, post="PATROL",
             hire_date=d(2019, 5, 20), leave_date=None, service_start=None, special_deduction=Decimal(0),
             contribution_base=None),
        # level 5: minimum-wage top-up; province-level payer
        dict(employee_id="L2", region_code="100000", category="civilian", level=5, post="TECH",
             hire_date=d(2023, 1, 9), leave_date=None, service_start=None, special_deduction=Decimal(0),
             contribution_base=None),
        # hired mid-month in December, high-risk in city B, leaves in February
        dict(employee_id="M1", region_code="100200", category="duty", level=1, post="SWAT",
             hire_date=d(2024, 12, 14), leave_date=d(2025, 2, 19), service_start=d(2016, 7, 1),
             special_deduction=Decimal("4500.50"), contribution_base=None),
        # declared base above the ceiling
        dict(employee_id="D1", region_code="100100", category="civilian", level=2, post="DESK",
             hire_date=d(2015, 3, 3), leave_date=None, service_start=None, special_deduction=Decimal(1500),
             contribution_base=Decimal("38000.00")),
        # hired on a Saturday (2025-03-29): few paid days, first month is partial → contract_month base
        dict(employee_id="S1", region_code="100200", category="civilian", level=2, post="TECH",
             hire_date=d(2025, 3, 29), leave_date=None, service_start=None, special_deduction=Decimal(0),
             contribution_base=None),
    ]
    for e in employees:
        e.update(name=e["employee_id"], unit="U1")
    attendance = {
        ("L1", "2025-01"): dict(bonus=Decimal("9000")),
        ("L2", "2025-02"): dict(unpaid_leave_days=Decimal("2.5"), overtime_workday_hours=Decimal("10.5"),
                                overtime_restday_hours=Decimal("8"), overtime_holiday_hours=Decimal("8"),
                                night_shifts=3),
        ("M1", "2025-01"): dict(overtime_workday_hours=Decimal("3.25"), night_shifts=7, bonus=Decimal("1234.56"),
                                deduction=Decimal("100.01")),
        ("D1", "2024-12"): dict(unpaid_leave_days=Decimal(23)),
    }
    months = reference.month_range("2024-01", "2025-03")
    engine_rows = run_engine(TABLES, employees, attendance, months[0], months[-1])
    reference_rows = reference.compute_year(employees, attendance, TABLES, months)
    assert set(engine_rows) == set(reference_rows)
    problems = []
    for key in sorted(reference_rows):
        problems += diff_rows(key, engine_rows[key], reference_rows[key])
        problems += check_identities(key, engine_rows[key])
    assert not problems, "\n".join(problems)
    branches.record("fixed roster", reference_rows, employees, TABLES)
    # the paths this roster is meant to exercise did happen
    assert reference_rows[("L1", "2025-01")]["no19_applies"]
    assert reference_rows[("L2", "2025-02")]["floor_topup"] > 0
    assert reference_rows[("M1", "2024-12")]["contribution_base_source"] == "contract_month"
    assert reference_rows[("M1", "2025-01")]["contribution_base_source"] == "previous_year"
    assert reference_rows[("S1", "2025-03")]["contribution_base_source"] == "contract_month"
    assert reference_rows[("D1", "2024-12")]["base_pay"] == 0
