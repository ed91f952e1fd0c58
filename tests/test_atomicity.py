"""No crash and no second user corrupts the database.

A multi-month run (with a retro step) is killed with SIGKILL at several random moments: every time,
the database reopens with exactly the content it had before the run (a digest of every table).
Two real processes on one database: the second exits 2 with a clear message, or with --wait runs
after the first is done; the result is the same as two runs one after the other.
"""
from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import THOROUGH
from identities import BROKEN_IDENTITY

from payroll.db import connect, scalar
from payroll.engine.closing import close_through
from payroll.engine.ledger import database_digest
from payroll.engine.run import run_months
from payroll.policy import load_policy
from payroll.synth import synth_roster, write_roster

PEOPLE = 2000


@pytest.fixture(scope="module")
def base_db(tmp_path_factory) -> Path:
    """A database with Jan–Mar run, Jan–Feb closed and a late attendance change for February, so
    the next run recomputes closed months and pays arrears before it computes April onwards."""
    path = tmp_path_factory.mktemp("atomic") / "base.duckdb"
    con = connect(path)
    employees, attendance = synth_roster(PEOPLE, seed=11, year=2025)
    write_roster(con, employees, attendance)
    run_months(con, load_policy(), "2025-01", "2025-03")
    close_through(con, "2025-02")
    first = scalar(con, "SELECT min(employee_id) FROM employees")
    con.execute("INSERT OR REPLACE INTO attendance (employee_id, month, overtime_holiday_hours) "
                "VALUES (?, '2025-02', 12)", [first])
    con.close()
    return path


def _digest(path: Path) -> dict:
    con = connect(path)
    try:
        return database_digest(con)
    finally:
        con.close()


def _cli(*args: str, db: Path) -> list[str]:
    return [sys.executable, "-m", "payroll.cli", *args, "--db", str(db)]


def _env() -> dict:
    return {k: v for k, v in os.environ.items() if k not in ("PAYROLL_DB", "PAYROLL_TABLES")}


MARKED = {"PAYROLL_TRANSACTION_MARKERS": "1"}
# nine months in the thorough tier; three in CI, still long enough for kills to land inside
LAST = "2025-12" if THOROUGH else "2025-06"
RUN = ("run", "--month", "2025-04", "--through", LAST)


class _Markers:
    """Reads the run's stderr in a thread and notes when each transaction marker appeared."""

    def __init__(self, process: subprocess.Popen):
        self.seen: dict[str, float] = {}
        self.process = process
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        for line in self.process.stderr:
            for marker in ("transaction begun", "transaction committed"):
                if f"payroll: {marker}" in line:
                    self.seen.setdefault(marker, time.monotonic())

    def wait_for(self, marker: str, timeout: float = 300) -> float:
        deadline = time.monotonic() + timeout
        while marker not in self.seen:
            assert time.monotonic() < deadline and self.process.poll() is None, f"no '{marker}' marker"
            time.sleep(0.002)
        return self.seen[marker]


def _start(db: Path) -> tuple[subprocess.Popen, _Markers]:
    process = subprocess.Popen(_cli(*RUN, db=db), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               env={**_env(), **MARKED})
    return process, _Markers(process)


def _content(db: Path) -> dict:
    """What a run writes, without its run id and timestamps: payslips, arrears, the months run."""
    con = connect(db)
    try:
        return {table: con.execute(f"SELECT * EXCLUDE (run_id) FROM {table} ORDER BY ALL").fetchall()
                for table in ("payslips", "arrears")} | {
            "runs": con.execute("SELECT first_month, last_month, payslips FROM runs ORDER BY started_at").fetchall()}
    finally:
        con.close()


