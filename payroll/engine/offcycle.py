"""Off-cycle runs (issue 13 part 4): a month holds its regular run and any number of off-cycle runs,
each with its own payslips (table `offcycle_payslips`, the payslips layout plus the run's id, kind
and order), register and bank file.

One rule makes every run of a month agree: **the month's payslips of a person add up to the month
computed once with everything paid in it** (the "month state": the regular items plus the payments
of every run done). An off-cycle payslip is the change its run makes to that state; the regular run
is the state less the month's off-cycle payslips. So income tax is cumulative across every run of the
year (国家税务总局公告2018年第61号 art. 6: 累计预扣法 over everything the payer pays in the year, one
declaration line per person and month) and the month's total is the same whichever order the runs
happen in; contributions, the basic deduction and the special deductions of the month are in the
state once, so they are charged once.

- `settlement` (离职结算), for named people employed in the month: pays everything of the month the
  earlier runs did not: the payments assigned to it (`run` = settlement in the payments file), and,
  when it comes before the regular run, the last days, the untaken annual leave (rules/leave.py, the
  one rule) and the arrears paid in the month; it recovers the balance owed within the art. 16 limits
  and shows the rest as still owed (balance_owed). Payslip = state with its payments − the person's
  earlier payslips of the month. A later regular run then pays them nothing more.
- `bonus`: the payments assigned to it (`run` = bonus) of the month, for the people they name.
  Payslip = state with its payments − state without them: only the payments and their tax.
"""
from __future__ import annotations

from dataclasses import dataclass

import duckdb

from ..columns import EMPLOYEE_CONTRIBUTIONS, EMPLOYER_CONTRIBUTIONS, PAY_COMPONENTS
from ..db import one_row, scalar, table_exists, transaction
from ..errors import PayrollError
from ..policy import Policy
from ..rules import one_off
from .closing import last_closed
from .context import Month, check_month_parameters, install_all_month_parameters
from .ledger import now
from .pipeline import final_stage, lean_planning, payslips_ddl, pipeline_sql, stored_select

BASIS = ("国家税务总局公告2018年第61号 art. 6 (累计预扣法: every payment of the year by the payer, one line per "
         "month); 工资支付暂行规定 arts. 9 (pay settled when the contract ends), 15, 16")
KINDS = {"settlement": "离职结算", "bonus": "奖金发放"}

# the lines a run pays: what its payslip holds as the change it makes to the month; every other
# column (year to date, balance owed, rates, the bonus method) is the month's state after the run
DELTA_COLUMNS = (
    *PAY_COMPONENTS, "arrears_pay", "gross_pay", *EMPLOYEE_CONTRIBUTIONS, *EMPLOYER_CONTRIBUTIONS,
    "accident_insurance_employer", "employee_contributions", "employer_cost",
    "iit", "iit_annual_bonus", "iit_severance", "deduction", "balance_recovery", "shortfall_carried", "net_pay",
    "tax_exempt_income", "annual_bonus_total", "annual_bonus_separate", "severance_exempt", "severance_taxable",
    "income_taxed_apart",
)
EXTRA = {"offcycle_run_id": "VARCHAR", "offcycle_kind": "VARCHAR", "offcycle_seq": "BIGINT",
         "after_regular": "BOOLEAN"}
FEW = 20                 # up to this many people, a run computes only their months
YTD_CARRIED = ("income_ytd", "contributions_ytd", "special_deduction_ytd", "iit_ytd", "months_employed_ytd",
               "balance_owed")

RUNS_DDL = """
CREATE TABLE IF NOT EXISTS offcycle_runs (
    run_id      VARCHAR PRIMARY KEY,     -- YYYY-MM-kind-N
    month       VARCHAR NOT NULL,
    kind        VARCHAR NOT NULL,        -- settlement | bonus
    seq         BIGINT NOT NULL,         -- order of the off-cycle runs
    people      BIGINT NOT NULL,
    started_at  TIMESTAMP NOT NULL,
    tables_digest VARCHAR NOT NULL
)"""

