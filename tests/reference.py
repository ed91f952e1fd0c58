"""A plain, scalar re-implementation of docs/rules.md: one person, one month at a time.

Independent of the engine on purpose: it imports nothing from `payroll`, reads the policy CSVs
with the csv module, walks the region chain itself, builds the calendar itself from `holidays`
and the table `calendar.csv` (its rows win, as in the engine), and computes with exact fractions, rounding each line item half-up to the fen exactly once
(decimal.ROUND_HALF_UP). No numpy, pandas or DuckDB.

    compute_year(employees, attendance, tables_dir, months) -> {(employee_id, month): {column: value}}

Employees are dicts with the SPEC column names (contribution_base None when empty,
special_deduction Decimal, dates as datetime.date, service_start None meaning hire_date).
Attendance is {(employee_id, "YYYY-MM"): {column: Decimal or int}}; a missing row is a full month.
Months must be consecutive and in order; the year-to-date state and the previous-year history are
those of the months computed in the same call (as a fresh database run over the same months).
"""
from __future__ import annotations

import csv
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import holidays

NATION = "000000"
FUNDS = ("pension", "medical", "unemployment", "injury", "maternity")
FEN = Decimal("0.01")

# The SPEC register, in order.
REGISTER = (
    "employee_id", "month", "region_code", "unit", "level",
    "base_pay", "seniority_pay", "allowances", "high_risk_allowance", "night_shift_pay",
    "overtime_pay", "floor_topup", "bonus", "injury_disability_allowance",
    "annual_bonus", "severance_pay", "other_payments", "arrears_pay",
    "sick_pay", "maternity_allowance", "maternity_topup", "annual_leave_payout", "gross_pay",
    "pension_employee", "medical_employee", "unemployment_employee", "housing_fund_employee",
    "taxable_income_ytd", "iit_ytd", "iit", "deduction", "net_pay",
    "pension_employer", "medical_employer", "unemployment_employer", "injury_employer",
    "maternity_employer", "housing_fund_employer", "accident_insurance_employer", "employer_cost",
    "injury_stoppage",
    "iit_annual_bonus", "iit_severance", "balance_recovery", "shortfall_carried", "balance_owed",
    "annual_bonus_method", "annual_bonus_in_cliff",
    "medical_levy_employee", "medical_levy_employer",     # issue 15: after the SPEC columns
)
PAY_COMPONENTS = ("base_pay", "seniority_pay", "allowances", "high_risk_allowance",
                  "night_shift_pay", "overtime_pay", "floor_topup", "bonus", "injury_disability_allowance",
                  "performance_pay", "appraisal_bonus", "annual_bonus", "severance_pay", "other_payments",
                  "sick_pay", "maternity_allowance", "maternity_topup", "annual_leave_payout")
EMPLOYEE_SHARES = ("pension_employee", "medical_employee", "unemployment_employee",
                   "housing_fund_employee")
EMPLOYER_SHARES = ("pension_employer", "medical_employer", "unemployment_employer",
                   "injury_employer", "maternity_employer", "housing_fund_employer")


class ReferenceError(Exception):
    pass


# ---- money -------------------------------------------------------------------------------------

def to_frac(value) -> Fraction:
    if isinstance(value, Fraction):
        return value
    if isinstance(value, (int, Decimal)):
        return Fraction(value)
    return Fraction(Decimal(str(value)))


def rnd(value) -> Decimal:
    """Round an exact amount in yuan half-up (away from zero) to the fen."""
    q = to_frac(value)
    num, den = q.numerator, q.denominator
    # exact decimal expansion to 0.001 fen is not enough in general; do it in integers
    fen_num, fen_den = num * 100, den
    sign = -1 if fen_num < 0 else 1
    fen = (2 * abs(fen_num) + fen_den) // (2 * fen_den)
    return (Decimal(sign * fen) / 100).quantize(FEN, rounding=ROUND_HALF_UP)


def dec(value) -> Decimal:
    """An exact Decimal from a Fraction whose value is a whole number of fen (or any Decimal)."""
    q = to_frac(value)
    if (q * 100).denominator != 1:
        raise ValueError(f"{q} is not a whole number of fen")
    return (Decimal(q.numerator) / Decimal(q.denominator)).quantize(FEN, rounding=ROUND_HALF_UP)


# ---- tables --------------------------------------------------------------------------------------

MONEY = {"monthly_average_wage", "monthly_minimum_wage", "base_floor", "base_ceiling", "base_pay",
         "amount", "annual_premium", "sum_insured", "threshold", "quick_deduction",
         "employee_amount", "employer_amount"}          # issue 15: medical_levies.csv
RATES = {"employer_rate", "employee_rate", "rate", "value", "ratio", "multiple"}


def _parse(name: str, text: str):
    text = text.strip()
    if text == "":
        return None
    if name in MONEY or name in RATES:
        return Decimal(text)
    if name in ("effective_from", "valid_until"):
        return date.fromisoformat(text)
    if name in ("level",):
        return int(text) if text.isdigit() else text          # performance_pay: a number or `all`
    if name == "pay_month":
        return int(text)
    return text


