"""A plain numpy peer of the monthly run, written from docs/rules.md (issue 17, target 1).

It loads the month from DuckDB into arrays (benchmarks/peers/inputs.py), computes the payslip
columns with whole-array integer arithmetic in fen, each line rounded half-up once, and writes them
back to the DuckDB table `peer_numpy_payslips`. Nothing is imported from `payroll`.

Covered (what a synthetic roster's month holds, `payroll.synth.synth_roster`): who is paid;
calendar and proration (partial months, unpaid leave); base, seniority, allowances, high-risk
allowance, night shifts, the three kinds of overtime with the minimum-wage overtime base, the
minimum-wage top-up, the attendance bonus; untaken annual leave paid in a leaver's last month (and
in the payout month) with nothing taken; the contribution base (declared, previous year, first
whole month, contract month, per base year and fund) clamped per fund, the five insurances, the
housing fund, accident insurance, fixed medical levies; cumulative income tax (公告2020年第19号
included); deductions in legal order with the balance owed; net pay and employer cost.

Not covered, and refused (inputs.OutOfScope) when the database holds them: work injuries and
deaths, leave records (sick, maternity, annual leave taken), one-off payments, appraisal results
(performance pay, appraisal bonus), probation, opening balances, effective-dated records, closed
months and arrears, off-cycle runs, an indexed pay scale, annual leave carried over. Their payslip
lines are written as 0, which they are in every month the peer accepts.

    python3 -m benchmarks.peers.numpy_peer DB [--month 2025-02]
"""
from __future__ import annotations

from datetime import date

import numpy as np

from .inputs import (FUNDS, EPOCH, MissingFigure, MonthInputs, PolicyRows, day_kinds, fen, frac,
                     main, round_div, run_db_to_db, times)

TABLE = "peer_numpy_payslips"
ZERO_LINES = ("injury_disability_allowance", "performance_pay", "appraisal_bonus", "arrears_pay",
              "annual_bonus", "severance_pay", "other_payments", "sick_pay", "maternity_allowance",
              "maternity_topup", "iit_annual_bonus", "iit_severance")


# --------------------------------------------------------------------------- policy as arrays

