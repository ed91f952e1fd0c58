"""Retro pay (补发 / 补扣): recompute closed months whose inputs changed and pay the difference as
arrears in the open month being run.

Every computed month records what it read (month_reads): its attendance rows, the employee records and
appraisal results in force that month, and the policy rows in force for it (Policy.month_digest, so an
edit to a row that only later months read recomputes none of these). Before an open month M is
computed, each closed month whose record differs is recomputed with the same compiled pipeline into a
scratch copy of the payslips (a TEMP table that shadows `payslips`, so the recomputed months feed each
other's year-to-date history exactly as a fresh run would); the closed payslips are never touched. A
recomputed month whose payslips come out other than last computed moves the history of the months
after it, so every later closed month is recomputed too; one that comes out the same leaves later
unchanged months as they are. Per person, closed month and component, recomputed − paid − arrears
already paid for that month is the new arrears line, paid in M (rules/arrears.py says how it enters the
payslip). Running M again finds the records equal and adds nothing; the arrears stay on M's payslip.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal

import duckdb

from ..db import scalar
from ..policy import Policy
from ..rules.arrears import COMPONENTS, PAY_ARREARS
from ..rules.performance_pay import assessments_in_force_sql
from . import offcycle
from .closing import closed_months
from .context import Month, install_month
from .employee_history import employees_as_of_sql
from .pipeline import final_stage, lean_planning, pipeline_sql, stored_select


def _inputs_text(con: duckdb.DuckDBPyConnection, month: Month) -> str:
    """What a month's payslips read besides the code and the tables: attendance, employee records."""
    attendance = scalar(con, "SELECT count(*) || ':' || coalesce(sum(hash(a)::HUGEINT), 0) "
                             "FROM attendance a WHERE month = ?", [month.label])
    employees = scalar(con, f"SELECT count(*) || ':' || coalesce(sum(hash(e)::HUGEINT), 0) "
                            f"FROM ({employees_as_of_sql(month)}) e")
    text = f"{attendance}|{employees}"
    # issue 16: the appraisal results the month pays by (last year's); a corrected result pays arrears.
    # Left out while there are none, so the fingerprints of databases without results do not change.
    results = scalar(con, f"SELECT count(*) || ':' || coalesce(sum(hash(a.employee_id, a.result)::HUGEINT), 0) "
                          f"FROM ({assessments_in_force_sql()}) a WHERE year = ?", [month.year - 1])
    if not results.startswith("0:"):
        text += f"|{results}"
    return text


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def month_fingerprint(con: duckdb.DuckDBPyConnection, month: Month, tables_digest: str) -> str:
    """What a month's payslips depend on besides the code: tables, attendance, employee records (the
    whole-tables digest: the office workflow's "did an import change what this month read")."""
    return _sha(f"{tables_digest}|{_inputs_text(con, month)}")


# issue 17: what retro pay compares, per month: its inputs, the policy rows in force for it
# (Policy.month_digest, not the whole-tables digest: editing a 2026 row leaves 2025 alone), and the
# digest of its last computed payslips when a retro recomputation made them differ from those paid
# (NULL: the payslips paid are the month's result)
MONTH_READS_DDL = """
CREATE TABLE IF NOT EXISTS month_reads (
    month          VARCHAR PRIMARY KEY,
    inputs         VARCHAR NOT NULL,
    rows_in_force  VARCHAR NOT NULL,
    result         VARCHAR
)"""


def record_fingerprint(con: duckdb.DuckDBPyConnection, month: Month, policy: Policy,
                       result: str | None = None) -> None:
    inputs = _inputs_text(con, month)
    con.execute("INSERT OR REPLACE INTO month_inputs VALUES (?, ?)",
                [month.label, _sha(f"{policy.digest}|{inputs}")])
    con.execute("INSERT OR REPLACE INTO month_reads VALUES (?, ?, ?, ?)",
                [month.label, _sha(inputs), policy.month_digest(month.start), result])


def changed_closed_months(con: duckdb.DuckDBPyConnection, policy: Policy) -> list[Month]:
    """Closed months whose inputs or policy rows in force changed since they were last computed. A
    month computed before issue 17 (no month_reads row) compares its whole-tables fingerprint."""
    closed = [Month.parse(m) for m in closed_months(con)]
    reads = {m: (inputs, rows) for m, inputs, rows in con.execute(
        "SELECT month, inputs, rows_in_force FROM month_reads").fetchall()}
    stored = dict(con.execute("SELECT month, fingerprint FROM month_inputs").fetchall())
    changed = []
    for month in closed:
        inputs = _inputs_text(con, month)
        if month.label in reads:
            now_reads = (_sha(inputs), policy.month_digest(month.start))
            if reads[month.label] != now_reads:
                changed.append(month)
        elif stored.get(month.label) != _sha(f"{policy.digest}|{inputs}"):
            changed.append(month)
    return changed