class Tables:
    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.rows: dict[str, list[dict]] = {}
        for path in sorted(self.directory.glob("*.csv")):
            with open(path, encoding="utf-8-sig", newline="") as handle:
                self.rows[path.stem] = [{k: _parse(k, v or "") for k, v in row.items()}
                                        for row in csv.DictReader(handle)]
        self.parent = {r["region_code"]: r.get("parent_code") for r in self.rows["regions"]}
        use_calendar_rows(self.rows.get("calendar", []))     # issue 15: the table's days, or none
        self.risk = {r["post"]: r["risk_class"] for r in self.rows["posts"]}

    def chain(self, region: str) -> list[str]:
        out = []
        current = region
        while current:
            if current in out or current not in self.parent:
                raise ReferenceError(f"bad region chain at {current}")
            out.append(current)
            current = self.parent[current]
        return out

    def resolve(self, table: str, region: str, day: date, key=lambda row: ()) -> dict:
        """{key: row in force}: most specific region on the chain first, then latest effective_from."""
        chain = self.chain(region)
        best: dict = {}
        for row in self.rows[table]:
            if row["region_code"] not in chain or row["effective_from"] > day:
                continue
            if row.get("valid_until") and row["valid_until"] < day:      # its source has lapsed
                continue
            rank = (chain.index(row["region_code"]), -row["effective_from"].toordinal())
            k = key(row)
            if k not in best or rank < best[k][0]:
                best[k] = (rank, row)
        return {k: row for k, (rank, row) in best.items()}

    def one(self, table: str, region: str, day: date) -> dict:
        found = self.resolve(table, region, day)
        if () not in found:
            raise ReferenceError(f"{table}: no row for {region} on {day}")
        return found[()]

    def national(self, name: str, day: date) -> Fraction:
        rows = [r for r in self.rows["national_parameters"] if r["name"] == name and r["effective_from"] <= day]
        if not rows:
            raise ReferenceError(f"national_parameters: no {name} on {day}")
        return to_frac(max(rows, key=lambda r: r["effective_from"])["value"])

    def brackets(self, day: date) -> list[dict]:
        dates = [r["effective_from"] for r in self.rows["iit_brackets"] if r["effective_from"] <= day]
        if not dates:
            raise ReferenceError(f"iit_brackets: none in force on {day}")
        latest = max(dates)
        return sorted((r for r in self.rows["iit_brackets"] if r["effective_from"] == latest),
                      key=lambda r: r["threshold"])


# ---- calendar ------------------------------------------------------------------------------------

def _is_statutory_label(name: str) -> bool:
    # "(observed)" = 补休 day; "Day off (substituted from mm/dd/yyyy)" = 调休 rest day
    return "(observed)" not in name and not name.startswith("Day off")


# issue 15: tables/calendar.csv (date, kind) overrides the package day by day and gives a year the
# package does not know (weekends rest, weekdays work, then the rows). Read here with the csv module
# (Tables, or the shipped file at import), never through payroll.
TABLE_KINDS = {"holiday": "statutory", "day_off": "rest", "makeup_workday": "work"}
_calendar_rows: dict[date, str] = {}


def use_calendar_rows(rows: list[dict]) -> None:
    """Install the calendar table's rows ({date, kind} as read from the CSV) for every later lookup."""
    global _calendar_rows
    days = {date.fromisoformat(str(r["date"])): TABLE_KINDS[r["kind"]] for r in rows}
    if days != _calendar_rows:
        _calendar_rows = days
        calendar_year.cache_clear()


@lru_cache(maxsize=None)
def calendar_year(year: int) -> dict[date, str]:
    """day -> 'work' | 'rest' | 'statutory' for every day of the year."""
    cal = holidays.China(years=year, language="en_US")
    makeup = {d for d in cal.weekend_workdays if d.year == year}
    table = {d: kind for d, kind in _calendar_rows.items() if d.year == year}
    if not makeup and not table:
        raise ReferenceError(f"no 调休 data for {year}, in the package or the calendar table")
    out = {}
    day = date(year, 1, 1)
    while day.year == year:
        names = cal.get_list(day) if makeup else []      # a year without 调休 data: the package is not used
        if names and any(_is_statutory_label(n) for n in names):
            out[day] = "statutory"
        elif day in makeup:
            out[day] = "work"
        elif names or day.weekday() >= 5:
            out[day] = "rest"
        else:
            out[day] = "work"
        out[day] = table.get(day, out[day])               # the table wins
        day += timedelta(days=1)
    return out


def _shipped_calendar_rows() -> list[dict]:
    path = Path(__file__).resolve().parent.parent / "tables" / "calendar.csv"
    if not path.is_file():
        return []
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


use_calendar_rows(_shipped_calendar_rows())


def is_paid_day(day: date) -> bool:
    return calendar_year(day.year)[day] != "rest"


def paid_days_between(first: date, last: date) -> int:
    n, day = 0, first
    while day <= last:
        n += is_paid_day(day)
        day += timedelta(days=1)
    return n


def month_bounds(label: str) -> tuple[date, date]:
    y, m = int(label[:4]), int(label[5:7])
    first = date(y, m, 1)
    nxt = date(y + (m == 12), m % 12 + 1, 1)
    return first, nxt - timedelta(days=1)


def paid_days(year: int, month: int) -> int:
    first, last = month_bounds(f"{year:04d}-{month:02d}")
    return paid_days_between(first, last)


# ---- one person, one month -----------------------------------------------------------------------

def completed_years(start: date, on: date) -> int:
    years = on.year - start.year - ((on.month, on.day) < (start.month, start.day))
    return max(0, years)


def _att(att: dict, name: str) -> Fraction:
    value = att.get(name)
    return Fraction(0) if value is None else to_frac(value)


