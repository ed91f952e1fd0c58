"""No crash and no second user corrupts the database.

A multi-month run (with a retro step) is killed with SIGKILL at several moments: every time,
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

PEOPLE = 300         # the roster's size is not the subject: the run's planning, not its rows, fills the transaction


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
# the killed runs: nine months in the thorough tier; two in CI (with the retro step before them),
# still long enough for kills to land inside (the kill moments are fractions of its length)
LAST = "2025-12" if THOROUGH else "2025-05"
RUN = ("run", "--month", "2025-04", "--through", LAST)
# two processes on one database: three months in CI, so that the first one still holds the
# database when the second one has started and asks for it
LOCKED_LAST = "2025-12" if THOROUGH else "2025-06"
LOCKED_RUN = ("run", "--month", "2025-04", "--through", LOCKED_LAST)


class _Markers:
    """Reads the run's stderr in a thread and notes when each transaction marker appeared."""

    def __init__(self, process: subprocess.Popen):
        self.seen: dict[str, float] = {}
        self.stderr: list[str] = []
        self.process = process
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        for line in self.process.stderr:
            self.stderr.append(line)
            for marker in ("transaction begun", "transaction committed"):
                if f"payroll: {marker}" in line:
                    self.seen.setdefault(marker, time.monotonic())

    def wait_for(self, marker: str, timeout: float = 300) -> float:
        deadline = time.monotonic() + timeout
        while marker not in self.seen:
            assert time.monotonic() < deadline and self.process.poll() is None, f"no '{marker}' marker"
            time.sleep(0.002)
        return self.seen[marker]


def _start(db: Path, stdout=subprocess.DEVNULL) -> tuple[subprocess.Popen, _Markers]:
    process = subprocess.Popen(_cli(*RUN, db=db), stdout=stdout, stderr=subprocess.PIPE, text=True,
                               env={**_env(), **MARKED})
    return process, _Markers(process)


def _kill_at(process: subprocess.Popen, markers: _Markers) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    markers.thread.join(timeout=10)


def _content(db: Path) -> dict:
    """What a run writes, without its run id and timestamps: payslips, arrears, the months run."""
    con = connect(db)
    try:
        return {table: con.execute(f"SELECT * EXCLUDE (run_id) FROM {table} ORDER BY ALL").fetchall()
                for table in ("payslips", "arrears")} | {
            "runs": con.execute("SELECT first_month, last_month, payslips FROM runs ORDER BY started_at").fetchall()}
    finally:
        con.close()


@pytest.fixture(scope="module")
def killed_then_run(base_db, tmp_path_factory) -> dict:
    """A run killed at its first moment (just after its transaction began: inside it, for certain),
    then the same run again to the end, on one copy of base_db: what both tests below read (the
    database as the kill left it, the second run's output and timing, its database). The second
    run is an uninterrupted run from base_db's content, so its content is what any run of RUN
    writes (the kill test compares with it)."""
    db = tmp_path_factory.mktemp("killed") / "after.duckdb"
    shutil.copy(base_db, db)
    process, markers = _start(db)
    markers.wait_for("transaction begun")       # killed inside the transaction, for certain
    _kill_at(process, markers)
    killed = {"seen": dict(markers.seen), "digest": _digest(db)}
    process, markers = _start(db, stdout=subprocess.PIPE)
    stdout = process.stdout.read()
    returncode = process.wait(timeout=300)
    markers.thread.join(timeout=10)
    return {"killed": killed, "returncode": returncode, "output": stdout + "".join(markers.stderr),
            "seen": dict(markers.seen), "db": db, "content": _content(db)}


def test_a_run_killed_at_any_moment_leaves_the_database_as_it_was(base_db, killed_then_run, tmp_path):
    """Kills inside the run's transaction (between the markers the run prints with
    PAYROLL_TRANSACTION_MARKERS=1) each leave the database exactly as it was: at its first moment
    (the fixture's kill), then at moments spread over it. A kill just after the commit leaves
    exactly what an uninterrupted run of the same months writes. CI kills at two fixed moments,
    early (the retro step) and halfway (the months); the thorough tier at five random ones."""
    before = _digest(base_db)
    assert "transaction committed" not in killed_then_run["killed"]["seen"]
    assert killed_then_run["killed"]["digest"] == before, "killed at the transaction's first moment"
    assert killed_then_run["returncode"] == 0
    seen = killed_then_run["seen"]
    inside = seen["transaction committed"] - seen["transaction begun"]    # how long the transaction lasts here
    expected = killed_then_run["content"]       # the uninterrupted run of the same months
    rng, inside_kills = random.Random(), 0
    # the moments, as fractions of the transaction's length, and how many must land inside
    moments, inside_wanted = ([rng.uniform(0.05, 0.7) for _ in range(5)], 3) if THOROUGH else ([0.1, 0.5], 1)
    for trial, moment in enumerate(moments):
        db = tmp_path / f"trial{trial}.duckdb"
        shutil.copy(base_db, db)
        process, markers = _start(db)
        markers.wait_for("transaction begun")
        time.sleep(moment * inside)
        _kill_at(process, markers)
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
    _kill_at(process, markers)
    assert _content(db) == expected


def test_the_killed_run_succeeds_afterwards_and_pays_the_arrears_once(killed_then_run):
    # the fixture: the run killed just after its transaction began, then run again on that database
    assert "transaction committed" not in killed_then_run["killed"]["seen"]
    assert killed_then_run["returncode"] == 0, killed_then_run["output"][-2000:]
    assert "arrears lines paid in 2025-04" in killed_then_run["output"]
    con = connect(killed_then_run["db"], read_only=True)
    assert scalar(con, "SELECT count(DISTINCT month_earned) FROM arrears") == 1
    assert scalar(con, "SELECT count(*) FROM arrears WHERE component = 'overtime_pay'") == 1
    assert scalar(con, f"SELECT count(*) FROM payslips WHERE {BROKEN_IDENTITY}") == 0
    con.close()


def test_a_second_process_exits_2_or_waits(base_db, tmp_path):
    db = tmp_path / "shared.duckdb"
    shutil.copy(base_db, db)
    run = _cli(*LOCKED_RUN, db=db)
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
    assert scalar(con, "SELECT count(DISTINCT month) FROM payslips") == int(LOCKED_LAST[5:])
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