def closed_years(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Years whose calendar a retro recomputation may need."""
    return sorted({int(m[:4]) for m in closed_months(con)})


@dataclass(frozen=True)
class RetroResult:
    months_recomputed: list[str]
    lines: int
    amount: Decimal              # net of all pay-component lines
    not_on_payroll: list[str]    # people owed arrears but not employed in the month paid


def pay_arrears(con: duckdb.DuckDBPyConnection, policy: Policy, month_paid: Month, run_id: str) -> RetroResult:
    """Recompute the changed closed months and record the differences as arrears paid in
    `month_paid`. Runs inside the caller's transaction; leaves the month parameters of the last
    recomputed month installed (the caller installs its own month next).

    Issue 17: a closed month is recomputed when its inputs or policy rows in force changed, or when
    an earlier month recomputed now gives other payslips than it last did (its year to date, its
    contribution base and the leave averages read them): then every later closed month is too. A
    month after an unchanged result keeps its payslips and its settled arrears."""
    changed = {m.label for m in changed_closed_months(con, policy)}
    if not changed:
        return RetroResult([], 0, Decimal(0), [])
    closed = [Month.parse(m) for m in closed_months(con)]
    candidates = [m for m in closed if m.label >= min(changed)]
    history_from = f"{candidates[0].year - 1}-01"     # last year's payslips feed the contribution base
    paid = _paid_payslips(con)
    con.execute(f"CREATE OR REPLACE TEMP TABLE payslips AS SELECT * FROM {paid} "
                "WHERE month >= ? AND month <= ?", [history_from, candidates[-1].label])
    redone: list[tuple[Month, str]] = []
    history_moved, installed = False, None
    try:
        for month in candidates:
            if month.label not in changed and not history_moved:
                continue                                   # same inputs, rows and history: same payslips
            installed = install_month(con, policy, month, installed)
            _recompute(con, policy, month, run_id)
            result = _result_digest(con, "temp.payslips", month)
            if not history_moved:
                history_moved = result != _last_result(con, month, paid)
            redone.append((month, result))
        lines = _record_differences(con, [m.label for m, _ in redone], month_paid, run_id, paid)
    finally:
        con.execute("DROP TABLE IF EXISTS temp.payslips")
    for month, result in redone:
        record_fingerprint(con, month, policy, result)
    amount = scalar(con, "SELECT coalesce(sum(amount), 0) FROM arrears WHERE run_id = ? AND month_paid = ? "
                         "AND component IN (SELECT unnest(?))", [run_id, month_paid.label, list(PAY_ARREARS)])
    roster = f"SELECT employee_id FROM ({employees_as_of_sql(month_paid)}) WHERE hire_date <= DATE '{month_paid.end}' " \
             f"AND (leave_date IS NULL OR leave_date >= DATE '{month_paid.start}')"
    missing = [e for (e,) in con.execute(
        f"SELECT DISTINCT employee_id FROM arrears WHERE month_paid = ? AND employee_id NOT IN ({roster}) "
        f"ORDER BY 1", [month_paid.label]).fetchall()]
    return RetroResult([m.label for m, _ in redone], lines, Decimal(amount), missing)


def _recompute(con: duckdb.DuckDBPyConnection, policy: Policy, month: Month, run_id: str) -> None:
    """The month again, into the scratch payslips (with the same compiled pipeline as a run)."""
    exists = bool(scalar(con, "SELECT count(*) > 0 FROM temp.payslips WHERE month < ?", [month.label]))
    overlay = offcycle.overlay_needed(con, month.previous())
    query = (f"{pipeline_sql(month, exists, offcycle_overlay=overlay)}\nSELECT {stored_select()}, "
             f"'{policy.digest}' AS tables_digest, '{run_id}' AS run_id FROM {final_stage()}")
    con.execute("DELETE FROM temp.payslips WHERE month = ?", [month.label])
    with lean_planning(con):
        con.execute(f"INSERT INTO temp.payslips BY NAME {query}")
    offcycle.net_out_regular(con, month, "temp.payslips")   # issue 13: compare the regular run only


def _result_digest(con: duckdb.DuckDBPyConnection, table: str, month: Month) -> str:
    """Digest of a month's payslips, every column but the run's id and tables digest (hashed again,
    so no long run of digits is stored that could pass for an ID number)."""
    return _sha(scalar(con, f"SELECT count(*) || ':' || coalesce(sum(hash(p)::HUGEINT), 0) FROM "
                            f"(SELECT * EXCLUDE (run_id, tables_digest) FROM {table} WHERE month = ?) p",
                       [month.label]))


def _last_result(con: duckdb.DuckDBPyConnection, month: Month, paid_table: str) -> str:
    """The month's payslips as last computed: a retro recomputation's digest, or else those paid."""
    stored = scalar(con, "SELECT result FROM month_reads WHERE month = ?", [month.label])
    return stored if stored is not None else _result_digest(con, paid_table, month)


def _paid_payslips(con: duckdb.DuckDBPyConnection) -> str:
    # fully qualified: "main" alone would also name the temp catalog's schema, where the scratch lives
    database = scalar(con, "SELECT current_database()").replace('"', '""')
    return f'"{database}".main.payslips'


def _record_differences(con: duckdb.DuckDBPyConnection, months: list[str], month_paid: Month, run_id: str,
                        paid_table: str) -> int:
    """recomputed − paid − already settled, per person, month earned and component; non-zero ones
    become arrears paid in `month_paid`. Wide join first, so only changed payslips are unpivoted."""
    components = ", ".join(COMPONENTS)
    differences = ", ".join(f"coalesce(r.{c}, 0) - coalesce(p.{c}, 0) AS {c}" for c in COMPONENTS)
    any_change = " OR ".join(f"{c} <> 0" for c in COMPONENTS)
    sql = f"""
    WITH wide AS (
        SELECT employee_id, month, {differences}
        FROM (SELECT employee_id, month, {components} FROM temp.payslips WHERE list_contains(?, month)) r
        FULL JOIN (SELECT employee_id, month, {components} FROM {paid_table} WHERE list_contains(?, month)) p
        USING (employee_id, month)),
    changed AS (UNPIVOT (SELECT * FROM wide WHERE {any_change})
                ON {components} INTO NAME component VALUE amount),
    settled AS (
        SELECT employee_id, month_earned AS month, component, sum(amount) AS amount
        FROM arrears WHERE list_contains(?, month_earned) GROUP BY ALL),
    owed AS (
        SELECT employee_id, month, component, coalesce(c.amount, 0) - coalesce(s.amount, 0) AS amount
        FROM changed c FULL JOIN settled s USING (employee_id, month, component))
    INSERT INTO arrears (employee_id, month_paid, month_earned, component, amount, run_id)
    SELECT employee_id, ?, month, component, CAST(amount AS DECIMAL(18,2)), ?
    FROM owed WHERE amount <> 0
    RETURNING 1"""
    return len(con.execute(sql, [months, months, months, month_paid.label, run_id]).fetchall())


@dataclass(frozen=True)
class ArrearsLine:
    month_earned: str
    component: str
    amount: Decimal
    run_id: str


def arrears_for(con: duckdb.DuckDBPyConnection, employee_id: str, month_paid: str) -> list[ArrearsLine]:
    """A person's arrears lines paid in a month, by month earned and component (for explain)."""
    rows = con.execute("SELECT month_earned, component, amount, run_id FROM arrears "
                       "WHERE employee_id = ? AND month_paid = ? ORDER BY month_earned, component, run_id",
                       [employee_id, month_paid]).fetchall()
    return [ArrearsLine(*row) for row in rows]


def arrears_trace_lines(con: duckdb.DuckDBPyConnection, employee_id: str, month_paid: str) -> list:
    """The person's arrears paid in the month as trace lines, one per month earned and component,
    for explain to print after trace_person's lines (engine.trace.TraceLine)."""
    from ..columns import LABELS
    from ..rules.arrears import BASIS
    from .trace import TraceLine, show
    lines = []
    for line in arrears_for(con, employee_id, month_paid):
        zh, en = LABELS.get(line.component, (line.component, line.component))
        fen = int(line.amount * 100)
        lines.append(TraceLine(
            name=f"arrears[{line.month_earned}].{line.component}",
            label_zh=f"{'补发' if fen >= 0 else '补扣'}{zh}（{line.month_earned}）",
            label_en=f"Arrears of {en.lower()} earned in {line.month_earned}",
            unit="fen", raw=fen, shown=show(fen, "fen"),
            formula=f"{line.month_earned} recomputed with its own tables and inputs − paid (run {line.run_id})",
            basis=BASIS))
    return lines