def test_a_run_killed_at_any_moment_leaves_the_database_as_it_was(base_db, tmp_path):
    """Five kills at random moments inside the run's transaction (between the markers the run
    prints with PAYROLL_TRANSACTION_MARKERS=1): each leaves the database exactly as it was. A kill
    just after the commit leaves exactly what an uninterrupted run of the same months writes."""
    before = _digest(base_db)
    complete = tmp_path / "complete.duckdb"
    shutil.copy(base_db, complete)
    process, markers = _start(complete)
    begun = markers.wait_for("transaction begun")
    committed = markers.wait_for("transaction committed")
    assert process.wait(timeout=300) == 0
    inside = committed - begun                  # how long the transaction lasts here
    expected = _content(complete)
    rng, inside_kills = random.Random(), 0
    trials, inside_wanted = (5, 3) if THOROUGH else (2, 1)    # kills, and how many land inside
    for trial in range(trials):
        db = tmp_path / f"trial{trial}.duckdb"
        shutil.copy(base_db, db)
        process, markers = _start(db)
        markers.wait_for("transaction begun")
        time.sleep(rng.uniform(0.05, 0.7) * inside)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        markers.thread.join(timeout=10)
        if process.returncode == -signal.SIGKILL and "transaction committed" not in markers.seen:
            inside_kills += 1
            assert _digest(db) == before, f"trial {trial}: killed inside the transaction"
        else:           # the machine was faster this time: the kill came after the commit
            assert _content(db) == expected, f"trial {trial}: killed after the commit"
    assert inside_kills >= inside_wanted
    # and deliberately after the commit: all of the run, the same content as the uninterrupted one
    db = tmp_path / "after-commit.duckdb"
    shutil.copy(base_db, db)
    process, markers = _start(db)
    markers.wait_for("transaction committed")
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    assert _content(db) == expected


def test_the_killed_run_succeeds_afterwards_and_pays_the_arrears_once(base_db, tmp_path):
    db = tmp_path / "after.duckdb"
    shutil.copy(base_db, db)
    process, markers = _start(db)
    markers.wait_for("transaction begun")       # killed inside the transaction, for certain
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    assert "transaction committed" not in markers.seen
    result = subprocess.run(_cli(*RUN, db=db),
                            capture_output=True, text=True, env=_env(), timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "arrears lines paid in 2025-04" in result.stdout + result.stderr
    con = connect(db)
    assert scalar(con, "SELECT count(DISTINCT month_earned) FROM arrears") == 1
    assert scalar(con, "SELECT count(*) FROM arrears WHERE component = 'overtime_pay'") == 1
    assert scalar(con, f"SELECT count(*) FROM payslips WHERE {BROKEN_IDENTITY}") == 0


def test_a_second_process_exits_2_or_waits(base_db, tmp_path):
    db = tmp_path / "shared.duckdb"
    shutil.copy(base_db, db)
    run = _cli(*RUN, db=db)
    # --wait: the probe below opens the file read-only for an instant, which the first run must survive
    first = subprocess.Popen([*run, "--wait", "30"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             text=True, env=_env())
    _wait_until_locked(db, first)
    second = subprocess.run(run, capture_output=True, text=True, env=_env(), timeout=300)
    assert second.returncode == 2
    assert "is in use by another process" in second.stderr and "--wait" in second.stderr
    assert "Traceback" not in second.stderr
    # the same with --wait: it waits for the first run, then re-runs the months after it
    waiting = subprocess.Popen([*run, "--wait", "120"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=_env())
    assert first.wait(timeout=300) == 0, first.stderr.read()[-2000:]
    out, err = waiting.communicate(timeout=300)
    assert waiting.returncode == 0, err[-2000:]
    con = connect(db)
    assert scalar(con, "SELECT count(*) FROM runs") == 1 + 2    # the fixture's run, then both of these
    assert scalar(con, "SELECT count(DISTINCT month) FROM payslips") == int(LAST[5:])
    assert scalar(con, f"SELECT count(*) FROM payslips WHERE {BROKEN_IDENTITY}") == 0
    assert scalar(con, "SELECT count(*) FROM arrears") == 1          # paid once, not twice


def test_wait_gives_up_with_a_clear_message(tmp_path):
    db = tmp_path / "held.duckdb"
    holder = connect(db)                                  # this process holds the write lock
    try:
        result = subprocess.run(_cli("close", "--month", "2025-01", "--wait", "1", db=db),
                                capture_output=True, text=True, env=_env(), timeout=120)
    finally:
        holder.close()
    assert result.returncode == 2
    assert "in use by another process (waited 1 s)" in result.stderr


def _wait_until_locked(db: Path, process: subprocess.Popen, timeout: float = 30) -> None:
    """Until the first process holds the database (a read-only open fails on its lock)."""
    import duckdb
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the first run ended before it was observed holding the lock"
        try:
            duckdb.connect(str(db), read_only=True).close()
        except duckdb.IOException:
            return
        time.sleep(0.05)
    raise AssertionError("the first run never took the lock")
