"""A month's person pages computed once for everybody (issue 18, concurrency: HR pages under 1 s
while a month runs).

Measured (README, web concurrency): a person page's explanation is the compiled rule pipeline run for
one person (engine.trace.trace_person), and DuckDB spends ~0.7 s of CPU binding and optimising that
31 kB query against ~5 ms executing it, at any roster size. So the server runs the same pipeline once
for the whole month (no person filter; one compilation) into a table of an in-memory database
attached to its connection, and a person page reads its row there.

That row holds everything the page would otherwise ask the database for one query at a time: the
pipeline's row, the stored payslip, the person's record, and whether the person is explained by the
plain path (inputs as the run saw them, no off-cycle run, no arrears). Reading 273 columns of one row
costs DuckDB ~5 ms of binding and converting whatever the filter (README), so each part is packed
into one JSON array at the build and unpacked by its `RowCodec`: one narrow indexed lookup per page.

Never a half-written or stale month: a table is built in one read snapshot and labelled with that
snapshot's fingerprint of everything a trace reads that the server can change (the runs, off-cycle
runs and imports ledgers: each writes its row in the transaction that writes its data; `fingerprint`);
a page uses a table only under the fingerprint its own snapshot sees, else it takes the per-person
path while the table is (re)built in the background. A person whose inputs at the build differ from
their payslip's (changed since their month was run) is explained as the run saw them
(Explainer.inputs_as_run), by the per-person path, as before."""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Callable

import duckdb

from ..db import table_exists
from ..engine.context import Month
from ..engine.offcycle import overlay_needed
from ..engine.pipeline import final_stage, lean_planning, pipeline_sql
from ..engine.trace import TraceLine, earlier_payslips_exist, policy_rows, trace_lines
from ..levels.path import LevelFacts, everyone_level_facts_sql, facts_from_json
from ..policy import Policy
from ..reports.explain import (ATTENDANCE_READ, PERSON_COLUMNS, RUN_ATTENDANCE_INPUTS, RUN_EMPLOYEE_INPUTS,
                               STORED_AS, Explainer, Explanation, differences)

CACHE_DB = "web_month_traces"
KEEP_PER_MONTH = 2          # tables kept per month: the one in use and the one before it
# DuckDB types whose JSON form reads back as the value DuckDB's Python client gives (ints, text, true/
# false, lists of ints); DECIMAL and DATE are packed as text and read back by their decoder
AS_IS = frozenset({"BOOLEAN", "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
                   "UINTEGER", "UBIGINT", "VARCHAR"})


class UnpackableColumn(Exception):
    """A column type the JSON packing would not give back exactly: the build stops (pages take the
    per-person path) rather than show a value changed on the way."""


def _decoder(column_type: str) -> tuple[str, Callable | None]:
    """(how the column goes into the JSON array, how its value comes back) for a DuckDB type."""
    if column_type in AS_IS or (column_type.endswith("[]") and column_type[:-2] in AS_IS - {"VARCHAR"}):
        return "{}", None
    if column_type.startswith("DECIMAL"):
        return "CAST({} AS VARCHAR)", Decimal           # exact, with the column's scale ('12.50')
    if column_type == "DATE":
        return "CAST({} AS VARCHAR)", date.fromisoformat
    raise UnpackableColumn(column_type)


@dataclass(frozen=True)
class RowCodec:
    """One table's row as one JSON array of its values, and back to the dict `SELECT *` gives."""
    names: tuple[str, ...]
    decoders: tuple[Callable | None, ...]
    packers: tuple[str, ...]

    @classmethod
    def of(cls, cur: duckdb.DuckDBPyConnection, query: str) -> "RowCodec":
        columns = cur.execute(f"DESCRIBE {query}").fetchall()
        parts = [_decoder(column_type) for _, column_type, *_ in columns]
        return cls(tuple(name for name, *_ in columns), tuple(d for _, d in parts), tuple(p for p, _ in parts))

    def pack_sql(self, alias: str) -> str:
        return "json_array(" + ", ".join(
            packer.format(f'{alias}."{name}"') for name, packer in zip(self.names, self.packers)) + ")::VARCHAR"

    def unpack(self, text: str | None) -> dict | None:
        if text is None:
            return None
        values = json.loads(text)
        return {name: value if decode is None or value is None else decode(value)
                for name, decode, value in zip(self.names, self.decoders, values)}


@dataclass(frozen=True)
class MonthTable:
    name: str
    trace: RowCodec
    stored: RowCodec
    person: RowCodec


@dataclass(frozen=True)
class PageRow:
    """What a person page of the month reads, as its snapshot sees it."""
    values: dict               # the pipeline's row: every context and rule column (trace_lines)
    stored: dict | None        # the stored payslip of the month
    person: dict               # PERSON_COLUMNS of the employee record
    as_run: bool               # the inputs the build read are those the payslip recorded
    offcycle: bool             # off-cycle payslips in the month (explain adds their lines)
    arrears: bool              # arrears paid in the month (explain adds their lines)
    levels: LevelFacts | None  # what the level history is made from (None: not in employees)

    @property
    def plain(self) -> bool:
        """The whole explanation comes from this row: nothing the per-person path adds."""
        return self.stored is not None and self.as_run and not self.offcycle and not self.arrears


