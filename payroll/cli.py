"""The `payroll` command. Thin: parse options, call the package, turn errors into exit codes.

Exit status (SPEC): 0 done; 2 bad input or bad use (message names file, row, column, reason;
nothing written); 1 internal error.
"""
from __future__ import annotations

import contextvars
import os
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from .errors import PayrollError, environment_reason
from .io.output import FORCE_SPECIAL_TARGETS

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="fujing-payroll: payroll and benefits for auxiliary police (辅警).")
# tables of money need room: when the output is a file or a pipe, do not squeeze them into 80 columns
console = Console(width=None if sys.stdout.isatty() else 140)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 140)

DbOption = typer.Option(None, "--db", envvar="PAYROLL_DB", help="DuckDB file (default payroll.duckdb)")
TablesOption = typer.Option(None, "--tables", envvar="PAYROLL_TABLES",
                            help="policy tables directory (default: the shipped tables/)")
ForceOption = typer.Option(False, "--force", help="also write to a device, FIFO or symlink target "
                           "(by default --out must be a regular file or a new path)")
WaitOption = typer.Option(0.0, "--wait", min=0,
                          help="seconds to wait while another payroll command holds the database (default: fail at once)")


def _fail(message: str, code: int = 2) -> None:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, markup=True, soft_wrap=True)
    raise typer.Exit(code)


@app.command("import")
def import_command(
    employees: Optional[Path] = typer.Option(None, "--employees", help="employees file (CSV or XLSX)"),
    attendance: Optional[Path] = typer.Option(None, "--attendance", help="attendance file (CSV or XLSX)"),
    timesheet: Optional[Path] = typer.Option(None, "--timesheet",
                                             help="dated overtime records (employee_id, date, hours)"),
    events: Optional[Path] = typer.Option(None, "--events", help="work injury and death events (CSV or XLSX)"),
    dependents: Optional[Path] = typer.Option(None, "--dependents", help="dependants for death benefits"),
    opening: Optional[Path] = typer.Option(None, "--opening", help="opening year-to-date figures from a former "
                                           "payroll system (employee_id, year, month, income_ytd, …)"),
    replace: bool = typer.Option(False, "--replace", help="the file is the whole record of the rows it "
                                 "names: columns it lacks are cleared (default: they keep their stored values)"),
    clear_empty: bool = typer.Option(False, "--clear-empty", help="let empty cells erase stored values "
                                     "(default: refused, naming the row and column)"),
    ignore: Optional[list[str]] = typer.Option(None, "--ignore", help="a header to leave out on purpose "
                                               "(repeatable; default: an unknown header is an error)"),
    leave: Optional[Path] = typer.Option(None, "--leave", help="leave records: employee_id, kind, start, end, note"),
    deductions: Optional[Path] = typer.Option(
        None, "--deductions", help="the tax client's special additional deductions (专项附加扣除) by item"),
    tax_feedback: Optional[Path] = typer.Option(
        None, "--tax-feedback", help="the tax client's computed or filed result per person and month"),
    budget: Optional[Path] = typer.Option(
        None, "--budget", help="the year's approved budget per unit and economic item, and the headcount quota"),
    assessments: Optional[Path] = typer.Option(None, "--assessments",
                                               help="annual appraisal results: employee_id, year, result, note"),
    payments: Optional[Path] = typer.Option(None, "--payments", help="one-off payments: annual_bonus, severance, "
                                            "other (employee_id, month, kind, amount, tax_method, note)"),
    db: Optional[str] = DbOption,
    tables: Optional[str] = TablesOption,
    wait: float = WaitOption,
) -> None:
    """Validate input files and load them; nothing is written if any row is bad.

    A re-import changes only what the file gives: a column the file lacks keeps its stored values
    (unless --replace), an empty cell never erases a stored value (unless --clear-empty)."""
    from .db import connect
    from .io.importer import import_files
    from .policy import load_policy

    finance_files = {"--deductions": deductions, "--tax-feedback": tax_feedback, "--budget": budget}
    others = (employees, attendance, timesheet, events, dependents, opening)
    if any(finance_files.values()):
        _import_finance_file(finance_files, others + (assessments, leave), db, tables, wait)
        return
    if all(path is None for path in others) and assessments is None and payments is None and leave is None:
        _fail("give at least one of --employees, --attendance, --timesheet, --events, --dependents, --opening, "
              "--assessments, --leave, --payments (or one of --deductions, --tax-feedback, --budget)")
    policy = load_policy(tables)
    con = connect(db, wait=wait)
    with err_console.status("读取并校验 reading and validating every row…"):
        assessed = after = None
        summaries = []
        if assessments is not None and employees is not None:
            # issue 16: checked and written inside the employees import's transaction, after the
            # people it adds (a bad row rolls everything back)
            from .io.assessments import import_with_employees
            after = import_with_employees(con, assessments, policy, summaries)
        elif assessments is not None:       # issue 16: checked before any file is written
            from .errors import InputError
            from .io.assessments import validate_assessments, write_assessments
            assessed, problems = validate_assessments(con, assessments, policy)
            if problems:
                raise InputError(problems)
        if any(path is not None for path in others) or leave is not None:
            summary = import_files(con, policy, employees=employees, attendance=attendance,
                                   timesheet=timesheet, events=events, dependents=dependents, leave=leave,
                                   opening=opening, replace=replace, clear_empty=clear_empty,
                                   ignore=tuple(ignore or ()), after=after)
            summaries.insert(0, str(summary))
            console.print(str(summary))
            if after is not None:
                console.print(summaries[-1])
        if assessed is not None:
            summaries.append(str(write_assessments(con, assessed, assessments)))
            console.print(summaries[-1])
    if payments is not None:            # issue 13: after the employees it may name
        from .io.payments import import_payments
        summaries.append(str(import_payments(con, payments)))
        console.print(summaries[-1])
    files = ", ".join(f"{kind}={Path(path).name}" for kind, path in (
        ("employees", employees), ("attendance", attendance), ("timesheet", timesheet), ("events", events),
        ("dependents", dependents), ("assessments", assessments), ("leave", leave), ("payments", payments))
        if path is not None)
    _after_import(con, policy, files, "; ".join(summaries))


