"""The server's state: the one writable DuckDB connection (the server owns the file), one cursor and
one prepared Explainer per worker thread, the sessions and the background jobs."""
from __future__ import annotations

import threading
from contextlib import contextmanager

import duckdb

from ..db import connect, resolve_db_path, table_exists
from ..errors import PayrollError
from ..office import audit
from ..office.schema import ensure_office_schema, label_of_mode, setting, single_person_mode
from ..policy import Policy, load_policy
from .jobs import JobRunner
from .search import PeopleSearch
from .sessions import SessionStore
from .traces import MonthTraces, WebExplainer


class Office:
    def __init__(self, db: str | None, tables: str | None, log=None):
        self.db_path = resolve_db_path(db)
        self.policy: Policy = load_policy(tables)
        self.con = connect(self.db_path)
        ensure_office_schema(self.con)
        self.audit = audit.AuditWriter(self.con)
        self.jobs = JobRunner(log, around=self.audit.deferred)
        self.sessions = SessionStore(self.con, hold_touch=lambda: self.jobs.writing)
        self.traces = MonthTraces(self.con, self.policy, log)
        self.people = PeopleSearch()
        self.traces.warm()
        self.log = log
        self._local = threading.local()
        self._fixed_mode: bool | None = None
        self._cursors: list[duckdb.DuckDBPyConnection] = []

    # ---- per-thread reading
    def cursor(self) -> duckdb.DuckDBPyConnection:
        cursor = getattr(self._local, "cursor", None)
        if cursor is None:
            cursor = self._local.cursor = self.con.cursor()
            self._cursors.append(cursor)
        return cursor

    def explainer(self) -> WebExplainer:
        explainer = getattr(self._local, "explainer", None)
        if explainer is None:
            if not table_exists(self.cursor(), "payslips"):
                raise PayrollError("no month has been run yet")
            explainer = self._local.explainer = WebExplainer(self.cursor(), self.policy, self.traces)
        return explainer

    @contextmanager
    def snapshot(self):
        """One transaction per request: a page's queries all see the same committed state, so a month
        being written by a job is seen whole or not at all."""
        cursor = self.cursor()
        cursor.execute("BEGIN TRANSACTION")
        try:
            yield cursor
        except BaseException:
            cursor.execute("ROLLBACK")
            self._local.explainer = None        # its temporary tables went with the rollback
            raise
        cursor.execute("COMMIT")

    # ---- writing outside a request's snapshot
    def record(self, event: audit.AuditEvent) -> None:
        self.audit.record(event)

    @contextmanager
    def writer(self):
        """A cursor of its own for a background job or a write that must commit at once."""
        cursor = self.con.cursor()
        try:
            yield cursor
        finally:
            cursor.close()

    @contextmanager
    def job_threads(self, cursor: duckdb.DuckDBPyConnection):
        """While a job (a run, an import) works: DuckDB's threads one fewer, so a core stays free for
        the pages (a page's queries run on its own worker thread; the job's on its thread and DuckDB's
        pool). DuckDB's `threads` is one setting for the whole database: set back after the job."""
        before = int(cursor.execute("SELECT current_setting('threads')").fetchall()[0][0])
        if before > 1:
            cursor.execute(f"SET threads = {before - 1}")
        try:
            yield
        finally:
            if before > 1:
                cursor.execute(f"SET threads = {before}")

    def mode_text(self) -> str:
        return label_of_mode(self.single_person())

    def single_person(self) -> bool:
        """Read until the mode is fixed (at the first user), then kept: it never changes after, and
        every page shows it."""
        if self._fixed_mode is not None:
            return self._fixed_mode
        cursor = self.cursor()
        if setting(cursor, "mode") is not None:
            self._fixed_mode = single_person_mode(cursor)
            return self._fixed_mode
        return single_person_mode(cursor)

    def close(self) -> None:
        """Wait for a running job, then close every cursor and the database."""
        for job in list(self.jobs.jobs.values()):
            if job.running:
                self.jobs.wait(job.job_id)
        self.traces.close()
        self.sessions.close()
        self.audit.close()
        for cursor in self._cursors:
            try:
                cursor.close()
            except duckdb.Error:
                pass
        try:
            self.con.close()
        except duckdb.Error as error:          # a request still running at shutdown: say so, do not crash
            if self.log:
                self.log(f"closing the database: {error}")