def compute_month(tables: Tables, emp: dict, label: str, att: dict, history: list[dict],
                  arrears: dict | None = None, payments: list[dict] | None = None,
                  leave_context: dict | None = None) -> dict:
    """history: this person's earlier results (all months computed so far, oldest first).
    arrears: component -> Decimal paid this month for closed months (issue 7): pay components add
    up to arrears_pay, a part of gross pay; a contribution's arrears are added to its own line."""
    arrears = arrears or {}
    first, last = month_bounds(label)
    region = emp["region_code"]
    year = first.year
    r: dict = {"employee_id": emp["employee_id"], "month": label, "region_code": region,
               "unit": emp["unit"], "level": emp["level"]}

    # calendar and proration
    P = paid_days_between(first, last)
    start = max(emp["hire_date"], first)
    end = min(emp["leave_date"] or last, last)
    E = paid_days_between(start, end) if start <= end else 0
    D = tables.national("pay_days_per_month", first)
    L = _att(att, "unpaid_leave_days")
    injury = injury_status(tables, emp, label, history)
    lv = leave_month(tables, emp, label, history, leave_context or {})      # issue 14
    F = Fraction(0) if injury["regular_pay_stopped"] else max(
        Fraction(0), Fraction(E - lv["maternity_paid_days"], P) - (L + lv["unpaid_days"] + lv["sick_days"]) / D)
    r.update(paid_days_in_month=P, paid_days_employed=E, proration=F)

    # pay scale and allowances
    scale = tables.resolve("pay_scale", region, first, key=lambda x: (x["category"], x["level"]))
    if (emp["category"], emp["level"]) not in scale:
        raise ReferenceError(f"pay_scale: no row for {region} {emp['category']} {emp['level']} in {label}")
    base_full = to_frac(scale[(emp["category"], emp["level"])]["base_pay"])
    service_start = emp.get("service_start") or emp["hire_date"]
    years = completed_years(service_start, first)
    high_risk = tables.risk[emp["post"]] == "high"
    applying = [a for a in tables.resolve("allowances", region, first, key=lambda x: x["item"]).values()
                if a["applies_to"] in ("all", emp["category"]) or (a["applies_to"] == "high_risk" and high_risk)]
    seniority_full = sum((to_frac(a["amount"]) * years for a in applying if a["per"] == "service_year"), Fraction(0))
    allowances_full = sum((to_frac(a["amount"]) for a in applying
                           if a["per"] == "month" and a["applies_to"] != "high_risk"), Fraction(0))
    high_risk_full = sum((to_frac(a["amount"]) for a in applying
                          if a["per"] == "month" and a["applies_to"] == "high_risk"), Fraction(0))
    night_rate = sum((to_frac(a["amount"]) for a in applying if a["per"] == "night_shift"), Fraction(0))

    ratio = probation_ratio(tables, emp, label)                            # issue 14
    base_pay = rnd(base_full * F * ratio)
    seniority_pay = rnd(seniority_full * F * ratio)
    allowances = rnd(allowances_full * F * ratio)
    high_risk_allowance = rnd(high_risk_full * F * ratio)
    night_shift_pay = rnd(night_rate * int(att.get("night_shifts") or 0))

    # overtime
    minimum_wage = to_frac(tables.one("minimum_wage", region, first)["monthly_minimum_wage"])
    overtime_base = max(base_full + seniority_full + allowances_full, minimum_wage)
    hours_per_day = tables.national("hours_per_day", first)
    overtime = {}
    for kind in ("workday", "restday", "holiday"):
        rate = tables.national(f"overtime_{kind}_rate", first)
        hours = _att(att, f"overtime_{kind}_hours")
        overtime[kind] = rnd(overtime_base * hours * rate / (D * hours_per_day))
    overtime_pay = sum(overtime.values(), Decimal("0.00"))

    # performance pay by last year's appraisal result (issue 16), part of pay for normal hours
    performance_pay, appraisal_bonus, appraisal_method = performance_lines(tables, emp, first, base_full, F)

    # minimum wage
    normal_pay = base_pay + seniority_pay + allowances + performance_pay
    minimum_wage_prorated = rnd(minimum_wage * F)
    floor_topup = max(Decimal("0.00"), minimum_wage_prorated - normal_pay)
    bonus = dec(_att(att, "bonus"))
    arrears_pay = sum((arrears.get(c, Decimal("0.00")) for c in PAY_COMPONENTS), Decimal("0.00"))
    allowance = Decimal("0.00")
    if injury["employer_share"] is not None:
        # 工伤保险条例 art. 36(二): topped up to the minimum wage, for the paid days employed
        allowance = rnd(max(injury["employer_share"], minimum_wage) * Fraction(E, P))
    paid = payment_totals(payments or [])           # issue 13: one-off payments
    # issue 16: the appraisal bonus is paid as the month's annual bonus (全年一次性奖金); the imported
    # bonus's method, when one is paid this month, else the performance_pay row's
    paid["annual_bonus_total"] = paid["annual_bonus"] + appraisal_bonus
    paid["method"] = paid["method"] if paid["annual_bonus"] > 0 else appraisal_method
    contract_full = base_full + seniority_full + allowances_full + high_risk_full
    leave_pay = leave_lines(tables, emp, label, lv, contract_full, base_full + seniority_full + allowances_full,
                            minimum_wage, D, P)
    r.update(leave_pay)
    gross = (base_pay + seniority_pay + allowances + high_risk_allowance + night_shift_pay
             + overtime_pay + floor_topup + bonus + allowance + arrears_pay + performance_pay + appraisal_bonus
             + paid["annual_bonus"] + paid["severance"] + paid["other"] + sum(leave_pay.values()))
    r.update(performance_pay=performance_pay, appraisal_bonus=appraisal_bonus)
    r.update(injury_stoppage=injury["stoppage"], injury_disability_allowance=allowance)
    # what the branch tally (tests/branches.py) reads; not compared with the engine
    r.update(injury_regular_pay_stopped=injury["regular_pay_stopped"], injury_employer_share=injury["employer_share"],
             injury_wage_source=injury.get("wage_source"), minimum_wage_full=dec(minimum_wage))
    r.update(base_pay=base_pay, seniority_pay=seniority_pay, allowances=allowances,
             high_risk_allowance=high_risk_allowance, night_shift_pay=night_shift_pay,
             overtime_workday_pay=overtime["workday"], overtime_restday_pay=overtime["restday"],
             overtime_holiday_pay=overtime["holiday"], overtime_pay=overtime_pay,
             overtime_base=dec(overtime_base),
             service_years=years, normal_pay=normal_pay, minimum_wage_prorated=minimum_wage_prorated,
             floor_topup=floor_topup, bonus=bonus, arrears_pay=arrears_pay, gross_pay=gross,
             annual_bonus=paid["annual_bonus"], severance_pay=paid["severance"], other_payments=paid["other"],
             annual_bonus_total=paid["annual_bonus_total"])

    prev_year = [h for h in history if h["month"].startswith(f"{year - 1:04d}-")]
    this_year = [h for h in history if h["month"].startswith(f"{year:04d}-")]

    # contribution base, per base year (issue 14: base_year_start of the rows; empty is 01-01): the
    # insurances from their rows (which must agree), the housing fund from its own
    si = tables.resolve("social_insurance", region, first, key=lambda x: x["fund"])
    starts = {row.get("base_year_start") or "01-01" for row in si.values()}
    if len(starts) != 1:
        raise ReferenceError(f"social_insurance: funds of {region} in {label} start their years differently")
    hf = tables.one("housing_fund", region, first)
    for prefix, start in (("contribution", starts.pop()), ("housing_fund", hf.get("base_year_start") or "01-01")):
        source, wage = base_year_wage(emp, label, history, int(start[:2]), gross, E == P,
                                      base_full + seniority_full + allowances_full + high_risk_full)
        r[f"{prefix}_year_start"] = year_start(label, int(start[:2]))
        r["contribution_base_source" if prefix == "contribution" else "housing_fund_wage_source"] = source
        r["contribution_wage" if prefix == "contribution" else "housing_fund_wage"] = dec(wage)
        if prefix == "contribution":
            si_wage = wage
        else:
            hf_wage = wage
    for fund in FUNDS:
        if fund not in si:
            raise ReferenceError(f"social_insurance: no {fund} row for {region} in {label}")
        row = si[fund]
        base = min(max(si_wage, to_frac(row["base_floor"])), to_frac(row["base_ceiling"]))
        r[f"{fund}_base"] = dec(base)
        r[f"{fund}_employer"] = rnd(base * to_frac(row["employer_rate"])) + arrears.get(f"{fund}_employer", 0)
        if fund in ("pension", "medical", "unemployment"):
            r[f"{fund}_employee"] = rnd(base * to_frac(row["employee_rate"])) + arrears.get(f"{fund}_employee", 0)
        elif row["employee_rate"] != 0:
            raise ReferenceError(f"{fund} has an employee rate")
    hf_base = min(max(hf_wage, to_frac(hf["base_floor"])), to_frac(hf["base_ceiling"]))
    r["housing_fund_base"] = dec(hf_base)
    r["housing_fund_employee"] = rnd(hf_base * to_frac(hf["employee_rate"])) + arrears.get("housing_fund_employee", 0)
    r["housing_fund_employer"] = rnd(hf_base * to_frac(hf["employer_rate"])) + arrears.get("housing_fund_employer", 0)
    covers = tables.resolve("accident_insurance", region, first, key=lambda x: x["cover"]).values()
    r["accident_insurance_employer"] = sum(
        (rnd(to_frac(c["annual_premium"]) / 12) for c in covers
         if c["applies_to"] == "all" or (c["applies_to"] == "high_risk" and high_risk)), Decimal("0.00")) \
        + arrears.get("accident_insurance_employer", 0)

    # income tax, cumulative withholding
    contributions = sum((r[c] for c in EMPLOYEE_SHARES), Decimal("0.00"))
    # opening balances (payroll import --opening): a former system's year to date through an
    # earlier month of this year are the starting point of every sum below
    opening = emp.get("opening")
    if not (opening and opening["year"] == year and opening["month"] < first.month):
        opening = {"income_ytd": Decimal("0.00"), "contributions_ytd": Decimal("0.00"),
                   "special_deduction_ytd": Decimal("0.00"), "iit_ytd": Decimal("0.00"), "months_employed": 0}
    months_ytd = opening["months_employed"] + len(this_year) + 1
    # issue 15: the fixed medical levy (medical_levies.csv; no row, no levy): a monthly amount every
    # month, a yearly one whole on the first payslip of the year; withheld, but not a 专项扣除
    levy = _resolve_optional(tables, "medical_levies", region, first).get(())
    levy_employee = Decimal("0.00") if levy is None else dec(levy["employee_amount"])
    if levy is not None and levy["employee_period"] == "year" and months_ytd > 1:
        levy_employee = Decimal("0.00")
    r["medical_levy_employee"] = levy_employee + arrears.get("medical_levy_employee", 0)
    r["medical_levy_employer"] = (Decimal("0.00") if levy is None else dec(levy["employer_amount"])) \
        + arrears.get("medical_levy_employer", 0)
    # the disability allowance is exempt income (财税〔2012〕40号): not in 累计收入
    # issue 14: so is the maternity allowance (财税〔2008〕8号); issue 12: the opening balances first
    income_ytd = opening["income_ytd"] + sum((h["gross_pay"] - h["injury_disability_allowance"] - h["maternity_allowance"]
                                              - h["income_taxed_apart"] for h in this_year),
                                             Decimal("0.00")) + gross - allowance - leave_pay["maternity_allowance"]
    contributions_ytd = (opening["contributions_ytd"]
                         + sum((h["employee_contributions"] for h in this_year), Decimal("0.00")) + contributions)
    special = emp.get("special_deduction") or Decimal("0")
    special_ytd = (opening["special_deduction_ytd"]
                   + sum((h["special_deduction"] for h in this_year), Decimal("0.00")) + special)
    no19 = (len({h["month"] for h in prev_year}) == 12
            and sum((h["gross_pay"] - h["maternity_allowance"] for h in prev_year), Decimal("0")) <= dec(tables.national("iit_no19_income_limit", first)))
    if no19:
        basic = dec(tables.national("iit_no19_annual_deduction", first))
    else:
        basic = dec(tables.national("iit_basic_deduction_monthly", first) * months_ytd)
    # issue 13: the bonus method (needs the year projected) and severance, both kept out of income_ytd
    apart = one_off_tax(tables, first, r, paid, history, this_year, income_ytd - gross + allowance, allowance,
                        contributions, contributions_ytd, dec(special), special_ytd, months_ytd, no19, basic)
    r.update(apart)
    income_ytd -= apart["income_taxed_apart"]
    taxable = max(Decimal("0.00"), income_ytd - basic - contributions_ytd - special_ytd)
    brackets = tables.brackets(first)
    if brackets[0]["threshold"] != 0:
        raise ReferenceError("iit_brackets: the first bracket must start at 0")
    bracket = brackets[0]
    for b in brackets:
        if b["threshold"] < taxable:
            bracket = b
    iit_before = this_year[-1]["iit_ytd"] if this_year else opening["iit_ytd"]
    due = rnd(to_frac(taxable) * to_frac(bracket["rate"]) - to_frac(bracket["quick_deduction"]))
    iit = max(Decimal("0.00"), due - iit_before)
    r.update(employee_contributions=contributions, months_employed_ytd=months_ytd, income_ytd=income_ytd,
             contributions_ytd=contributions_ytd, special_deduction=dec(special), special_deduction_ytd=special_ytd,
             no19_applies=no19, basic_deduction_ytd=basic, taxable_income_ytd=taxable,
             iit_rate=bracket["rate"], iit_due_ytd=due, iit=iit, iit_ytd=iit_before + iit)
    r.update(settle_deductions(att, history, label, gross, iit + apart["iit_annual_bonus"] + apart["iit_severance"],
                               contributions + r["medical_levy_employee"], minimum_wage_prorated, tables.national("deduction_limited_share", first)))
    r["net_pay"] = (gross - contributions - r["medical_levy_employee"] - iit - apart["iit_annual_bonus"] - apart["iit_severance"]
                    - r["deduction"] - r["balance_recovery"] + r["shortfall_carried"])
    r["employer_cost"] = (gross + sum((r[c] for c in EMPLOYER_SHARES), Decimal("0.00")) + r["medical_levy_employer"]
                          + r["accident_insurance_employer"])
    return r


