"""Plausibility of attendance figures: values a clerk can type but no month can hold.

Hard limits refuse the row (exit 2, naming row and column); the edge warns (a note in the summary):

- overtime: the three kinds together above the law's monthly cap (劳动法 art. 41: 36 hours,
  `overtime_hours_monthly_legal_cap`) warn; above `overtime_hours_monthly_import_limit` they are
  refused as a typing error (700 hours in a month is not overtime, it is a wrong column);
- unpaid leave: at most the paid days of the month in the official calendar (payroll/calendar.py:
  working days plus statutory holidays), since leave beyond them would deduct pay never earned;
  a whole month of leave warns;
- employment: an attendance month before the hire month or after the leaving month is refused:
  nobody is paid for it, so its figures would be lost silently;
- deductions within pay: a deduction above `deduction_monthly_import_limit` is refused as a typing
  error; one above the person's contract pay for a full month (the pay_scale row the engine uses,
  plus seniority, monthly allowances and the high-risk allowance of their post, as in
  rules/pay.py) warns, saying what the run will do: it takes what the month's pay allows
  (工资支付暂行规定 arts. 15–16, rules/deductions.py) and carries the rest as a balance owed.

The limits are policy figures in national_parameters.csv, never literals here.
"""
from __future__ import annotations

import duckdb
import pandas as pd

from decimal import Decimal

from ..calendar import CalendarError, paid_days
from ..errors import CellProblem
from ..policy import Policy
from .readers import RawTable

NOTED_ROWS = 10            # rows named one by one in the summary; the rest are counted
HOURS = ("overtime_workday_hours", "overtime_restday_hours", "overtime_holiday_hours")


def latest_parameter(policy: Policy, name: str) -> float | None:
    table = policy.frames["national_parameters"]
    rows = table[table["name"] == name].sort_values("effective_from")
    return None if rows.empty else float(rows["value"].iloc[-1])


def check_attendance(table: RawTable, rows: pd.DataFrame, policy: Policy, employments: pd.DataFrame,
                     notes: list[str]) -> list[CellProblem]:
    """Problems (hard limits) of validated attendance rows; warnings go to `notes`.
    `employments`: employee_id, hire_date, leave_date (text, '' when none) of every known person."""
    problems: list[CellProblem] = []
    numbers = {c: pd.to_numeric(rows[c], errors="coerce") for c in ("unpaid_leave_days", *HOURS)}
    _overtime(table, numbers, policy, problems, notes)
    _leave(table, rows, numbers["unpaid_leave_days"], problems, notes)
    _employment(table, rows, employments, problems)
    _deductions(table, rows, policy, employments, problems, notes)
    return problems


def _flag(table: RawTable, bad: pd.Series, column: str, reasons) -> list[CellProblem]:
    bad = bad.fillna(False).astype(bool)
    header = table.header_of(column)
    texts = reasons if isinstance(reasons, pd.Series) else pd.Series(reasons, index=bad.index)
    return [CellProblem(table.file, int(row), header, str(reason))
            for row, reason in zip(table.row_numbers[bad], texts[bad])]


def _overtime(table, numbers, policy, problems, notes) -> None:
    cap = latest_parameter(policy, "overtime_hours_monthly_legal_cap")
    limit = latest_parameter(policy, "overtime_hours_monthly_import_limit")
    total = sum(numbers[c].fillna(0) for c in HOURS)
    given = [c for c in HOURS if c in table.positions]
    column = given[0] if given else HOURS[0]
    if limit is not None:
        problems.extend(_flag(table, total > limit, column,
                              total.map(lambda h: f"{h:g} overtime hours in one month is more than the "
                                                  f"plausible {limit:g} (national_parameters "
                                                  f"overtime_hours_monthly_import_limit): check the column")))
    if cap is not None:
        over = (total > cap) & ~(total > (limit if limit is not None else float("inf")))
        if over.any():
            rows = table.row_numbers[over]
            notes.append(f"{table.file}: {int(over.sum())} row(s) with more than {cap:g} overtime hours in a "
                         f"month, above the legal cap (劳动法 art. 41), e.g. row {int(rows.iloc[0])}: "
                         f"paid as given")


def _leave(table, rows, leave, problems, notes) -> None:
    months = rows["month"].astype(str)
    limits = {}
    for month in months.unique():
        try:
            limits[month] = paid_days(int(month[:4]), int(month[5:7]))
        except (CalendarError, ValueError):
            limits[month] = None                     # a year without a calendar: the run refuses it
    paid = months.map(limits).astype("Float64")
    too_many = (leave > paid).fillna(False)
    problems.extend(_flag(table, too_many, "unpaid_leave_days",
                          leave.astype(str) + " days of unpaid leave is more than the " +
                          paid.astype(str).str.replace(".0", "", regex=False) + " paid days of " + months))
    whole = (leave == paid).fillna(False) & (leave > 0)
    if whole.any():
        notes.append(f"{table.file}: {int(whole.sum())} row(s) with a whole month of unpaid leave "
                     f"(e.g. row {int(table.row_numbers[whole].iloc[0])}): no pay for those months")


