"""Every command's failure paths exit as the SPEC says: 0 done, 2 bad input, bad use or a failing
environment (one line, no traceback), 1 only for a real bug.

Table-driven: a command added later gets its rows in CASES (arguments, expected code, a phrase
of the message). `{db}`, `{tmp}`, `{month}`, `{gbk_tables}`, `{link}`, `{fifo}`, `{not_duckdb}`
are filled per test. The cases run in-process through `run_cli` (the function `main()` exits
with); one case also runs as a real process to check the code reaches the shell.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import SHIPPED_TABLES

MONTH = "2025-01"

# (id, arguments, expected exit code, phrase expected in stderr)
CASES = [
    # usage errors reported by _fail (defect: they exited 0)
    ("export-unknown-what", "export --what foo --month {month} --db {db}", 2, "is not available"),
    ("import-no-file", "import --db {db}", 2, "give at least one of"),
    ("benefits-nobody", "benefits NOBODY --db {db}", 2, "is not in the database"),
    ("export-without-month", "export --what register --db {db}", 2, "--month is required"),
    ("benefits-as-csv", "export --what benefits --format csv --db {db}", 2, "xlsx only"),
    ("employees-with-register", "export --what register --month {month} --employees x.csv --db {db}", 2,
     "--employees is read only by --what tax"),
    ("synth-db-and-out", "synth --people 3 --db {tmp}/s.duckdb --out {tmp}/s", 2, "not both"),
    # click's own usage errors
    ("unknown-command", "frobnicate", 2, "No such command"),
    ("run-without-month", "run --db {db}", 2, "Missing option"),
    # bad input
    ("run-bad-month", "run --month 2025-13 --db {db}", 2, "is not a month"),
    ("run-month-out-of-range", "run --month 9999-12 --db {db}", 2, "out of range"),
    ("close-month-out-of-range", "close --month 9999-12 --db {db}", 2, "out of range"),
    ("explain-month-out-of-range", "explain FJ000001 --month 9999-12 --db {db}", 2, "out of range"),
    ("export-bad-format", "export --what register --month {month} --format pdf --out {tmp}/r.pdf --db {db}", 2,
     "pdf"),
    ("explain-nobody", "explain NOBODY --month {month} --db {db}", 2, "NOBODY"),
    ("import-missing-file", "import --employees {tmp}/nowhere.csv --db {db}", 2, "does not exist"),
    ("import-unknown-header", "import --attendance {tmp}/unknown_header.csv --db {db}", 2,
     "closest known: 事假天数"),
    ("simulate-missing-scenario", "simulate {tmp}/nowhere.toml --db {db}", 2, "nowhere.toml"),
    # the environment
    ("db-not-duckdb-run", "run --month {month} --db {not_duckdb}", 2, "not a DuckDB database file"),
    ("db-not-duckdb-history", "history --db {not_duckdb}", 2, "not a DuckDB database file"),
    ("db-not-duckdb-export", "export --what register --month {month} --db {not_duckdb}", 2,
     "not a DuckDB database file"),
    ("policy-table-gbk", "run --month {month} --db {db} --tables {gbk_tables}", 2, "posts.csv: is not UTF-8"),
    ("out-symlink", "export --what register --month {month} --format csv --out {link} --db {db}", 2,
     "is a symlink"),
    ("out-fifo", "export --what register --month {month} --format csv --out {fifo} --db {db}", 2, "is a fifo"),
    ("out-disk-full", "export --what register --month {month} --format csv --out /dev/full --force --db {db}", 2,
     "no space left"),
    ("serve-port-in-use", "serve --port {busy_port} --db {db}", 2, "port is already in use"),
    # done
    ("history-ok", "history --db {db}", 0, ""),
    ("out-folder-names-the-file", "export --what register --month {month} --format csv --out {tmp}/afolder "
     "--db {db}", 0, ""),
    ("export-ok", "export --what register --month {month} --format csv --out {tmp}/ok.csv --db {db}", 0, ""),
]


@pytest.fixture(scope="module")
def place(tmp_path_factory):
    """A small database with one month run, and the odd files the cases point at."""
    from payroll.db import connect
    from payroll.engine.run import run_months
    from payroll.policy import load_policy
    from payroll.synth import synth_roster, write_roster

    tmp = tmp_path_factory.mktemp("exit_codes")
    db = tmp / "small.duckdb"
    con = connect(db)
    employees, attendance = synth_roster(12, seed=7, regions=None, year=2025)
    write_roster(con, employees, attendance)
    run_months(con, load_policy(), MONTH, MONTH)
    con.close()
    (tmp / "not.duckdb").write_bytes(b"this is not a database\n" * 100)
    (tmp / "unknown_header.csv").write_text("工号,月份,请假天数\nFJ000001,2025-01,2\n", encoding="utf-8")
    gbk = tmp / "gbk_tables"
    shutil.copytree(SHIPPED_TABLES, gbk)
    posts = gbk / "posts.csv"
    posts.write_bytes(posts.read_text(encoding="utf-8").encode("gb18030"))
    (tmp / "target.csv").write_text("keep me\n")
    os.symlink(tmp / "target.csv", tmp / "link.csv")
    os.mkfifo(tmp / "fifo.csv")
    (tmp / "afolder").mkdir()
    return {"db": db, "tmp": tmp, "month": MONTH, "not_duckdb": tmp / "not.duckdb", "gbk_tables": gbk,
            "link": tmp / "link.csv", "fifo": tmp / "fifo.csv"}


@pytest.fixture()
def busy_port():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        yield holder.getsockname()[1]


@pytest.mark.parametrize("name, arguments, code, phrase", CASES, ids=[c[0] for c in CASES])
def test_exit_code(name, arguments, code, phrase, place, busy_port, capsys, monkeypatch):
    from payroll.cli import run_cli

    monkeypatch.delenv("PAYROLL_DB", raising=False)
    monkeypatch.delenv("PAYROLL_TABLES", raising=False)
    monkeypatch.chdir(place["tmp"])
    args = arguments.format(**place, busy_port=busy_port).split()
    assert run_cli(args) == code
    err = capsys.readouterr().err
    assert phrase in " ".join(err.split()), err          # rich may wrap long lines
    assert "Traceback" not in err
    if name.startswith("out-"):
        assert (place["tmp"] / "target.csv").read_text() == "keep me\n"
        assert place["link"].is_symlink() and os.path.exists("/dev/full") and not Path("/dev/full").is_file()


def test_the_code_reaches_the_shell(place):
    env = {k: v for k, v in os.environ.items() if k not in ("PAYROLL_DB", "PAYROLL_TABLES")}
    done = subprocess.run([sys.executable, "-m", "payroll.cli", "export", "--what", "foo", "--month", MONTH,
                           "--db", str(place["db"])], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2 and "is not available" in done.stderr


def test_a_disk_filling_during_a_run_exits_2_naming_the_cause(place, capsys, monkeypatch):
    """Defect 7: DuckDB reports a full disk inside a run as "transaction is aborted"; the cause is
    the IO error chained under it. A real full disk cannot be made here: run_months raises what
    DuckDB raised on the full disk of the attack report, chained the same way."""
    import duckdb
    import payroll.engine.run
    from payroll.cli import run_cli

    def full_disk(*args, **kwargs):
        try:
            raise duckdb.IOException('IO Error: Could not write file "x.duckdb.wal": No space left on device')
        except duckdb.IOException as cause:
            raise duckdb.TransactionException("TransactionContext Error: Current transaction is aborted "
                                              "(please ROLLBACK)") from cause
    monkeypatch.setattr(payroll.engine.run, "run_months", full_disk)
    assert run_cli(["run", "--month", MONTH, "--db", str(place["db"])]) == 2
    error = capsys.readouterr().err
    assert "no space left on the disk" in error and "Traceback" not in error


def test_a_database_on_a_read_only_file_system_exits_2(place, capsys, monkeypatch):
    """Defect 7: opening a database on a read-only file system (EROFS, as DuckDB words it) exits 2
    with one line; made here by the error DuckDB raises, since the tests cannot mount a file system."""
    import duckdb
    import payroll.db
    from payroll.cli import run_cli

    def read_only(*args, **kwargs):
        raise duckdb.IOException('IO Error: Cannot open file "/mnt/ro/payroll.duckdb": Read-only file system')
    monkeypatch.setattr(payroll.db, "connect", read_only)
    assert run_cli(["run", "--month", MONTH, "--db", "/mnt/ro/payroll.duckdb"]) == 2
    error = capsys.readouterr().err
    assert "the file system is read-only" in error and "Traceback" not in error