def fingerprint(cur: duckdb.DuckDBPyConnection, month: str) -> tuple:
    """What `month`'s traces depend on that the server can change, as seen by `cur`'s snapshot: every
    import (inputs of any month), and every run starting at or before the month (a run writes months
    from its first on, and a month's trace reads only the months before it: a clerk running February
    leaves January's table in use). The runs and imports ledgers are part of the input schema
    db.connect makes: always there; off-cycle runs (issue 13) carry into later months."""
    offcycle = (", (SELECT count(*) FILTER (WHERE month <= $1), max(started_at) FILTER (WHERE month <= $1)::VARCHAR "
                "FROM offcycle_runs)" if table_exists(cur, "offcycle_runs") else "")
    # one scan per ledger (six scalar subqueries planned 1 ms more, measured): a page asks each time
    return tuple(cur.execute(
        "SELECT * FROM (SELECT count(*) FILTER (WHERE first_month <= $1), "
        "max(started_at) FILTER (WHERE first_month <= $1)::VARCHAR FROM runs), "
        f"(SELECT count(*), max(imported_at)::VARCHAR FROM imports){offcycle}", [month]).fetchall()[0])


def inputs_as_run_sql() -> str:
    """True where the employee record and the month's attendance (e, a) hold what the stored payslip
    (s) recorded: Explainer._inputs_unchanged for every person at once."""
    pairs = [(f"e.{c}", f"s.{RUN_EMPLOYEE_INPUTS[c]}") for c in RUN_EMPLOYEE_INPUTS if c != "service_start"]
    pairs.append(("coalesce(e.service_start, e.hire_date)", f"s.{RUN_EMPLOYEE_INPUTS['service_start']}"))
    pairs += [(ATTENDANCE_READ.get(c, f"coalesce(a.{c}, 0)"), f"s.{STORED_AS.get(c, c)}") for c in RUN_ATTENDANCE_INPUTS]
    return "(e.employee_id IS NOT NULL AND s.employee_id IS NOT NULL AND " + " AND ".join(
        f"{now} IS NOT DISTINCT FROM {stored}" for now, stored in pairs) + ")"