# ---- issue 13: one-off payments, their tax, deductions in order, the balance owed ----------------

def payment_totals(payments: list[dict]) -> dict:
    """payments: [{kind, amount (Decimal), tax_method ('' | 'separate' | 'merged')}] of the month."""
    out = {"annual_bonus": Decimal("0.00"), "severance": Decimal("0.00"), "other": Decimal("0.00"), "method": ""}
    for p in payments:
        out[p["kind"]] += p["amount"]
        if p["kind"] == "annual_bonus" and p.get("tax_method"):
            out["method"] = p["tax_method"]
    return out


def _bracket(rows: list[dict], amount, scale: int = 1) -> dict:
    """The row whose threshold is the largest below the amount (the first row at or below 0)."""
    found = rows[0]
    for row in rows:
        if to_frac(row["threshold"]) * scale < to_frac(amount):
            found = row
    return found


def annual_table_tax(tables: Tables, day: date, amount) -> Decimal:
    row = _bracket(tables.brackets(day), amount)
    return rnd(to_frac(amount) * to_frac(row["rate"])) - dec(row["quick_deduction"])


def bonus_table(tables: Tables, day: date) -> list[dict]:
    rows = tables.rows.get("iit_bonus_brackets", [])
    dates = [r["effective_from"] for r in rows if r["effective_from"] <= day]
    if not dates:
        raise ReferenceError(f"iit_bonus_brackets: none in force on {day}")
    return sorted((r for r in rows if r["effective_from"] == max(dates)), key=lambda r: r["threshold"])