def _employment(table, rows, employments, problems) -> None:
    if employments is None or employments.empty:
        return
    dates = employments.drop_duplicates("employee_id", keep="last").set_index("employee_id")
    hired = rows["employee_id"].map(dates["hire_date"]).fillna("").astype(str).str[:7]
    left = rows["employee_id"].map(dates["leave_date"]).fillna("").astype(str).str[:7]
    month = rows["month"].astype(str)
    before = (hired != "") & (month < hired)
    after = (left != "") & (month > left)
    problems.extend(_flag(table, before, "month", "'" + month + "' is before the hire month " + hired +
                          ": nobody is paid for it"))
    problems.extend(_flag(table, after, "month", "'" + month + "' is after the leaving month " + left +
                          ": nobody is paid for it"))


def _deductions(table, rows, policy, people, problems, notes) -> None:
    if "deduction" not in table.positions:
        return
    amounts = pd.to_numeric(rows["deduction"], errors="coerce")
    limit = latest_parameter(policy, "deduction_monthly_import_limit")
    too_big = pd.Series(False, index=rows.index)
    if limit is not None:             # tables without the figure: no hard limit, as for overtime
        too_big = (amounts > limit).fillna(False)
        problems.extend(_flag(table, too_big, "deduction",
                              amounts.map(lambda a: f"a deduction of {a:,.2f} yuan in one month is more than the "
                                                    f"plausible {limit:,.2f} (national_parameters "
                                                    f"deduction_monthly_import_limit): check the amount")))
    asked = (amounts > 0).fillna(False) & ~too_big
    if not asked.any() or people is None or people.empty:
        return
    known = people.drop_duplicates("employee_id", keep="last").set_index("employee_id")
    deducted = rows.loc[asked, ["employee_id", "month", "deduction"]]
    deducted = deducted[deducted["employee_id"].isin(known.index)]
    if deducted.empty:
        return
    # one vectorised bound for every row (a per-row lookup took a minute at 20k people)
    persons = known.reindex(deducted["employee_id"]).reset_index().set_index(deducted.index)
    pay = contract_monthly_pays(policy, persons, deducted["month"].astype(str))
    exact = deducted["deduction"].astype(str).map(Decimal, na_action="ignore")   # the file's digits, no float
    above = pay.notna() & (exact > pay.where(pay.notna(), exact))
    header = table.header_of("deduction")
    shown = above[above].index[:NOTED_ROWS]     # messages only for the rows the summary names
    notes.extend(f"{table.file} row {int(table.row_numbers[index])} column {header}: a deduction of "
                 f"{amounts[index]:,.2f} is more than {deducted.at[index, 'employee_id']}'s contract pay for a "
                 f"full month ({pay[index]:,.2f}: pay_scale, seniority and allowances in force): the run takes "
                 f"what the month's pay allows (工资支付暂行规定 arts. 15-16) and carries the rest as a balance "
                 f"owed (a court-ordered rest is not carried: enter it again next month)" for index in shown)
    if int(above.sum()) > NOTED_ROWS:
        notes.append(f"{table.file}: {int(above.sum()) - NOTED_ROWS} more row(s) with a deduction above the "
                     f"person's contract pay for a full month")


def _rows_in_force(frame: pd.DataFrame, chain: pd.DataFrame, asked: pd.DataFrame,
                   keys: tuple[str, ...]) -> pd.DataFrame:
    """Per (region_code, day) of `asked` and per key, the row in force that day for a region of
    the chain: most specific region first, then the latest effective_from (as engine/context.py
    _resolve_sql). Columns: region_code, day, the frame's columns but its own region_code."""
    candidates = (asked.merge(chain, on="region_code")
                  .merge(frame.rename(columns={"region_code": "ancestor_code"}), on="ancestor_code"))
    day = candidates["day"]
    live = (candidates.effective_from <= day) & (candidates.valid_until.isna()
                                                 | (candidates.valid_until >= day))
    candidates = candidates[live.astype(bool)].sort_values(["depth", "effective_from"], ascending=[True, False],
                                                           kind="stable")
    return candidates.drop_duplicates(["region_code", "day", *keys], keep="first")


def _decimal_sum(values: pd.Series) -> Decimal:
    return sum(values, Decimal(0))


