"""The branches of docs/rules.md the reference comparison must reach, and a tally of the ones it did.

Every test that compares the engine with the scalar reference (tests/reference.py) passes the
reference's payslips to `record`; `tests/test_branches_reached.py` then checks that each branch
listed in docs/rules.md ("Branches the reference comparison reaches") was reached by a compared
payslip in this CI run. A branch is a predicate on one reference payslip (with the person's record
in force that month); the names are the ones docs/rules.md lists.
"""
from __future__ import annotations

import re
from collections import Counter
from decimal import Decimal
from functools import lru_cache

import reference

ZERO = Decimal("0.00")

# tally of compared payslips per branch, over the whole pytest session
REACHED: Counter = Counter()
# which comparisons fed the tally (test_branches_reached runs the missing ones itself)
SOURCES: set[str] = set()


def _bracket(rate) -> str:
    return f"iit_bracket_{(Decimal(rate) * 100).normalize():f}%"


def _at_threshold(row, thresholds) -> bool:
    return row["taxable_income_ytd"] > 0 and row["taxable_income_ytd"] in thresholds


def _clamped(row, low: bool) -> bool:
    wage = row["contribution_wage"]
    return any((row[f"{f}_base"] > wage) if low else (row[f"{f}_base"] < wage)
               for f in reference.FUNDS + ("housing_fund",))


# name -> predicate(row, record, previous row of the person or None)
BRANCHES = {
    # calendar and proration
    "proration_full_month": lambda r, e, p: r["proration"] == 1,
    "proration_partial_month": lambda r, e, p: 0 < r["paid_days_employed"] < r["paid_days_in_month"],
    "proration_unpaid_leave": lambda r, e, p: 0 < r["proration"] < Decimal(r["paid_days_employed"]) / r["paid_days_in_month"],
    "proration_zero_by_leave": lambda r, e, p: r["proration"] == 0 and r["paid_days_employed"] > 0
                                                and not r["injury_regular_pay_stopped"],
    "employed_on_rest_days_only": lambda r, e, p: r["paid_days_employed"] == 0,
    # pay components
    "service_years": lambda r, e, p: r["service_years"] > 0 and r["seniority_pay"] > 0,
    "high_risk_allowance": lambda r, e, p: r["high_risk_allowance"] > 0,
    "night_shift_pay": lambda r, e, p: r["night_shift_pay"] > 0,
    "overtime_workday": lambda r, e, p: r["overtime_workday_pay"] > 0,
    "overtime_restday": lambda r, e, p: r["overtime_restday_pay"] > 0,
    "overtime_holiday": lambda r, e, p: r["overtime_holiday_pay"] > 0,
    "overtime_base_is_minimum_wage": lambda r, e, p: r["overtime_pay"] > 0
                                                     and r["overtime_base"] == r["minimum_wage_full"],
    "minimum_wage_topup": lambda r, e, p: r["floor_topup"] > 0,
    "bonus": lambda r, e, p: r["bonus"] > 0,
    # contribution base
    "base_declared": lambda r, e, p: r["contribution_base_source"] == "declared",
    "base_previous_year": lambda r, e, p: r["contribution_base_source"] == "previous_year",
    "base_first_full_month_earlier": lambda r, e, p: r["contribution_base_source"] == "first_full_month"
                                                     and r["contribution_wage"] != r["gross_pay"],
    "base_first_full_month_this_month": lambda r, e, p: r["contribution_base_source"] == "first_full_month"
                                                        and r["contribution_wage"] == r["gross_pay"]
                                                        and r["paid_days_employed"] == r["paid_days_in_month"],
    "base_contract_month": lambda r, e, p: r["contribution_base_source"] == "contract_month",
    "base_clamped_to_floor": lambda r, e, p: _clamped(r, low=True),
    "base_clamped_to_ceiling": lambda r, e, p: _clamped(r, low=False),
    # work injury
    "injury_stoppage": lambda r, e, p: r["injury_stoppage"],
    "injury_pay_stopped_fund_grade": lambda r, e, p: r["injury_regular_pay_stopped"]
                                                     and r["injury_disability_allowance"] == 0,
    "injury_allowance": lambda r, e, p: r["injury_disability_allowance"] > 0,
    "injury_allowance_topped_up": lambda r, e, p: r["injury_disability_allowance"] > 0
                                                  and r["injury_employer_share"] < r["minimum_wage_full"],
    "injury_allowance_wage_from_payslips": lambda r, e, p: r["injury_disability_allowance"] > 0
                                                           and r["injury_wage_source"] == "payslips",
    "injury_allowance_wage_declared": lambda r, e, p: r["injury_disability_allowance"] > 0
                                                      and r["injury_wage_source"] == "declared",
    "injury_work_arranged": lambda r, e, p: bool((e.get("injury") or {}).get("work_arranged"))
                                            and not r["injury_stoppage"] and not r["injury_regular_pay_stopped"]
                                            and (e["injury"].get("disability_grade") or 0) in (5, 6),
    "injury_allowance_with_previous_year_base": lambda r, e, p: r["injury_disability_allowance"] > 0
                                                                and r["contribution_base_source"] == "previous_year",
    # income tax
    **{_bracket(rate): (lambda rate: lambda r, e, p: r["iit_rate"] == rate)(Decimal(rate))
       for rate in ("0.03", "0.1", "0.2", "0.25", "0.3", "0.35", "0.45")},
    "taxable_at_a_threshold": lambda r, e, p: r["taxable_income_ytd"] > 0 and r.get("_at_threshold", False),
    "taxable_zero": lambda r, e, p: r["taxable_income_ytd"] == 0,
    "tax_not_refunded": lambda r, e, p: r["iit"] == 0 and p is not None and r["iit_due_ytd"] < p["iit_ytd"],
    "no19_applies": lambda r, e, p: r["no19_applies"],
    "no19_full_year_over_limit": lambda r, e, p: not r["no19_applies"] and r["month"].endswith("-01")
                                                 and p is not None and p["months_employed_ytd"] == 12,
    "special_deduction": lambda r, e, p: r["special_deduction"] > 0,
    # net pay
    "net_pay_held_at_zero": lambda r, e, p: r["shortfall_carried"] > 0 and r["net_pay"] == 0,
    "balance_owed_recovered": lambda r, e, p: r["balance_recovery"] > 0,
    "other_deduction": lambda r, e, p: r["deduction"] > 0,
    # the year and the person changing
    "january_after_a_year": lambda r, e, p: r["month"].endswith("-01") and p is not None,
    "record_change_special_deduction": lambda r, e, p: p is not None and p["special_deduction"] != r["special_deduction"],
    "record_change_level": lambda r, e, p: p is not None and p["level"] != r["level"],
    "record_change_region": lambda r, e, p: p is not None and p["region_code"] != r["region_code"],
    "record_change_declared_base": lambda r, e, p: p is not None and p["contribution_base_source"] == "declared"
                                                   and r["contribution_base_source"] == "declared"
                                                   and p["contribution_wage"] != r["contribution_wage"],
    # closed months
    "arrears_paid": lambda r, e, p: r["arrears_pay"] != 0,
    "arrears_contributions": lambda r, e, p: r.get("_contribution_arrears", False),
}


