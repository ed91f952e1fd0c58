"""An OpenFisca peer of the monthly run (openfisca-core 46), written from docs/rules.md (issue 17,
target 1). A benchmark-only dependency: `pip install -e '.[bench]'`.

One `Variable` per rule, on a single `person` entity, monthly. The parameters are an OpenFisca
parameter tree with dated values built from the `tables/` CSVs: for each city of the roster and each
date a row on its region chain takes effect (or lapses, `valid_until`), the row in force then
(docs/rules.md "Looking up a table row"), keyed `r<region_code>`, so a formula reads
`parameters(period.first_day).minimum_wage` for the person's region and OpenFisca picks the value in force. Money
is whole fen, rates are parts per million and days hundredths, so every figure is an exact integer
(OpenFisca stores parameter values as floats: exact below 2**53) and each line is rounded half-up
once with integer arithmetic.

The month is loaded from DuckDB into arrays (benchmarks/peers/inputs.py, shared with the numpy
peer), set as the simulation's inputs, the earlier payslips as `recorded_*` inputs of their own
months (the year to date, the contribution base and the untaken-leave wage sum over those periods),
and the payslip columns are calculated and written back to `peer_openfisca_payslips`.

Covered, and refused when present: exactly as the numpy peer (benchmarks/peers/numpy_peer.py):
the rule families of a synthetic roster's month are computed; injuries, deaths, leave records,
one-off payments, appraisal results, probation, opening balances, dated records, retro pay,
off-cycle runs, an indexed scale and annual leave carried over raise inputs.OutOfScope.

    python3 -m benchmarks.peers.openfisca_peer DB [--month 2025-02]
"""
from __future__ import annotations

from datetime import date, timedelta

import numpy as np
from openfisca_core.entities import build_entity
from openfisca_core.indexed_enums import Enum
from openfisca_core.parameters import ParameterNode
from openfisca_core.periods import DateUnit
from openfisca_core.simulation_builder import SimulationBuilder
from openfisca_core.taxbenefitsystems import TaxBenefitSystem
from openfisca_core.variables import Variable

from .inputs import (FUNDS, EPOCH, MissingFigure, MonthInputs, PolicyRows, day_kinds, fen, frac, main,
                     run_db_to_db)

TABLE = "peer_openfisca_payslips"
PPM = 10**6
Person = build_entity(key="person", plural="persons", label="An auxiliary police officer", is_person=True)
CATEGORY_RISK = np.array(["civilian_normal", "civilian_high", "duty_normal", "duty_high"])


def region_enum(policy: PolicyRows) -> type[Enum]:
    return Enum("Region", {f"r{r['region_code']}": r["name"] for r in policy.rows["regions"]})


# ------------------------------------------------------------------ integer arithmetic helpers

def i64(values) -> np.ndarray:
    return np.asarray(values).astype(np.int64)


def round_div(numerator, denominator) -> np.ndarray:
    """numerator ÷ denominator rounded half-up, away from zero (docs/rules.md "Units and rounding")."""
    numerator, denominator = i64(numerator), i64(denominator)
    magnitude = (2 * np.abs(numerator) + denominator) // (2 * denominator)
    return np.where(numerator < 0, -magnitude, magnitude)


def month_index(period) -> int:
    return period.start.year * 12 + period.start.month - 1


