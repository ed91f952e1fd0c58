"""Shared helpers: run the engine like a user would (Python API on a fresh DuckDB) and read payslips."""
from __future__ import annotations

import os
from contextlib import contextmanager
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from tiers import in_full_tier

# Three tiers. CI (the default) runs the tests tests/tiers.py does not leave to the full tier, with
# a bounded number of examples; the full tier (`PAYROLL_FULL=1 python3 -m pytest`) runs every test
# and the benchmarks' checks; the thorough tier (`PAYROLL_THOROUGH=1`) also runs the tests marked
# `slow` and lifts every property to at least 2,000 examples. Properties take their CI count
# through `examples(n)`.
THOROUGH = os.environ.get("PAYROLL_THOROUGH") == "1"
FULL = THOROUGH or os.environ.get("PAYROLL_FULL") == "1"
THOROUGH_EXAMPLES = 2000
settings.register_profile("ci", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", deadline=None, max_examples=THOROUGH_EXAMPLES,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("thorough" if THOROUGH else "ci")


# With pytest-xdist's workers on every core, DuckDB's own threads only contend with them: one
# thread per worker process (and the CLI processes tests start, which inherit the variable).
if os.environ.get("PYTEST_XDIST_WORKER") and int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1:
    os.environ.setdefault("PAYROLL_DUCKDB_THREADS", "1")


def _cheap_password_hashes() -> None:
    """argon2id with the least work it allows, for the users the tests make and log in (hundreds of
    logins; with the defaults each hash or check costs ~0.1–1 s of CPU on two busy cores). What a
    login checks is the same whatever the cost parameters: a hash carries its own, so the servers and
    commands a test starts verify these cheaply too. payroll.office.users keeps the defaults."""
    from argon2 import PasswordHasher

    from payroll.office import users
    users.HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


_cheap_password_hashes()


def project_first_months(monkeypatch, count: int) -> None:
    """simulate (and `payroll simulate` run in this process) projects only the first `count` months of
    its years, in order as always: the same months, computed the same way, as the first `count` of
    the whole run (a month reads only the months before it; attrition draws leavers among those
    months only). For tests that check those months alone."""
    import payroll.simulate.runner as runner
    from payroll.simulate.project import projection_months
    monkeypatch.setattr(runner, "projection_months", lambda year, years: projection_months(year, years)[:count])


def examples(ci_count: int) -> int:
    """max_examples for a property: its CI count, or the thorough tier's floor."""
    return max(ci_count, THOROUGH_EXAMPLES) if THOROUGH else ci_count


# Tests that must share one process when the suite runs on several (pytest-xdist, `-n auto` in
# pyproject; each module stays in one process): the branch tally reads what the comparisons recorded in its own process; the demo and
# the web office are session fixtures, built once per process that needs them.
XDIST_GROUPS = {
    "reference": ("test_reference_vs_engine", "test_benefits_reference", "test_reference_reach",
                  "test_branches_reached"),
    "demo": ("test_demo", "test_finance_accounts", "test_tax_export"),
    "office": ("test_serve", "test_web_permissions", "test_web_security", "test_web_workflow"),
}
_GROUP_OF = {module: group for group, modules in XDIST_GROUPS.items() for module in modules}
# the groups that take longest (pytest --durations, 2026-12-02), longest first: the CI tier's, and
# the full tier's longer ones before them
LONGEST_GROUPS = ("reference", "test_leave_probation_death", "test_offcycle", "test_import", "test_levels",
                  "test_year_end", "test_one_off_cases", "test_leave_cases", "test_income_tax_examples", "office",
                  "test_history_carry", "test_run", "test_policy")
if FULL:
    LONGEST_GROUPS = tuple(dict.fromkeys(("demo", "office", "test_simulate_projection", "test_retro",
                                          "test_bad_input_property", "test_nothing_lost", "test_atomicity",
                                          "test_compare") + LONGEST_GROUPS))


@pytest.hookimpl(tryfirst=True)       # before xdist reads the groups
def pytest_collection_modifyitems(config, items):
    for item in items:
        # a module not named above is a group of its own: its module fixtures are built once
        module = getattr(getattr(item, "module", None), "__name__", "")
        item.add_marker(pytest.mark.xdist_group(_GROUP_OF.get(module, module)))
    # the branch tally (tests/test_branches_reached.py) counts what the comparisons before it reached
    tally = [item for item in items if getattr(getattr(item, "module", None), "__name__", "") == "test_branches_reached"]
    items[:] = [item for item in items if item not in tally] + tally
    # the longest groups first (xdist hands groups out in this order, `--no-loadscope-reorder`): a
    # long group started last would leave the other worker idle at the end; within a group the
    # order is kept (stable sort)
    def rank(item):
        module = getattr(getattr(item, "module", None), "__name__", "")
        group = _GROUP_OF.get(module, module)
        return LONGEST_GROUPS.index(group) if group in LONGEST_GROUPS else len(LONGEST_GROUPS)
    items.sort(key=rank)
    # measuring the benchmarks (`--benchmark-enable`) runs them in any tier
    measuring = config.getoption("benchmark_enable", False) or not config.getoption("benchmark_disable", False)
    full_only = pytest.mark.skip(reason="full tier: runs with PAYROLL_FULL=1 (tests/tiers.py)")
    thorough_only = pytest.mark.skip(reason="slow: runs with PAYROLL_THOROUGH=1")
    for item in items:
        if in_full_tier(item.nodeid) and not (measuring and item.nodeid.startswith("benchmarks/")):
            item.add_marker(pytest.mark.full)
        if "full" in item.keywords and not FULL:
            item.add_marker(full_only)
        if "slow" in item.keywords and not THOROUGH:
            item.add_marker(thorough_only)

DATA = Path(__file__).resolve().parent / "data"
SHIPPED_TABLES = Path(__file__).resolve().parent.parent / "tables"

EMPLOYEE_COLUMNS = ("employee_id", "name", "region_code", "unit", "category", "level", "post", "hire_date",
                    "leave_date", "service_start", "special_deduction", "contribution_base")
ATTENDANCE_COLUMNS = ("unpaid_leave_days", "overtime_workday_hours", "overtime_restday_hours",
                      "overtime_holiday_hours", "night_shifts", "bonus", "deduction", "deduction_kind")


@lru_cache(maxsize=None)
def policy_for(tables_dir: str):
    from payroll.policy import load_policy
    return load_policy(tables_dir)


def run_engine(tables_dir, employees: list[dict], attendance: dict, first: str, last: str, con=None,
               payments: dict | None = None) -> dict:
    """Insert the roster and attendance into a fresh in-memory database, run the months, return
    {(employee_id, month): payslip row as a dict}. payments (issue 13): {(employee_id, month):
    [{kind, amount, tax_method}]}, paid by the regular run."""
    from payroll.db import connect
    from payroll.engine.run import run_months

    con = con or connect(":memory:")
    con.executemany(
        f"INSERT INTO employees ({', '.join(EMPLOYEE_COLUMNS)}) VALUES ({', '.join('?' * len(EMPLOYEE_COLUMNS))})",
        [[_employee_value(e, c) for c in EMPLOYEE_COLUMNS] for e in employees])
    if attendance:
        con.executemany(
            f"INSERT INTO attendance (employee_id, month, {', '.join(ATTENDANCE_COLUMNS)}) "
            f"VALUES ({', '.join('?' * (len(ATTENDANCE_COLUMNS) + 2))})",
            [[eid, month] + [row.get(c, None if c == "deduction_kind" else 0) for c in ATTENDANCE_COLUMNS]
             for (eid, month), row in attendance.items()])
    for (eid, month), lines in (payments or {}).items():
        for number, line in enumerate(lines, start=2):
            con.execute("INSERT INTO payments (employee_id, month, line_no, kind, amount, tax_method) "
                        "VALUES (?, ?, ?, ?, ?, ?)", [eid, month, number, line["kind"], line["amount"],
                                                      line.get("tax_method") or None])
    run_months(con, policy_for(str(tables_dir)), first, last)
    cursor = con.execute("SELECT * FROM payslips ORDER BY month, employee_id")
    names = [d[0] for d in cursor.description]
    return {(row[0], row[1]): dict(zip(names, row)) for row in cursor.fetchall()}


def _employee_value(employee: dict, column: str):
    if column == "name":
        return employee.get("name") or employee["employee_id"]
    if column == "special_deduction":
        return employee.get(column) or Decimal(0)
    return employee.get(column)


@pytest.fixture
def engine():
    return run_engine


ROSTER = [
    # employee_id, name, region, unit, category, level, post, hire, leave, special_deduction, base
    ("H1", "包一", "150100", "新城分局", "duty", 6, "PATROL", "2018-05-01", None, 1000, None),
    ("O1", "乌二", "150600", "东胜分局", "civilian", 5, "TECH", "2021-09-10", None, 0, None),
    ("Z1", "钱三", "330100", "上城分局", "duty", 4, "TRAFFIC", "2015-01-01", None, 3000, 9000),
    ("K1", "段四", "530100", "五华分局", "duty", 7, "COMMUNITY", "2025-01-13", None, 0, None),
    ("N1", "顾五", "320600", "崇川分局", "duty", 7, "PATROL", "2019-03-01", "2025-02-20", 0, None),
]


def roster_connection(roster=ROSTER):
    """A fresh in-memory database holding the roster (default ROSTER: one person in each of the five places)."""
    from payroll.db import connect
    return insert_roster(connect(":memory:"), roster)


def insert_roster(connection, roster=ROSTER):
    """The roster's rows (ROSTER's columns) into the database's employees; returns the connection."""
    for row in roster:
        connection.execute(
            "INSERT INTO employees (employee_id, name, region_code, unit, category, level, post, hire_date, "
            "leave_date, special_deduction, contribution_base) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", list(row))
    return connection


def database_template(build, start: Path | None = None) -> Path:
    """A database that `build(connection)` fills once (from a copy of the template `start`, if
    given), in a file of its own, for `database_copy` to give each test a copy: for tests of one
    module that start from the same months already run."""
    import atexit
    import shutil
    import tempfile
    from payroll.db import connect
    folder = tempfile.mkdtemp(prefix="payroll-template-")
    atexit.register(shutil.rmtree, folder, True)
    path = Path(folder) / "template.duckdb"
    if start is not None:
        shutil.copy(start, path)
    connection = connect(path)
    try:
        build(connection)
    finally:
        connection.close()
    return path


def database_copy(template: Path, path=":memory:"):
    """A database of its own holding everything `template` holds, opened as payroll.db.connect
    opens one (in memory unless `path` names a file): no test sees another's writes."""
    import shutil
    from payroll.db import SCHEMA, connect
    if str(path) != ":memory:":
        shutil.copy(template, path)
        return connect(path)
    import duckdb
    connection = duckdb.connect(":memory:")
    threads = os.environ.get("PAYROLL_DUCKDB_THREADS", "")
    if threads.isdigit() and int(threads) > 0:          # as payroll.db.connect
        connection.execute(f"SET threads = {int(threads)}")
    connection.execute(f"ATTACH '{template}' AS template (READ_ONLY)")
    connection.execute("COPY FROM DATABASE template TO memory")
    connection.execute("DETACH template")
    for ddl in SCHEMA:                                  # idempotent: what connect() would add
        connection.execute(ddl)
    return connection


@pytest.fixture()
def con():
    """An in-memory database holding ROSTER: one person in each of the five places."""
    return roster_connection()


@pytest.fixture(scope="module")
def policy():
    """The shipped policy tables."""
    from payroll.policy import load_policy
    return load_policy()


@pytest.fixture(scope="session")
def office_template(tmp_path_factory):
    """The web tests' office (tests/web_site.py), built once per session; copy it with `office_copy`."""
    from web_site import build_site
    return build_site(tmp_path_factory.mktemp("office"))


@pytest.fixture(scope="module")
def office_site(office_template, tmp_path_factory):
    """A fresh copy of the office database for one test module (its workflow steps stay its own)."""
    import dataclasses
    import shutil
    folder = tmp_path_factory.mktemp("office-copy")
    shutil.copy(office_template.db, folder / "demo.duckdb")
    return dataclasses.replace(office_template, db=folder / "demo.duckdb")


@pytest.fixture()
def office(office_site, tmp_path):
    """The web server's state (payroll.web.office.Office) over a copy of the office database of its
    own, closed after the test."""
    import shutil
    from payroll.web.office import Office
    shutil.copy(office_site.db, tmp_path / "office.duckdb")
    made = Office(str(tmp_path / "office.duckdb"), None)
    yield made
    made.close()


@pytest.fixture(scope="session")
def demo_year(tmp_path_factory):
    """`payroll demo` as a user runs it (5,000 people, the twelve months of 2025), built once per
    session (~45 s) and shared by test_demo and test_finance_accounts: (out folder, the run's result).
    Tests read its database; none changes its payslips."""
    import subprocess
    import sys
    out = tmp_path_factory.mktemp("demo")
    env = {k: v for k, v in os.environ.items() if k not in ("PAYROLL_DB", "PAYROLL_TABLES")}
    result = subprocess.run([sys.executable, "-m", "payroll.cli", "demo", "--out", str(out)],
                            capture_output=True, text=True, env=env, cwd=out, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return out, result


# ---- the command line in this process ----------------------------------------------------------
# A `python -m payroll.cli` subprocess spends ~0.8 s of CPU on the interpreter and imports before the
# command starts; most tests are about what the command prints, writes and returns, not about the
# process. Keep a real subprocess where the process is the subject (kills, locks held by another
# process, `payroll serve`, the entry point itself, signals, timeouts).

def run_payroll(*args, cwd=None, env=None, input: str = "") -> "subprocess.CompletedProcess":
    """`python -m payroll.cli ARGS` run in this process, returned as `subprocess.run(...,
    capture_output=True, text=True)` would: returncode, stdout and stderr apart. Like a subprocess,
    the command sees `cwd` as its working directory and `env` (a whole environment; None: this
    one) as os.environ, reads `input` on stdin and writes to pipes, not a terminal; all of it is
    restored when the command returns."""
    import subprocess

    from payroll.cli import run_cli
    arguments = [str(argument) for argument in args]
    with _as_its_own_process(cwd, env, input) as (stdout, stderr):
        code = run_cli(arguments)
    return subprocess.CompletedProcess(["payroll", *arguments], code, stdout.getvalue(), stderr.getvalue())


@contextmanager
def _as_its_own_process(cwd, env, input: str):
    import gc
    import io
    import sys
    import weakref

    import duckdb

    from rich.console import Console

    import payroll.cli
    saved_environ, saved_cwd = dict(os.environ), os.getcwd()
    saved_streams = sys.stdin, sys.stdout, sys.stderr
    saved_consoles = payroll.cli.console, payroll.cli.err_console
    stdout, stderr = io.StringIO(), io.StringIO()
    real_connect, opened = duckdb.connect, []

    def connect_and_remember(*args, **kwargs):
        connection = real_connect(*args, **kwargs)
        opened.append(weakref.ref(connection))
        return connection
    try:
        duckdb.connect = connect_and_remember
        if env is not None:
            os.environ.clear()
            os.environ.update(env)
        if cwd is not None:
            os.chdir(cwd)
        sys.stdin, sys.stdout, sys.stderr = io.StringIO(input), stdout, stderr
        # payroll/cli.py builds its consoles at import, for the streams of that moment: rebuilt here
        # as a subprocess builds them for pipes (width 140, no colour unless the env forces it)
        payroll.cli.console, payroll.cli.err_console = Console(width=140), Console(stderr=True, width=140)
        yield stdout, stderr
    finally:
        duckdb.connect = real_connect
        # an exiting process closes what it opened; here a command's DuckDB connection can outlive
        # it in a reference cycle (a failed command's traceback, a command's own objects), and this
        # process's next connection to the file, read-only or not, would be refused: collect it
        # now. Only when one is still open: a whole collection costs ~0.1 s in a test process.
        if any(connection() is not None for connection in opened):
            gc.collect()
        payroll.cli.console, payroll.cli.err_console = saved_consoles
        sys.stdin, sys.stdout, sys.stderr = saved_streams
        os.chdir(saved_cwd)
        if env is not None:
            os.environ.clear()
            os.environ.update(saved_environ)