# issue 13: which arrears lines a settlement of someone who had left paid (never twice); the arrears
# table itself is unchanged (its month_paid stays the month whose run recorded the line)
ARREARS_SETTLED_DDL = """
CREATE TABLE IF NOT EXISTS arrears_settled (
    employee_id   VARCHAR NOT NULL,
    month_paid    VARCHAR NOT NULL,      -- the arrears line's month_paid (no payslip of the person in it)
    month_earned  VARCHAR NOT NULL,
    component     VARCHAR NOT NULL,
    arrears_run_id VARCHAR NOT NULL,     -- the run that recorded the line
    settled_run_id VARCHAR NOT NULL      -- the off-cycle settlement that paid it
)"""


def _owed_sql(month: Month) -> str:
    """Arrears lines owed to someone who had no payslip in the month they were recorded for (not
    employed then), recorded up to `month`, not yet paid by a settlement."""
    return f"""SELECT a.* FROM arrears a
        WHERE a.month_paid <= '{month.label}'
          AND NOT EXISTS (SELECT 1 FROM payslips p WHERE p.employee_id = a.employee_id AND p.month = a.month_paid)
          AND NOT EXISTS (SELECT 1 FROM arrears_settled s WHERE s.employee_id = a.employee_id
                          AND s.month_paid = a.month_paid AND s.month_earned = a.month_earned
                          AND s.component = a.component AND s.arrears_run_id = a.run_id)"""


def departed_owed(con: duckdb.DuckDBPyConnection, month: Month, people: list[str]) -> list[str]:
    """Of `people` (not employed in `month`), those owed arrears a settlement pays."""
    if not people:
        return []
    return [e for (e,) in con.execute(f"SELECT DISTINCT employee_id FROM ({_owed_sql(month)}) "
                                      f"WHERE list_contains(?, employee_id) ORDER BY 1", [people]).fetchall()]


def offcycle_ddl() -> str:
    body = payslips_ddl().replace("CREATE TABLE IF NOT EXISTS payslips (",
                                  "CREATE TABLE IF NOT EXISTS offcycle_payslips (", 1).rstrip().rstrip(")")
    return body + ",\n    " + ",\n    ".join(f"{name} {kind}" for name, kind in EXTRA.items()) + ")"


def delta_columns() -> tuple[str, ...]:
    from .pipeline import stored_columns
    stored = stored_columns()
    return tuple(c for c in DELTA_COLUMNS if c in stored)


@dataclass(frozen=True)
class OffcycleResult:
    run_id: str
    month: str
    kind: str
    people: int
    gross_pay: str
    net_pay: str
    iit: str

    def __str__(self) -> str:
        return (f"{self.month} off-cycle run {self.run_id} ({self.kind} {KINDS[self.kind]}): {self.people:,} payslips, "
                f"gross {self.gross_pay}, net {self.net_pay}, income tax {self.iit}\nrun id: {self.run_id}")


def has_offcycle(con: duckdb.DuckDBPyConnection, month_label: str | None = None) -> bool:
    if not table_exists(con, "offcycle_payslips"):
        return False
    if month_label is None:
        return bool(scalar(con, "SELECT count(*) > 0 FROM offcycle_payslips"))
    return bool(scalar(con, "SELECT count(*) > 0 FROM offcycle_payslips WHERE month = ?", [month_label]))


def overlay_needed(con: duckdb.DuckDBPyConnection, previous: Month) -> bool:
    """An off-cycle run of last month came after its regular run: next month's history reads it."""
    return table_exists(con, "offcycle_payslips") and bool(scalar(
        con, "SELECT count(*) > 0 FROM offcycle_payslips WHERE month = ? AND after_regular", [previous.label]))


def last_month_overlay_sql(previous: Month) -> str:
    """Last month's payslips with the year to date of the person's latest off-cycle run that came
    after the regular run: the month's state after its last run (the history reads it)."""
    replaced = ", ".join(f"coalesce(o.{c}, p.{c}) AS {c}" for c in YTD_CARRIED)
    latest = ", ".join(YTD_CARRIED)
    return f"""(SELECT p.* REPLACE ({replaced}) FROM payslips p LEFT JOIN (
        SELECT employee_id, {latest} FROM offcycle_payslips WHERE month = '{previous.label}' AND after_regular
        QUALIFY row_number() OVER (PARTITION BY employee_id ORDER BY offcycle_seq DESC) = 1) o
        ON o.employee_id = p.employee_id WHERE p.month = '{previous.label}')"""