def _audit(con, action: str, target: str, detail: str = "") -> None:
    """The CLI's audit entry (issue 18): the OS user, marked cli."""
    from .office.audit import cli_event, record
    record(con, cli_event(action, target, detail))


def _audit_db(db, action: str, target: str, detail: str = "") -> None:
    """For a command that read the database read-only: open it for writing just to log."""
    from .db import connect, resolve_db_path
    from .office.audit import cli_event, record_pending
    try:
        con = connect(db)
    except PayrollError:                # others are reading it: the entry waits beside the file
        record_pending(resolve_db_path(db), cli_event(action, target, detail))
        return
    try:
        _audit(con, action, target, detail)
    finally:
        con.close()


def _after_import(con, policy, files: str, summary: str) -> None:
    from .office.audit import cli_event
    from .office.workflow import after_import
    sent_back = after_import(con, policy.digest, cli_event("import").username + " (cli)", files)
    _audit(con, "import", files, summary)
    if sent_back:
        console.print(f"back to draft (an import changed their inputs): {', '.join(sent_back)}")


def _import_finance_file(files: dict, others: tuple, db, tables, wait: float) -> None:
    """The finance loop's files (issue 19), one per command: each is its own all-or-nothing load."""
    from .db import connect
    given = [option for option, path in files.items() if path is not None]
    if len(given) > 1 or any(p is not None for p in others):
        raise PayrollError(f"{given[0]} is imported on its own: give one file per `payroll import` command")
    option, path = given[0], files[given[0]]
    con = connect(db, wait=wait)
    from .policy import load_policy
    policy = load_policy(tables)
    if option == "--deductions":
        from .io.deductions import import_deductions
        summary = str(import_deductions(con, path))
    elif option == "--tax-feedback":
        from .io.tax_feedback import import_feedback
        summary = str(import_feedback(con, path))
    else:
        from .io.budget import import_budget
        summary = str(import_budget(con, policy, path))
    _after_import(con, policy, f"{option.lstrip('-')}={Path(path).name}", summary)
    console.print(summary)


def _progress():
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=err_console, transient=False)


