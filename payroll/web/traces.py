"""A month's traces computed once for everybody, for the web's person pages (issue 18, concurrency).

Measured (README, web concurrency): a person page's explanation is the compiled rule pipeline run for
one person (engine.trace.trace_person), and DuckDB spends ~0.7 s of CPU binding and optimising that
31 kB query against ~5 ms executing it, at any roster size; twenty HR users at once on two cores then
queue for seconds with or without a month running. So the server runs the same pipeline once for the
whole month (no person filter; one compilation) into a table of an in-memory database attached to its
connection, and a person page reads its row there: a point lookup instead of a compilation.

Never a half-written or stale month: a table is built in one read snapshot and labelled with that
snapshot's fingerprint of everything a trace reads that the server can change (the runs, off-cycle
runs and imports ledgers: each writes its row in the transaction that writes its data; `fingerprint`);
a page uses a table only under the fingerprint its own snapshot sees, else it takes the per-person
path while the table is (re)built in the background. A person whose inputs changed since their month was run is
explained as the run saw them (Explainer.inputs_as_run), by the per-person path, as before."""
from __future__ import annotations

import threading

import duckdb

from ..db import table_exists
from ..engine.context import Month
from ..engine.offcycle import overlay_needed
from ..engine.pipeline import final_stage, pipeline_sql
from ..engine.trace import TraceLine, earlier_payslips_exist, policy_rows, trace_lines
from ..policy import Policy
from ..reports.explain import Explainer

CACHE_DB = "web_month_traces"
KEEP_PER_MONTH = 2          # tables kept per month: the one in use and the one before it


def fingerprint(cur: duckdb.DuckDBPyConnection, month: str) -> tuple:
    """What `month`'s traces depend on that the server can change, as seen by `cur`'s snapshot: every
    import (inputs of any month), and every run starting at or before the month (a run writes months
    from its first on, and a month's trace reads only the months before it: a clerk running February
    leaves January's table in use). The runs and imports ledgers are part of the input schema
    db.connect makes: always there."""
    found = cur.execute(
        "SELECT (SELECT count(*) FROM runs WHERE first_month <= ?), "
        "(SELECT max(started_at) FROM runs WHERE first_month <= ?)::VARCHAR, "
        "(SELECT count(*) FROM imports), (SELECT max(imported_at) FROM imports)::VARCHAR",
        [month, month]).fetchall()[0]
    if table_exists(cur, "offcycle_runs"):              # issue 13: an off-cycle run carries into later months
        found += cur.execute("SELECT count(*), max(started_at)::VARCHAR FROM offcycle_runs WHERE month <= ?",
                             [month]).fetchall()[0]
    return tuple(found)