def month_period(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def recorded_sum(person, variable: str, first: int, last: int) -> np.ndarray:
    """Σ of an earlier payslip figure over the months first … last (month indexes, both included)."""
    total = np.zeros(person.count, dtype=np.int64)
    for index in range(first, last + 1):
        total += i64(person(variable, month_period(index)))
    return total


def regional(person, period, node, *keys) -> np.ndarray:
    """node[region][key …] for each person: the region's value looked up once per region of the
    enum and spread by the region index (OpenFisca 46's fancy indexing, node[EnumArray], builds a
    Python object per person: several times slower for the same values). `keys` are arrays of
    sub-keys (category, level) taken per person the same way."""
    region = np.asarray(person("region", period)).astype(np.int64)
    Region = person.simulation.tax_benefit_system.variables_region_enum
    if not keys:
        table = np.full(len(Region), -1, dtype=np.int64)
        for item in Region:
            if item.name in node:
                table[item.index] = int(node[item.name])
        found = table[region]
    else:
        (codes, names), found = _codes(keys[0]), np.full(person.count, -1, dtype=np.int64)
        rest = keys[1:]
        for item in Region:
            if item.name not in node:
                continue
            here = region == item.index
            if not here.any():
                continue
            sub = node[item.name]
            for position, name in enumerate(names):
                if name not in sub:
                    continue
                mask = here & (codes == position)
                if rest:
                    found[mask] = _lookup(sub[name], [k[mask] for k in rest])
                else:
                    found[mask] = int(sub[name])
    if (found < 0).any():
        raise MissingFigure(f"no parameter {node._name} for some people in {period}")
    return found


def _codes(values: np.ndarray):
    names, codes = np.unique(values, return_inverse=True)
    return codes, list(names)


def _lookup(node, keys) -> np.ndarray:
    codes, names = _codes(keys[0])
    out = np.full(len(codes), -1, dtype=np.int64)
    for position, name in enumerate(names):
        if name in node:
            out[codes == position] = int(node[name]) if len(keys) == 1 else _lookup(node[name], [k[codes == position] for k in keys[1:]])
    return out


def national(period, parameters):
    return parameters(period.first_day).national


# --------------------------------------------------------------------------------- variables

def _variable(name: str, value_type=int, label: str = "", reference: str = "", formula=None, **extra):
    attributes = {"value_type": value_type, "entity": Person, "definition_period": DateUnit.MONTH,
                  "label": label or name, "reference": reference, **extra}
    if formula is not None:
        attributes["formula"] = formula
    return type(name, (Variable,), attributes)


INPUTS = {   # name: (value type, label); set from the month's employees and attendance rows
    "duty": (bool, "勤务辅警 (duty) rather than 文职 (civilian)"),
    "level": (int, "层级"), "high_risk": (bool, "post of risk class high"),
    "hire_day": (int, "hire date, days since 1970"), "leave_day": (int, "leave date, days since 1970"),
    "service_year": (int, "service start year"), "service_month": (int, "service start month"),
    "service_day": (int, "service start day"),
    "special_deduction": (int, "专项附加扣除 declared, fen"), "declared_base": (int, "缴费基数 declared, fen; -1 none"),
    "unpaid_leave_days": (int, "unpaid leave, hundredths of a day"),
    "overtime_workday_hours": (int, "hundredths"), "overtime_restday_hours": (int, "hundredths"),
    "overtime_holiday_hours": (int, "hundredths"), "night_shifts": (int, "night shifts"),
    "attendance_bonus": (int, "bonus, fen"), "deduction_requested": (int, "deduction asked, fen"),
    "deduction_kind": (int, "0 other, 1 court, 2 damages or recovery"),
}
RECORDED = ("payslip", "gross_pay", "wage", "leave_wage", "whole_month", "income", "contributions",
            "special_deduction", "iit", "balance_owed")     # an earlier payslip's figures, in fen


def build_system(policy: PolicyRows) -> TaxBenefitSystem:
    system = TaxBenefitSystem([Person])
    Region = region_enum(policy)
    system.variables_region_enum = Region
    system.calendar_rows = policy.rows.get("calendar", [])
    system.add_variable(_variable("region", Enum, "paying authority's region", possible_values=Region,
                                  default_value=list(Region)[0]))
    for name, (kind, label) in INPUTS.items():
        system.add_variable(_variable(name, kind, label))
    for name in RECORDED:
        system.add_variable(_variable(f"recorded_{name}", int, f"earlier payslip: {name}"))
    for variable in RULES:
        system.add_variable(variable)
    system.parameters = ParameterNode("", data=parameter_tree(policy))
    return system


# -- calendar and proration (劳社部发〔2008〕3号; SPEC) --

def paid_days_in_month(person, period, parameters):
    first = period.start.date
    last = period.stop.date
    kinds = day_kinds(first, last, person.simulation.tax_benefit_system.calendar_rows)
    return np.full(person.count, sum(kind != "rest" for kind in kinds))


def paid_days_employed(person, period, parameters):
    first, last = period.start.date, period.stop.date
    kinds = day_kinds(first, last, person.simulation.tax_benefit_system.calendar_rows)
    cumulative = np.concatenate([[0], np.cumsum([kind != "rest" for kind in kinds])])
    first_day, last_day = (first - EPOCH).days, (last - EPOCH).days
    start = np.maximum(i64(person("hire_day", period)), first_day) - first_day
    end = np.minimum(i64(person("leave_day", period)), last_day) - first_day
    return np.where(start <= end, cumulative[np.clip(end + 1, 0, len(kinds))]
                    - cumulative[np.clip(start, 0, len(kinds))], 0)


def proration_denominator(person, period, parameters):
    """F = max(0, E/P − L/D) over P × 100 × D (D = pay days a month in hundredths)."""
    return i64(person("paid_days_in_month", period)) * national(period, parameters).pay_days_per_month_hundredths


def proration_numerator(person, period, parameters):
    d = national(period, parameters).pay_days_per_month_hundredths
    employed, days_in_month = i64(person("paid_days_employed", period)), i64(person("paid_days_in_month", period))
    leave = i64(person("unpaid_leave_days", period))
    return np.maximum(0, employed * int(d) - leave * days_in_month)


def prorate(person, period, amount):
    return round_div(i64(amount) * i64(person("proration_numerator", period)),
                     i64(person("proration_denominator", period)))


# -- pay components (docs/rules.md "Pay components") --

def category_risk(person, period):
    return CATEGORY_RISK[i64(person("duty", period)) * 2 + i64(person("high_risk", period))]


def service_years(person, period, parameters):
    first = period.start.date
    start_month, start_day = i64(person("service_month", period)), i64(person("service_day", period))
    return np.maximum(0, first.year - i64(person("service_year", period))
                      - ((first.month < start_month) | ((first.month == start_month) & (first.day < start_day))))


def base_pay_full(person, period, parameters):
    category = np.where(person("duty", period), "duty", "civilian")
    level = np.char.add("level_", i64(person("level", period)).astype(str))
    return regional(person, period, parameters(period.first_day).pay_scale, category, level)


def seniority_pay_full(person, period, parameters):
    rate = regional(person, period, parameters(period.first_day).allowances.per_service_year,
                    category_risk(person, period))
    return rate * i64(person("service_years", period))


def allowances_full(person, period, parameters):
    return regional(person, period, parameters(period.first_day).allowances.monthly, category_risk(person, period))


def high_risk_allowance_full(person, period, parameters):
    node = parameters(period.first_day).allowances.high_risk_monthly
    return regional(person, period, node, category_risk(person, period))


def night_shift_pay(person, period, parameters):
    node = parameters(period.first_day).allowances.per_night_shift
    return regional(person, period, node, category_risk(person, period)) * i64(person("night_shifts", period))


def base_pay(person, period, parameters):
    return prorate(person, period, person("base_pay_full", period))


def seniority_pay(person, period, parameters):
    return prorate(person, period, person("seniority_pay_full", period))


def allowances(person, period, parameters):
    return prorate(person, period, person("allowances_full", period))


def high_risk_allowance(person, period, parameters):
    return prorate(person, period, person("high_risk_allowance_full", period))


def minimum_wage(person, period, parameters):
    return regional(person, period, parameters(period.first_day).minimum_wage)


def overtime_base(person, period, parameters):
    fixed = (i64(person("base_pay_full", period)) + i64(person("seniority_pay_full", period))
             + i64(person("allowances_full", period)))
    return np.maximum(fixed, i64(person("minimum_wage", period)))


def _overtime(kind: str):
    def formula(person, period, parameters):
        """劳动法 art. 44: overtime base ÷ (D × hours a day) × hours × rate, rounded once."""
        values = national(period, parameters)
        rate_ppm = int(values.overtime_rate_ppm[kind])
        denominator = int(values.pay_days_per_month_hundredths) * int(values.hours_per_day) * PPM
        hours = i64(person(f"overtime_{kind}_hours", period))     # hundredths: × 100 / 100
        return round_div(i64(person("overtime_base", period)) * hours * rate_ppm, denominator)
    return formula


def overtime_pay(person, period, parameters):
    return sum(i64(person(f"overtime_{kind}_pay", period)) for kind in ("workday", "restday", "holiday"))


def minimum_wage_prorated(person, period, parameters):
    return prorate(person, period, person("minimum_wage", period))


def normal_pay(person, period, parameters):
    return i64(person("base_pay", period)) + i64(person("seniority_pay", period)) + i64(person("allowances", period))


def floor_topup(person, period, parameters):
    """最低工资规定 art. 12: pay for normal hours topped up to the prorated minimum wage."""
    return np.maximum(0, i64(person("minimum_wage_prorated", period)) - i64(person("normal_pay", period)))


def bonus(person, period, parameters):
    return person("attendance_bonus", period)


def contract_month_pay(person, period, parameters):
    return sum(i64(person(name, period)) for name in ("base_pay_full", "seniority_pay_full", "allowances_full",
                                                         "high_risk_allowance_full"))


# -- untaken annual leave (企业职工带薪年休假实施办法 arts. 5, 10–12), no leave taken (out of scope) --

def _completed_years(person, period, on_day):
    on = np.datetime64("1970-01-01") + on_day.astype("timedelta64[D]")
    year = on.astype("datetime64[Y]").astype(np.int64) + 1970
    month = on.astype("datetime64[M]").astype(np.int64) % 12 + 1
    day = (on - on.astype("datetime64[M]")).astype(np.int64) + 1
    start_month, start_day = i64(person("service_month", period)), i64(person("service_day", period))
    return np.maximum(0, year - i64(person("service_year", period))
                      - ((month < start_month) | ((month == start_month) & (day < start_day))))


def annual_leave_payout_days(person, period, parameters):
    first, last = period.start.date, period.stop.date
    leave_policy = parameters(period.first_day).annual_leave
    in_force = i64(regional(person, period, leave_policy.in_force)) == 1
    leave_day = i64(person("leave_day", period))
    leaving = leave_day <= (last - EPOCH).days
    payout_month = (i64(regional(person, period, leave_policy.payout_month)) == first.month) & (i64(regional(person, period, leave_policy.pay_untaken)) == 1)
    payout_day = np.where(leaving, leave_day, (date(first.year, 12, 31) - EPOCH).days)
    years = _completed_years(person, period, payout_day)
    entitlement = np.zeros(person.count, dtype=np.int64)
    rows = parameters(period.first_day).annual_leave_entitlement
    for row in (rows[key] for key in sorted(rows)):                  # ascending min_service_years
        entitlement = np.where(years >= int(row.min_service_years), int(row.days), entitlement)
    year_start = (date(first.year, 1, 1) - EPOCH).days
    hire = i64(person("hire_day", period))
    prorated = (payout_day - np.maximum(hire, year_start) + 1) * entitlement // 365
    due = np.where(leaving | (hire > year_start), prorated, entitlement)
    return np.where(in_force & (leaving | payout_month), np.maximum(0, due), 0)


def annual_leave_wage(person, period, parameters):
    """The average of (gross − overtime − untaken-leave pay) of the payslips of the twelve months
    before, rounded; the contract month without any."""
    month = month_index(period)
    count = recorded_sum(person, "recorded_payslip", month - 12, month - 1)
    total = recorded_sum(person, "recorded_leave_wage", month - 12, month - 1)
    return np.where(count > 0, round_div(total, np.maximum(count, 1)), i64(person("contract_month_pay", period)))


def annual_leave_payout(person, period, parameters):
    values = parameters(period.first_day)
    extra = i64(regional(person, period, values.annual_leave.extra_rate_ppm))
    days = i64(person("annual_leave_payout_days", period))
    wage = i64(person("annual_leave_wage", period))
    denominator = int(values.national.pay_days_per_month_hundredths) * PPM
    return np.where(days > 0, round_div(wage * extra * days * 100, denominator), 0)


def gross_pay(person, period, parameters):
    return sum(i64(person(name, period)) for name in PAY_COMPONENTS)


PAY_COMPONENTS = ("base_pay", "seniority_pay", "allowances", "high_risk_allowance", "night_shift_pay",
                  "overtime_pay", "floor_topup", "bonus", "annual_leave_payout")


# -- contribution base (SPEC; docs/rules.md "Contribution base") --

def _base_year_wage(node: str):
    def formula(person, period, parameters):
        """Declared; else last base year's average wage; else the base year's first whole month; else
        this month if whole; else the contract month."""
        month = month_index(period)
        start_month = i64(regional(person, period, getattr(parameters(period.first_day), node).base_year_start_month))
        whole = i64(person("paid_days_employed", period)) == i64(person("paid_days_in_month", period))
        wage = np.where(whole, i64(person("gross_pay", period)), i64(person("contract_month_pay", period)))
        for start in np.unique(start_month):
            year = period.start.year if period.start.month >= start else period.start.year - 1
            begin = year * 12 + int(start) - 1
            here = start_month == start
            count = recorded_sum(person, "recorded_payslip", begin - 12, begin - 1)
            total = recorded_sum(person, "recorded_wage", begin - 12, begin - 1)
            first_whole = np.full(person.count, -1, dtype=np.int64)
            for index in range(month - 1, begin - 1, -1):          # the earliest whole month wins
                whole_then = i64(person("recorded_whole_month", month_period(index))) == 1
                first_whole = np.where(whole_then, i64(person("recorded_gross_pay", month_period(index))), first_whole)
            chosen = np.where(first_whole >= 0, first_whole, wage)
            chosen = np.where(count > 0, round_div(total, np.maximum(count, 1)), chosen)
            wage = np.where(here, chosen, wage)
        declared = i64(person("declared_base", period))
        return np.where(declared >= 0, declared, wage)
    return formula


def _fund_base(fund: str):
    def formula(person, period, parameters):
        values = getattr(parameters(period.first_day), "housing_fund" if fund == "housing_fund" else "social_insurance")
        row = values if fund == "housing_fund" else values[fund]
        wage = i64(person("housing_fund_wage" if fund == "housing_fund" else "contribution_wage", period))
        return np.minimum(np.maximum(wage, i64(regional(person, period, row.base_floor))), i64(regional(person, period, row.base_ceiling)))
    return formula


def _fund_share(fund: str, side: str):
    def formula(person, period, parameters):
        """社会保险法 arts. 12, 23, 33, 44, 53; 住房公积金管理条例 arts. 18–20: base × rate, rounded."""
        values = parameters(period.first_day)
        row = values.housing_fund if fund == "housing_fund" else values.social_insurance[fund]
        rate = i64(regional(person, period, getattr(row, f"{side}_rate_ppm")))
        return round_div(i64(person(f"{fund}_base", period)) * rate, PPM)
    return formula


def accident_insurance_employer(person, period, parameters):
    """Σ round(annual premium ÷ 12) over the covers that apply to the post."""
    high = person("high_risk", period)
    total = np.zeros(person.count, dtype=np.int64)
    covers = parameters(period.first_day).accident_insurance
    for cover in (covers[key] for key in covers):
        premium = i64(regional(person, period, cover.annual_premium))
        applies = (i64(regional(person, period, cover.high_risk_only)) == 0) | high
        total += np.where(applies, round_div(premium, 12), 0)
    return total


EMPLOYEE_SHARES = ("pension_employee", "medical_employee", "unemployment_employee", "housing_fund_employee")
EMPLOYER_SHARES = ("pension_employer", "medical_employer", "unemployment_employer", "injury_employer",
                   "maternity_employer", "housing_fund_employer")


def employee_contributions(person, period, parameters):
    return sum(i64(person(name, period)) for name in EMPLOYEE_SHARES)


def medical_levy_employee(person, period, parameters):
    """A monthly levy every month; a yearly one whole on the first payslip of the year."""
    levy = parameters(period.first_day).medical_levy
    yearly = i64(regional(person, period, levy.yearly)) == 1
    first_payslip = i64(person("months_employed_ytd", period)) == 1
    return np.where(yearly & ~first_payslip, 0, i64(regional(person, period, levy.employee_amount)))


def medical_levy_employer(person, period, parameters):
    return regional(person, period, parameters(period.first_day).medical_levy.employer_amount)


# -- income tax, cumulative withholding (国家税务总局公告2018年第61号 art. 6; 公告2020年第19号) --

def _year_so_far(person, period, variable):
    month = month_index(period)
    return recorded_sum(person, variable, period.start.year * 12, month - 1)


def months_employed_ytd(person, period, parameters):
    return _year_so_far(person, period, "recorded_payslip") + 1


def income_ytd(person, period, parameters):
    return _year_so_far(person, period, "recorded_income") + i64(person("gross_pay", period))


def contributions_ytd(person, period, parameters):
    return _year_so_far(person, period, "recorded_contributions") + i64(person("employee_contributions", period))


def special_deduction_ytd(person, period, parameters):
    return _year_so_far(person, period, "recorded_special_deduction") + i64(person("special_deduction", period))


def no19_applies(person, period, parameters):
    last_year = (period.start.year - 1) * 12
    months = recorded_sum(person, "recorded_payslip", last_year, last_year + 11)
    wage = recorded_sum(person, "recorded_wage", last_year, last_year + 11)
    return (months == 12) & (wage <= int(national(period, parameters).iit_no19_income_limit))


def basic_deduction_ytd(person, period, parameters):
    values = national(period, parameters)
    return np.where(person("no19_applies", period), int(values.iit_no19_annual_deduction),
                    int(values.iit_basic_deduction_monthly) * i64(person("months_employed_ytd", period)))


def taxable_income_ytd(person, period, parameters):
    return np.maximum(0, i64(person("income_ytd", period)) - i64(person("basic_deduction_ytd", period))
                      - i64(person("contributions_ytd", period)) - i64(person("special_deduction_ytd", period)))


def iit_due_ytd(person, period, parameters):
    """The bracket whose threshold is the largest below the taxable income (the first at 0):
    round(taxable × rate − quick deduction)."""
    taxable = i64(person("taxable_income_ytd", period))
    node = parameters(period.first_day).iit_brackets
    brackets = [node[key] for key in sorted(node, key=lambda key: int(key[1:]))]
    thresholds = np.array([int(b.threshold) for b in brackets], dtype=np.int64)
    chosen = np.maximum(0, np.searchsorted(thresholds, taxable, side="left") - 1)
    rate = np.array([int(b.rate_ppm) for b in brackets], dtype=np.int64)[chosen]
    quick = np.array([int(b.quick_deduction) for b in brackets], dtype=np.int64)[chosen]
    return round_div(taxable * rate - quick * PPM, PPM)


def iit_ytd_before(person, period, parameters):
    return _year_so_far(person, period, "recorded_iit")


def iit(person, period, parameters):
    return np.maximum(0, i64(person("iit_due_ytd", period)) - i64(person("iit_ytd_before", period)))


def iit_ytd(person, period, parameters):
    return i64(person("iit_ytd_before", period)) + i64(person("iit", period))


# -- deductions in legal order (工资支付暂行规定 arts. 15–16) --

def balance_owed_before(person, period, parameters):
    """The latest earlier payslip's balance owed, this year or last."""
    month = month_index(period)
    owed = np.zeros(person.count, dtype=np.int64)
    for index in range((period.start.year - 1) * 12, month):
        there = i64(person("recorded_payslip", month_period(index))) == 1
        owed = np.where(there, i64(person("recorded_balance_owed", month_period(index))), owed)
    return owed


def pay_after_contributions(person, period, parameters):
    return (i64(person("gross_pay", period)) - i64(person("iit", period)) - i64(person("employee_contributions", period))
            - i64(person("medical_levy_employee", period)))


def shortfall_carried(person, period, parameters):
    return np.maximum(0, -i64(person("pay_after_contributions", period)))


def court_deduction(person, period, parameters):
    room = np.maximum(0, i64(person("pay_after_contributions", period)))
    return np.where(i64(person("deduction_kind", period)) == 1,
                    np.minimum(i64(person("deduction_requested", period)), room), 0)


def other_deduction(person, period, parameters):
    room = np.maximum(0, i64(person("pay_after_contributions", period))) - i64(person("court_deduction", period))
    return np.where(i64(person("deduction_kind", period)) == 0,
                    np.minimum(i64(person("deduction_requested", period)), room), 0)


def limited_deduction_room(person, period, parameters):
    share = int(national(period, parameters).deduction_limited_share_ppm)
    left = (np.maximum(0, i64(person("pay_after_contributions", period))) - i64(person("court_deduction", period))
            - i64(person("other_deduction", period)) - i64(person("minimum_wage_prorated", period)))
    return np.maximum(0, np.minimum(round_div(np.maximum(0, i64(person("gross_pay", period))) * share, PPM), left))


def limited_deduction(person, period, parameters):
    return np.where(i64(person("deduction_kind", period)) == 2,
                    np.minimum(i64(person("deduction_requested", period)), i64(person("limited_deduction_room", period))), 0)


def deduction(person, period, parameters):
    return (i64(person("court_deduction", period)) + i64(person("other_deduction", period))
            + i64(person("limited_deduction", period)))


def balance_recovery(person, period, parameters):
    return np.minimum(i64(person("balance_owed_before", period)),
                      i64(person("limited_deduction_room", period)) - i64(person("limited_deduction", period)))


def balance_owed(person, period, parameters):
    untaken = i64(person("deduction_requested", period)) - i64(person("deduction", period))
    return (i64(person("balance_owed_before", period)) - i64(person("balance_recovery", period))
            + i64(person("shortfall_carried", period)) + np.where(i64(person("deduction_kind", period)) == 1, 0, untaken))


def net_pay(person, period, parameters):
    return (i64(person("gross_pay", period)) - i64(person("employee_contributions", period))
            - i64(person("medical_levy_employee", period)) - i64(person("iit", period)) - i64(person("deduction", period))
            - i64(person("balance_recovery", period)) + i64(person("shortfall_carried", period)))


def employer_cost(person, period, parameters):
    return (i64(person("gross_pay", period)) + sum(i64(person(name, period)) for name in EMPLOYER_SHARES)
            + i64(person("medical_levy_employer", period)) + i64(person("accident_insurance_employer", period)))


_FORMULAS = [paid_days_in_month, paid_days_employed, proration_denominator, proration_numerator, service_years,
             base_pay_full, seniority_pay_full, allowances_full, high_risk_allowance_full, night_shift_pay,
             base_pay, seniority_pay, allowances, high_risk_allowance, minimum_wage, overtime_base, overtime_pay,
             minimum_wage_prorated, normal_pay, floor_topup, bonus, contract_month_pay, annual_leave_payout_days,
             annual_leave_wage, annual_leave_payout, gross_pay, accident_insurance_employer,
             employee_contributions, medical_levy_employee, medical_levy_employer, months_employed_ytd, income_ytd,
             contributions_ytd, special_deduction_ytd, basic_deduction_ytd, taxable_income_ytd, iit_due_ytd,
             iit_ytd_before, iit, iit_ytd, balance_owed_before, pay_after_contributions, shortfall_carried,
             court_deduction, other_deduction, limited_deduction_room, limited_deduction, deduction,
             balance_recovery, balance_owed, net_pay, employer_cost]
RULES = ([_variable(f.__name__, formula=f, label=(f.__doc__ or f.__name__).strip().splitlines()[0]) for f in _FORMULAS]
         + [_variable("no19_applies", bool, "公告2020年第19号: 60,000 from January", formula=no19_applies)]
         + [_variable(f"overtime_{k}_pay", formula=_overtime(k)) for k in ("workday", "restday", "holiday")]
         + [_variable("contribution_wage", formula=_base_year_wage("social_insurance")),
            _variable("housing_fund_wage", formula=_base_year_wage("housing_fund"))]
         + [_variable(f"{fund}_base", formula=_fund_base(fund)) for fund in FUNDS + ("housing_fund",)]
         + [_variable(f"{fund}_{side}", formula=_fund_share(fund, side))
            for fund in FUNDS + ("housing_fund",) for side in ("employee", "employer")
            if side == "employer" or fund in ("pension", "medical", "unemployment", "housing_fund")])

OUTPUT = ("paid_days_in_month", "paid_days_employed", "service_years", "base_pay", "seniority_pay", "allowances",
          "high_risk_allowance", "night_shift_pay", "overtime_base", "overtime_workday_pay", "overtime_restday_pay",
          "overtime_holiday_pay", "overtime_pay", "minimum_wage_prorated", "floor_topup", "bonus",
          "annual_leave_payout_days", "annual_leave_payout", "gross_pay", "contribution_wage", "housing_fund_wage",
          *[f"{fund}_base" for fund in FUNDS + ("housing_fund",)],
          "pension_employee", "medical_employee", "unemployment_employee", "housing_fund_employee",
          *EMPLOYER_SHARES, "accident_insurance_employer", "employee_contributions", "months_employed_ytd",
          "medical_levy_employee", "medical_levy_employer", "income_ytd", "contributions_ytd",
          "special_deduction_ytd", "basic_deduction_ytd", "taxable_income_ytd", "iit", "iit_ytd", "deduction",
          "balance_recovery", "shortfall_carried", "balance_owed", "net_pay", "employer_cost")
ZERO_LINES = ("injury_disability_allowance", "performance_pay", "appraisal_bonus", "arrears_pay", "annual_bonus",
              "severance_pay", "other_payments", "sick_pay", "maternity_allowance", "maternity_topup",
              "iit_annual_bonus", "iit_severance")


# ------------------------------------------------------------------- parameters from tables/

def _dates(policy: PolicyRows, table: str, region: str) -> list[date]:
    """Every date a row on the region's chain takes effect or lapses."""
    chain = policy.chain(region)
    days = set()
    for row in policy.rows.get(table, []):
        if row.get("region_code", region) in chain:
            days.add(date.fromisoformat(row["effective_from"]))
            if row.get("valid_until"):
                days.add(date.fromisoformat(row["valid_until"]) + timedelta(days=1))
    return sorted(days)


def _series(policy: PolicyRows, table: str, region: str, key, value) -> dict:
    """{key: {date: value or None}}: the value of the row in force from each date on the chain."""
    out: dict = {}
    for day in _dates(policy, table, region):
        found = policy.resolve(table, region, day, key)
        for k in set(out) | set(found):
            out.setdefault(k, {})[day.isoformat()] = None if k not in found else value(found[k])
    return out


def _leaf(values: dict, reference: str = "") -> dict:
    """A parameter with dated values ({date: number or None, None = lapsed})."""
    leaf = {"values": {day: {"value": v} for day, v in values.items()}}
    if reference:
        leaf["reference"] = reference
    return leaf


def _ppm(text: str) -> int:
    value = frac(text) * PPM
    if value.denominator != 1:
        raise MissingFigure(f"a rate with more than six decimal places: {text}")
    return int(value)


def parameter_tree(policy: PolicyRows) -> dict:
    # the regions people are paid in: those with a minimum wage (a nation or province key would be
    # an empty node, and OpenFisca indexes a node by an array only when its children agree)
    cities = sorted(r["region_code"] for r in policy.rows["regions"]
                    if _series(policy, "minimum_wage", r["region_code"], lambda row: (), lambda row: 0))
    tree: dict = {"national": _national(policy), "iit_brackets": _brackets(policy),
                  "annual_leave_entitlement": _entitlement(policy)}
    regional = {"minimum_wage": {}, "pay_scale": {}, "allowances": {k: {} for k in (
                "per_service_year", "monthly", "high_risk_monthly", "per_night_shift")},
                "social_insurance": {fund: {k: {} for k in ("employee_rate_ppm", "employer_rate_ppm", "base_floor",
                                                           "base_ceiling")} for fund in FUNDS},
                "housing_fund": {k: {} for k in ("employee_rate_ppm", "employer_rate_ppm", "base_floor", "base_ceiling",
                                                 "base_year_start_month")},
                "accident_insurance": {}, "medical_levy": {k: {} for k in ("employee_amount", "yearly", "employer_amount")},
                "annual_leave": {k: {} for k in ("in_force", "extra_rate_ppm", "payout_month", "pay_untaken")}}
    regional["social_insurance"]["base_year_start_month"] = {}
    covers = sorted({r["cover"] for r in policy.rows.get("accident_insurance", [])})
    for city in cities:
        key = f"r{city}"
        regional["minimum_wage"][key] = _leaf(_series(policy, "minimum_wage", city, lambda r: (),
                                                      lambda r: fen(r["monthly_minimum_wage"])).get((), {}))
        scale = _series(policy, "pay_scale", city, lambda r: (r["category"], r["level"]), lambda r: fen(r["base_pay"]))
        regional["pay_scale"][key] = {category: {f"level_{level}": _leaf(values) for (c, level), values in scale.items()
                                                 if c == category} for category in ("duty", "civilian")}
        for name, node in _allowances(policy, city).items():
            regional["allowances"][name][key] = node
        funds = _series(policy, "social_insurance", city, lambda r: r["fund"], lambda r: r)
        for fund in FUNDS:
            rows = funds.get(fund, {})
            for field, convert in (("employee_rate_ppm", lambda r: _ppm(r["employee_rate"])),
                                   ("employer_rate_ppm", lambda r: _ppm(r["employer_rate"])),
                                   ("base_floor", lambda r: fen(r["base_floor"])),
                                   ("base_ceiling", lambda r: fen(r["base_ceiling"]))):
                regional["social_insurance"][fund][field][key] = _leaf(
                    {d: None if r is None else convert(r) for d, r in rows.items()})
        start = funds.get("pension", {})
        regional["social_insurance"]["base_year_start_month"][key] = _leaf(
            {d: None if r is None else int((r.get("base_year_start") or "01-01")[:2]) for d, r in start.items()})
        housing = _series(policy, "housing_fund", city, lambda r: (), lambda r: r).get((), {})
        for field, convert in (("employee_rate_ppm", lambda r: _ppm(r["employee_rate"])),
                               ("employer_rate_ppm", lambda r: _ppm(r["employer_rate"])),
                               ("base_floor", lambda r: fen(r["base_floor"])),
                               ("base_ceiling", lambda r: fen(r["base_ceiling"])),
                               ("base_year_start_month", lambda r: int((r.get("base_year_start") or "01-01")[:2]))):
            regional["housing_fund"][field][key] = _leaf({d: None if r is None else convert(r) for d, r in housing.items()})
        accident = _series(policy, "accident_insurance", city, lambda r: r["cover"], lambda r: r)
        for cover in covers:
            rows = accident.get(cover, {})
            node = regional["accident_insurance"].setdefault(cover, {"annual_premium": {}, "high_risk_only": {}})
            node["annual_premium"][key] = _leaf({"1900-01-01": 0, **{d: 0 if r is None else fen(r["annual_premium"])
                                                                     for d, r in rows.items()}})
            node["high_risk_only"][key] = _leaf({"1900-01-01": 0, **{d: 0 if r is None else int(r["applies_to"] == "high_risk")
                                                                     for d, r in rows.items()}})
        levy = _series(policy, "medical_levies", city, lambda r: (), lambda r: r).get((), {})
        for field, convert in (("employee_amount", lambda r: fen(r["employee_amount"])),
                               ("yearly", lambda r: int(r["employee_period"] == "year")),
                               ("employer_amount", lambda r: fen(r["employer_amount"]))):
            regional["medical_levy"][field][key] = _leaf({"1900-01-01": 0, **{d: 0 if r is None else convert(r)
                                                                              for d, r in levy.items()}})
        leave = _series(policy, "annual_leave_policy", city, lambda r: (), lambda r: r).get((), {})
        for field, convert in (("in_force", lambda r: 1), ("extra_rate_ppm", lambda r: _ppm(r["extra_rate"])),
                               ("payout_month", lambda r: int(r["payout_month"])),
                               ("pay_untaken", lambda r: int(r["untaken"] == "pay"))):
            regional["annual_leave"][field][key] = _leaf({"1900-01-01": 0, **{d: 0 if r is None else convert(r)
                                                                              for d, r in leave.items()}})
    tree.update(regional)
    return tree


def _allowances(policy: PolicyRows, city: str) -> dict:
    """Per (category, risk class) the sums of the allowance rows that apply, dated."""
    items = _series(policy, "allowances", city, lambda r: r["item"], lambda r: r)
    days = sorted({d for values in items.values() for d in values})
    out = {name: {k: {} for k in CATEGORY_RISK} for name in ("per_service_year", "monthly", "high_risk_monthly",
                                                               "per_night_shift")}
    for day in days:
        rows = [values[day] for values in items.values() if values.get(day) is not None] + \
               [_latest(values, day) for values in items.values() if day not in values and _latest(values, day)]
        for key in CATEGORY_RISK:
            category, risk = key.split("_")
            sums = dict.fromkeys(out, 0)
            for row in rows:
                if not (row["applies_to"] in ("all", category) or (row["applies_to"] == "high_risk" and risk == "high")):
                    continue
                name = {"service_year": "per_service_year", "night_shift": "per_night_shift"}.get(row["per"])
                name = name or ("high_risk_monthly" if row["applies_to"] == "high_risk" else "monthly")
                sums[name] += fen(row["amount"])
            for name in out:
                out[name][key][day] = sums[name]
    return {name: {key: _leaf(values or {"1900-01-01": 0}) for key, values in nodes.items()} for name, nodes in out.items()}


def _latest(values: dict, day: str):
    earlier = [d for d in values if d < day]
    return values[max(earlier)] if earlier else None


def _national(policy: PolicyRows) -> dict:
    def series(name, convert):
        rows = [r for r in policy.rows["national_parameters"] if r["name"] == name]
        return _leaf({r["effective_from"]: convert(r["value"]) for r in rows}, rows[-1]["source"] if rows else "")
    return {"pay_days_per_month_hundredths": series("pay_days_per_month", lambda v: int(frac(v) * 100)),
            "hours_per_day": series("hours_per_day", lambda v: int(frac(v))),
            "overtime_rate_ppm": {k: series(f"overtime_{k}_rate", _ppm) for k in ("workday", "restday", "holiday")},
            "iit_basic_deduction_monthly": series("iit_basic_deduction_monthly", fen),
            "iit_no19_annual_deduction": series("iit_no19_annual_deduction", fen),
            "iit_no19_income_limit": series("iit_no19_income_limit", fen),
            "deduction_limited_share_ppm": series("deduction_limited_share", _ppm)}


def _brackets(policy: PolicyRows) -> dict:
    """iit_brackets.csv: each dated table as brackets b0, b1 … (a later table with fewer rows closes
    the others with an unreachable threshold)."""
    tables: dict[str, list[dict]] = {}
    for row in policy.rows["iit_brackets"]:
        tables.setdefault(row["effective_from"], []).append(row)
    size = max(len(rows) for rows in tables.values())
    out = {}
    for index in range(size):
        node = {"threshold": {}, "rate_ppm": {}, "quick_deduction": {}}
        for day, rows in sorted(tables.items()):
            rows = sorted(rows, key=lambda r: frac(r["threshold"]))
            row = rows[index] if index < len(rows) else None
            node["threshold"][day] = fen(row["threshold"]) if row else 10**15
            node["rate_ppm"][day] = _ppm(row["rate"]) if row else 0
            node["quick_deduction"][day] = fen(row["quick_deduction"]) if row else 0
        out[f"b{index}"] = {name: _leaf(values) for name, values in node.items()}
    return out


def _entitlement(policy: PolicyRows) -> dict:
    rows = policy.rows.get("annual_leave_entitlement", [])
    minimums = sorted({int(r["min_service_years"]) for r in rows})
    out = {}
    for minimum in minimums:
        dated = {r["effective_from"]: int(r["days"]) for r in rows if int(r["min_service_years"]) == minimum}
        out[f"from_{minimum:02d}_years"] = {"min_service_years": _leaf({d: minimum for d in dated}), "days": _leaf(dated)}
    return out


# ---------------------------------------------------------------------------------- DB → DB

def simulate(system: TaxBenefitSystem, inputs: MonthInputs):
    label = inputs.month.label
    builder = SimulationBuilder()
    builder.create_entities(system)
    builder.declare_person_entity("person", np.arange(len(inputs)).astype(str))
    simulation = builder.build(system)
    Region = system.variables_region_enum
    names = np.array([f"r{code}" for code in inputs.regions])
    simulation.set_input("region", label, Region.encode(names[inputs.region_index]))
    sources = {"attendance_bonus": "bonus", "deduction_requested": "deduction"}
    for name in INPUTS:
        simulation.set_input(name, label, inputs[sources.get(name, name)])
    history = inputs.history
    for index in np.unique(history["rows_month"]):
        rows = history["rows_month"] == index
        person = history["rows_person"][rows]
        for name in RECORDED:
            values = np.zeros(len(inputs), dtype=np.int64)
            values[person] = 1 if name == "payslip" else history[f"rows_{name}"][rows]
            simulation.set_input(f"recorded_{name}", month_period(int(index)), values)
    return simulation


def compute(system: TaxBenefitSystem, inputs: MonthInputs) -> dict[str, np.ndarray]:
    simulation = simulate(system, inputs)
    out = {name: i64(simulation.calculate(name, inputs.month.label)) for name in OUTPUT}
    for name in ZERO_LINES:
        out[name] = np.zeros(len(inputs), dtype=np.int64)
    return out


def run(con, month: str = "2025-02", policy: PolicyRows | None = None, system: TaxBenefitSystem | None = None,
        table: str = TABLE) -> dict:
    """Load, compute, write back; returns the seconds of each phase and the rows written (the
    tax-benefit system is built before the clock starts, as a long-running service would hold it)."""
    policy = policy or PolicyRows()
    system = system or build_system(policy)
    return run_db_to_db(con, month, policy, lambda inputs: compute(system, inputs), table)


if __name__ == "__main__":
    main(run, __doc__)