def one_off_tax(tables: Tables, first: date, r: dict, paid: dict, history: list[dict], this_year: list[dict],
                prev_income_ytd: Decimal, exempt: Decimal, contributions: Decimal, contributions_ytd: Decimal,
                special: Decimal, special_ytd: Decimal, months_ytd: int, no19: bool, basic: Decimal) -> dict:
    """The annual bonus taxed apart or merged (the cheaper when no method is given) and severance
    (3 × the average wage exempt, the excess by the annual table); 财税〔2018〕164号 arts. 1(一), 5(一)."""
    bonus, severance = paid.get("annual_bonus_total", paid["annual_bonus"]), paid["severance"]
    zero = Decimal("0.00")
    out = {"annual_bonus_method": "", "iit_annual_bonus": zero, "annual_bonus_in_cliff": False,
           "iit_severance": zero, "severance_exempt": zero, "severance_taxable": zero}
    if bonus > 0:
        rows = bonus_table(tables, first)
        row = _bracket(rows, bonus, 12)
        separate_tax = rnd(to_frac(bonus) * to_frac(row["rate"])) - dec(row["quick_deduction"])
        left = 12 - first.month
        gross = r["gross_pay"]
        recurring = gross - exempt - severance - bonus - paid["other"] - r["bonus"] - r["arrears_pay"]
        basic_year = basic if no19 else dec(tables.national("iit_basic_deduction_monthly", first) * (months_ytd + left))
        # negative: deductions the year leaves unused, which a merged bonus uses up
        projected = (prev_income_ytd + gross - exempt - severance - bonus + recurring * left - basic_year
                     - contributions_ytd - contributions * left - special_ytd - special * left)
        year_separate = annual_table_tax(tables, first, max(zero, projected)) + separate_tax
        year_merged = annual_table_tax(tables, first, max(zero, projected + bonus))
        earlier = any(h["annual_bonus_method"] == "separate" for h in this_year)
        allowed = tables.national("annual_bonus_separate_allowed", first) != 0
        if paid["method"] == "merged" or not allowed or earlier:
            method = "merged"
        elif paid["method"] == "separate":
            method = "separate"
        else:
            method = "merged" if year_merged < year_separate else "separate"
        out.update(annual_bonus_method=method, annual_bonus_year_tax_separate=year_separate,
                   annual_bonus_year_tax_merged=year_merged, projected_taxable_year=projected,
                   annual_bonus_separate_tax=separate_tax)
        if method == "separate":
            out["iit_annual_bonus"] = separate_tax
            index = rows.index(row)
            if index > 0:
                boundary = to_frac(row["threshold"]) * 12
                below = rows[index - 1]
                boundary_net = dec(boundary) - (rnd(boundary * to_frac(below["rate"])) - dec(below["quick_deduction"]))
                out["annual_bonus_in_cliff"] = bonus - separate_tax < boundary_net
    if severance > 0:
        wage = to_frac(tables.one("average_wage", r["region_code"], first)["monthly_average_wage"])
        limit = rnd(wage * 12 * tables.national("severance_exempt_average_wage_multiple", first))
        out["severance_exempt"] = min(severance, limit)
        out["severance_taxable"] = severance - out["severance_exempt"]
        if out["severance_taxable"] > 0:
            out["iit_severance"] = annual_table_tax(tables, first, out["severance_taxable"])
    out["income_taxed_apart"] = severance + (bonus if out["annual_bonus_method"] == "separate" else zero)
    return out


def settle_deductions(att: dict, history: list[dict], label: str, gross: Decimal, tax: Decimal,
                      contributions: Decimal, minimum_wage: Decimal, share: Fraction) -> dict:
    """工资支付暂行规定 arts. 15–16: tax, contributions, court, other, then damages/recovery and the
    balance owed within 20 % of the wage and above the minimum wage; net pay never below 0."""
    zero = Decimal("0.00")
    kind = att.get("deduction_kind") or "other"
    kind = kind if kind in ("court", "damages", "recovery") else "other"
    requested = dec(_att(att, "deduction"))
    year = int(label[:4])
    recent = [h for h in history if int(h["month"][:4]) >= year - 1]
    before = recent[-1]["balance_owed"] if recent else zero
    after = gross - tax - contributions
    shortfall = max(zero, -after)
    room = max(zero, after)
    court = min(requested, room) if kind == "court" else zero
    other = min(requested, room - court) if kind == "other" else zero
    limited_room = max(zero, min(rnd(to_frac(max(zero, gross)) * share), room - court - other - minimum_wage))
    limited = min(requested, limited_room) if kind in ("damages", "recovery") else zero
    taken = court + other + limited
    untaken = requested - taken
    recovery = min(before, limited_room - limited)
    owed = before - recovery + shortfall + (zero if kind == "court" else untaken)
    return {"deduction": taken, "deduction_untaken": untaken, "balance_recovery": recovery,
            "shortfall_carried": shortfall, "balance_owed": owed, "balance_owed_before": before}


