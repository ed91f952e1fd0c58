"""`payroll demo`: a deterministic synthetic roster on the shipped tables, a year run, reports out."""
from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from .db import connect, scalar, table_exists
from .errors import PayrollError
from .policy import load_policy

DEMO_MARKER = "demo_marker"


def _open_demo_db(db: str | None, out: Path):
    path = Path(db) if db else out / "payroll-demo.duckdb"
    path.parent.mkdir(parents=True, exist_ok=True)
    con = connect(str(path))
    holds_real_data = not table_exists(con, DEMO_MARKER) and scalar(con, "SELECT count(*) FROM employees")
    if holds_real_data:
        con.close()
        raise PayrollError(f"{path} already holds a roster that the demo did not make; "
                           f"give the demo its own --db or --out")
    for table in ("payslips", "offcycle_payslips", "offcycle_runs", "attendance", "employees", "employee_history", "arrears", "closed_months",
                  "month_inputs", "assessments", "level_changes", "payments", "employee_finance", "users",
                  "user_roles", "office_settings", "month_workflow", "month_workflow_steps", "payslip_confirmations",
                  "audit_log"):
        if table_exists(con, table):
            con.execute(f"DELETE FROM {table}")
    con.execute(f"CREATE TABLE IF NOT EXISTS {DEMO_MARKER} (made_at TIMESTAMP)")
    con.execute(f"INSERT INTO {DEMO_MARKER} VALUES (now())")
    return con, path


def run_demo(people: int, year: int, seed: int, out: Path, db: str | None, tables: str | None,
             console: Console, progress: Progress) -> None:
    from .demo_year import add_demo_year_end, once_a_year, settlement_of
    from .engine.offcycle import run_offcycle
    from .engine.run import run_months
    from .reports.bank import export_bank
    from .reports.floor import floor_check, floor_table
    from .reports.register import export_register
    from .synth import synth_roster, write_roster

    started = time.perf_counter()
    policy = load_policy(tables)
    con, path = _open_demo_db(db, out)
    months = [f"{year}-{m:02d}" for m in range(1, 13)]
    with progress:
        roster_task = progress.add_task("生成花名册 synthetic roster", total=1)
        employees, attendance = synth_roster(people, seed=seed, year=year)
        write_roster(con, employees, attendance)
        _add_bank_accounts(con)
        # issue 14: leave of every kind, a probation hire, a non-work death, leavers' untaken leave
        from .synth_life import synth_life_events, write_life_events
        write_life_events(con, *synth_life_events(employees, year, seed))
        # issue 16: four years of appraisal results, and the level changes they bring this year
        from .levels.demo import demo_assessments, demo_level_changes
        appraisals = demo_assessments(con, policy, year, seed)
        levels_file, levels_applied = demo_level_changes(con, policy, year, out)
        add_demo_year_end(con, year)                  # issue 13: bonuses, a severance, bank accounts
        progress.advance(roster_task)
        run_task = progress.add_task("计算工资 payroll months", total=12)
        # issue 16: January pays the appraisal bonus as the year's 全年一次性奖金; a December bonus
        # may then no longer ask to be taxed apart (once a year)
        run_months(con, policy, months[0], months[0], progress=lambda _: progress.advance(run_task))
        once_a_year(con, year)
        # issue 13: one leaver's final settlement, an off-cycle run before the regular run of the month
        settlement = settlement_of(con)
        offcycle_runs = []
        if settlement:
            leaver, leave_month = settlement
            if leave_month > months[1]:
                run_months(con, policy, months[1], months[months.index(leave_month) - 1],
                           progress=lambda _: progress.advance(run_task))
            offcycle_runs.append(run_offcycle(con, policy, leave_month, "settlement", [leaver]))
            rest = months[months.index(leave_month):]
        else:
            rest = months[1:]
        run_months(con, policy, rest[0], rest[-1], progress=lambda _: progress.advance(run_task))
        export_task = progress.add_task("导出工资表 registers", total=12)
        files = []
        for month in months:
            target = out / f"register-{month}.xlsx"
            export_register(con, month, "xlsx", target)
            files.append(target)
            progress.advance(export_task)
        bank_task = progress.add_task("代发清单 bank files", total=12)
        for month in months:                          # issue 13: every month pays, net pay never < 0
            export_bank(con, month, "xlsx", out / f"bank-{month}.xlsx")
            progress.advance(bank_task)
        from .engine.offcycle import select_run
        for run in offcycle_runs:                     # issue 13: every run its own bank file
            select_run(con, run.month, run.run_id)
            export_bank(con, run.month, "xlsx", out / f"bank-{run.month}-{run.run_id}.xlsx")
            con.execute("DROP VIEW IF EXISTS temp.payslips")
        csv_target = out / f"register-{months[-1]}.csv"
        export_register(con, months[-1], "csv", csv_target)

    _print_summary(con, policy, year, console)
    console.print("注意 Note: the pay scales (pay_scale.csv), allowances and accident-insurance premiums of the "
                  "shipped tables are SAMPLES, not any city's approved 薪酬标准; replace them with your own "
                  "figures (`payroll tables status` lists every sample in force).", style="bold yellow",
                  highlight=False)
    from .reports.table_status import warning_lines
    regions = [r[0] for r in con.execute("SELECT DISTINCT region_code FROM payslips WHERE month = ?",
                                         [months[-1]]).fetchall()]
    for line in warning_lines(policy.frames, months[-1], regions):
        console.print(line, style="yellow", highlight=False, markup=False)
    console.print(floor_table(floor_check(con, months[-1]), months[-1], policy.region_names()))
    console.print(f"考核 appraisals: {appraisals:,} results {year - 4}–{year - 1}; 层级 {levels_applied.applied:,} "
                  f"level changes from {year}-01-01 applied ({levels_file.name})")
    bonuses = con.execute("""SELECT month, annual_bonus_method, count(*) FROM payslips WHERE appraisal_bonus > 0
                             GROUP BY ALL ORDER BY ALL""").fetchall()
    console.print("年度考核奖 appraisal bonuses, paid as the 全年一次性奖金: " + "; ".join(
        f"{month} {method} {count:,}" for month, method, count in bonuses), highlight=False)
    _print_users(con, console)
    console.print(f"database: {path}")
    sample = scalar(con, "SELECT min(employee_id) FROM employees WHERE employee_id >= 'FJ000042'")
    console.print(f"next: export PAYROLL_DB={path}   (or give --db {path} to each command), then e.g.\n"
                  f"      payroll explain {sample} --month {year}-08")
    console.print(f"registers: {files[0].parent}/register-{year}-01.xlsx … register-{year}-12.xlsx, "
                  f"and {csv_target.name}")
    console.print(f"bank files: bank-{year}-01.xlsx … bank-{year}-12.xlsx (people paid 0 on the sheet 未发放)")
    for run in offcycle_runs:
        console.print(f"off-cycle: {run}; its bank file bank-{run.month}-{run.run_id}.xlsx", highlight=False)
    from .reports.year_end import cliff_warnings
    for line in cliff_warnings(con, months[-1]):
        console.print(line, highlight=False)
    console.print(f"done in {time.perf_counter() - started:.1f} s")


