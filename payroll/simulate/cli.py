"""The body of `payroll simulate` (payroll/cli.py stays thin)."""
from __future__ import annotations

from datetime import date
from pathlib import Path

from ..errors import PayrollError


def _default_year(con) -> int:
    from ..db import scalar, table_exists
    if con is not None and table_exists(con, "payslips"):
        latest = scalar(con, "SELECT max(month) FROM payslips")
        if latest:      # a finished year: budget the next one; else the year under way
            return int(latest[:4]) + (latest[5:] == "12")
    return date.today().year


def run_simulate(scenario_file: Path, *, year, years, people, seed, out, db, tables, console, status) -> Path:
    from ..db import connect
    from ..policy import load_policy
    from ..reports.budget import budget_against_scenario, budget_table, budget_totals
    from .project import history_from_database, roster_from_database, synthetic_roster
    from .report import write_report
    from .runner import simulate
    from .scenario import load_scenario
    from .summary import floor_table, net_table, solver_lines, totals_table

    scenario = load_scenario(scenario_file)
    policy = load_policy(tables)
    if people is not None and people < 1:
        raise PayrollError("--people must be at least 1")
    history = budget = None
    if people is None:
        source = connect(db, read_only=True)
        try:
            year = year or _default_year(source)
            roster = roster_from_database(source)
            history = history_from_database(source, year)
            budget = budget_totals(source, year)        # issue 19: the scenario against the approved budget
        finally:
            source.close()
    else:
        year = year or date.today().year
        roster = synthetic_roster(people, seed, year)
    target = out or Path(f"simulate-{Path(scenario_file).stem}.xlsx")
    if target.suffix.lower() != ".xlsx":
        raise PayrollError(f"--out {target}: the report is an .xlsx file")
    with status("测算 projecting…") as spinner:
        comparison = simulate(scenario, policy, roster, year, years, history, file=scenario_file,
                              progress=lambda text: spinner.update(f"测算 projecting: {text}"))
    try:
        for each in comparison.years:
            console.print(totals_table(comparison, each))
        console.print(floor_table(comparison))
        console.print(net_table(comparison))
        for line in solver_lines(comparison):
            console.print(line)
        if budget is not None:
            console.print(budget_table(budget_against_scenario(budget, year, comparison.by["unit"]), year))
        write_report(comparison, target)
    finally:
        comparison.close()
    console.print(f"report: {target}")
    return target