def injury_status(tables: Tables, emp: dict, label: str, history: list[dict]) -> dict:
    """The person's injury (emp["injury"]: event_date, disability_grade, stoppage_months,
    work_arranged) in this month: stoppage period, regular pay stopped, employer allowance share."""
    out = {"stoppage": False, "regular_pay_stopped": False, "employer_share": None}
    event = emp.get("injury")
    if not event:
        return out
    day = event["event_date"]
    months_since = (int(label[:4]) * 12 + int(label[5:7])) - (day.year * 12 + day.month)
    stoppage = event.get("stoppage_months") or 0
    out["stoppage"] = 0 <= months_since < stoppage
    grade = event.get("disability_grade")
    row = next((g for g in tables.rows["injury_grades"] if grade is not None and int(g["disability_grade"]) == grade), None)
    if row is None or Decimal(row["allowance_rate"]) == 0 or months_since < stoppage:
        return out
    employer = row["allowance_payer"] == "employer"
    if employer and event.get("work_arranged"):
        return out
    out["regular_pay_stopped"] = True
    if not employer:
        return out
    # 本人工资 (art. 64): average injury base of our payslips in the 12 months before the event month,
    # else the declared base; clamped to 60–300 % of the average wage in force on the event date
    window = int(tables.national("injury_wage_history_months", day))
    first = day.year * 12 + day.month - 1 - window
    months = {f"{(first + i) // 12:04d}-{(first + i) % 12 + 1:02d}" for i in range(window)}
    bases = [to_frac(h["injury_base"]) for h in history if h["month"] in months]
    wage = to_frac(rnd(sum(bases, Fraction(0)) / len(bases))) if bases else to_frac(emp["contribution_base"])
    out["wage_source"] = "payslips" if bases else "declared"
    average = to_frac(tables.one("average_wage", emp["region_code"], day)["monthly_average_wage"])
    floor = to_frac(rnd(average * tables.national("injury_wage_floor_ratio", day)))
    ceiling = to_frac(rnd(average * tables.national("injury_wage_ceiling_ratio", day)))
    wage = min(max(wage, floor), ceiling)
    out["employer_share"] = to_frac(rnd(wage * to_frac(Decimal(row["allowance_rate"]))))
    return out


def performance_lines(tables: Tables, emp: dict, first: date, base_full: Fraction, F: Fraction):
    """(月度绩效, 年度考核奖, its tax method) from emp["assessments"] {year: result}: the result of the
    year before, the performance_pay row of the nearest region on the chain, then a row for the level
    before `all`, then for the category before `all`, then the latest; the annual one only in
    pay_month, with the row's tax_method ('' = the cheaper)."""
    result = (emp.get("assessments") or {}).get(first.year - 1)
    zero = Decimal("0.00")
    if result is None or "performance_pay" not in tables.rows:
        return zero, zero, ""
    chain = tables.chain(emp["region_code"])
    lines = {}
    for paid in ("monthly", "annual"):
        fits = [row for row in tables.rows["performance_pay"]
                if row["region_code"] in chain and row["effective_from"] <= first and row["result"] == result
                and row["paid"] == paid and row["category"] in ("all", emp["category"])
                and row["level"] in ("all", emp["level"])]
        if not fits:
            lines[paid] = None
            continue
        lines[paid] = min(fits, key=lambda row: (chain.index(row["region_code"]), row["level"] == "all",
                                                 row["category"] == "all", -row["effective_from"].toordinal()))

    def amount(row) -> Decimal:
        fixed = dec(to_frac(row["amount"])) if row["amount"] is not None else zero
        return fixed + (rnd(base_full * to_frac(row["multiple"])) if row["multiple"] is not None else zero)

    monthly = rnd(to_frac(amount(lines["monthly"])) * F) if lines["monthly"] else zero
    annual = lines["annual"]
    paid_now = annual is not None and annual["pay_month"] == first.month
    bonus = amount(annual) if paid_now else zero
    return monthly, bonus, (annual.get("tax_method") or "") if paid_now else ""


def is_active(emp: dict, label: str) -> bool:
    first, last = month_bounds(label)
    return emp["hire_date"] <= last and (emp.get("leave_date") is None or emp["leave_date"] >= first)


def year_start(label: str, start_month: int) -> date:
    """The first day of the base year holding the month, for a year starting in start_month."""
    y, m = int(label[:4]), int(label[5:7])
    return date(y if m >= start_month else y - 1, start_month, 1)


def base_year_wage(emp: dict, label: str, history: list[dict], start_month: int, gross, whole_month: bool,
                   contract_full: Fraction) -> tuple[str, Fraction]:
    """SPEC contribution-base rule over a base year (issue 14): declared, else the average of the
    payslips of the twelve months before the year's start (gross less the maternity allowance, a
    fund benefit and not wage), else the year's first whole month, else the contract month."""
    start = year_start(label, start_month)
    begin = date(start.year - 1, start.month, 1).strftime("%Y-%m")
    before = [h for h in history if begin <= h["month"] < start.strftime("%Y-%m")]
    since = [h for h in history if start.strftime("%Y-%m") <= h["month"] < label]
    if emp.get("contribution_base") is not None:
        return "declared", to_frac(emp["contribution_base"])
    if before:
        return "previous_year", to_frac(rnd(sum((to_frac(h["gross_pay"] - h["maternity_allowance"]) for h in before),
                                                Fraction(0)) / len(before)))
    whole = [h for h in since if h["paid_days_employed"] == h["paid_days_in_month"]]
    if whole:
        return "first_full_month", to_frac(whole[0]["gross_pay"])
    if whole_month:
        return "first_full_month", to_frac(gross)
    return "contract_month", contract_full