def _print_summary(con, policy, year: int, console: Console) -> None:
    names = policy.region_names()
    rows = con.execute(f"""
        SELECT region_code, count(DISTINCT employee_id) AS people, sum(gross_pay) AS gross,
               sum(iit) AS iit, sum(net_pay) AS net, sum(employer_cost) AS cost
        FROM payslips WHERE month BETWEEN '{year}-01' AND '{year}-12'
        GROUP BY ALL ORDER BY region_code""").fetchall()
    table = Table(title=f"{year} 全年汇总 Year summary (yuan)")
    for header in ("地区 Region", "人数 People", "应发 Gross", "个税 Tax", "实发 Net", "单位成本 Employer cost"):
        table.add_column(header, justify="left" if header.startswith("地区") else "right")
    for code, heads, gross, iit, net, cost in rows:
        table.add_row(f"{code} {names.get(code, '')}", f"{heads:,}", f"{gross:,.2f}", f"{iit:,.2f}",
                      f"{net:,.2f}", f"{cost:,.2f}")
    console.print(table)


def _add_bank_accounts(con) -> None:
    """Synthetic 19-digit accounts (not real cards: prefix 9999) so the demo's bank file can be written."""
    con.execute("INSERT OR REPLACE INTO employee_finance (employee_id, bank_account) "
                "SELECT employee_id, '9999' || lpad(CAST(hash(employee_id) % 1000000000000000 AS VARCHAR), 15, '0') "
                "FROM employees")


def _print_users(con, console: Console) -> None:
    """One user per role for trying the web application (`payroll serve --db …`), passwords printed:
    a demo only; a real office adds its users with `payroll user add`."""
    from .office.users import Grant, add_user, generate_password
    employee_id, unit = con.execute("SELECT employee_id, unit FROM employees ORDER BY employee_id LIMIT 1").fetchall()[0]
    grants = {"clerk": [Grant("clerk", "*", True)], "reviewer": [Grant("reviewer", "*", True)],
              "approver": [Grant("approver", "*", True)], "hr": [Grant("hr", unit, True)],
              "auditor": [Grant("auditor", "*", True)], "employee": [Grant("employee", "*", True)],
              "admin": [Grant("admin", "*", True)]}
    table = Table(title="网页用户 Web users (demo only: `payroll serve --db` this database, then log in)")
    for header in ("用户 user", "密码 password", "角色 role"):
        table.add_column(header)
    for name, granted in grants.items():
        password = generate_password()
        add_user(con, name, password, granted, display_name=f"演示 demo {name}",
                 employee_id=employee_id if name == "employee" else None)
        table.add_row(name, password, ", ".join(str(g) for g in granted) + (f" ({employee_id})" if name == "employee" else ""))
    console.print(table)
