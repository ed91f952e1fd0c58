"""Run months: build the parameters, check them, compute everyone at once, replace the month's
payslips in one transaction. Months run in order because the income tax reads the year to date.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import duckdb

from ..calendar import calendar_table
from ..db import one_row, scalar, table_exists, transaction
from ..errors import PayrollError
from ..money import ROUND_DIV_MACRO
from ..policy import Policy, create_temp_table
from ..rules.death import unpaid_dead_notes
from .context import Month, install_month
from . import offcycle
from .closing import refuse_closed
from .ledger import new_id, now, record_run
from .pipeline import add_missing_columns, final_stage, lean_planning, payslips_ddl, pipeline_sql, stored_select
from .retro import MONTH_READS_DDL, RetroResult, closed_years, pay_arrears, record_fingerprint


@dataclass(frozen=True)
class MonthResult:
    month: str
    people: int
    gross_pay: str
    net_pay: str
    employer_cost: str
    notes: tuple[str, ...] = ()       # issue 14: e.g. people not paid because they died before the month

    def __str__(self) -> str:
        text = (f"{self.month}: {self.people:,} payslips, gross {self.gross_pay}, net {self.net_pay}, "
                f"employer cost {self.employer_cost}")
        return "\n".join([text, *(f"  note: {note}" for note in self.notes)])


def months_between(first: str, last: str | None) -> list[Month]:
    start, end = Month.parse(first), Month.parse(last or first)
    if end.start < start.start:
        raise PayrollError(f"--through {end.label} is before --month {start.label}")
    months = [start]
    while months[-1].label != end.label:
        months.append(months[-1].next())
    return months


def prepare_connection(con: duckdb.DuckDBPyConnection, policy: Policy, years: list[int]) -> None:
    """Install the macro, the policy tables and the calendar of the years a run touches."""
    con.execute(ROUND_DIV_MACRO)
    policy.install(con)
    policy.use_calendar()                              # this directory's calendar.csv
    calendar = calendar_table(tuple(sorted(set(years))))     # refuses a year without an official calendar
    create_temp_table(con, "calendar_days", calendar, "SELECT CAST(day AS DATE) AS day, kind, paid, paid_cum")
    con.execute(payslips_ddl())
    con.execute(offcycle.offcycle_ddl())                # issue 13: the off-cycle runs' payslips and ledger
    for table in ("payslips", "offcycle_payslips"):      # made by an earlier version: its new columns
        add_missing_columns(con, table)
    con.execute(offcycle.RUNS_DDL)
    con.execute(MONTH_READS_DDL)                        # issue 17: what retro pay compares
    _record_policy_snapshot(con, policy)


def _record_policy_snapshot(con: duckdb.DuckDBPyConnection, policy: Policy) -> None:
    con.execute("CREATE TABLE IF NOT EXISTS policy_snapshots (tables_digest VARCHAR, table_name VARCHAR, "
                "row_no INTEGER, row_json VARCHAR, PRIMARY KEY (tables_digest, table_name, row_no))")
    known = scalar(con, "SELECT count(*) FROM policy_snapshots WHERE tables_digest = ?", [policy.digest])
    if not known:
        _policy_snapshot_rows = policy.snapshot_rows()   # noqa: F841 (DuckDB reads it by its name)
        con.execute("INSERT INTO policy_snapshots SELECT * FROM _policy_snapshot_rows")


def check_order(con: duckdb.DuckDBPyConnection, months: list[Month], offcycle: bool = False) -> None:
    """Months run in order, as the year-to-date tax reads them: no later month run already, and the
    month before the first one run (a regular run, or an off-cycle run of one month)."""
    if not table_exists(con, "payslips"):
        return
    first, last = months[0], months[-1]
    later = scalar(con, "SELECT max(month) FROM payslips WHERE month > ?", [last.label])
    if later:
        doing, remedy = ((f"an off-cycle run in {first.label}", f"pay it in {later} or later") if offcycle else
                         (f"a re-run of {first.label}", f"run `payroll run --month {first.label} --through {later}`"))
        raise PayrollError(f"payslips for {later} already exist: {doing} would leave the year-to-date tax of "
                           f"later months stale; {remedy}")
    earlier = scalar(con, "SELECT max(month) FROM payslips WHERE month < ?", [first.label])
    if earlier and earlier != first.previous().label:
        remedy = (f"run the months in order before an off-cycle run in {first.label}" if offcycle else
                  f"months run in order: start from {Month.parse(earlier).next().label}")
        raise PayrollError(f"{first.previous().label} has not been run (the last month run before "
                           f"{first.label} is {earlier}); {remedy}")


def _month_planning(con: duckdb.DuckDBPyConnection):
    """The rule query planned lean (pipeline.lean_planning), its joins kept as written: the roster
    probes, attendance and history are the hash tables. DuckDB's estimate of the active roster is
    far too small, so it would hash the whole roster with all its columns instead (about 0.5 s of
    CPU more at a million people)."""
    return lean_planning(con, "build_side_probe_side")


def run_month(con: duckdb.DuckDBPyConnection, month: Month, policy: Policy, run_id: str) -> MonthResult:
    """Replace the month's payslips. The caller holds the transaction (run_months: the whole run)
    and has installed the month (context.install_month)."""
    payslips_exist = scalar(con, "SELECT count(*) > 0 FROM payslips WHERE month < ?", [month.label])
    overlay = offcycle.overlay_needed(con, month.previous())     # issue 13: last month's off-cycle runs
    query = (f"{pipeline_sql(month, payslips_exist, offcycle_overlay=overlay)}\n"
             f"SELECT {stored_select()}, '{policy.digest}' AS tables_digest, '{run_id}' AS run_id "
             f"FROM {final_stage()}")
    with _month_planning(con):
        con.execute("DELETE FROM payslips WHERE month = ?", [month.label])
        con.execute(f"INSERT INTO payslips BY NAME {query}")
    offcycle.net_out_regular(con, month)                # issue 13: the month's off-cycle runs paid their part
    record_fingerprint(con, month, policy)              # issue 7: what retro pay compares against
    people, gross, net, cost = one_row(
        con, "SELECT count(*), coalesce(sum(gross_pay), 0), coalesce(sum(net_pay), 0), "
        "coalesce(sum(employer_cost), 0) FROM payslips WHERE month = ?", [month.label])
    return MonthResult(month.label, people, f"{gross:,.2f}", f"{net:,.2f}", f"{cost:,.2f}",
                       tuple(unpaid_dead_notes(con, month)))


def run_months(con: duckdb.DuckDBPyConnection, policy: Policy, first: str, last: str | None = None,
               progress: Callable[[MonthResult], None] | None = None,
               retro: Callable[[RetroResult], None] | None = None) -> list[MonthResult]:
    """Run the months in order, all or nothing: one transaction for the whole run, so a run that
    fails or is killed at any point leaves the database as it was (issue 7). Closed months are
    refused; changes to closed months are paid as arrears in the first month run."""
    months = months_between(first, last)
    refuse_closed(con, months)
    started_at, run_id, results = now(), new_id(), []
    with transaction(con):
        prepare_connection(con, policy, [m.year for m in months] + closed_years(con))
        if not scalar(con, "SELECT count(*) FROM employees"):
            raise PayrollError("the database holds no employees: run `payroll import --employees FILE` first")
        check_order(con, months)
        arrears = pay_arrears(con, policy, months[0], run_id)
        if retro and arrears.months_recomputed:
            retro(arrears)
        installed = None          # (the retro leaves its last month's parameter tables: install anew)
        for month in months:
            # issue 17: the parameter tables are rebuilt only when a policy row changes between months
            installed = install_month(con, policy, month, installed)
            result = run_month(con, month, policy, run_id)
            results.append(result)
            if progress:
                progress(result)
        record_run(con, run_id, started_at, months[0].label, months[-1].label, policy.directory, policy.digest)
    return results