class MonthTraces:
    def __init__(self, con: duckdb.DuckDBPyConnection, policy: Policy, log=None):
        self._con, self._policy, self._log = con, policy, log
        self._lock = threading.Lock()
        self._tables: dict[tuple, str] = {}          # (month, fingerprint) -> table name
        self._building: set[tuple] = set()
        self._count = 0
        self._active: dict[threading.Thread, duckdb.DuckDBPyConnection] = {}    # builds under way
        self._closing = False
        con.execute(f"ATTACH IF NOT EXISTS ':memory:' AS {CACHE_DB}")

    def row(self, cur: duckdb.DuckDBPyConnection, employee_id: str, month: str) -> dict | None:
        """The person's pipeline row from the month's table, or None (not built yet for the state the
        caller's snapshot sees: the build is started, the caller takes the per-person path)."""
        key = (month, fingerprint(cur, month))
        with self._lock:
            table = self._tables.get(key)
            if table is None and key not in self._building and not self._closing:
                self._building.add(key)
                self._start(key)
        if table is None:
            return None
        cursor = cur.execute(f"SELECT * FROM {CACHE_DB}.{table} WHERE employee_id = ?", [employee_id])
        names = [d[0] for d in cursor.description]
        found = cursor.fetchall()
        return dict(zip(names, found[0])) if found else None

    def warm(self) -> None:
        """Build the latest month's table in the background (at start and after a run or an import),
        so the first HR pages after it already find it."""
        cursor = self._con.cursor()
        try:
            if not table_exists(cursor, "payslips"):
                return
            latest = cursor.execute("SELECT max(month) FROM payslips").fetchall()[0][0]
            key = (latest, fingerprint(cursor, latest)) if latest else None
        finally:
            cursor.close()
        with self._lock:
            if key is None or key in self._tables or key in self._building or self._closing:
                return
            self._building.add(key)
            self._start(key)

    def _start(self, key: tuple) -> None:
        """Inside the lock: a build thread with its own cursor, known to close()."""
        thread = threading.Thread(target=self._build, args=(key,), daemon=True, name=f"traces-{key[0]}")
        self._active[thread] = self._con.cursor()
        thread.start()

    def close(self, timeout: float = 60) -> None:
        """Before the connection closes: stop the builds under way (DuckDB interrupts the query) and
        wait for their threads, so none is left inside DuckDB when the process ends."""
        with self._lock:
            self._closing = True
            active = list(self._active.items())
        for thread, cursor in active:
            try:
                cursor.interrupt()
            except duckdb.Error:
                pass
            thread.join(timeout)

    def ready(self, month: str) -> bool:
        with self._lock:
            return any(k[0] == month for k in self._tables) and not self._building

    def _build(self, key: tuple) -> None:
        month_label, wanted = key
        with self._lock:
            cursor = self._active[threading.current_thread()]
        try:
            explainer = Explainer(cursor, self._policy)
            month = Month.parse(month_label)
            explainer.use_month(month)                  # the month's parameter tables (policy, not data)
            with self._lock:
                self._count += 1
                table = f"m{self._count}_{month_label.replace('-', '_')}"
            cursor.execute("BEGIN TRANSACTION")
            try:
                current = fingerprint(cursor, month_label) == wanted     # else the database moved on:
                if current:                                              # a later page asks again
                    overlay = overlay_needed(cursor, month.previous())     # as trace_person asks
                    cursor.execute(f"CREATE TABLE {CACHE_DB}.{table} AS "
                                   f"{pipeline_sql(month, earlier_payslips_exist(cursor, month), None, overlay)}\n"
                                   f"SELECT * FROM {final_stage()}")
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            cursor.execute("COMMIT")
            if not current:
                return
            with self._lock:
                self._tables[key] = table
                stale = [k for k in self._tables if k[0] == month_label][:-KEEP_PER_MONTH]
                dropped = [self._tables.pop(k) for k in stale]
            for name in dropped:
                cursor.execute(f"DROP TABLE IF EXISTS {CACHE_DB}.{name}")
        except Exception as error:                      # the per-person path still answers
            if self._log and not self._closing:
                self._log(f"month traces for {month_label}: {error}")
        finally:
            with self._lock:
                self._building.discard(key)
                self._active.pop(threading.current_thread(), None)
            cursor.close()


class WebExplainer(Explainer):
    """The Explainer of a web worker thread: a person whose inputs are as their month's run saw them
    is traced from the month's table; anyone else, or before the table is ready, as the CLI does."""

    def __init__(self, con: duckdb.DuckDBPyConnection, policy: Policy, traces: MonthTraces):
        super().__init__(con, policy)
        self.traces = traces

    def trace(self, employee_id: str, month_label: str, stored: dict | None = None) -> list[TraceLine]:
        month = Month.parse(month_label).label
        stored = stored if stored is not None else self.stored_payslip(employee_id, month)
        if stored is not None and self._inputs_unchanged(employee_id, month, stored):
            values = self.traces.row(self.con, employee_id, month)
            if values is not None:
                return trace_lines(values, policy_rows(self.con, self.policy, stored.get("tables_digest")))
        return super().trace(employee_id, month, stored)