def compute_year(employees: list[dict], attendance: dict, tables_dir, months: list[str],
                 payments: dict | None = None) -> dict:
    """Every payslip of the months, in order, with year-to-date and previous-year state carried.
    payments (issue 13): {(employee_id, month): [{kind, amount, tax_method}]}."""
    tables = Tables(Path(tables_dir))
    results: dict = {}
    employees = [with_death(e) for e in employees]                        # issue 14
    history: dict[str, list[dict]] = {e["employee_id"]: [] for e in employees}
    for label in months:
        context = {"unit_average": unit_averages(results, int(label[:4]) - 1)}
        for person in employees:
            emp = record_in_force(person, label)
            if not is_active(emp, label):
                continue
            row = compute_month(tables, emp, label, attendance.get((emp["employee_id"], label), {}),
                                history[emp["employee_id"]],
                                payments=(payments or {}).get((emp["employee_id"], label)), leave_context=context)
            history[emp["employee_id"]].append(row)
            results[(emp["employee_id"], label)] = row
    return results


def month_range(first: str, last: str) -> list[str]:
    y, m = int(first[:4]), int(first[5:7])
    out = []
    while True:
        label = f"{y:04d}-{m:02d}"
        out.append(label)
        if label == last:
            return out
        y, m = y + (m == 12), m % 12 + 1


# ---- effective-dated employee records (employee_history) ----------------------------------------

def record_in_force(emp: dict, label: str) -> dict:
    """The person's record in force on the first day of the month (docs/rules.md, "Effective-dated
    employee records"). emp holds the first record; emp["changes"] is a list of
    (effective_from, {column: new value}), each applying to the months whose first day is on or
    after its date, later changes on top of earlier ones."""
    changes = emp.get("changes")
    if not changes:
        return emp
    first, _ = month_bounds(label)
    record = {k: v for k, v in emp.items() if k != "changes"}
    for day, values in sorted(changes, key=lambda change: change[0]):
        if day <= first:
            record.update(values)
    return record


def record_versions(emp: dict) -> list[tuple[date | None, date | None, dict]]:
    """Every record of the person with the months it applies to: [(valid_from, valid_until, record)],
    valid_from None = from the beginning, valid_until None = still current."""
    changes = sorted(emp.get("changes") or (), key=lambda change: change[0])
    record = {k: v for k, v in emp.items() if k != "changes"}
    out, since = [], None
    for day, values in changes:
        out.append((since, day, dict(record)))
        record.update(values)
        since = day
    out.append((since, None, record))
    return out

# ---- issue 14: leave, probation and deaths -------------------------------------------------------
# Employees may carry: "death_date" (an event of kind death), "probation_end", and "leave": a list
# of (kind, start, end). Table rows are resolved the same way as the other tables.

def with_death(emp: dict) -> dict:
    """A death ends employment on the day: the leave date is the earlier of the two."""
    death = emp.get("death_date")
    if death is None or (emp.get("leave_date") is not None and emp["leave_date"] <= death):
        return emp
    return {**emp, "leave_date": death}


def _optional(tables: Tables, name: str) -> list[dict]:
    return tables.rows.get(name, [])


def _resolve_optional(tables: Tables, table: str, region: str, day: date, key=lambda row: ()) -> dict:
    if table not in tables.rows:
        return {}
    return tables.resolve(table, region, day, key)


def probation_ratio(tables: Tables, emp: dict, label: str) -> Fraction:
    """劳动合同法 art. 20: months ending on or before probation_end pay the table's ratio."""
    first, last = month_bounds(label)
    end = emp.get("probation_end")
    if end is None or end < last:
        return Fraction(1)
    row = _resolve_optional(tables, "probation", emp["region_code"], first).get(())
    if row is None:
        raise ReferenceError(f"probation: no row for {emp['region_code']} in {label}")
    return to_frac(row["ratio"])


def _days(first: date, last: date):
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def _service_years(emp: dict, on: date) -> int:
    return completed_years(emp.get("service_start") or emp["hire_date"], on)


def leave_month(tables: Tables, emp: dict, label: str, history: list[dict], context: dict) -> dict:
    """The month's leave: days by kind, the sick share, maternity figures, the annual-leave payout."""
    first, last = month_bounds(label)
    out = {"unpaid_days": Fraction(0), "sick_days": Fraction(0), "maternity_paid_days": 0,
           "maternity_days": 0, "sick_row": None, "maternity_row": None, "payout_days": 0, "payout_rate": 0,
           "wage_base": None, "unit_average": None}
    sick_pieces = []
    for kind, start, end in emp.get("leave", ()):
        lo, hi = max(start, first), min(end, last)
        if lo > hi:
            continue
        days = list(_days(lo, hi))
        working = sum(1 for d in days if calendar_year(d.year)[d] == "work")
        if kind == "unpaid":
            out["unpaid_days"] += working
        elif kind == "sick":
            out["sick_days"] += working
            sick_pieces.append((working, (lo - start).days))
        elif kind == "maternity":
            out["maternity_days"] += len(days)
            out["maternity_paid_days"] += sum(1 for d in days if is_paid_day(d))
    if sick_pieces:
        working, before = max(sick_pieces)
        years = completed_years(emp.get("service_start") or emp["hire_date"], first)
        rows = _resolve_optional(tables, "sick_pay", emp["region_code"], first,
                                 key=lambda x: (int(x["min_service_years"]), int(x["min_sick_days"])))
        fitting = [k for k in rows if k[0] <= years and k[1] <= before]
        if not fitting:
            raise ReferenceError(f"sick_pay: no row for {emp['employee_id']} in {label}")
        out["sick_row"] = rows[max(fitting, key=lambda k: (k[1], k[0]))]
    if out["maternity_days"]:
        out["maternity_row"] = _resolve_optional(tables, "maternity", emp["region_code"], first).get(())
        if out["maternity_row"] is None:
            raise ReferenceError(f"maternity: no row for {emp['region_code']} in {label}")
        out["unit_average"] = context.get("unit_average", {}).get((emp["region_code"], emp["unit"]))
    # untaken annual leave (企业职工带薪年休假实施办法 arts. 10–12)
    policy = _resolve_optional(tables, "annual_leave_policy", emp["region_code"], first).get(())
    leaving = emp.get("leave_date") is not None and emp["leave_date"] <= last
    if policy is not None and (leaving or (int(policy["payout_month"]) == first.month and policy["untaken"] == "pay")):
        payout_day = emp["leave_date"] if leaving else date(first.year, 12, 31)
        years = _service_years(emp, payout_day)
        entitled = [r for r in _optional(tables, "annual_leave_entitlement")
                    if int(r["min_service_years"]) <= years and r["effective_from"] <= payout_day]
        entitlement = int(max(entitled, key=lambda r: (r["effective_from"], int(r["min_service_years"])))["days"]) \
            if entitled else 0
        year_start = date(first.year, 1, 1)
        taken = sum(1 for kind, start, end in emp.get("leave", ()) if kind == "annual"
                    for d in _days(max(start, year_start), min(end, last)) if calendar_year(d.year)[d] == "work")
        # art. 12 (leaver) and art. 5 (hired this year): calendar days counted from 1 January or the hire
        hired = emp["hire_date"] > year_start
        counted_from = max(emp["hire_date"], year_start)
        due = ((payout_day - counted_from).days + 1) * entitlement // 365 if leaving or hired else entitlement
        out["payout_days"] = max(0, due - taken)
        out["payout_rate"] = to_frac(policy["extra_rate"])
        window = [h for h in history if h["month"] >= f"{first.year - 1:04d}-{first.month:02d}"]
        if window:
            total = sum((to_frac(h["gross_pay"] - h["overtime_pay"] - h["annual_leave_payout"]) for h in window),
                        Fraction(0))
            out["wage_base"] = to_frac(rnd(total / len(window)))
    return out