def _print_floor(con, policy, month_label: str) -> None:
    from .reports.floor import floor_check, floor_table
    console.print(floor_table(floor_check(con, month_label), month_label, policy.region_names()))
    for warning in policy.warnings:           # issue 16: level gaps under the region's minimum
        err_console.print(f"[yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)


@app.command("run")
def run_command(
    month: str = typer.Option(..., "--month", help="first month to compute, YYYY-MM"),
    through: Optional[str] = typer.Option(None, "--through", help="last month, YYYY-MM (default: --month)"),
    off_cycle: Optional[str] = typer.Option(
        None, "--off-cycle", help="an off-cycle run of --month besides the regular one: settlement (a leaver's final "
                                  "settlement, with --employees) or bonus (the payments assigned to the bonus run); "
                                  "prints the run's id for `export --run`"),
    employees: Optional[str] = typer.Option(None, "--employees", help="--off-cycle settlement: the people, ID[,ID…]"),
    db: Optional[str] = DbOption,
    tables: Optional[str] = TablesOption,
    wait: float = WaitOption,
) -> None:
    """Compute payslips for a month or a range of months, in order; pay arrears of closed months.
    With --off-cycle: one off-cycle run of the month (its own payslips, register and bank file)."""
    from .db import connect
    from .engine.closing import refuse_closed
    from .engine.run import months_between, run_months
    from .policy import load_policy

    policy = load_policy(tables)
    if off_cycle is not None or employees is not None:
        _run_offcycle(month, through, off_cycle, employees, db, policy, wait)
        return
    months = months_between(month, through)
    con = connect(db, wait=wait)
    refuse_closed(con, months)                      # before the progress bar: a closed month is a usage error
    _warn_without_opening(con, months[0])
    from .office.workflow import after_run, payslips_digest
    digests_before = {m.label: payslips_digest(con, m.label) for m in months}
    with _progress() as progress:
        task = progress.add_task("计算工资 computing payslips", total=len(months))
        results = run_months(con, policy, month, through,
                             progress=lambda result: (progress.advance(task), progress.console.print(str(result))),
                             retro=lambda arrears: progress.console.print(_retro_text(arrears, months[0].label)))
    from .office.audit import cli_event
    labels = [m.label for m in months]
    sent_back = after_run(con, labels, digests_before, cli_event("run").username + " (cli)")
    _audit(con, "run", labels[0] if len(labels) == 1 else f"{labels[0]}..{labels[-1]}",
           "; ".join(str(r) for r in results))
    if sent_back:
        console.print(f"back to draft (the re-run changed their payslips): {', '.join(sent_back)}")
    _print_floor(con, policy, results[-1].month)
    _print_sample_warnings(con, policy, results[-1].month)
    from .reports.year_end import cliff_warnings       # issue 13: the bonus methods and cliffs
    for result in results:
        for line in cliff_warnings(con, result.month):
            err_console.print(line, highlight=False, soft_wrap=True)
    _report_negative_net(con, months[0].label, months[-1].label)


def _run_offcycle(month: str, through: Optional[str], kind: Optional[str], employees: Optional[str], db, policy,
                  wait: float) -> None:
    """`run --off-cycle KIND`: one off-cycle run (engine/offcycle.py); bad input exits 2, nothing written."""
    from .db import connect
    from .engine.offcycle import run_offcycle
    if kind is None:
        _fail("--employees is for an off-cycle run: add --off-cycle settlement")
    if through is not None:
        _fail("--through is for regular runs: an off-cycle run pays one month")
    people = [e.strip() for e in (employees or "").split(",") if e.strip()] or None
    con = connect(db, wait=wait)
    result = run_offcycle(con, policy, month, kind, people)
    _audit(con, "run", month, str(result))
    console.print(str(result), highlight=False)
    from .reports.year_end import cliff_warnings
    from .engine.offcycle import select_run
    select_run(con, result.month, result.run_id)
    for line in cliff_warnings(con, result.month):
        err_console.print(line, highlight=False, soft_wrap=True)
    con.execute("DROP VIEW IF EXISTS temp.payslips")


def _warn_without_opening(con, month) -> None:
    """A first run after January with no payslips of the year before it and no opening balances:
    the year to date (and so the cumulative tax) starts from zero. Say so once, naming the command."""
    from .db import scalar
    if month.start.month == 1:
        return
    earlier = scalar(con, "SELECT count(*) FROM payslips WHERE month >= ? AND month < ?",
                     [f"{month.year}-01", month.label]) if _has_table(con, "payslips") else 0
    openings = scalar(con, "SELECT count(*) FROM opening_balances WHERE year = ? AND month < ?",
                      [month.year, month.start.month])
    if not earlier and not openings:
        err_console.print(f"[bold yellow]warning:[/] {month.label} is the first month run in {month.year} and no "
                          f"opening balances are loaded: year-to-date income and tax start from 0. A unit "
                          f"moving here mid-year loads them first with `payroll import --opening FILE`",
                          highlight=False, soft_wrap=True)


def _has_table(con, name: str) -> bool:
    from .db import table_exists
    return table_exists(con, name)


def _report_negative_net(con, first: str, last: str) -> int:
    """A negative net pay is never silent: list it as an error summary and return how many. The
    run itself succeeded (exit 0: its payslips are stored, so `explain` can show why); the bank
    file refuses them until the inputs are fixed and the month is run again."""
    rows = con.execute("SELECT month, employee_id, net_pay FROM payslips WHERE month BETWEEN ? AND ? "
                       "AND net_pay < 0 ORDER BY month, employee_id", [first, last]).fetchall()
    if not rows:
        return 0
    shown = ", ".join(f"{employee} {month} {net:,.2f}" for month, employee, net in rows[:10])
    more = f" … and {len(rows) - 10} more" if len(rows) > 10 else ""
    err_console.print(f"[bold red]error:[/] {len(rows)} payslip(s) with negative net pay: {shown}{more}. They are "
                      f"stored so `payroll explain` shows why, but no bank file pays them: correct the deductions "
                      f"or leave and run the month again", highlight=False, soft_wrap=True)
    return len(rows)


def _print_sample_warnings(con, policy, month_label: str) -> None:
    """One warning line per region paid this month whose figures in force include samples."""
    regions = tuple(sorted(r[0] for r in con.execute("SELECT DISTINCT region_code FROM payslips WHERE month = ?",
                                                     [month_label]).fetchall()))
    # the lines read the tables alone: made once per month and regions (0.26 s at every run before)
    for line in policy.derived(("sample warnings", month_label, regions),
                               lambda: _sample_warning_lines(policy, month_label, regions)):
        err_console.print(line, style="yellow", highlight=False, markup=False, soft_wrap=True)


def _sample_warning_lines(policy, month_label: str, regions: tuple[str, ...]) -> list[str]:
    from .reports.table_status import warning_lines
    return warning_lines(policy.frames, month_label, list(regions))


def _export_benefits(db, tables, fmt: str, out: Optional[Path]) -> None:
    """Every person's benefit statement (one sheet each) after figuring and storing the benefits."""
    from .benefits import compute_benefits_each, store_benefits
    from .db import connect
    from .policy import load_policy
    from .reports.benefits import export_statements

    if fmt != "xlsx":
        _fail("--what benefits is written as xlsx only (one statement sheet per person)")
    policy = load_policy(tables)
    con = connect(db)
    # issue 14: a missing figure stops that person's event, not everyone's export
    results, failures = compute_benefits_each(con, policy)
    for failure, _ in failures:
        err_console.print(f"not figured: {failure.employee_id} {failure.kind} {failure.event_date}: {failure.reason}",
                          highlight=False, markup=False, soft_wrap=True)
    if failures and not results:
        raise failures[0][1]
    store_benefits(con, policy, results)
    target = out or Path("benefits.xlsx")
    console.print(export_statements(results, policy.region_names(), target, [f for f, _ in failures]))


def _retro_text(arrears, month_paid: str) -> str:
    text = (f"补发/补扣 arrears: closed months {arrears.months_recomputed[0]} … {arrears.months_recomputed[-1]} "
            f"recomputed; {arrears.lines:,} new arrears lines paid in {month_paid}, pay {arrears.amount:,.2f}")
    if arrears.not_on_payroll:
        shown = ", ".join(arrears.not_on_payroll[:10])
        text += (f"\nnote: {len(arrears.not_on_payroll)} people owed arrears are not employed in {month_paid} "
                 f"({shown}{' …' if len(arrears.not_on_payroll) > 10 else ''}): their lines are in the arrears "
                 f"table but on no payslip: pay them with a final settlement, `payroll run --month {month_paid} "
                 f"--off-cycle settlement --employees {','.join(arrears.not_on_payroll[:10])}"
                 f"{',…' if len(arrears.not_on_payroll) > 10 else ''}` (an off-cycle run: the arrears alone, taxed "
                 f"cumulatively; docs/rules.md, off-cycle runs)")
    return text


@app.command("close")
def close_command(
    month: str = typer.Option(..., "--month", help="close every month run up to this one, YYYY-MM"),
    db: Optional[str] = DbOption,
    wait: float = WaitOption,
) -> None:
    """Close months: their payslips never change again; corrections become arrears."""
    from .db import connect
    from .office.audit import cli_event
    from .office.workflow import close_month

    con = connect(db, wait=wait)
    closed = close_month(con, month, cli_event("close").username + " (cli)")
    _audit(con, "close", month, f"closed {', '.join(closed)}")
    console.print(f"closed {', '.join(closed)}: these payslips are final; corrections to them are paid as "
                  f"arrears in the next open month")


@app.command("history")
def history_command(
    db: Optional[str] = DbOption,
    imports: bool = typer.Option(False, "--imports", help="also list the imported files"),
) -> None:
    """The run ledger: every run with its time, months, input and table hashes, engine version."""
    from .db import connect
    from .reports.history import history_tables

    con = connect(db, read_only=True)
    for table in history_tables(con, imports):
        console.print(table)


@app.command("export")
def export_command(
    month: Optional[str] = typer.Option(None, "--month", help="month, YYYY-MM (register)"),
    what: str = typer.Option("register", "--what", help="register | payslips | tax | bank | summary | contributions | benefits | "
                                                         "tax-check | si-changes | si-base | voucher | budget | all (the "
                                                         "month's files for finance into the --out folder, side by side; "
                                                         "the tax declaration too with --employees)"),
    fmt: str = typer.Option("xlsx", "--format", help="xlsx or csv"),
    out: Optional[Path] = typer.Option(None, "--out", help="output file (default: register-YYYY-MM.xlsx)"),
    unit: Optional[str] = typer.Option(None, "--unit", help="only this unit"),
    employees: Optional[Path] = typer.Option(
        None, "--employees", help="--what tax: the HR employees file with the full ID numbers"),
    year: Optional[int] = typer.Option(None, "--year", help="--what si-base: the year declared"),
    through: Optional[str] = typer.Option(None, "--through", help="--what budget: the last month spent, YYYY-MM"),
    run: Optional[str] = typer.Option(
        None, "--run", help="register | payslips | tax | bank | summary | contributions: the month's run, 'regular' "
                            "or an off-cycle run's id (`payroll run --off-cycle` prints it), or all (the month's runs added "
                            "up: the tax declaration has one line per person and month); default: the regular run"),
    db: Optional[str] = DbOption,
    tables: Optional[str] = TablesOption,
    force: bool = ForceOption,
) -> None:
    """Write a report for a month (CSV with the SPEC columns, or XLSX for finance)."""
    from .db import connect

    FORCE_SPECIAL_TARGETS.set(force)
    if run is not None and run != "regular":
        if what not in ("register", "payslips") + HANDOVER_EXPORTS:
            _fail(f"--run is read by --what register, payslips, {', '.join(HANDOVER_EXPORTS)}; not by {what}")
        if month is None:
            _fail("--run needs --month: a run belongs to a month")
        out = out or Path(f"{what if what != 'tax' else 'tax'}-{month}-{run}.{fmt}")

    if what == "all":
        _export_all(db, month, out, employees, unit)       # --run: refused above
        return
    if employees is not None and what != "tax":
        _fail("--employees is read only by --what tax or all (the full ID numbers)")
    if what == "benefits":
        _export_benefits(db, tables, fmt, out)
        _audit_db(db, "export", "benefits", str(out or "benefits.xlsx"))
        return
    if what in FINANCE_EXPORTS:
        from .reports.finance_exports import export_finance
        con = connect(db, read_only=True)
        result = export_finance(what, con, tables, month=month, year=year, through=through, fmt=fmt, out=out)
        con.close()
        _audit_db(db, "export", month or str(year or ""), f"{what} {fmt} -> {out or '(default name)'}")
        console.print(str(result), highlight=False)
        return
    if month is None:
        _fail(f"--month is required for --what {what}")
    if what in HANDOVER_EXPORTS:
        con = connect(db, read_only=True)
        _select_run(con, month, run)
        _export_handover(what, month, fmt, out, employees, con)
        con.close()
        _audit_db(db, "export", month, f"{what} {fmt} -> {out or '(default name)'}")
        return
    if what not in ("register", "payslips"):
        _fail(f"--what {what!r} is not available; available: register, payslips, benefits, all, "
              f"{', '.join(HANDOVER_EXPORTS + FINANCE_EXPORTS)}")
    con = connect(db, read_only=True)
    _select_run(con, month, run)
    target = out or Path(f"{what}-{month}.{fmt}")
    from .reports.month_files import write_month_file
    summary = write_month_file(con, what, month, fmt, target, unit=unit)
    con.close()
    _audit_db(db, "export", month, f"{what} {fmt}{' unit ' + unit if unit else ''} -> {target}")
    console.print(str(summary))


HANDOVER_EXPORTS = ("tax", "bank", "summary", "contributions")


def _export_all(db: Optional[str], month: Optional[str], out: Optional[Path], employees: Optional[Path],
                unit: Optional[str]) -> None:
    """The month's files for finance into one folder, written side by side (month_files)."""
    from .db import connect
    from .reports.month_files import MONTH_FILES, write_all_month_files

    if month is None:
        _fail("--month is required for --what all")
    if unit is not None:
        _fail("--what all writes the whole roster's files; --unit is read by --what register and payslips")
    folder = out or Path(".")
    if folder.exists() and not folder.is_dir():
        _fail(f"--out {folder}: --what all writes a folder of files, and this is a file")
    con = connect(db, read_only=True)
    results = write_all_month_files(con, month, folder, employees)
    con.close()
    names = ", ".join(MONTH_FILES) + (", tax.xlsx" if employees is not None else "")
    _audit_db(db, "export", month, f"all ({names}) -> {folder}")
    for result in results:
        console.print(str(result), highlight=False)
    if employees is not None:
        err_console.print(f"[bold yellow]warning:[/] {results[-1].warning}", highlight=False, soft_wrap=True)


def _select_run(con, month: str, run: Optional[str]) -> None:
    """issue 13: the reports read `payslips`; an off-cycle run's id points it at that run's payslips."""
    from .engine.offcycle import select_run
    from .engine.context import Month
    select_run(con, Month.parse(month).label, run)
FINANCE_EXPORTS = ("tax-check", "si-changes", "si-base", "voucher", "budget")     # issue 19


def _export_handover(what: str, month: str, fmt: str, out: Optional[Path], employees: Optional[Path],
                     con) -> None:
    """The files finance hands on (issue 8); the tax file is the only one with full ID numbers."""
    from .reports.month_files import write_month_file
    result = write_month_file(con, what, month, fmt, out, employees)
    if what == "tax":
        err_console.print(f"[bold yellow]warning:[/] {result.warning}", highlight=False, soft_wrap=True)
    console.print(str(result), highlight=False)


@app.command("benefits")
def benefits_command(
    employee_id: str = typer.Argument(..., help="employee ID"),
    db: Optional[str] = DbOption,
    tables: Optional[str] = TablesOption,
) -> None:
    """Work-injury, death and martyr benefits from the person's events (stored in table benefits)."""
    from .benefits import compute_benefits, store_benefits
    from .db import connect, scalar
    from .policy import load_policy
    from .reports.benefits import benefits_tables

    policy = load_policy(tables)
    con = connect(db)
    if not scalar(con, "SELECT count(*) FROM employees WHERE employee_id = ?", [employee_id]):
        _fail(f"employee {employee_id!r} is not in the database")
    results = compute_benefits(con, policy, employee_id)
    store_benefits(con, policy, results, employee_id)
    if not results:
        console.print(f"{employee_id}: no events on file (import them with `payroll import --events FILE`)")
        return
    for renderable in benefits_tables(results, policy.region_names()):
        console.print(renderable)


@app.command("certificate")
def certificate_command(
    employee_id: str = typer.Argument(..., help="employee ID (工号)"),
    year: Optional[int] = typer.Option(None, "--year", help="the calendar year covered"),
    months: Optional[str] = typer.Option(None, "--months", help="the span covered, YYYY-MM..YYYY-MM"),
    out: Optional[Path] = typer.Option(None, "--out", help="XLSX file (default: certificate-ID-FIRST-LAST.xlsx)"),
    issuer: Optional[str] = typer.Option(None, "--issuer", help="the issuing authority's name, printed by the seal"),
    db: Optional[str] = DbOption,
    wait: float = WaitOption,
) -> None:
    """Income certificate (收入证明): monthly gross, contributions, tax and net, one page; logged."""
    from .db import connect
    from .reports.certificate import write_certificate
    con = connect(db, wait=wait)
    result = write_certificate(con, employee_id, year=year, months=months, out=out, issuer=issuer)
    _audit(con, "view_pay", employee_id, f"income certificate {year or months or ''}")   # issue 18's log too
    console.print(str(result), highlight=False)


@app.command("explain")
def explain_command(
    employee_id: str = typer.Argument(..., help="employee ID (工号)"),
    month: str = typer.Option(..., "--month", help="month, YYYY-MM"),
    compare: Optional[str] = typer.Option(None, "--compare", help="a second month: what changed and why"),
    run: Optional[str] = typer.Option(None, "--run", help="show only this run's part of the month: 'regular' or an "
                                                          "off-cycle run's id (default: every run of the month)"),
    fmt: str = typer.Option("text", "--format", help="text, json or xlsx"),
    out: Optional[Path] = typer.Option(None, "--out", help="output file (default: print; xlsx needs it)"),
    db: Optional[str] = DbOption,
    tables: Optional[str] = TablesOption,
    force: bool = ForceOption,
) -> None:
    """One person's pay line by line (formula, table rows, legal basis); --compare: why it changed."""
    FORCE_SPECIAL_TARGETS.set(force)
    from .db import connect
    from .policy import load_policy
    from .reports.explain import Explainer, write_explanation

    explainer = Explainer(connect(db, read_only=True), load_policy(tables))
    if compare is None:
        text = write_explanation(explainer.explain(employee_id, month, run), fmt, out)
    else:
        from .reports.compare import compare_months, write_comparison
        earlier, later = sorted((month, compare))          # a change reads from the earlier month on
        text = write_comparison(compare_months(explainer, employee_id, earlier, later), fmt, out)
    explainer.con.close()
    _audit_db(db, "view_pay", employee_id, f"explain {month}" + (f" compared with {compare}" if compare else ""))
    if text is not None:
        sys.stdout.write(text)
    else:
        console.print(f"-> {out}")


@app.command("levels")
def levels_command(
    employee_id: Optional[str] = typer.Argument(None, help="employee ID (工号): print the person's level path"),
    year: Optional[int] = typer.Option(None, "--year", help="appraisal year: propose its promotions and demotions"),
    apply: Optional[Path] = typer.Option(None, "--apply", help="the approved list (XLSX or CSV) to apply"),
    out: Optional[Path] = typer.Option(None, "--out", help="proposals XLSX (default levels-<year>.xlsx)"),
    db: Optional[str] = DbOption,
    tables: Optional[str] = TablesOption,
    wait: float = WaitOption,
) -> None:
    """Level path of one person; proposed level changes of a year (XLSX for HR); apply an approved list."""
    from .db import connect
    from .policy import load_policy

    policy = load_policy(tables)
    if apply is not None:
        from .levels.apply import apply_changes
        console.print(str(apply_changes(connect(db, wait=wait), policy, apply)))
    elif employee_id is not None:
        from .levels.path import level_path
        console.print("\n".join(level_path(connect(db, read_only=True), policy, employee_id).lines()),
                      highlight=False, markup=False)
    elif year is not None:
        from .levels.propose import propose_changes, write_proposals
        proposals = propose_changes(connect(db, read_only=True), policy, year)
        target = write_proposals(proposals, out or Path(f"levels-{year}.xlsx"), year)
        counts = proposals.change_kind.value_counts()
        console.print(f"{year}: {int(counts.get('promotion', 0)):,} promotions, {int(counts.get('demotion', 0)):,} "
                      f"demotions proposed -> {target}\nHR: delete a row or write 否 in 审批 to refuse it, add "
                      f"selection promotions (变动类型 selection), then `payroll levels --year {year} --apply FILE`")
    else:
        _fail("give an employee ID, --year Y, or --year Y --apply FILE")


@app.command("serve")
def serve_command(
    port: int = typer.Option(8321, "--port", help="port"),
    host: str = typer.Option("127.0.0.1", "--host", help="address to listen on (default 127.0.0.1: this "
                             "machine only); another address is printed with a warning: put TLS in front"),
    single_person: bool = typer.Option(False, "--single-person", help="first run only: the database is "
                                       "single-person (months close without approval)"),
    db: Optional[str] = DbOption,
    tables: Optional[str] = TablesOption,
) -> None:
    """The payroll office's web application: login, months through approval, review, HR and employees."""
    from .web.app import serve
    serve(db, tables, port, host=host, single_person=single_person, log=err_console.print)


user_app = typer.Typer(help="users of the web application, their roles and units", no_args_is_help=True)
app.add_typer(user_app, name="user")


def _password(password: Optional[str]) -> str:
    if password:
        return password
    import getpass
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        _fail("the two passwords differ")
    return first


@user_app.command("add")
def user_add_command(
    username: str = typer.Argument(..., help="login name"),
    roles: list[str] = typer.Option(..., "--role", help="role, or role@unit, or role@unit/* (the unit and all "
                                    "below it); repeat for several: clerk reviewer approver hr auditor employee admin"),
    name: Optional[str] = typer.Option(None, "--name", help="full name shown on the pages"),
    employee: Optional[str] = typer.Option(None, "--employee", help="employee ID of an `employee` user"),
    password: Optional[str] = typer.Option(None, "--password", envvar="PAYROLL_NEW_PASSWORD",
                                           help="password (default: asked twice, not echoed)"),
    single_person: bool = typer.Option(False, "--single-person", help="first user only: make the database "
                                       "single-person (months close without approval)"),
    db: Optional[str] = DbOption,
) -> None:
    """Add a user (argon2-hashed password)."""
    from .db import connect
    from .office.users import add_user, parse_grant
    grants = [parse_grant(text) for text in roles]
    con = connect(db)
    user = add_user(con, username, _password(password), grants, display_name=name, employee_id=employee,
                    single_person=single_person)
    _audit(con, "user_add", user.username, ", ".join(str(g) for g in user.grants))
    console.print(f"added {user.username}: {', '.join(str(g) for g in user.grants)}")


@user_app.command("disable")
def user_disable_command(username: str = typer.Argument(...), enable: bool = typer.Option(
        False, "--enable", help="enable the user again"), db: Optional[str] = DbOption) -> None:
    """Disable (or --enable) a user; a disabled user cannot log in."""
    from .db import connect
    from .office.users import disable_user
    from .web.sessions import revoke_user
    con = connect(db)
    disable_user(con, username, not enable)
    if not enable:
        revoke_user(con, username)                      # logged out of the web application too
    _audit(con, "user_enable" if enable else "user_disable", username)
    console.print(f"{username}: {'enabled' if enable else 'disabled'}")


@user_app.command("passwd")
def user_passwd_command(username: str = typer.Argument(...), password: Optional[str] = typer.Option(
        None, "--password", envvar="PAYROLL_NEW_PASSWORD", help="new password (default: asked twice)"),
        db: Optional[str] = DbOption) -> None:
    """Set a user's password (also lifts a lockout)."""
    from .db import connect
    from .office.users import set_password
    from .web.sessions import revoke_user
    con = connect(db)
    set_password(con, username, _password(password))
    revoke_user(con, username)                          # sessions opened with the old password end
    _audit(con, "user_passwd", username)
    console.print(f"{username}: password set")


@user_app.command("logout")
def user_logout_command(username: str = typer.Argument(...), db: Optional[str] = DbOption) -> None:
    """End every web session of a user (a lost laptop, a shared screen)."""
    from .db import connect
    from .office.users import get_user
    from .web.sessions import revoke_user
    con = connect(db)
    if get_user(con, username) is None:
        raise PayrollError(f"no user {username!r}")
    ended = revoke_user(con, username)
    _audit(con, "user_logout", username, f"{ended} session(s) ended")
    console.print(f"{username}: {ended} web session(s) ended")


@user_app.command("list")
def user_list_command(db: Optional[str] = DbOption) -> None:
    """The users, their roles and units."""
    from rich.table import Table

    from .db import connect
    from .office.schema import mode_label
    from .office.users import list_users
    con = connect(db, read_only=True)
    table = Table(title=mode_label(con))
    for header in ("user", "name", "roles", "employee", "state"):
        table.add_column(header)
    for user in list_users(con):
        table.add_row(user.username, user.display_name, ", ".join(str(g) for g in user.grants),
                      user.employee_id or "", "disabled" if user.disabled else "active")
    console.print(table)


month_app = typer.Typer(help="a month's approval workflow, as a named user of the office (as on the web pages)",
                        no_args_is_help=True)
app.add_typer(month_app, name="month")
ActorOption = typer.Option(..., "--user", envvar="PAYROLL_USER", help="the office user taking the step")
ActorPassword = typer.Option(None, "--password", envvar="PAYROLL_PASSWORD",
                             help="that user's password (default: asked, not echoed)")
MonthOption = typer.Option(..., "--month", help="YYYY-MM")


def _acting(db, username: str, password: Optional[str], action: str):
    """The database and the user, once the user's password is right and their roles allow `action`."""
    import getpass

    from .db import connect
    from .office.acting import act_as
    con = connect(db)
    return con, act_as(con, username, password if password is not None else getpass.getpass(f"{username}'s password: "),
                       action)


def _month_step(step: str, month: str, username: str, password: Optional[str], comment: str, db) -> None:
    from .office import workflow
    from .office.acting import event_as
    from .office.audit import record
    con, user = _acting(db, username, password, f"month.{step}")
    state = workflow.advance(con, month, step, user.username, comment)
    record(con, event_as(user.username, step, month, f"→ {state}; {comment.strip()}".strip("; ")))
    console.print(f"{month}: {workflow.STATE_LABELS[state]} ({step} by {user.username})")


def _step_command(step: str, summary: str, comment_help: str):
    def command(month: str = MonthOption, user: str = ActorOption, password: Optional[str] = ActorPassword,
                comment: str = typer.Option("", "--comment", help=comment_help),
                db: Optional[str] = DbOption) -> None:
        _month_step(step, month, user, password, comment, db)
    command.__doc__ = summary
    month_app.command(step)(command)


_step_command("submit", "Submit a draft month for review (clerk).", "a note for the reviewer")
_step_command("pass", "Pass a submitted month after review (reviewer).", "the review's note")
_step_command("approve", "Approve a reviewed month (approver; not the person who submitted it).",
              "the approval's note (needed when the tax client's result differs)")
_step_command("return", "Return a month to draft, saying what to change (reviewer or approver).",
              "what to change (required)")


@month_app.command("close")
def month_close_command(month: str = MonthOption, user: str = ActorOption, password: Optional[str] = ActorPassword,
                        db: Optional[str] = DbOption) -> None:
    """Close the months through MONTH (clerk; each must be approved unless the database is single-person)."""
    from .office.acting import event_as
    from .office.audit import record
    from .office.workflow import close_month
    con, acting = _acting(db, user, password, "month.close")
    closed = close_month(con, month, acting.username)
    record(con, event_as(acting.username, "close", month, f"closed {', '.join(closed)}"))
    console.print(f"closed {', '.join(closed)} ({acting.username}): these payslips are final")


@month_app.command("status")
def month_status_command(month: Optional[str] = typer.Option(None, "--month", help="one month's steps (default: "
                                                             "every month's state)"),
                         db: Optional[str] = DbOption) -> None:
    """The months' workflow states, or one month's steps with who took them."""
    from rich.table import Table

    from .db import connect
    from .office import workflow
    from .office.schema import mode_label
    con = connect(db, read_only=True)
    if month is None:
        table = Table(title=mode_label(con))
        for header in ("month", "state"):
            table.add_column(header)
        for label in workflow.payslip_months(con):
            table.add_row(label, workflow.STATE_LABELS[workflow.month_state(con, label)])
    else:
        state = workflow.month_state(con, month)
        if state is None:
            raise PayrollError(f"{month} has not been run")
        table = Table(title=f"{month}: {workflow.STATE_LABELS[state]}")
        for header in ("#", "step", "from", "to", "user", "at (UTC)", "comment"):
            table.add_column(header)
        for step in workflow.month_steps(con, month):
            table.add_row(str(step["step_no"]), step["step"], step["from_state"], step["to_state"], step["username"],
                          str(step["step_at"])[:19], step["comment"])
    console.print(table)


audit_app = typer.Typer(help="the hash-chained audit log", invoke_without_command=True)
app.add_typer(audit_app, name="audit")


@audit_app.callback()
def audit_command(
    ctx: typer.Context,
    person: Optional[str] = typer.Option(None, "--person", help="who looked at this person's pay"),
    action: Optional[str] = typer.Option(None, "--action", help="only this action (login, view_pay, run, …)"),
    limit: int = typer.Option(200, "--limit", help="latest entries shown"),
    db: Optional[str] = DbOption,
) -> None:
    """The audit log, latest first; `payroll audit verify` checks the chain."""
    if ctx.invoked_subcommand is not None:
        return
    from rich.table import Table

    from .db import connect
    from .office.audit import entries
    con = connect(db, read_only=True)
    table = Table(title=f"audit log{' for ' + person if person else ''}")
    for header in ("#", "at (UTC)", "user", "via", "address", "action", "target", "detail"):
        table.add_column(header)
    for entry in entries(con, person=person, action=action, limit=limit):
        table.add_row("pending" if entry["seq"] is None else str(entry["seq"]), str(entry["logged_at"])[:19], entry["username"], entry["via"], entry["address"],
                      entry["action"], entry["target"], entry["detail"])
    console.print(table)


@audit_app.command("verify")
def audit_verify_command(db: Optional[str] = DbOption) -> None:
    """Recompute the hash chain: exit 0 intact, 2 broken (each break named)."""
    from .db import connect
    from .db import resolve_db_path
    from .office.audit import pending_entries, pending_path, verify
    result = verify(connect(db, read_only=True))
    console.print(str(result), highlight=False)
    waiting = pending_entries(str(resolve_db_path(db)))
    if waiting:
        console.print(f"{len(waiting)} entr{'y' if len(waiting) == 1 else 'ies'} pending in "
                      f"{pending_path(str(resolve_db_path(db)))}: chained at the next write", highlight=False)
    if not result.ok:
        raise PayrollError("the audit log's hash chain is broken: the entries named above were edited, "
                           "removed or inserted after they were written")


@app.command("synth")
def synth_command(
    people: int = typer.Option(..., "--people", help="roster size"),
    regions: Optional[list[str]] = typer.Option(
        None, "--regions", help="region codes, comma separated or repeated (default: all five sample places)"),
    seed: int = typer.Option(2025, "--seed", help="random seed: the same arguments give the same roster"),
    year: int = typer.Option(2025, "--year", help="year of the attendance"),
    db: Optional[str] = DbOption,
    out: Optional[Path] = typer.Option(None, "--out", help="write employees.csv and attendance.csv to this "
                                                            "folder instead of the database"),
    replace: bool = typer.Option(False, "--replace", help="replace a roster already in the database"),
) -> None:
    """A deterministic synthetic roster and a year of attendance, into the database or as files."""
    from .synth import synth_to

    if db and out:
        if db != os.environ.get("PAYROLL_DB"):
            _fail("give --db or --out, not both")
        db = None                                   # PAYROLL_DB is a default, and --out needs no database
    codes = [code.strip() for item in regions or [] for code in item.split(",") if code.strip()]
    with _progress() as progress:
        summary = synth_to(people=people, regions=codes or None, seed=seed, year=year, db=db, out=out,
                           replace=replace, progress=progress)
    console.print(summary)


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
    force: bool = ForceOption,
) -> None:
    """Budget scenario: baseline against scenario, cost by region, unit and component, floor check."""
    FORCE_SPECIAL_TARGETS.set(force)
    from .simulate.cli import run_simulate
    run_simulate(scenario_file, year=year, years=years, people=people, seed=seed, out=out, db=db,
                 tables=tables, console=console, status=err_console.status)