class RegionFigures:
    """The rows in force on the month's first day, per region of the roster, as arrays indexed
    by the region's position in `regions` (and by category, risk class, level where keyed)."""

    def __init__(self, policy: PolicyRows, regions: list[str], first: date):
        n = len(regions)
        self.max_level = 1 + max((int(r["level"]) for r in policy.rows["pay_scale"]), default=0)
        self.base_pay_full = np.full((n, 2, self.max_level), -1, dtype=np.int64)   # [region, duty, level]
        shape = (n, 2, 2)                                                          # [region, duty, high risk]
        self.seniority_rate, self.allowances_full = np.zeros(shape, np.int64), np.zeros(shape, np.int64)
        self.high_risk_full, self.night_rate = np.zeros(shape, np.int64), np.zeros(shape, np.int64)
        self.accident_premium = np.zeros((n, 2), np.int64)                        # [region, high risk]
        self.minimum_wage = np.zeros(n, np.int64)
        self.fund_floor = np.zeros((len(FUNDS) + 1, n), np.int64)                 # housing fund last
        self.fund_ceiling = np.zeros((len(FUNDS) + 1, n), np.int64)
        self.employee_rate = [[None] * n for _ in range(len(FUNDS) + 1)]
        self.employer_rate = [[None] * n for _ in range(len(FUNDS) + 1)]
        self.base_year_start = np.zeros((2, n), np.int64)                         # [insurances, housing fund]
        self.levy_employee = np.zeros(n, np.int64)
        self.levy_yearly = np.zeros(n, bool)
        self.levy_employer = np.zeros(n, np.int64)
        self.leave_policy = [None] * n
        for index, region in enumerate(regions):
            self._region(policy, index, region, first)

    def _region(self, policy: PolicyRows, index: int, region: str, first: date) -> None:
        scale = policy.resolve("pay_scale", region, first, key=lambda r: (r["category"], int(r["level"])))
        for (category, level), row in scale.items():
            self.base_pay_full[index, int(category == "duty"), level] = fen(row["base_pay"])
        applying = policy.resolve("allowances", region, first, key=lambda r: r["item"]).values()
        for duty in (0, 1):
            for high in (0, 1):
                category = "duty" if duty else "civilian"
                for row in applying:
                    if not (row["applies_to"] in ("all", category) or (row["applies_to"] == "high_risk" and high)):
                        continue
                    amount = fen(row["amount"])
                    if row["per"] == "service_year":
                        self.seniority_rate[index, duty, high] += amount
                    elif row["per"] == "night_shift":
                        self.night_rate[index, duty, high] += amount
                    elif row["applies_to"] == "high_risk":
                        self.high_risk_full[index, duty, high] += amount
                    else:
                        self.allowances_full[index, duty, high] += amount
        for row in policy.resolve("accident_insurance", region, first, key=lambda r: r["cover"]).values():
            premium = int(round_div(np.int64(fen(row["annual_premium"])), 12))       # round(annual ÷ 12)
            for high in (0, 1):
                if row["applies_to"] == "all" or (row["applies_to"] == "high_risk" and high):
                    self.accident_premium[index, high] += premium
        self.minimum_wage[index] = fen(policy.one("minimum_wage", region, first)["monthly_minimum_wage"])
        insurances = policy.resolve("social_insurance", region, first, key=lambda r: r["fund"])
        starts = set()
        for position, fund in enumerate(FUNDS):
            row = insurances.get(fund)
            if row is None:
                raise MissingFigure(f"social_insurance.csv: no {fund} row for region {region} in {first:%Y-%m}")
            self._fund(position, index, row)
            starts.add(row.get("base_year_start") or "01-01")
        if len(starts) != 1:
            raise MissingFigure(f"social_insurance.csv: the funds of {region} start their base years differently")
        housing = policy.one("housing_fund", region, first)
        self._fund(len(FUNDS), index, housing)
        self.base_year_start[0, index] = int(starts.pop()[:2])
        self.base_year_start[1, index] = int((housing.get("base_year_start") or "01-01")[:2])
        levy = policy.one("medical_levies", region, first, required=False)
        if levy is not None:
            self.levy_employee[index] = fen(levy["employee_amount"])
            self.levy_yearly[index] = levy["employee_period"] == "year"
            self.levy_employer[index] = fen(levy["employer_amount"])
        self.leave_policy[index] = policy.one("annual_leave_policy", region, first, required=False)

    def _fund(self, position: int, index: int, row: dict) -> None:
        self.fund_floor[position, index] = fen(row["base_floor"])
        self.fund_ceiling[position, index] = fen(row["base_ceiling"])
        self.employee_rate[position][index] = frac(row["employee_rate"])
        self.employer_rate[position][index] = frac(row["employer_rate"])
        if position >= 3 and position < len(FUNDS) and self.employee_rate[position][index] != 0:
            raise MissingFigure(f"social_insurance.csv: {FUNDS[position]} has an employee rate")


def by_region(amounts: np.ndarray, rates: list, region: np.ndarray) -> np.ndarray:
    """round(amount × the region's rate) for each person (one rate per region, exact fractions)."""
    out = np.zeros(len(amounts), dtype=np.int64)
    for index, rate in enumerate(rates):
        mask = region == index
        if mask.any():
            out[mask] = times(amounts[mask], rate)
    return out


# ------------------------------------------------------------------------------ the payslip