@lru_cache(maxsize=None)
def _thresholds(tables_dir: str) -> frozenset:
    return frozenset(row["threshold"] for row in reference.Tables(tables_dir).rows["iit_brackets"])


def record(source: str, rows: dict, employees: list[dict], tables_dir=None) -> None:
    """Tally the branches of the reference payslips {(employee_id, month): row} of one comparison."""
    SOURCES.add(source)
    people = {e["employee_id"]: e for e in employees}
    thresholds = _thresholds(str(tables_dir)) if tables_dir is not None else set()
    previous: dict[str, dict] = {}
    for key in sorted(rows, key=lambda k: (k[0], k[1])):
        row = rows[key]
        if thresholds:
            row = dict(row, _at_threshold=row["taxable_income_ytd"] in thresholds)
        record_in_force = reference.record_in_force(people[key[0]], key[1])
        for name, predicate in BRANCHES.items():
            if predicate(row, record_in_force, previous.get(key[0])):
                REACHED[name] += 1
        previous[key[0]] = row


def documented_branches(rules_md: str) -> list[str]:
    """The branch names listed in docs/rules.md under "Branches the reference comparison reaches"."""
    section = rules_md.split("## Branches the reference comparison reaches", 1)[1].split("\n## ", 1)[0]
    bullets: list[str] = []
    for line in section.splitlines():
        if line.startswith("- `"):
            bullets.append(line[2:])
        elif line.startswith("  ") and bullets:
            bullets[-1] += " " + line.strip()
    return [name for bullet in bullets for name in re.findall(r"`([^`]+)`", bullet.split(": ", 1)[0])]