tables_app = typer.Typer(no_args_is_help=True, help="The policy tables: what is still a sample.")
app.add_typer(tables_app, name="tables")


@tables_app.command("status")
def tables_status_command(
    region: Optional[str] = typer.Option(None, "--region", help="one region code (default: every city)"),
    month: Optional[str] = typer.Option(None, "--month", help="month, YYYY-MM (default: this month)"),
    db: Optional[str] = DbOption,
    tables: Optional[str] = TablesOption,
) -> None:
    """Sample, disputed and expired figures in force: what finance still has to replace."""
    from .reports.table_status import print_status
    print_status(tables, region, month, console)


def _usage_error_classes() -> tuple[type, ...]:
    """Click's usage errors: typer ≥ 0.29 ships its own copy of click (typer._click), older typer
    uses click itself; either may be absent."""
    classes = []
    try:
        from typer._click.exceptions import ClickException
        classes.append(ClickException)
    except ImportError:
        pass
    try:
        from click.exceptions import ClickException
        classes.append(ClickException)
    except ImportError:
        pass
    return tuple(classes)


def main() -> None:
    sys.exit(run_cli())


def run_cli(args: list[str] | None = None) -> int:
    """Run the command line and return the exit status (SPEC): 0 done, 2 bad input, bad use or a
    failing environment (one line naming the reason), 1 an internal error (with its traceback)."""
    try:
        # a fresh context per invocation: --force (a context variable) never outlives its command
        returned = contextvars.copy_context().run(app, args=args, standalone_mode=False)
    except PayrollError as error:
        err_console.print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
        return 2
    except typer.Exit as exit_:
        return exit_.exit_code
    except (typer.Abort, KeyboardInterrupt):
        err_console.print("aborted")
        return 130
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except Exception as error:  # click usage errors come through here too
        if isinstance(error, _usage_error_classes()):
            error.show()
            return 2
        reason = environment_reason(error)
        if reason is not None:
            err_console.print(f"[bold red]error:[/] {reason} (nothing was written)", highlight=False,
                              soft_wrap=True)
            return 2
        err_console.print_exception()
        return 1
    # with standalone_mode=False click returns the code of a typer.Exit raised inside a command
    # (every _fail) instead of raising it: that code is the exit status
    return returned if isinstance(returned, int) else 0


if __name__ == "__main__":
    main()