def leave_lines(tables: Tables, emp: dict, label: str, lv: dict, contract_full: Fraction, fixed_full: Fraction,
                minimum_wage: Fraction, D: Fraction, P: int) -> dict:
    """sick_pay, maternity_allowance, maternity_topup, annual_leave_payout, each rounded once."""
    out = {"sick_pay": Decimal("0.00"), "maternity_allowance": Decimal("0.00"), "maternity_topup": Decimal("0.00"),
           "annual_leave_payout": Decimal("0.00")}
    if lv["sick_days"]:
        row = lv["sick_row"]
        daily = max(fixed_full * to_frac(row["share"]), minimum_wage * to_frac(row["minimum_wage_floor_ratio"]))
        out["sick_pay"] = rnd(daily * lv["sick_days"] / D)
    if lv["maternity_days"]:
        row = lv["maternity_row"]
        wage = lv["unit_average"] if lv["unit_average"] is not None else contract_full
        out["maternity_allowance"] = rnd(wage * lv["maternity_days"] / int(row["allowance_day_divisor"]))
        own = rnd(contract_full * Fraction(lv["maternity_paid_days"], P))
        if str(row["employer_topup"]).lower() == "true":
            out["maternity_topup"] = max(Decimal("0.00"), own - out["maternity_allowance"])
    if lv["payout_days"]:
        wage = lv["wage_base"] if lv["wage_base"] is not None else contract_full
        out["annual_leave_payout"] = rnd(wage * lv["payout_rate"] * lv["payout_days"] / D)
    return out


def unit_averages(results: dict, year: int) -> dict:
    """社会保险法 art. 56: per (region, unit), the average maternity contribution base of the year."""
    sums: dict = {}
    for (eid, month), row in results.items():
        if month.startswith(f"{year:04d}-"):
            total, count = sums.get((row["region_code"], row["unit"]), (Fraction(0), 0))
            sums[(row["region_code"], row["unit"])] = (total + to_frac(row["maternity_base"]), count + 1)
    return {key: to_frac(rnd(total / count)) for key, (total, count) in sums.items()}


# ---- issue 13 part 4: off-cycle runs -------------------------------------------------------------

# the lines a run pays; every other figure of a run's payslip (year to date, balance owed) is the
# month's state after the run
OFFCYCLE_LINES = (PAY_COMPONENTS + ("arrears_pay", "gross_pay") + EMPLOYEE_SHARES + EMPLOYER_SHARES
                  + ("medical_levy_employee", "medical_levy_employer", "accident_insurance_employer",
                     "employee_contributions", "employer_cost", "iit", "iit_annual_bonus", "iit_severance",
                     "deduction", "balance_recovery", "shortfall_carried", "net_pay",
                     # what the tax file reads of a run
                     "tax_exempt_income", "annual_bonus_total", "annual_bonus_separate", "severance_exempt",
                     "severance_taxable", "income_taxed_apart"))


def _minus(state: dict, paid: list[dict]) -> dict:
    row = dict(state)
    for column in OFFCYCLE_LINES:
        if column in state:
            row[column] = state[column] - sum((p[column] for p in paid), Decimal("0.00"))
    return row


def month_runs(tables: Tables, emp: dict, label: str, att: dict, history: list[dict], runs: list[tuple],
               leave_context: dict | None = None) -> list[tuple[str, dict]]:
    """A person's payslips of one month paid in several runs, in the order the runs happen.
    runs: [(name, kind, payments)], kind 'regular' (the regular run and its payments), 'bonus' or
    'settlement'. The rule: the month's state is the month computed once with everything paid so far
    (the regular items always, the payments of the runs done); a bonus run pays state with its
    payments − state without; a settlement pays state with its payments − the earlier payslips of
    the month; the regular run pays state − the off-cycle payslips before it. So income tax is
    cumulative across runs and the month's total does not depend on the order."""
    regular = [p for name, kind, payments in runs if kind == "regular" for p in payments]
    done: list[dict] = []
    rows: list[tuple[str, dict]] = []

    def state(payments):
        return compute_month(tables, emp, label, att, history, payments=payments or None,
                             leave_context=leave_context)

    for name, kind, payments in runs:
        if kind == "regular":
            row = _minus(state(regular + done), [r for n, r in rows])
        elif kind == "bonus":
            row = _minus(state(regular + done + payments), [state(regular + done)])
        else:
            row = _minus(state(regular + done + payments), [r for n, r in rows])
        if kind != "regular":
            done += payments
        rows.append((name, row))
    return rows