class MonthTraces:
    def __init__(self, con: duckdb.DuckDBPyConnection, policy: Policy, log=None):
        self._con, self._policy, self._log = con, policy, log
        self._lock = threading.Lock()
        self._tables: dict[tuple, MonthTable] = {}          # (month, fingerprint) -> its table
        self._building: set[tuple] = set()
        self._count = 0
        self._active: dict[threading.Thread, duckdb.DuckDBPyConnection] = {}    # builds under way
        self._closing = False
        con.execute(f"ATTACH IF NOT EXISTS ':memory:' AS {CACHE_DB}")

    def page(self, cur: duckdb.DuckDBPyConnection, employee_id: str, month: str) -> PageRow | None:
        """The person's row of the month's table, or None: not built yet for the state the caller's
        snapshot sees (the build is started; the caller takes the per-person path), or nobody paid."""
        key = (month, fingerprint(cur, month))
        with self._lock:
            table = self._tables.get(key)
            if table is None and key not in self._building and not self._closing:
                self._building.add(key)
                self._start(key)
        if table is None:
            return None
        # a caller whose transaction began before the build committed the table (or after a newer build
        # dropped it) does not see it: the per-person path answers. Asked by binding the name (it
        # reads the caller's snapshot), not by reading the table: a failed read would abort the
        # caller's transaction
        if not table_exists(cur, f"{CACHE_DB}.{table.name}"):
            return None
        found = cur.execute(f"SELECT trace_values, stored_values, person_values, as_run, offcycle, arrears, "
                            f"level_record, level_versions, level_results, level_reasons "
                            f"FROM {CACHE_DB}.{table.name} WHERE employee_id = ?", [employee_id]).fetchall()
        if not found:
            return None
        values, stored, person, as_run, offcycle, arrears, record, versions, results, reasons = found[0]
        levels = facts_from_json(record, versions, results, reasons) if record is not None else None
        return PageRow(table.trace.unpack(values), table.stored.unpack(stored), table.person.unpack(person),
                       as_run, offcycle, arrears, levels)

    def row(self, cur: duckdb.DuckDBPyConnection, employee_id: str, month: str) -> dict | None:
        """The person's pipeline row from the month's table, or None (as `page`)."""
        found = self.page(cur, employee_id, month)
        return found.values if found is not None else None

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
                name = f"m{self._count}_{month_label.replace('-', '_')}"
            cursor.execute("BEGIN TRANSACTION")
            try:
                table = None
                if fingerprint(cursor, month_label) == wanted:   # else the database moved on: a later
                    table = self._fill(cursor, explainer.main, month, name)      # page asks again
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            cursor.execute("COMMIT")
            if table is None:
                return
            with self._lock:
                self._tables[key] = table
                stale = [k for k in self._tables if k[0] == month_label][:-KEEP_PER_MONTH]
                dropped = [self._tables.pop(k) for k in stale]
            for old in dropped:
                cursor.execute(f"DROP TABLE IF EXISTS {CACHE_DB}.{old.name}")
        except Exception as error:                      # the per-person path still answers
            if self._log and not self._closing:
                self._log(f"month traces for {month_label}: {error}")
        finally:
            with self._lock:
                self._building.discard(key)
                self._active.pop(threading.current_thread(), None)
            cursor.close()

    def _fill(self, cursor: duckdb.DuckDBPyConnection, main: str, month: Month, name: str) -> MonthTable:
        """Inside the build's transaction: the pipeline for everybody (the query trace_person runs, with no
        person filter), then one row per person with each part packed, indexed by employee_id."""
        overlay = overlay_needed(cursor, month.previous())          # as trace_person asks
        wide = f"{CACHE_DB}.{name}_wide"
        with lean_planning(cursor):
            cursor.execute(f"CREATE TABLE {wide} AS "
                           f"{pipeline_sql(month, earlier_payslips_exist(cursor, month), None, overlay)}\n"
                           f"SELECT * FROM {final_stage()}")
        codecs = MonthTable(name, RowCodec.of(cursor, f"SELECT * FROM {wide}"),
                            RowCodec.of(cursor, f"SELECT * FROM {main}.payslips"),
                            RowCodec.of(cursor, f"SELECT {', '.join(PERSON_COLUMNS)} FROM {main}.employees"))
        offcycle = (f"EXISTS (SELECT 1 FROM {main}.offcycle_payslips o WHERE o.month = $1 "
                    f"AND o.employee_id = t.employee_id)" if table_exists(cursor, "offcycle_payslips") else "false")
        arrears = (f"EXISTS (SELECT 1 FROM {main}.arrears r WHERE r.month_paid = $1 "
                   f"AND r.employee_id = t.employee_id)" if table_exists(cursor, "arrears") else "false")
        cursor.execute(f"""
            CREATE TABLE {CACHE_DB}.{name} AS
            SELECT t.employee_id, {codecs.trace.pack_sql('t')} AS trace_values,
                   CASE WHEN s.employee_id IS NOT NULL THEN {codecs.stored.pack_sql('s')} END AS stored_values,
                   {codecs.person.pack_sql('e')} AS person_values,
                   {inputs_as_run_sql()} AS as_run, {offcycle} AS offcycle, {arrears} AS arrears,
                   lv.record AS level_record, lv.versions AS level_versions, lv.results AS level_results,
                   lv.reasons AS level_reasons
            FROM {wide} t
            LEFT JOIN {main}.payslips s ON s.month = $1 AND s.employee_id = t.employee_id
            LEFT JOIN {main}.employees e ON e.employee_id = t.employee_id
            LEFT JOIN {main}.attendance a ON a.employee_id = t.employee_id AND a.month = $1
            LEFT JOIN ({everyone_level_facts_sql(cursor)}) lv ON lv.employee_id = t.employee_id""", [month.label])
        cursor.execute(f"DROP TABLE {wide}")
        cursor.execute(f"CREATE INDEX {name}_person ON {CACHE_DB}.{name} (employee_id)")
        return codecs


class WebExplainer(Explainer):
    """The Explainer of a web worker thread: a person whose month's row says the plain path applies is
    explained from that row alone; anyone else, or before the table is ready, as the CLI does (and
    their trace still comes from the table when their inputs are as run)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, policy: Policy, traces: MonthTraces):
        super().__init__(con, policy)
        self.traces = traces

    def explain(self, employee_id: str, month_label: str, run: str | None = None) -> Explanation:
        month = Month.parse(month_label)
        page = self.traces.page(self.con, employee_id, month.label) if run is None else None
        if page is None or not page.plain:
            return super().explain(employee_id, month.label, run)
        # Explainer.explain with nothing to add: no off-cycle run, no arrears (the row says so)
        lines = self._lines(page)
        return Explanation(page.person, month.label, lines, page.stored,
                           differences(lines, page.stored, self.stored_units),
                           self.policy.region_names().get(page.person["region_code"], ""),
                           self.level_lines(employee_id, month, page.levels))

    def trace(self, employee_id: str, month_label: str, stored: dict | None = None) -> list[TraceLine]:
        month = Month.parse(month_label).label
        page = self.traces.page(self.con, employee_id, month)
        if page is not None and page.stored is not None and page.as_run:
            return self._lines(page)
        return super().trace(employee_id, month, stored)

    def _lines(self, page: PageRow) -> list[TraceLine]:
        return trace_lines(page.values, policy_rows(self.con, self.policy, page.stored.get("tables_digest")))
