"""The `payroll` command. Thin: parse options, call the package, turn errors into exit codes.

Exit status (SPEC): 0 done; 2 bad input or bad use (message names file, row, column, reason;
nothing written); 1 internal error.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from .errors import PayrollError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="fujing-payroll: payroll and benefits for auxiliary police (辅警).")
# tables of money need room: when the output is a file or a pipe, do not squeeze them into 80 columns
console = Console(width=None if sys.stdout.isatty() else 140)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 140)

DbOption = typer.Option(None, "--db", envvar="PAYROLL_DB", help="DuckDB file (default payroll.duckdb)")
TablesOption = typer.Option(None, "--tables", envvar="PAYROLL_TABLES",
                            help="policy tables directory (default: the shipped tables/)")


def _fail(message: str, code: int = 2) -> None:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, markup=True, soft_wrap=True)
    raise typer.Exit(code)


@app.command("import")
def import_command(
    employees: Optional[Path] = typer.Option(None, "--employees", help="employees file (CSV or XLSX)"),
    attendance: Optional[Path] = typer.Option(None, "--attendance", help="attendance file (CSV or XLSX)"),
    db: Optional[str] = DbOption,
    tables: Optional[str] = TablesOption,
) -> None:
    """Validate input files and load them; nothing is written if any row is bad."""
    from .db import connect
    from .io.importer import import_files
    from .policy import load_policy

    if employees is None and attendance is None:
        _fail("give at least one of --employees, --attendance")
    policy = load_policy(tables)
    con = connect(db)
    with err_console.status("读取并校验 reading and validating every row…"):
        summary = import_files(con, policy, employees=employees, attendance=attendance)
    console.print(str(summary))


def _progress():
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=err_console, transient=False)


def _print_floor(con, policy, month_label: str) -> None:
    from .reports.floor import floor_check, floor_table
    console.print(floor_table(floor_check(con, month_label), month_label, policy.region_names()))


@app.command("run")
def run_command(
    month: str = typer.Option(..., "--month", help="first month to compute, YYYY-MM"),
    through: Optional[str] = typer.Option(None, "--through", help="last month, YYYY-MM (default: --month)"),
    db: Optional[str] = DbOption,
    tables: Optional[str] = TablesOption,
) -> None:
    """Compute payslips for a month or a range of months, in order."""
    from .db import connect
    from .engine.run import months_between, run_months
    from .policy import load_policy

    policy = load_policy(tables)
    months = months_between(month, through)
    con = connect(db)
    with _progress() as progress:
        task = progress.add_task("计算工资 computing payslips", total=len(months))
        results = run_months(con, policy, month, through,
                             progress=lambda result: (progress.advance(task), progress.console.print(str(result))))
    _print_floor(con, policy, results[-1].month)


@app.command("export")
def export_command(
    month: str = typer.Option(..., "--month", help="month, YYYY-MM"),
    what: str = typer.Option("register", "--what", help="register"),
    fmt: str = typer.Option("xlsx", "--format", help="xlsx or csv"),
    out: Optional[Path] = typer.Option(None, "--out", help="output file (default: register-YYYY-MM.xlsx)"),
    unit: Optional[str] = typer.Option(None, "--unit", help="only this unit"),
    db: Optional[str] = DbOption,
    tables: Optional[str] = TablesOption,
) -> None:
    """Write a report for a month (CSV with the SPEC columns, or XLSX for finance)."""
    from .db import connect

    if what != "register":
        _fail(f"--what {what!r} is not available yet; available: register")
    from .reports.register import export_register
    con = connect(db, read_only=True)
    target = out or Path(f"{what}-{month}.{fmt}")
    summary = export_register(con, month, fmt, target, unit=unit)
    console.print(str(summary))


@app.command("demo")
def demo_command(
    people: int = typer.Option(5000, "--people", help="roster size"),
    year: int = typer.Option(2025, "--year", help="year to run"),
    seed: int = typer.Option(2025, "--seed", help="random seed of the synthetic roster"),
    out: Path = typer.Option(Path("demo"), "--out", help="folder for the database and reports"),
    db: Optional[str] = DbOption,
    tables: Optional[str] = TablesOption,
) -> None:
    """Synthetic roster on the shipped tables, twelve months run, registers written to XLSX."""
    from .demo import run_demo
    run_demo(people=people, year=year, seed=seed, out=out, db=db, tables=tables,
             console=console, progress=_progress())


@app.command("simulate")
def simulate_command(
    scenario_file: Path = typer.Argument(..., help="scenario file (TOML, see scenarios/README.md)"),
    year: Optional[int] = typer.Option(None, "--year", help="first year projected (default: the year after "
                                       "the latest December payslips, else the year of the latest "
                                       "payslips, else the current year)"),
    years: int = typer.Option(1, "--years", help="number of years projected"),
    people: Optional[int] = typer.Option(None, "--people", help="simulate on a synthetic roster of N people "
                                         "instead of the database's roster"),
    seed: int = typer.Option(2025, "--seed", help="random seed of the synthetic roster"),
    out: Optional[Path] = typer.Option(None, "--out", help="XLSX report (default: simulate-<file>.xlsx)"),
    db: Optional[str] = DbOption,
    tables: Optional[str] = TablesOption,
) -> None:
    """Budget scenario: baseline against scenario, cost by region, unit and component, floor check."""
    from .simulate.cli import run_simulate
    run_simulate(scenario_file, year=year, years=years, people=people, seed=seed, out=out, db=db,
                 tables=tables, console=console, status=err_console.status)


def main() -> None:
    try:
        app(standalone_mode=False)
    except PayrollError as error:
        err_console.print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except typer.Exit as exit_:
        sys.exit(exit_.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        err_console.print("aborted")
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as error:  # click usage errors come through here too
        import click
        if isinstance(error, click.exceptions.ClickException):
            error.show()
            sys.exit(2)
        err_console.print_exception()
        sys.exit(1)


if __name__ == "__main__":
    main()
