"""Run a projection: the monthly engine (the same compiled pipeline as `payroll run`) over a year or
more, in its own in-memory DuckDB, so the user's database and payslips are never touched.

Speed, without touching the engine: one connection per projection prepared once (macro, policy,
calendar); the month's parameter tables rebuilt only when a policy row takes effect; only the
payslip columns the results and the next month's history need are written (DuckDB then skips the
rule columns nothing reads); the scenario starts at its first change and takes the months before
from the baseline, which are identical by construction.

Two tables: `projected` holds every projected month (the results read it); `payslips` is what the
engine's history reads (engine.context.history_sql), kept to the twelve months before the month
being computed: each payslip carries the year to date and the first whole month forward, January
sums last year's gross pay and the untaken-leave wage base averages twelve months, and a projected
person is paid in one unbroken run of months (one hire and one leave date), so the history the
engine derives from these twelve months is the one it would derive from every month.
Before the first projected month it holds what the database gave (last year's payslips), so the
engine can still look further back for someone without a payslip last month.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Callable

import duckdb
import pandas as pd
import pyarrow as pa

from ..calendar import calendar_frame
from ..columns import EMPLOYEE_CONTRIBUTIONS, EMPLOYER_CONTRIBUTIONS, PAY_COMPONENTS
from ..db import (ARREARS_DDL, EMPLOYEE_HISTORY_DDL, EMPLOYEE_TERMS_DDL, EMPLOYEES_DDL, EVENT_CAUSE_DDL, EVENTS_DDL,
                  LEAVE_DDL, OPENING_BALANCES_DDL, PAYMENTS_DDL, scalar)
from ..engine.context import (Month, check_month_parameters, install_month_parameters_after, install_month_people,
                              parameters_unchanged)
from ..engine.pipeline import SQL_TYPES, final_stage, lean_planning, pipeline_sql, stored_columns
from ..errors import PayrollError
from ..money import ROUND_DIV_MACRO
from ..policy import Policy
from ..reports.floor import floor_check
from ..rules import one_off
from .scenario import AnnualBonus, Hire, Overtime, Promotion

IDENTITY = ("employee_id", "month", "region_code", "unit", "category", "level", "post")
# what history_sql (engine.context) reads from earlier payslips
HISTORY = ("income_ytd", "contributions_ytd", "special_deduction_ytd", "iit_ytd", "months_employed_ytd",
           "paid_days_employed", "paid_days_in_month", "prior_year_months", "prior_year_gross",
           "first_full_month_gross", "balance_owed", "annual_bonus_separate",
           "maternity_base", "maternity_allowance", "overtime_pay",   # issue 14: what the leave rules read
           "annual_leave_payout")
COMPONENTS = (*PAY_COMPONENTS, "gross_pay", *EMPLOYEE_CONTRIBUTIONS, "iit", "deduction", "net_pay",
              *EMPLOYER_CONTRIBUTIONS, "accident_insurance_employer", "employer_cost")
HISTORY_KEPT = ("employee_id", "month", "region_code", "unit", "gross_pay") + HISTORY
# and what a reader needs to check a base-pay line: the table value and the proration fraction
CHECKS = ("base_pay_full", "proration_numerator", "proration_denominator")
# issue 13: the taxes apart and the bonus method the assumed annual bonuses get
ONE_OFF = ("iit_annual_bonus", "iit_severance", "annual_bonus_method", "balance_recovery", "shortfall_carried")
KEPT = IDENTITY + tuple(dict.fromkeys(HISTORY + COMPONENTS + CHECKS + ONE_OFF))


def _stored(name: str, unit: str) -> str:
    # the conversion of engine.pipeline.stored_select: integer fen × 0.01 in DECIMAL, never a float
    if unit in ("fen", "centi"):
        return f"CAST(CAST({name} AS DECIMAL(18,0)) * CAST(0.01 AS DECIMAL(3,2)) AS {SQL_TYPES[unit]}) AS {name}"
    return name


def _kept_units() -> dict[str, str]:
    units = stored_columns()
    return {name: units[name] for name in KEPT}


def _window_start(month: Month) -> str:
    """The first month of history a month's run reads here: the twenty-four before it (January's
    previous-year gross sums last year; the untaken-leave wage base averages twelve months; a base
    year starting mid-year, issue 14, reads the twelve months before its start, up to 23 back)."""
    return f"{month.year - 2}-{month.start.month:02d}"


def projection_months(year: int, years: int) -> list[Month]:
    if years < 1:
        raise PayrollError("--years must be at least 1")
    return [Month.parse(f"{y}-{m:02d}") for y in range(year, year + years) for m in range(1, 13)]


@dataclass
class RosterChanges:
    """The scenario's roster changes, in the form the projection applies them."""
    hires: list[Hire] = field(default_factory=list)
    attrition_rate: float = 0.0
    attrition_seed: int = 0
    promotion: Promotion | None = None
    level_seed: int | None = None            # issue 16: level rules (simulate/levels.py)

    def first_month(self, months: list[Month]) -> str | None:
        """The first month whose payslips these changes can alter (None: no change)."""
        firsts = [m for hire in self.hires for m in hire.month]
        if self.attrition_rate > 0:
            # a leaver is paid to the end of the month drawn, so the month after is the first changed
            firsts.append(months[1].label if len(months) > 1 else "9999-12")
        if self.promotion is not None or self.level_seed is not None:
            firsts.append(months[0].label)
        return min(firsts) if firsts else None