def compute(inputs: MonthInputs, policy: PolicyRows) -> dict[str, np.ndarray]:
    month, first = inputs.month, inputs.month.first
    figures = RegionFigures(policy, inputs.regions, first)
    region, duty, high = inputs.region_index, inputs["duty"].astype(np.int64), inputs["high_risk"].astype(np.int64)
    out: dict[str, np.ndarray] = {}

    # calendar and proration: F = max(0, E/P − L/D) as numerator ÷ a denominator common to all
    kinds = day_kinds(first, month.last, policy.rows.get("calendar", []))
    paid_cum = np.concatenate([[0], np.cumsum([kind != "rest" for kind in kinds])])
    paid_days_in_month = int(paid_cum[-1])
    first_day, last_day = month.days(first), month.days(month.last)
    start = np.maximum(inputs["hire_day"], first_day) - first_day
    end = np.minimum(inputs["leave_day"], last_day) - first_day
    employed = np.where(start <= end, paid_cum[np.clip(end + 1, 0, len(kinds))] - paid_cum[np.clip(start, 0, len(kinds))], 0)
    pay_days = policy.national("pay_days_per_month", first)
    leave_hundredths = inputs["unpaid_leave_days"]
    proration_den = paid_days_in_month * 100 * pay_days.numerator
    proration_num = np.maximum(0, employed * 100 * pay_days.numerator
                               - leave_hundredths * pay_days.denominator * paid_days_in_month)
    out["paid_days_in_month"] = np.full(len(inputs), paid_days_in_month, dtype=np.int64)
    out["paid_days_employed"] = employed

    def prorated(amount: np.ndarray) -> np.ndarray:
        return round_div(amount * proration_num, proration_den)

    # pay components
    level = inputs["level"].astype(np.int64)
    if (level < 0).any() or (level >= figures.max_level).any():
        raise MissingFigure(f"pay_scale.csv: a level outside the scale in {month.label}")
    base_pay_full = figures.base_pay_full[region, duty, level]
    if (base_pay_full < 0).any():
        person = int(np.flatnonzero(base_pay_full < 0)[0])
        raise MissingFigure(f"pay_scale.csv: no row for region {inputs.regions[region[person]]}, level "
                            f"{level[person]} in {month.label}")
    service_years = np.maximum(0, first.year - inputs["service_year"]
                               - ((first.month < inputs["service_month"])
                                  | ((first.month == inputs["service_month"]) & (first.day < inputs["service_day"]))))
    seniority_pay_full = figures.seniority_rate[region, duty, high] * service_years
    allowances_full = figures.allowances_full[region, duty, high]
    high_risk_full = figures.high_risk_full[region, duty, high]
    out["service_years"] = service_years
    out["base_pay"] = prorated(base_pay_full)
    out["seniority_pay"] = prorated(seniority_pay_full)
    out["allowances"] = prorated(allowances_full)
    out["high_risk_allowance"] = prorated(high_risk_full)
    out["night_shift_pay"] = figures.night_rate[region, duty, high] * inputs["night_shifts"]

    # overtime (劳动法 art. 44): overtime base × hours × rate ÷ (D × hours a day), each kind rounded
    minimum_wage = figures.minimum_wage[region]
    overtime_base = np.maximum(base_pay_full + seniority_pay_full + allowances_full, minimum_wage)
    hours_per_day = policy.national("hours_per_day", first)
    out["overtime_base"] = overtime_base
    overtime = np.zeros(len(inputs), dtype=np.int64)
    for kind in ("workday", "restday", "holiday"):
        rate = policy.national(f"overtime_{kind}_rate", first) / (pay_days * hours_per_day * 100)
        pay = round_div(overtime_base * inputs[f"overtime_{kind}_hours"] * rate.numerator, rate.denominator)
        out[f"overtime_{kind}_pay"] = pay
        overtime += pay
    out["overtime_pay"] = overtime

    # minimum wage (最低工资规定 art. 12): pay for normal hours topped up to the prorated minimum
    minimum_wage_prorated = prorated(minimum_wage)
    normal_pay = out["base_pay"] + out["seniority_pay"] + out["allowances"]
    out["minimum_wage_prorated"] = minimum_wage_prorated
    out["floor_topup"] = np.maximum(0, minimum_wage_prorated - normal_pay)
    out["bonus"] = inputs["bonus"]
    contract_month = base_pay_full + seniority_pay_full + allowances_full + high_risk_full
    out["annual_leave_payout_days"], out["annual_leave_payout"] = annual_leave_payout(
        inputs, policy, figures, contract_month, pay_days)
    for name in ZERO_LINES:
        out[name] = np.zeros(len(inputs), dtype=np.int64)
    out["gross_pay"] = (out["base_pay"] + out["seniority_pay"] + out["allowances"] + out["high_risk_allowance"]
                        + out["night_shift_pay"] + overtime + out["floor_topup"] + out["bonus"]
                        + out["annual_leave_payout"])

    # contribution base per base year (SPEC; docs/rules.md "Contribution base"), clamped per fund
    whole = employed == paid_days_in_month
    wages = [contribution_wage(inputs, figures.base_year_start[which, region], out["gross_pay"], whole,
                               contract_month) for which in (0, 1)]
    out["contribution_wage"], out["housing_fund_wage"] = wages
    contributions = np.zeros(len(inputs), dtype=np.int64)
    employer_total = np.zeros(len(inputs), dtype=np.int64)
    for position, fund in enumerate(FUNDS + ("housing_fund",)):
        wage = wages[1] if fund == "housing_fund" else wages[0]
        base = np.minimum(np.maximum(wage, figures.fund_floor[position][region]), figures.fund_ceiling[position][region])
        out[f"{fund}_base"] = base
        out[f"{fund}_employer"] = by_region(base, figures.employer_rate[position], region)
        employer_total += out[f"{fund}_employer"]
        if fund in ("pension", "medical", "unemployment", "housing_fund"):
            out[f"{fund}_employee"] = by_region(base, figures.employee_rate[position], region)
            contributions += out[f"{fund}_employee"]
    out["accident_insurance_employer"] = figures.accident_premium[region, high]
    out["employee_contributions"] = contributions

    # income tax, cumulative withholding (国家税务总局公告2018年第61号 art. 6)
    history = inputs.history
    months_ytd = history["months_this_year"] + 1
    out["months_employed_ytd"] = months_ytd
    levy_employee = figures.levy_employee[region]
    out["medical_levy_employee"] = np.where(figures.levy_yearly[region] & (months_ytd > 1), 0, levy_employee)
    out["medical_levy_employer"] = figures.levy_employer[region]
    out["income_ytd"] = history["income_ytd_before"] + out["gross_pay"]
    out["contributions_ytd"] = history["contributions_ytd_before"] + contributions
    out["special_deduction_ytd"] = history["special_deduction_ytd_before"] + inputs["special_deduction"]
    no19 = ((history["months_last_year"] == 12)
            & (history["gross_last_year"] <= fen(str(policy.national("iit_no19_income_limit", first)))))
    monthly = policy.national("iit_basic_deduction_monthly", first) * 100
    annual = policy.national("iit_no19_annual_deduction", first) * 100
    out["basic_deduction_ytd"] = np.where(no19, int(annual), int(monthly) * months_ytd)
    taxable = np.maximum(0, out["income_ytd"] - out["basic_deduction_ytd"] - out["contributions_ytd"]
                         - out["special_deduction_ytd"])
    out["taxable_income_ytd"] = taxable
    brackets = policy.dated("iit_brackets", first)
    thresholds = np.array([fen(b["threshold"]) for b in brackets], dtype=np.int64)
    if thresholds[0] != 0:
        raise MissingFigure("iit_brackets.csv: the first bracket must start at 0")
    bracket = np.maximum(0, np.searchsorted(thresholds, taxable, side="left") - 1)
    rates = [frac(b["rate"]) for b in brackets]
    denominator = int(np.lcm.reduce([r.denominator for r in rates]))
    rate_num = np.array([r.numerator * (denominator // r.denominator) for r in rates], dtype=np.int64)
    quick = np.array([fen(b["quick_deduction"]) for b in brackets], dtype=np.int64)
    due = round_div(taxable * rate_num[bracket] - quick[bracket] * denominator, denominator)
    out["iit"] = np.maximum(0, due - history["iit_ytd_before"])
    out["iit_ytd"] = history["iit_ytd_before"] + out["iit"]

    # deductions in legal order (工资支付暂行规定 arts. 15–16), net pay never negative
    share = policy.national("deduction_limited_share", first)
    settle_deductions(out, inputs, contributions + out["medical_levy_employee"], minimum_wage_prorated, share)
    out["net_pay"] = (out["gross_pay"] - contributions - out["medical_levy_employee"] - out["iit"]
                      - out["deduction"] - out["balance_recovery"] + out["shortfall_carried"])
    out["employer_cost"] = (out["gross_pay"] + employer_total + out["medical_levy_employer"]
                            + out["accident_insurance_employer"])
    return out


def contribution_wage(inputs: MonthInputs, start_month: np.ndarray, gross: np.ndarray, whole: np.ndarray,
                      contract_month: np.ndarray) -> np.ndarray:
    """Declared base; else the average wage of the twelve months before the base year; else the
    base year's first whole month (an earlier payslip's, else this month's if whole); else the
    contract month. Months are counted as year × 12 + month − 1."""
    month = inputs.month.first.year * 12 + inputs.month.first.month - 1
    this_month_of_year = inputs.month.first.month
    year_start = np.where(this_month_of_year >= start_month, inputs.month.first.year, inputs.month.first.year - 1) \
        * 12 + start_month - 1
    history, n = inputs.history, len(inputs)
    person, when = history["rows_person"], history["rows_month"]
    start_of = year_start[person]
    before = (when >= start_of - 12) & (when < start_of)
    since = (when >= start_of) & (when < month)
    count = np.bincount(person[before], minlength=n)
    total = np.bincount(person[before], weights=history["rows_wage"][before].astype(np.float64), minlength=n)
    # exact: the sums are whole fen far below 2**53
    previous_year = round_div(total.astype(np.int64), np.maximum(count, 1))
    first_whole = np.full(n, -1, dtype=np.int64)
    rows = np.flatnonzero(since & history["rows_whole_month"].astype(bool))[::-1]   # rows are ordered by month
    first_whole[person[rows]] = history["rows_gross_pay"][rows]
    wage = np.where(whole, gross, contract_month)
    wage = np.where(first_whole >= 0, first_whole, wage)
    wage = np.where(count > 0, previous_year, wage)
    return np.where(inputs["declared_base"] >= 0, inputs["declared_base"], wage)


def annual_leave_payout(inputs: MonthInputs, policy: PolicyRows, figures: RegionFigures,
                        contract_month: np.ndarray, pay_days) -> tuple[np.ndarray, np.ndarray]:
    """Untaken annual leave (企业职工带薪年休假实施办法 arts. 5, 10–12), no leave taken (leave records
    are out of scope): a leaver's last month gets ⌊days of the year employed × entitlement ÷ 365⌋,
    the payout month everyone the entitlement (prorated for a hire of the year); paid at
    round(W × extra_rate × days ÷ D), W the average of (gross − overtime − payout) of the payslips
    of the twelve months before, or the contract month."""
    n, month = len(inputs), inputs.month
    first, last = month.first, month.last
    leaving = inputs["leave_day"] <= month.days(last)
    in_force = np.array([row is not None for row in figures.leave_policy] or [False])
    payout_month = np.array([row is not None and int(row["payout_month"]) == first.month and row["untaken"] == "pay"
                             for row in figures.leave_policy] or [False])
    extra_ppm = np.array([int(frac(row["extra_rate"]) * 10**6) if row is not None else 0
                          for row in figures.leave_policy] or [0], dtype=np.int64)
    region = inputs.region_index
    due_now = np.flatnonzero(in_force[region] & (leaving | payout_month[region]))   # a few leavers a month
    days = np.zeros(n, dtype=np.int64)
    extra = np.zeros(n, dtype=np.int64)          # extra_rate × 10**6 (the rates have six places at most)
    if len(due_now):
        year_start_day = month.days(date(first.year, 1, 1))
        leaves = leaving[due_now]
        payout_day = np.where(leaves, inputs["leave_day"][due_now], month.days(date(first.year, 12, 31)))
        entitlement = entitled_days(inputs, policy.rows.get("annual_leave_entitlement", []), payout_day, due_now)
        hire = inputs["hire_day"][due_now]
        prorated = (payout_day - np.maximum(hire, year_start_day) + 1) * entitlement // 365
        days[due_now] = np.maximum(0, np.where(leaves | (hire > year_start_day), prorated, entitlement))
        extra[due_now] = extra_ppm[region[due_now]]
    history = inputs.history
    window_start = first.year * 12 + first.month - 1 - 12
    rows = history["rows_month"] >= window_start
    count = np.bincount(history["rows_person"][rows], minlength=n)
    total = np.bincount(history["rows_person"][rows], weights=history["rows_leave_wage"][rows].astype(np.float64),
                        minlength=n).astype(np.int64)
    wage = np.where(count > 0, round_div(total, np.maximum(count, 1)), contract_month)
    rate = pay_days * 10**6
    pay = round_div(wage * extra * days * rate.denominator, rate.numerator)
    return days, np.where(days > 0, pay, 0)


def entitled_days(inputs: MonthInputs, rows: list[dict], payout_day: np.ndarray, people: np.ndarray) -> np.ndarray:
    """Days of annual leave by completed service years on the payout day: the row with the latest
    effective_from, then the largest min_service_years, that applies."""
    payout = (np.datetime64("1970-01-01") + payout_day.astype("timedelta64[D]"))
    year = payout.astype("datetime64[Y]").astype(np.int64) + 1970
    month_no = payout.astype("datetime64[M]").astype(np.int64) % 12 + 1
    day = (payout - payout.astype("datetime64[M]")).astype(np.int64) + 1
    start_year, start_month = inputs["service_year"][people], inputs["service_month"][people]
    years = np.maximum(0, year - start_year - ((month_no < start_month)
                                               | ((month_no == start_month) & (day < inputs["service_day"][people]))))
    best_rank = np.full(len(years), -1, dtype=np.int64)
    days = np.zeros(len(years), dtype=np.int64)
    for row in rows:
        starts = (date.fromisoformat(row["effective_from"]) - EPOCH).days
        minimum = int(row["min_service_years"])
        rank = starts * 1000 + minimum
        fits = (minimum <= years) & (starts <= payout_day) & (rank > best_rank)
        best_rank = np.where(fits, rank, best_rank)
        days = np.where(fits, int(row["days"]), days)
    return days


def settle_deductions(out: dict, inputs: MonthInputs, withheld: np.ndarray, minimum_wage_prorated: np.ndarray,
                      share) -> None:
    """Tax, contributions and levy first; then court, other, then damages/recovery and the balance
    owed within share × the wage and above the prorated minimum wage; a shortfall is carried."""
    gross, requested, kind = out["gross_pay"], inputs["deduction"], inputs["deduction_kind"]
    before = inputs.history["balance_owed_before"]
    after = gross - out["iit"] - withheld
    shortfall = np.maximum(0, -after)
    room = np.maximum(0, after)
    court = np.where(kind == 1, np.minimum(requested, room), 0)
    other = np.where(kind == 0, np.minimum(requested, room - court), 0)
    limited_room = np.maximum(0, np.minimum(times(np.maximum(0, gross), share),
                                            room - court - other - minimum_wage_prorated))
    limited = np.where(kind == 2, np.minimum(requested, limited_room), 0)
    taken = court + other + limited
    untaken = requested - taken
    recovery = np.minimum(before, limited_room - limited)
    out["deduction"] = taken
    out["balance_recovery"] = recovery
    out["shortfall_carried"] = shortfall
    out["balance_owed"] = before - recovery + shortfall + np.where(kind == 1, 0, untaken)


# ---------------------------------------------------------------------------------- DB → DB

def run(con, month: str = "2025-02", policy: PolicyRows | None = None, table: str = TABLE) -> dict:
    """Load, compute, write back; returns the seconds of each phase and the rows written."""
    policy = policy or PolicyRows()
    return run_db_to_db(con, month, policy, lambda inputs: compute(inputs, policy), table)


if __name__ == "__main__":
    main(run, __doc__)
