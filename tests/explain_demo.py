"""A small synthetic payroll database shared by the explain, compare, payslip and serve tests:
200 people of the five sample places, January to August 2025 run by the engine (long enough for
cumulative income to cross the first tax bracket), written to a DuckDB file."""
from __future__ import annotations

from pathlib import Path

from payroll.db import connect
from payroll.engine.run import run_months
from payroll.policy import load_policy
from payroll.synth import synth_roster, write_roster

PEOPLE = 200
FIRST, LAST = "2025-01", "2025-08"


def build_demo_database(folder: Path, people: int = PEOPLE, last: str = LAST) -> Path:
    path = folder / "demo.duckdb"
    con = connect(path)
    employees, attendance = synth_roster(people, seed=31, year=2025)
    write_roster(con, employees, attendance)
    run_months(con, load_policy(), FIRST, last)
    con.close()
    return path