class Projection:
    """One projection (baseline or scenario) in its own in-memory DuckDB."""

    def __init__(self, policy: Policy, months: list[Month], roster: pa.Table,
                 history: pa.Table | None = None, overtime: dict[str, Overtime] | None = None,
                 bonuses: list[AnnualBonus] | None = None):
        self.policy, self.months = policy, months
        self.con = duckdb.connect(":memory:")
        self.floors: dict[int, pd.DataFrame] = {}      # year -> floor check after its last month
        self.promotion: Promotion | None = None
        self.levels = None                  # ProjectedLevels when the level rules apply
        con = self.con
        con.execute(ROUND_DIV_MACRO)
        policy.install(con)
        calendar = calendar_frame(sorted({m.year for m in months}))
        con.register("_calendar_frame", calendar)
        con.execute("CREATE TEMP TABLE calendar_days AS "
                    "SELECT CAST(day AS DATE) AS day, kind, paid, paid_cum FROM _calendar_frame")
        con.unregister("_calendar_frame")
        con.execute(EMPLOYEES_DDL.replace("VARCHAR PRIMARY KEY", "VARCHAR"))   # no index needed
        # the engine's context also reads dated employee records and arrears: none in a projection
        con.execute(EMPLOYEE_HISTORY_DDL)
        con.execute(ARREARS_DDL)
        con.execute(PAYMENTS_DDL)                  # issue 13: the assumed annual bonuses
        # issues 12 and 14: no opening balances, events (deaths), leave or probation in a projection
        for ddl in (OPENING_BALANCES_DDL, EVENTS_DDL, EVENT_CAUSE_DDL, LEAVE_DDL, EMPLOYEE_TERMS_DDL):
            con.execute(ddl)
        self.bonuses = list(bonuses or [])
        con.register("_roster", roster)
        con.execute("INSERT INTO employees BY NAME SELECT * FROM _roster")
        con.unregister("_roster")
        units = _kept_units()
        columns = ", ".join(f"{name} {SQL_TYPES[unit]}" for name, unit in units.items())
        con.execute(f"CREATE TABLE projected_none ({columns})")
        self._parts = ["projected_none"]
        self._refresh_view()
        history_columns = ", ".join(f"{name} {SQL_TYPES[units[name]]}" for name in HISTORY_KEPT)
        con.execute(f"CREATE TABLE payslips ({history_columns})")
        if history is not None and history.num_rows:
            con.register("_history", history)
            con.execute(f"INSERT INTO payslips BY NAME SELECT {', '.join(HISTORY_KEPT)} FROM _history")
            con.unregister("_history")
        self._attendance(overtime or {})
        self._select = ", ".join(_stored(name, unit) for name, unit in _kept_units().items())
        self._installed: Month | None = None
        self._entry_months: set[str] | None = None   # months in which someone joins (see _run_month)

    def _refresh_view(self) -> None:
        """`projected` is every month's table in one view: a month is written once, as its own
        table (CREATE TABLE AS), never appended to a growing one."""
        self.con.execute("CREATE OR REPLACE VIEW projected AS "
                         + " UNION ALL ".join(f"SELECT * FROM {part}" for part in self._parts))

    def _add_part(self, name: str, select: str) -> None:
        self.con.execute(f"CREATE TABLE {name} AS {select}")
        self._parts.append(name)
        self._refresh_view()

    def _attendance(self, overtime: dict[str, Overtime]) -> None:
        """Attendance from the assumptions: the same hours for every person of a category, every
        month (a view, so new hires get them too); no assumptions, no overtime."""
        rows = [(category, str(o.workday), str(o.restday), str(o.holiday), o.night_shifts)
                for category, o in overtime.items()]
        con = self.con
        con.execute("CREATE TABLE overtime_assumptions (category VARCHAR, workday DECIMAL(8,2), "
                    "restday DECIMAL(8,2), holiday DECIMAL(8,2), night_shifts INTEGER)")
        if rows:
            con.executemany("INSERT INTO overtime_assumptions VALUES (?, ?, ?, ?, ?)", rows)
        labels = ", ".join(f"('{m.label}')" for m in self.months)
        con.execute(f"""CREATE VIEW attendance AS
            SELECT e.employee_id, m.month, CAST(0 AS DECIMAL(8,2)) AS unpaid_leave_days,
                   o.workday AS overtime_workday_hours, o.restday AS overtime_restday_hours,
                   o.holiday AS overtime_holiday_hours, o.night_shifts,
                   CAST(0 AS DECIMAL(18,2)) AS bonus, CAST(0 AS DECIMAL(18,2)) AS deduction,
                   CAST(NULL AS VARCHAR) AS deduction_kind
            FROM employees e JOIN overtime_assumptions o USING (category)
            CROSS JOIN (VALUES {labels}) m(month)""")

    # ---- roster changes (scenario only)

    def apply_roster(self, changes: RosterChanges) -> None:
        for index, hire in enumerate(changes.hires):
            self._hire(index, hire)
        if changes.attrition_rate > 0:
            self._attrition(changes.attrition_rate, changes.attrition_seed)
        self.promotion = changes.promotion
        if changes.level_seed is not None:
            self.use_level_rules(changes.level_seed)

    def use_level_rules(self, seed: int) -> None:
        from .levels import ProjectedLevels
        self.levels = ProjectedLevels(self.con, self.policy, seed, self.months[0].year)

    def _hire(self, index: int, hire: Hire) -> None:
        post = hire.post or self._default_post(hire.category)
        unit = hire.unit or f"{self.policy.region_names().get(hire.region, hire.region)}新招录"
        for month in hire.month:
            day = date(int(month[:4]), int(month[5:]), hire.day)
            self.con.execute(f"""
                INSERT INTO employees (employee_id, name, region_code, unit, category, level, post,
                                       hire_date, special_deduction)
                SELECT 'SIM{index:02d}-{month.replace('-', '')}-' || lpad(CAST(i AS VARCHAR), 5, '0'),
                       '新招录', ?, ?, ?, ?, ?, ?, 0
                FROM range(1, ? + 1) t(i)""", [hire.region, unit, hire.category, hire.level, post, day,
                                              hire.count])

    def _default_post(self, category: str) -> str:
        posts = self.policy.posts()
        return str(posts[posts.category.isin([category, "all"])].post.iloc[0])

    def _attrition(self, rate: float, seed: int) -> None:
        """Each person on the roster at the start leaves at the end of a month drawn from a constant
        monthly hazard h = 1 − (1 − rate)^(1/12), deterministically from a hash of the ID."""
        first, last = self.months[0], self.months[-1]
        self.con.execute(f"""
            UPDATE employees SET leave_date = last_day(DATE '{first.start}' + to_months(CAST(drawn AS INTEGER)))
            FROM (SELECT employee_id AS id,
                         floor(ln(1 - (hash(employee_id || '/{seed}') % 1000000007) / 1000000007.0)
                               / ln(1 - (1 - pow(1 - {rate}, 1.0 / 12)))) AS drawn
                  FROM employees) d
            WHERE employees.employee_id = d.id AND d.drawn < {len(self.months)}
              AND hire_date <= DATE '{first.start}'
              AND (leave_date IS NULL OR leave_date > last_day(DATE '{first.start}' + to_months(CAST(drawn AS INTEGER))))
              AND DATE '{first.start}' + to_months(CAST(drawn AS INTEGER)) <= DATE '{last.start}'""")

    def _promote(self, month: Month) -> None:
        rule = self.promotion
        started = "coalesce(service_start, hire_date)"
        years = f"({month.year} - year({started}))"
        self.con.execute(f"""UPDATE employees SET level = level - 1
            WHERE level > {rule.top_level} AND month({started}) = {month.start.month}
              AND {years} > 0 AND {years} % {rule.every_years} = 0 AND hire_date < DATE '{month.start}'""")

    # ---- months

    def copy_months(self, source: "Projection", before: str) -> None:
        """Take the months before `before` (and the floor checks of whole years) from an identical
        projection instead of computing them again; rebuild the history the engine reads."""
        rows = source.con.sql(f"SELECT * FROM projected WHERE month < '{before}'").to_arrow_table()
        con = self.con
        con.register("_copied", rows)
        self._add_part("projected_copied", "SELECT * FROM _copied")
        con.unregister("_copied")
        for year, frame in source.floors.items():
            if f"{year}-12" < before:
                self.floors[year] = frame
        if not self.months[0].label < before <= self.months[-1].label:
            return                                  # nothing copied, or nothing left to compute
        # what the database gave before the first month stays; the copied months join it
        window = _window_start(Month.parse(before))
        con.execute(f"DELETE FROM payslips WHERE month < '{window}' OR month >= '{self.months[0].label}'")
        con.execute(f"INSERT INTO payslips BY NAME SELECT {', '.join(HISTORY_KEPT)} FROM projected "
                    f"WHERE month >= '{window}' AND month < '{before}'")

    def run(self, start: str | None = None, progress: Callable[[str], None] | None = None,
            stop: str | None = None) -> None:
        """Compute the months from `start` (default: the first) up to, not including, `stop`
        (default: to the end), in order."""
        for month in self.months:
            if (start and month.label < start) or (stop and month.label >= stop):
                continue
            if self.promotion is not None:
                self._promote(month)
            if self.levels is not None:
                self.levels.before_month(month)
            self._run_month(month)
            if month.start.month == 12 or month is self.months[-1]:
                self.floors[month.year] = self._floor_check(month)
            if progress:
                progress(month.label)

    def _roster_may_grow(self, month: Month) -> bool:
        """Someone joins this month (a hire date in it) or is promoted: a (region, category, level,
        post) the last check did not see may appear. Leavers only take groups away."""
        if self._entry_months is None:
            self._entry_months = {label for (label,) in self.con.execute(
                "SELECT DISTINCT strftime(hire_date, '%Y-%m') FROM employees WHERE hire_date >= ?",
                [self.months[0].start]).fetchall()}
        return self.promotion is not None or self.levels is not None or month.label in self._entry_months

    def _run_month(self, month: Month) -> None:
        con = self.con
        if not parameters_unchanged(self.policy, self._installed, month):
            install_month_parameters_after(con, self.policy, month, self._installed)   # as the run does
            self._installed = month
            check_month_parameters(con, month)
        else:   # the tables in force are the same; the month's calendar, people and constants are not
            install_month_people(con, month)
            if self._roster_may_grow(month):    # else its groups are a subset of the ones checked
                check_month_parameters(con, month)
        self._bonus_payments(month)
        history = bool(scalar(con, f"SELECT count(*) > 0 FROM payslips WHERE month < '{month.label}'"))
        part = f"projected_{month.label.replace('-', '_')}"
        with lean_planning(con):
            self._add_part(part, f"{pipeline_sql(month, history)}\nSELECT {self._select} FROM {final_stage()}")
        # the month joins the history of the next; months the next no longer reads are dropped
        con.execute(f"DELETE FROM payslips WHERE month < '{_window_start(month.next())}'")
        con.execute(f"INSERT INTO payslips BY NAME SELECT {', '.join(HISTORY_KEPT)} FROM {part}")

    def _bonus_payments(self, month: Month) -> None:
        """The month's assumed annual bonuses as payments rows (a multiple reads last month's gross
        pay, the payslips history), then the month's payments for the engine."""
        con = self.con
        for bonus in self.bonuses:
            if bonus.month != month.start.month:
                continue
            amount = (f"CAST({bonus.amount} AS DECIMAL(18,2))" if bonus.amount is not None else
                      f"CAST(round(CAST({bonus.multiple} AS DECIMAL(18,6)) * p.gross_pay, 2) AS DECIMAL(18,2))")
            where = [f"e.hire_date <= DATE '{month.end}'",
                     f"(e.leave_date IS NULL OR e.leave_date >= DATE '{month.start}')"]
            if bonus.region:
                where.append("e.region_code IN (" + ", ".join(f"'{r}'" for r in bonus.region) + ")")
            if bonus.category:
                where.append("e.category IN (" + ", ".join(f"'{c}'" for c in bonus.category) + ")")
            method = f"'{bonus.tax_method}'" if bonus.tax_method else "NULL"
            con.execute(f"""
                INSERT INTO payments (employee_id, month, line_no, kind, amount, tax_method, note)
                SELECT employee_id, '{month.label}', 1, 'annual_bonus', amount, {method}, 'simulate'
                FROM (SELECT e.employee_id, {amount} AS amount FROM employees e
                      LEFT JOIN (SELECT employee_id, gross_pay FROM payslips
                                 WHERE month = '{month.previous().label}') p USING (employee_id)
                      WHERE {' AND '.join(where)})
                WHERE amount > 0 AND employee_id NOT IN (SELECT employee_id FROM payments
                                                         WHERE month = '{month.label}')""")
        one_off.install_month_payments(con, month)

    def _floor_check(self, month: Month) -> pd.DataFrame:
        """The run's floor check (reports.floor) reads `payslips`: let it read all projected months."""
        con = self.con
        con.execute("ALTER TABLE payslips RENAME TO payslips_history")
        con.execute("CREATE VIEW payslips AS SELECT * FROM projected")
        try:
            return floor_check(con, month.label)
        finally:
            con.execute("DROP VIEW payslips")
            con.execute("ALTER TABLE payslips_history RENAME TO payslips")

    def close(self) -> None:
        self.con.close()


def roster_from_database(con: duckdb.DuckDBPyConnection) -> pa.Table:
    if not scalar(con, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'employees'") \
            or not scalar(con, "SELECT count(*) FROM employees"):
        raise PayrollError("the database holds no employees: import a roster first, or simulate "
                           "on a synthetic roster with --people N")
    return con.sql("SELECT * FROM employees").to_arrow_table()


def history_from_database(con: duckdb.DuckDBPyConnection, year: int) -> pa.Table | None:
    """Last year's payslips (gross pay by month): the engine derives contribution bases from them."""
    if not scalar(con, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'payslips'"):
        return None
    return con.sql(f"SELECT {', '.join(HISTORY_KEPT)} FROM payslips "
                   f"WHERE month BETWEEN '{year - 1}-01' AND '{year - 1}-12'").to_arrow_table()


def synthetic_roster(people: int, seed: int, year: int) -> pa.Table:
    from ..synth import synth_roster, write_roster
    employees, _ = synth_roster(people, seed=seed, year=year)
    con = duckdb.connect(":memory:")
    write_roster(con, employees, None)
    table = con.sql("SELECT * FROM employees").to_arrow_table()
    con.close()
    return table