def net_out_regular(con: duckdb.DuckDBPyConnection, month: Month, table: str = "payslips") -> None:
    """The regular run computed the month's state with every off-cycle run's payments in it: take the
    off-cycle payslips off, so the month's payslips add up to the state (called by run_month and by
    retro's recomputation, which compares the regular payslips)."""
    if not has_offcycle(con, month.label):
        return
    columns = delta_columns()
    sums = ", ".join(f"sum({c}) AS {c}" for c in columns)
    sets = ", ".join(f"{c} = t.{c} - o.{c}" for c in columns)
    con.execute(f"""UPDATE {table} t SET {sets}
        FROM (SELECT employee_id, {sums} FROM offcycle_payslips WHERE month = '{month.label}' GROUP BY employee_id) o
        WHERE t.month = '{month.label}' AND t.employee_id = o.employee_id""")
    if table == "payslips":
        # the regular run now holds the month's last state: next month's history reads it
        con.execute("UPDATE offcycle_payslips SET after_regular = false WHERE month = ?", [month.label])


def refuse_closed_offcycle(con: duckdb.DuckDBPyConnection, month: Month) -> None:
    last = last_closed(con)
    if last is not None and month.label <= last:
        raise PayrollError(f"cannot run an off-cycle run in {month.label}: the month is closed (months are closed "
                           f"through {last}) and closing a month closes all its runs; pay it in an open month "
                           f"(`payroll run --month {Month.parse(last).next().label} --off-cycle …`)")


def _people(con: duckdb.DuckDBPyConnection, month: Month, kind: str,
            employees: list[str] | None) -> tuple[list[str], list[str]]:
    """The run's people employed in the month into temp table offcycle_people, and the leavers paid
    their arrears owed (settlement only); exit 2 naming anyone not on the roster or owed nothing."""
    if kind not in KINDS:
        raise PayrollError(f"--off-cycle {kind!r} is not a kind of off-cycle run; use settlement or bonus")
    if kind == "settlement":
        if not employees:
            raise PayrollError("--off-cycle settlement needs --employees ID[,ID…]: the leavers settled")
        known = {e for (e,) in con.execute("SELECT employee_id FROM employees WHERE list_contains(?, employee_id)",
                                           [employees]).fetchall()}
        unknown = [e for e in employees if e not in known]
        if unknown:
            raise PayrollError(f"--employees: {', '.join(unknown[:10])} {'is' if len(unknown) == 1 else 'are'} not on "
                               f"the roster (no such employee_id in the employees table)")
        settled = [e for (e,) in con.execute(
            "SELECT DISTINCT employee_id FROM offcycle_payslips WHERE month = ? AND offcycle_kind = 'settlement' "
            "AND list_contains(?, employee_id) ORDER BY 1", [month.label, employees]).fetchall()]
        if settled:
            raise PayrollError(f"--employees: {', '.join(settled[:10])} already settled in {month.label} (a "
                               f"settlement is paid once a month)")
        people = sorted(set(employees))
    else:
        if employees:
            raise PayrollError("--employees is for --off-cycle settlement; a bonus run pays the payments assigned "
                               "to it (`run` = bonus in the payments file)")
        people = [e for (e,) in con.execute(
            "SELECT DISTINCT employee_id FROM payments WHERE month = ? AND run_kind = 'bonus' AND employee_id NOT IN "
            "(SELECT employee_id FROM offcycle_payslips WHERE month = ? AND offcycle_kind = 'bonus') ORDER BY 1",
            [month.label, month.label]).fetchall()]
        if not people:
            raise PayrollError(f"no payments of {month.label} assigned to a bonus run are left unpaid: import them "
                               f"with `run` = bonus (`payroll import --payments FILE`)")
    con.execute("CREATE OR REPLACE TEMP TABLE offcycle_people (employee_id VARCHAR)")
    con.executemany("INSERT INTO offcycle_people VALUES (?)", [[e] for e in people])
    not_employed = [e for (e,) in con.execute(
        "SELECT employee_id FROM offcycle_people EXCEPT SELECT employee_id FROM _offcycle_roster ORDER BY 1").fetchall()]
    # a settlement of someone who has left before the month pays the arrears owed to them (issue 7's
    # lines of a month they were not employed in), nothing else
    owed = set(departed_owed(con, month, not_employed)) if kind == "settlement" else set()
    refused = [e for e in not_employed if e not in owed]
    if refused:
        raise PayrollError(f"{', '.join(refused[:10])} {'is' if len(refused) == 1 else 'are'} not employed in "
                           f"{month.label} and {'is' if len(refused) == 1 else 'are'} owed no arrears: a settlement pays "
                           f"people employed in its month (settle a leaver in the month of the leave date), or arrears "
                           f"owed to someone who has left (none are owed, or an earlier settlement paid them)")
    if owed:
        con.execute("DELETE FROM offcycle_people WHERE list_contains(?, employee_id)", [sorted(owed)])
    return [e for e in people if e not in owed], sorted(owed)


