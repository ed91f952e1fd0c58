"""What the benchmarks and `benchmarks/report.py` share: building a synthetic database, the two
reference points (the I/O floor and the scalar reference), and measuring time and memory.

Sizes come from the environment so CI runs the smallest only:
    BENCH_PEOPLE        monthly run (default 10,000; the report uses 10k, 100k, 1M)
    BENCH_YEAR_PEOPLE   twelve months in one run (default 10,000; the report uses 100k)
    BENCH_IO_ROWS       import of a CSV/XLSX and the XLSX register export (default 10,000; report 100k)
    BENCH_REFERENCE     people in the scalar-reference sample (default 300)
"""
from __future__ import annotations

import os
import resource
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
SEED = 7
YEAR = 2025
FIRST, MONTH = "2025-01", "2025-02"      # February's tax reads January's year to date


def size(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


# --------------------------------------------------------------------------------- measuring

def cpu_seconds() -> float:
    """CPU time of this process, all DuckDB threads included."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def reset_peak_rss() -> bool:
    """Start the peak-RSS counter (VmHWM) afresh (Linux); False where that is not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_rss_mb() -> float:
    """Peak resident memory (VmHWM since the last reset, else since the start), in MiB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class Timing:
    wall: float = 0.0
    cpu: float = 0.0


@contextmanager
def timed():
    timing = Timing()
    wall, cpu = time.perf_counter(), cpu_seconds()
    yield timing
    timing.wall, timing.cpu = time.perf_counter() - wall, cpu_seconds() - cpu


# ------------------------------------------------------------------------------ the database

def synth_database(con: duckdb.DuckDBPyConnection, people: int, months: tuple[str, ...] = (FIRST, MONTH),
                   seed: int = SEED):
    """The synthetic roster and the attendance of `months` (what a payroll database holds by
    then: attendance is imported month by month) stored in `con`; returns the two frames."""
    from payroll.synth import synth_roster, write_roster
    employees, attendance = synth_roster(people, seed=seed, year=YEAR)
    in_months = attendance[attendance["month"].astype(str).isin(months)]
    write_roster(con, employees, in_months)
    return employees, in_months


def copy_database(source: str) -> duckdb.DuckDBPyConnection:
    """An in-memory database holding the tables of the database file `source`."""
    from payroll.db import connect
    con = connect(":memory:")
    made = {name for (name,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    con.execute(f"ATTACH '{source}' AS source_db (READ_ONLY)")
    for table, ddl in con.execute("SELECT table_name, sql FROM duckdb_tables() "
                                  "WHERE database_name = 'source_db' ORDER BY 1").fetchall():
        if table not in made:  # with the source's keys, as connect() makes its own (INSERT OR REPLACE needs them)
            con.execute(ddl)
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM source_db.{table}")
    con.execute("DETACH source_db")
    return con


def run_month(con, policy, month: str = MONTH) -> int:
    from payroll.engine.run import run_months
    return run_months(con, policy, month)[0].people


def io_floor_on_a_fresh_copy(path: str, policy, storage: str = "memory", month: str = MONTH) -> dict:
    """The I/O floor measured on a database where the month was written once (not after the timed
    rounds' delete-and-insert rewrites, which slow the copy and flatter run ÷ floor): a fresh copy
    of the prepared database, the month run once untimed, then the floor timed. Returns its timing
    and the rows copied."""
    import shutil
    from payroll.db import connect
    if storage == "memory":
        con = copy_database(path)
    else:
        work = path + ".floor"
        shutil.copy(path, work)
        con = connect(work)
    try:
        run_month(con, policy, month)
        con.execute("CHECKPOINT")
        with timed() as timing:
            io_floor(con, month)
        copied = con.execute("SELECT count(*) FROM io_floor").fetchone()[0]
        paid = con.execute("SELECT count(*) FROM payslips WHERE month = ?", [month]).fetchone()[0]
    finally:
        con.close()
        if storage != "memory":
            os.remove(path + ".floor")
    assert copied == paid, (copied, paid)
    return {"wall": timing.wall, "cpu": timing.cpu, "rows": copied}


def io_floor(con, month: str = MONTH) -> None:
    """The I/O floor: DuckDB copying the month's payslips, same rows and stored columns, into a
    table of the same database (memory or file), no rule."""
    columns = ", ".join(row[0] for row in con.execute("DESCRIBE payslips").fetchall())
    con.execute(f"CREATE OR REPLACE TABLE io_floor AS SELECT {columns} FROM payslips "
                f"WHERE month = '{month}'")


# --------------------------------------------------------------------- the scalar reference

def _reference_module():
    tests = str(ROOT / "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)
    import reference
    return reference


def _day(text: str) -> date | None:
    return date.fromisoformat(text) if text else None


def reference_inputs(employees, attendance, sample: int, seed: int = SEED):
    """A seeded random sample of `sample` people across the whole synthetic roster (which is
    ordered by hire date: its first rows are only the longest-serving, lower levels), in the
    scalar reference's layout."""
    people = employees.sample(n=min(sample, len(employees)), random_state=seed)
    roster = [{
        "employee_id": row.employee_id, "name": row.name, "region_code": row.region_code,
        "unit": row.unit, "category": row.category, "level": int(row.level), "post": row.post,
        "hire_date": _day(row.hire_date), "leave_date": _day(row.leave_date),
        "service_start": _day(row.service_start),
        "special_deduction": Decimal(row.special_deduction or 0),
        "contribution_base": Decimal(row.contribution_base) if row.contribution_base else None,
    } for row in people.itertuples(index=False)]
    wanted = set(people.employee_id)
    rows = attendance[attendance["employee_id"].astype(str).isin(wanted)]
    days = ("unpaid_leave_days", "overtime_workday_hours", "overtime_restday_hours", "overtime_holiday_hours")
    marks = {(str(r.employee_id), str(r.month)): {
        **{c: Decimal(str(getattr(r, c))) for c in days},
        "night_shifts": int(r.night_shifts), "bonus": Decimal(int(r.bonus)), "deduction": Decimal(int(r.deduction)),
    } for r in rows.itertuples(index=False)}
    return roster, marks


def reference_run(roster, marks, months=(FIRST, MONTH)) -> tuple[Timing, dict]:
    """The scalar reference over the sample: its timing and its payslips."""
    reference = _reference_module()
    with timed() as timing:
        results = reference.compute_year(roster, marks, ROOT / "tables", list(months))
    return timing, results


def reference_mismatches(con, results: dict, month: str = MONTH) -> int:
    """Payslips of the sample where the engine and the reference differ by a fen anywhere."""
    reference = _reference_module()
    ids = sorted({eid for eid, m in results if m == month})
    columns = [c for c in reference.REGISTER if c not in ("employee_id", "month")]
    found = con.execute(f"SELECT employee_id, {', '.join(columns)} FROM payslips WHERE month = ? "
                        "AND employee_id IN (SELECT unnest(?))", [month, ids]).fetchall()
    wrong = 0
    for row in found:
        expected = results[(row[0], month)]
        wrong += any((Decimal(value) if isinstance(expected[c], Decimal) else value) != expected[c]
                     for c, value in zip(columns, row[1:]))
    return wrong + (len(ids) - len(found))