def contract_monthly_pays(policy: Policy, people: pd.DataFrame, months: pd.Series) -> pd.Series:
    """Per row of `people` (region_code, category, level, post, service_start, hire_date) and its
    month in `months` (YYYY-MM, same index): base pay + seniority + monthly allowances (+ the
    high-risk allowance of a high-risk post) in force on the month's first day, in yuan (Decimal):
    rules/pay.py before proration. None where the pay scale has no row for the person (the run
    refuses that month) or the level, month or start of service cannot be read.

    Rows in force are resolved once per region and month, not per person."""
    frames = policy.frames
    day = pd.to_datetime(months.astype(str) + "-01", format="%Y-%m-%d", errors="coerce")
    level = pd.to_numeric(people["level"].astype(str), errors="coerce").astype("float64")
    rows = pd.DataFrame({"region_code": people["region_code"].astype(str), "category": people["category"],
                         "level": level, "day": day.dt.date}, index=people.index)
    risk = dict(zip(frames["posts"]["post"], frames["posts"]["risk_class"]))
    rows["high_risk"] = people["post"].map(risk).eq("high").fillna(False).astype(bool)
    readable = rows["level"].notna() & day.notna()
    asked = rows.loc[readable, ["region_code", "day"]].drop_duplicates()
    chain = policy.chain[["region_code", "ancestor_code", "depth"]]

    scale = _rows_in_force(frames["pay_scale"], chain, asked, ("category", "level"))
    scale = scale[["region_code", "day", "category", "level", "base_pay"]].astype({"level": "float64"})

    allowances = _rows_in_force(frames["allowances"], chain, asked, ("item",))
    kinds = rows.loc[readable, ["region_code", "day", "category", "high_risk"]].drop_duplicates()
    offered = kinds.merge(allowances[["region_code", "day", "applies_to", "amount", "per"]],
                          on=["region_code", "day"])
    applies = (offered.applies_to == "all") | (offered.applies_to == offered.category) | (
        (offered.applies_to == "high_risk") & offered.high_risk)
    offered = offered[applies]
    per_kind = kinds.set_index(["region_code", "day", "category", "high_risk"])
    for name, per in (("monthly", "month"), ("per_year", "service_year")):
        summed = offered[offered.per == per].groupby(["region_code", "day", "category", "high_risk"])["amount"] \
            .agg(_decimal_sum)
        per_kind[name] = summed.reindex(per_kind.index).map(lambda v: Decimal(0) if pd.isna(v) else v)
    per_kind = per_kind.reset_index()

    priced = (rows.reset_index(names="_row").merge(scale, on=["region_code", "day", "category", "level"], how="left")
              .merge(per_kind, on=["region_code", "day", "category", "high_risk"], how="left")
              .set_index("_row").reindex(people.index))
    started = _start_of_service(people)
    years = (day.dt.year - started.dt.year
             - ((day.dt.month < started.dt.month)
                | ((day.dt.month == started.dt.month) & (day.dt.day < started.dt.day))).astype(int)).clip(lower=0)
    known = priced["base_pay"].notna() & started.notna() & readable
    pay = pd.Series(None, index=people.index, dtype=object)
    whole_years = years[known].astype(int).astype(object)        # Decimal × int stays exact
    pay[known] = priced.loc[known, "base_pay"] + priced.loc[known, "monthly"] \
        + priced.loc[known, "per_year"] * whole_years
    return pay


def _start_of_service(people: pd.DataFrame) -> pd.Series:
    """service_start where given, else hire_date, as timestamps (NaT when neither is given)."""
    def given(column: str) -> pd.Series:
        if column not in people:
            return pd.Series("", index=people.index)
        text = people[column].fillna("").astype(str)
        return text.where(~text.isin(("", "None", "nan", "NaT", "<NA>")), "")
    service, hired = given("service_start"), given("hire_date")
    chosen = service.where(service != "", hired)
    return pd.to_datetime(chosen.str[:10].where(chosen != ""), format="%Y-%m-%d", errors="coerce")


def contract_monthly_pay(policy: Policy, person: pd.Series, month: str) -> Decimal | None:
    """contract_monthly_pays for one person and month."""
    people = pd.DataFrame([person.to_dict()])
    for column in ("region_code", "category", "level", "post"):
        if column not in people:
            people[column] = ""
    return contract_monthly_pays(policy, people, pd.Series([month])).iloc[0]


def employments(con: duckdb.DuckDBPyConnection, employee_rows: pd.DataFrame | None) -> pd.DataFrame:
    """employee_id, hire_date, leave_date, service_start (text, '' when none), region_code, category,
    level, post from the database, overridden by the file's rows."""
    stored = con.execute("SELECT employee_id, CAST(hire_date AS VARCHAR) AS hire_date, "
                         "coalesce(CAST(leave_date AS VARCHAR), '') AS leave_date, region_code, category, "
                         "level, post, coalesce(CAST(service_start AS VARCHAR), '') AS service_start "
                         "FROM employees").df()
    if employee_rows is None:
        return stored
    given = employee_rows[["employee_id", "hire_date", "leave_date", "region_code", "category", "level", "post",
                           "service_start"]].astype(str)
    return pd.concat([stored, given], ignore_index=True)