def _state(con: duckdb.DuckDBPyConnection, month: Month, policy: Policy, run_id: str, name: str,
           payments: str) -> None:
    """The month's state of the run's people with the given payments, into temp table `name`."""
    one_off.install_month_payments(con, month, payments_filter=payments)
    exists = bool(scalar(con, "SELECT count(*) > 0 FROM payslips WHERE month < ?", [month.label]))
    overlay = overlay_needed(con, month.previous())
    select = f"SELECT {stored_select()}, '{policy.digest}' AS tables_digest, '{run_id}' AS run_id FROM {final_stage()}"
    people = [e for (e,) in con.execute("SELECT employee_id FROM offcycle_people ORDER BY 1").fetchall()]
    # many people (a bonus run): the whole roster's month, filtered; a few (a settlement): only
    # their months, as explain computes one person's (the same figures, context.history_sql)
    who = None if len(people) > FEW else tuple(people)
    with lean_planning(con):
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {pipeline_sql(month, exists, who, overlay)}\n"
                    f"{select} WHERE employee_id IN (SELECT employee_id FROM offcycle_people)")


def run_offcycle(con: duckdb.DuckDBPyConnection, policy: Policy, month_label: str, kind: str,
                 employees: list[str] | None = None) -> OffcycleResult:
    """One off-cycle run, all or nothing; exit 2 (PayrollError) on a closed month or bad people."""
    from .run import check_order, prepare_connection
    from .retro import closed_years
    month = Month.parse(month_label)
    refuse_closed_offcycle(con, month)
    started_at = now()
    with transaction(con):
        prepare_connection(con, policy, [month.year] + closed_years(con))
        con.execute(offcycle_ddl())
        con.execute(RUNS_DDL)
        con.execute(ARREARS_SETTLED_DDL)
        if not table_exists(con, "payments"):
            from ..db import PAYMENTS_DDL
            con.execute(PAYMENTS_DDL)
        check_order(con, [month], offcycle=True)
        install_all_month_parameters(con, policy, month)     # the Policy's tables of the month, if made
        check_month_parameters(con, month)
        from .context import _active_roster_sql
        con.execute(f"CREATE OR REPLACE TEMP TABLE _offcycle_roster AS SELECT employee_id FROM ({_active_roster_sql(month)})")
        people, departed = _people(con, month, kind, employees)
        seq = int(scalar(con, "SELECT coalesce(max(seq), 0) + 1 FROM offcycle_runs"))
        run_id = f"{month.label}-{kind}-{seq}"
        if people:
            this_run = (f" OR (run_kind = '{kind}' AND employee_id IN (SELECT employee_id FROM offcycle_people))")
            _state(con, month, policy, run_id, "_offcycle_with", one_off.run_payments_filter(con, month.label, this_run))
            if kind == "bonus":
                _state(con, month, policy, run_id, "_offcycle_before", one_off.run_payments_filter(con, month.label))
                before = "SELECT * FROM _offcycle_before"
            else:
                columns = delta_columns()
                sums = ", ".join(f"sum({c}) AS {c}" for c in columns)
                union = ", ".join(columns)
                before = (f"SELECT employee_id, {sums} FROM (SELECT employee_id, {union} FROM payslips WHERE month = "
                          f"'{month.label}' UNION ALL SELECT employee_id, {union} FROM offcycle_payslips WHERE month = "
                          f"'{month.label}') WHERE employee_id IN (SELECT employee_id FROM offcycle_people) "
                          f"GROUP BY employee_id")
            after_regular = f"employee_id IN (SELECT employee_id FROM payslips WHERE month = '{month.label}')"
            replaced = ", ".join(f"w.{c} - coalesce(b.{c}, 0) AS {c}" for c in delta_columns())
            con.execute(f"""INSERT INTO offcycle_payslips BY NAME
                SELECT w.* REPLACE ({replaced}), '{run_id}' AS offcycle_run_id, '{kind}' AS offcycle_kind,
                       {seq} AS offcycle_seq, w.{after_regular} AS after_regular
                FROM _offcycle_with w LEFT JOIN ({before}) b ON b.employee_id = w.employee_id""")
        if departed:            # leavers owed arrears: the arrears alone (settle_departed)
            settle_departed(con, month, policy, run_id, seq, departed)
        negative = con.execute("SELECT employee_id, net_pay FROM offcycle_payslips WHERE offcycle_run_id = ? "
                               "AND net_pay < 0 ORDER BY 1 LIMIT 5", [run_id]).fetchall()
        if negative:
            raise PayrollError(f"{run_id}: the run would take back pay already paid ({', '.join(f'{e} {n}' for e, n in negative)}): "
                               f"the month's inputs changed since its earlier runs; re-run the regular month first")
        count, gross, net, iit = one_row(
            con, "SELECT count(*), coalesce(sum(gross_pay), 0), coalesce(sum(net_pay), 0), "
            "coalesce(sum(iit + iit_annual_bonus + iit_severance), 0) FROM offcycle_payslips WHERE offcycle_run_id = ?",
            [run_id])
        con.execute("INSERT INTO offcycle_runs VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [run_id, month.label, kind, seq, count, started_at, policy.digest])
        for name in ("_offcycle_with", "_offcycle_before", "_offcycle_roster", "offcycle_people"):
            con.execute(f"DROP TABLE IF EXISTS temp.{name}")
    return OffcycleResult(run_id, month.label, kind, count, f"{gross:,.2f}", f"{net:,.2f}", f"{iit:,.2f}")


def runs_of_month(con: duckdb.DuckDBPyConnection, month_label: str) -> list[tuple[str, str, int]]:
    """(run id, kind, payslips) of the month's off-cycle runs, in order."""
    if not table_exists(con, "offcycle_runs"):
        return []
    return [tuple(r) for r in con.execute("SELECT run_id, kind, people FROM offcycle_runs WHERE month = ? ORDER BY seq",
                                          [month_label]).fetchall()]


def select_run(con: duckdb.DuckDBPyConnection, month_label: str, run: str | None) -> None:
    """Point `payslips` at one run for the reports: `regular` (or None) leaves it; an off-cycle run's
    id shadows it with a temp view of that run's payslips; `all` with the month's runs added up (the
    tax declaration: one line per person and month). Unknown run: PayrollError (exit 2)."""
    if run is None or run == "regular":
        return
    database = scalar(con, "SELECT current_database()").replace('"', '""')
    if run == "all" and table_exists(con, "offcycle_payslips"):
        # the month's runs together (the tax declaration takes one line per person and month): the
        # lines summed, the year to date of the month's last run
        columns = delta_columns()
        sums = ", ".join(f"sum({c}) AS {c}" for c in columns)
        added = ", ".join(f"p.{c} + coalesce(o.{c}, 0) AS {c}" for c in columns)
        later = ", ".join(f"coalesce(l.{c}, p.{c}) AS {c}" for c in YTD_CARRIED)
        main = f'"{database}".main'
        con.execute(f"""CREATE OR REPLACE TEMP VIEW payslips AS SELECT p.* REPLACE ({added}, {later})
            FROM {main}.payslips p
            LEFT JOIN (SELECT employee_id, month, {sums} FROM {main}.offcycle_payslips GROUP BY ALL) o
                   ON o.employee_id = p.employee_id AND o.month = p.month
            LEFT JOIN (SELECT employee_id, month, {', '.join(YTD_CARRIED)} FROM {main}.offcycle_payslips WHERE after_regular
                       QUALIFY row_number() OVER (PARTITION BY employee_id, month ORDER BY offcycle_seq DESC) = 1) l
                   ON l.employee_id = p.employee_id AND l.month = p.month
            UNION ALL BY NAME   -- a settlement of someone who had left: no regular payslip that month
            SELECT * EXCLUDE ({', '.join(EXTRA)}) FROM {main}.offcycle_payslips o WHERE NOT EXISTS (
                SELECT 1 FROM {main}.payslips r WHERE r.employee_id = o.employee_id AND r.month = o.month)""")
        return
    known = [r for r, _, _ in runs_of_month(con, month_label)]
    if run not in known:
        raise PayrollError(f"--run {run!r}: no such run in {month_label}; the month's runs: "
                           f"{', '.join(['regular', *known])} (or all: the runs added up)")
    extra = ", ".join(EXTRA)
    con.execute(f"""CREATE OR REPLACE TEMP VIEW payslips AS SELECT * EXCLUDE ({extra}) FROM "{database}".main.offcycle_payslips
                    WHERE offcycle_run_id = '{run.replace("'", "''")}'""")


# ---- explain (issue 13): the month's state, and each run's part of it ----------------------------

EXPLAINED = ("gross_pay", "employee_contributions", "iit", "iit_annual_bonus", "iit_severance", "deduction",
             "net_pay", "employer_cost")


def person_runs(con: duckdb.DuckDBPyConnection, main: str, employee_id: str, month_label: str) -> list[dict]:
    """The person's off-cycle payslips of the month, in the order of their runs."""
    if not table_exists(con, "offcycle_payslips"):
        return []
    cursor = con.execute(f"SELECT * FROM {main}.offcycle_payslips WHERE month = ? AND employee_id = ? "
                         f"ORDER BY offcycle_seq", [month_label, employee_id])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def month_state(stored: dict | None, runs: list[dict]) -> dict | None:
    """The regular payslip plus the off-cycle ones: what explain recomputes (the month's state)."""
    if stored is None or not runs:
        return stored
    later = [run for run in runs if run["after_regular"]]      # after the regular run: theirs is the last state
    state = {c: later[-1].get(c, v) for c, v in stored.items()} if later else dict(stored)
    for column in delta_columns():
        state[column] = stored[column] + sum(run[column] for run in runs)
    return state


def settled_state(runs: list[dict]) -> dict | None:
    """No regular payslip in the month (a settlement of someone who had left): the runs added up."""
    if not runs:
        return None
    state = dict(runs[-1])
    for column in delta_columns():
        state[column] = sum(run[column] for run in runs)
    return state


def run_trace_lines(stored: dict | None, runs: list[dict], only: str | None = None) -> list:
    """One line per run and key amount: which run paid what of the month (explain)."""
    from ..columns import LABELS
    from .trace import TraceLine, show
    parts = ([("regular", "常规发薪", stored)] if stored is not None else []) + \
        [(run["offcycle_run_id"], KINDS[run["offcycle_kind"]], run) for run in runs]
    lines = []
    for run_id, label, row in parts:
        if only is not None and run_id != only:
            continue
        for column in EXPLAINED:
            fen = int(row[column] * 100)
            zh, en = LABELS.get(column, ("个人缴费合计", "Employee contributions"))
            formula = ("the month's state − the off-cycle runs' parts" if run_id == "regular" else
                       "the month's state with this run's payments − " +
                       ("the state without them" if row.get("offcycle_kind") == "bonus" else
                        "the person's earlier payslips of the month"))
            lines.append(TraceLine(name=f"run[{run_id}].{column}", label_zh=f"{zh}（{label} {run_id}）",
                                   label_en=f"{en}, run {run_id}", unit="fen", raw=fen, shown=show(fen, "fen"),
                                   formula=formula, basis=BASIS))
    return lines


# ---- a settlement of someone who has left: the arrears owed, nothing else (issue 13) -------------

DEPARTED_BASIS = ("工资支付暂行规定 art. 9 (pay settled in full when the contract ends); 国家税务总局公告2018年第61号 "
                  "art. 6 (补发 taxed when paid, cumulatively over the tax year; no payslip in the year: from 0); "
                  "社会保险法 arts. 12, 60 (contribution arrears of the month earned); 工资支付暂行规定 art. 16")
_CLEARED_TEXT = ("deduction_kind", "annual_bonus_method", "annual_bonus_method_requested", "annual_bonus_method_asked",
                 "appraisal_bonus_method_requested", "contribution_base_source", "appraisal_result")
_KEPT_NUMBERS = ("level",)


def _fen(value) -> int:
    return int((value or 0) * 100)


def _round_div(numerator: int, denominator: int) -> int:
    """payroll/money.py's round_div: the exact quotient half-up (for numerator ≥ 0)."""
    return (2 * numerator + denominator) // (2 * denominator)


def _latest_row(con: duckdb.DuckDBPyConnection, employee_id: str, month: Month) -> dict | None:
    """The person's last payslip up to the month, regular or off-cycle: the month's last state
    (an off-cycle run after the regular run is later than it; one before it is earlier)."""
    extra = ", ".join(EXTRA)
    cursor = con.execute(f"""SELECT * EXCLUDE (_rank, _seq) FROM (
            SELECT *, 1 AS _rank, 0 AS _seq FROM payslips WHERE employee_id = ? AND month <= ?
            UNION ALL BY NAME
            SELECT * EXCLUDE ({extra}), CASE WHEN after_regular THEN 2 ELSE 0 END AS _rank, offcycle_seq AS _seq
            FROM offcycle_payslips WHERE employee_id = ? AND month <= ?)
        ORDER BY month DESC, _rank DESC, _seq DESC LIMIT 1""", [employee_id, month.label, employee_id, month.label])
    row = cursor.fetchone()
    return None if row is None else dict(zip([d[0] for d in cursor.description], row))


def departed_payslip(last: dict, owed: dict[str, int], month: Month, constants: dict) -> dict[str, int]:
    """The settlement's lines (fen) for someone not employed in the month: gross = the arrears owed,
    no regular pay; contributions = the contribution arrears (as in the regular run, rules/arrears.py:
    recomputed with the month earned, added to the same line); tax by cumulative withholding over the
    tax year of the month, the year to date of the person's last payslip of that year, or 0 if none
    (国家税务总局公告2018年第61号 art. 6); no month of employment added (not employed in the month: the
    basic deduction stays 5,000 × the months employed); the balance owed recovered within art. 16
    (≤ 20 % of the pay; no paid day in the month, so no minimum-wage floor applies); net ≥ 0."""
    from ..rules.arrears import PAY_ARREARS
    same_year = last["month"] >= f"{month.year}-01"
    prev = {c: (_fen(last[c]) if same_year else 0) for c in ("income_ytd", "contributions_ytd",
                                                             "special_deduction_ytd", "iit_ytd")}
    months_employed = int(last["months_employed_ytd"] or 0) if same_year else 0
    no19 = bool(last["no19_applies"]) if same_year else False
    line = {c: owed.get(c, 0) for c in (*EMPLOYEE_CONTRIBUTIONS, *EMPLOYER_CONTRIBUTIONS, "accident_insurance_employer")}
    out = {f"arrears_{c}": v for c, v in line.items()}
    out.update(line)
    out["arrears_pay"] = gross = sum(owed.get(c, 0) for c in PAY_ARREARS)
    out["gross_pay"] = gross
    out["employee_contributions"] = contributions = sum(
        line[c] for c in ("pension_employee", "medical_employee", "unemployment_employee", "housing_fund_employee"))
    out["employer_cost"] = gross + sum(line[c] for c in (*EMPLOYER_CONTRIBUTIONS, "accident_insurance_employer"))
    out.update(prev_income_ytd=prev["income_ytd"], prev_contributions_ytd=prev["contributions_ytd"],
               prev_special_deduction_ytd=prev["special_deduction_ytd"], prev_iit_ytd=prev["iit_ytd"],
               prev_months_employed_ytd=months_employed, months_employed_ytd=months_employed)
    out["income_ytd"] = prev["income_ytd"] + gross
    out["contributions_ytd"] = prev["contributions_ytd"] + contributions
    out["special_deduction_ytd"] = prev["special_deduction_ytd"]
    out["basic_deduction_ytd"] = (constants["iit_no19_annual_deduction"] if no19 else
                                  constants["iit_basic_deduction_monthly"] * months_employed)
    out["taxable_income_ytd"] = taxable = max(0, out["income_ytd"] - out["basic_deduction_ytd"]
                                              - out["contributions_ytd"] - out["special_deduction_ytd"])
    bracket = sum(1 for threshold in constants["iit_thresholds"] if threshold <= taxable)
    out["iit_bracket"] = bracket
    out["iit_rate"] = rate = constants["iit_rates"][bracket - 1]
    out["iit_quick_deduction"] = quick = constants["iit_quick_deductions"][bracket - 1]
    out["iit_due_ytd"] = due = _round_div(taxable * rate, 1_000_000) - quick
    out["iit"] = out["tax_withheld"] = iit = max(0, due - prev["iit_ytd"])
    out["iit_ytd"] = prev["iit_ytd"] + iit
    out["pay_after_contributions"] = after = gross - iit - contributions - line["medical_levy_employee"]
    out["shortfall_carried"] = shortfall = max(0, -after)
    room = max(0, min(_round_div(max(0, gross) * constants["deduction_limited_share"], 1_000_000), max(0, after)))
    out["limited_deduction_room"] = room
    out["balance_owed_before"] = before = _fen(last["balance_owed"])
    out["balance_recovery"] = recovery = min(before, room)
    out["balance_owed"] = before - recovery + shortfall
    out["net_pay"] = after - recovery + shortfall
    out["no19_applies"] = no19
    return out


def settle_departed(con: duckdb.DuckDBPyConnection, month: Month, policy: Policy, run_id: str, seq: int,
                    departed: list[str]) -> None:
    """One settlement payslip per person not employed in the month and owed arrears, into
    offcycle_payslips; the arrears lines it pays are recorded in arrears_settled (never paid twice)."""
    from decimal import Decimal
    from .pipeline import stored_columns
    units = stored_columns()
    constants = con.execute("SELECT getvariable('month_constants')").fetchone()[0]
    columns = [d[0] for d in con.execute("SELECT * FROM offcycle_payslips LIMIT 0").description]
    for employee_id in departed:
        last = _latest_row(con, employee_id, month)
        if last is None:
            raise PayrollError(f"--employees: {employee_id} is owed arrears but has no payslip to settle from")
        owed = {c: _fen(a) for c, a in con.execute(
            f"SELECT component, sum(amount) FROM ({_owed_sql(month)}) WHERE employee_id = ? GROUP BY component",
            [employee_id]).fetchall()}
        lines = departed_payslip(last, owed, month, constants)
        row = dict(last)
        for name, unit in units.items():          # the month's figures: nothing but the arrears
            if name in lines:
                value = lines[name]
                row[name] = value if unit in ("int", "bool") else Decimal(value).scaleb(-6 if unit == "ppm" else -2)
            elif name in _KEPT_NUMBERS or name.startswith("prior_year") or name == "first_full_month_gross":
                continue
            elif name.endswith("_row"):
                row[name] = None
            elif unit in ("fen", "centi", "ppm", "int"):
                row[name] = 0
            elif unit == "bool":
                row[name] = False
            elif name in _CLEARED_TEXT:
                row[name] = None
        row.update(month=month.label, month_start=month.start, run_id=run_id, tables_digest=policy.digest,
                   offcycle_run_id=run_id, offcycle_kind="settlement", offcycle_seq=seq,
                   after_regular=False)    # no regular payslip of the person in the month to come after
        con.execute(f"INSERT INTO offcycle_payslips ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                    [row.get(c) for c in columns])
        con.execute(f"""INSERT INTO arrears_settled SELECT employee_id, month_paid, month_earned, component, run_id,
                        '{run_id}' FROM ({_owed_sql(month)}) WHERE employee_id = ?""", [employee_id])
