"""Time the files finance hands on for a synthetic city (not collected by pytest: run it directly).

    PYTHONPATH=$PWD python3 benchmarks/handover_timing.py [PEOPLE]     # default 5,000 people

Imports the roster from a CSV with bank accounts (validated like a user's file), imports a
timesheet of 20 dated overtime records per person over January–March, runs the three months and
times each export of March.
"""
from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from payroll.db import connect
from payroll.engine.run import run_months
from payroll.io.importer import import_files
from payroll.policy import load_policy
from payroll.reports.bank import export_bank
from payroll.reports.contributions import export_contributions
from payroll.reports.summary import export_summary
from payroll.reports.tax import export_tax
from payroll.synth import synth_roster


def timed(label: str, action):
    started = time.perf_counter()
    result = action()
    print(f"{label:<22} {time.perf_counter() - started:6.2f} s  {result}")
    return result


def main(people: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="handover-"))
    employees, _ = synth_roster(people, seed=3, year=2025)
    employees = employees.assign(bank_account=[f"62220212{i:011d}" for i in range(len(employees))])
    employees.to_csv(folder / "employees.csv", index=False)
    rng = np.random.default_rng(1)
    days = pd.date_range("2025-01-01", "2025-03-31")
    picks = np.concatenate([rng.choice(len(days), 20, replace=False) for _ in range(len(employees))])
    pd.DataFrame({"employee_id": np.repeat(employees["employee_id"].to_numpy(), 20),
                  "date": days[picks].strftime("%Y-%m-%d"),
                  "hours": rng.choice(["1", "2", "2.5", "4", "8"], len(picks)),
                  "time_off_given": rng.choice(["", "是"], len(picks))}).to_csv(folder / "timesheet.csv", index=False)
    policy = load_policy()
    con = connect(folder / "payroll.duckdb")
    timed("import employees", lambda: import_files(con, policy, employees=folder / "employees.csv"))
    timed("import timesheet", lambda: import_files(con, policy, timesheet=folder / "timesheet.csv"))
    timed("run 2025-01..03", lambda: len(run_months(con, policy, "2025-01", "2025-03")))
    timed("summary", lambda: export_summary(con, "2025-03", folder / "summary.xlsx"))
    timed("contributions", lambda: export_contributions(con, "2025-03", folder / "contributions.xlsx"))
    timed("bank csv", lambda: export_bank(con, "2025-03", "csv", folder / "bank.csv"))
    timed("bank xlsx", lambda: export_bank(con, "2025-03", "xlsx", folder / "bank.xlsx"))
    timed("tax", lambda: export_tax(con, "2025-03", folder / "employees.csv", folder / "tax.xlsx"))
    con.close()
    shutil.rmtree(folder)          # the tax file holds (synthetic) full ID numbers: leave nothing behind


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5000)
