"""Why is my pay this amount: one person's month, line by line, from the engine's own trace.

Nothing here computes pay. `Explainer` keeps a read-only connection prepared once (macro, policy
tables, calendar, the month's parameter tables) and asks `engine.trace.trace_person` for the
person's lines: the same compiled query as the run, filtered to one person. The explanation then
checks every amount against the stored `payslips` row and says so.

Formats: text (terminal), json (every line, machine-readable), xlsx (one sheet for HR).
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb

from ..calendar import calendar_frame
from ..columns import EMPLOYEE_CONTRIBUTIONS, EMPLOYER_CONTRIBUTIONS, PAY_COMPONENTS
from ..db import table_exists
from ..engine.context import Month, install_all_month_parameters
from ..engine.pipeline import stored_columns
from ..engine.retro import arrears_trace_lines
from ..engine.trace import TraceLine, trace_person
from ..errors import PayrollError
from ..money import ROUND_DIV_MACRO
from ..policy import Policy
from . import xlsx

FORMATS = ("text", "json", "xlsx")

# the payslip as a person reads it: pay, what is taken off, what is paid; then the employer's side
PAY_LINES = PAY_COMPONENTS + ("arrears_pay", "gross_pay")
DEDUCTION_LINES = EMPLOYEE_CONTRIBUTIONS + ("iit", "iit_annual_bonus", "iit_severance", "deduction",
                                           "balance_recovery")
EMPLOYER_LINES = EMPLOYER_CONTRIBUTIONS + ("accident_insurance_employer", "employer_cost")
PAYSLIP_SECTIONS = (
    ("应发", "Pay", PAY_LINES),
    ("扣款", "Deductions", DEDUCTION_LINES),
    ("实发", "Paid", ("shortfall_carried", "net_pay", "balance_owed")),
    ("个税累计", "Income tax, year to date", ("taxable_income_ytd", "iit_ytd")),
    ("单位承担", "Paid by the employer", EMPLOYER_LINES),
)
PAYSLIP_LINES = tuple(name for _, _, names in PAYSLIP_SECTIONS for name in names)
# the person's own inputs shown with the explanation (table figures appear through their rows)
INPUT_LINES = ("region_code", "unit", "category", "level", "post", "risk_class", "hire_date", "leave_date",
               "service_start", "special_deduction", "declared_base", "unpaid_leave_days",
               "overtime_workday_hours", "overtime_restday_hours", "overtime_holiday_hours", "night_shifts",
               "bonus", "deduction_requested", "deduction_kind", "paid_days_in_month", "paid_days_employed")
# the inputs a payslip keeps, so a month is explained with what the run saw even if the employee
# record (level, post, …) or the attendance was changed later: employees column -> payslips column
RUN_EMPLOYEE_INPUTS = {
    "region_code": "region_code", "unit": "unit", "category": "category", "level": "level", "post": "post",
    "hire_date": "hire_date", "leave_date": "leave_date", "service_start": "service_start",
    "special_deduction": "special_deduction", "contribution_base": "declared_base",
}
RUN_ATTENDANCE_INPUTS = ("unpaid_leave_days", "overtime_workday_hours", "overtime_restday_hours",
                         "overtime_holiday_hours", "night_shifts", "bonus", "deduction", "deduction_kind")
# issue 13: the payslip keeps the deduction asked for as deduction_requested (`deduction` is what was
# taken) and the kind as deduction_kind (empty read as other): attendance column -> payslips column
STORED_AS = {"deduction": "deduction_requested"}
ATTENDANCE_READ = {"deduction_kind": "CASE WHEN a.deduction_kind IN ('court', 'damages', 'recovery') "
                                     "THEN a.deduction_kind ELSE 'other' END"}
PERSON_COLUMNS = ("employee_id", "name", "id_number_masked", "unit", "region_code", "category", "level", "post")


# SQL types of the input columns (payroll/db.py), for the temporary copies above
TYPE_OF = {"region_code": "VARCHAR", "unit": "VARCHAR", "category": "VARCHAR", "level": "INTEGER",
           "post": "VARCHAR", "hire_date": "DATE", "leave_date": "DATE", "service_start": "DATE",
           "special_deduction": "DECIMAL(18,2)", "contribution_base": "DECIMAL(18,2)",
           "unpaid_leave_days": "DECIMAL(8,2)", "overtime_workday_hours": "DECIMAL(8,2)",
           "overtime_restday_hours": "DECIMAL(8,2)", "overtime_holiday_hours": "DECIMAL(8,2)",
           "night_shifts": "INTEGER", "bonus": "DECIMAL(18,2)", "deduction": "DECIMAL(18,2)",
           "deduction_kind": "VARCHAR"}


def prepare_read_only(con: duckdb.DuckDBPyConnection, policy: Policy, years: list[int]) -> None:
    """What engine.run.prepare_connection installs, as temporary objects only, so a read-only
    database can be explained (the payslips table and the policy snapshot are already there)."""
    con.execute(ROUND_DIV_MACRO.replace("CREATE OR REPLACE MACRO", "CREATE OR REPLACE TEMP MACRO"))
    policy.install(con)
    con.register("_calendar_frame", calendar_frame(sorted(set(years))))
    con.execute("CREATE OR REPLACE TEMP TABLE calendar_days AS "
                "SELECT CAST(day AS DATE) AS day, kind, paid, paid_cum FROM _calendar_frame")
    con.unregister("_calendar_frame")


class Explainer:
    """A connection prepared once for many explanations (the CLI makes one, `serve` keeps one).

    The month's parameter tables are kept until another month is asked for, so explaining many
    people of one month costs one filtered query each."""

    def __init__(self, con: duckdb.DuckDBPyConnection, policy: Policy):
        if not table_exists(con, "payslips"):
            raise PayrollError("the database holds no payslips: run `payroll run --month YYYY-MM` first")
        self.con = con
        self.policy = policy
        if not table_exists(con, "opening_balances"):      # a database made before opening balances
            from ..db import OPENING_BALANCES_DDL
            con.execute(OPENING_BALANCES_DDL.replace("CREATE TABLE", "CREATE TEMP TABLE"))
        self.years: set[int] = set()
        self.month: str | None = None
        self.stored_units = stored_columns()
        database = con.execute("SELECT current_database()").fetchall()[0][0]
        self.main = '"' + database.replace('"', '""') + '".main'      # past the temporary tables

    @contextmanager
    def inputs_as_run(self, employee_id: str, month_label: str, stored: dict | None = None):
        """While the block runs, `employees` and `attendance` name temporary tables holding this
        person's inputs as the stored payslip of the month recorded them. The engine's query then
        sees what the run saw: a level changed since is explained as it was, and compare sees the
        change between two months. Nothing is done when the month was not run or when the inputs
        are still the same (the usual case: no temporary table to make)."""
        stored = stored if stored is not None else self.stored_payslip(employee_id, month_label)
        if stored is None or self._inputs_unchanged(employee_id, month_label, stored):
            yield
            return
        replaced = ", ".join(f"CAST(? AS {TYPE_OF[c]}) AS {c}" for c in RUN_EMPLOYEE_INPUTS)
        try:
            self.con.execute(f"CREATE OR REPLACE TEMP TABLE employees AS SELECT * REPLACE ({replaced}) "
                             f"FROM {self.main}.employees WHERE employee_id = ?",
                             [stored[stored_as] for stored_as in RUN_EMPLOYEE_INPUTS.values()] + [employee_id])
            attendance = ", ".join(f"CAST(? AS {TYPE_OF[c]}) AS {c}" for c in RUN_ATTENDANCE_INPUTS)
            self.con.execute(f"CREATE OR REPLACE TEMP TABLE attendance AS SELECT CAST(? AS VARCHAR) AS employee_id, "
                             f"CAST(? AS VARCHAR) AS month, {attendance}",
                             [employee_id, month_label] + [stored[STORED_AS.get(c, c)] for c in RUN_ATTENDANCE_INPUTS])
            yield
        finally:
            self.con.execute("DROP TABLE IF EXISTS temp.main.employees")
            self.con.execute("DROP TABLE IF EXISTS temp.main.attendance")

    def _inputs_unchanged(self, employee_id: str, month_label: str, stored: dict) -> bool:
        columns = ", ".join(f"e.{c}" for c in RUN_EMPLOYEE_INPUTS if c != "service_start")
        attendance = ", ".join(ATTENDANCE_READ.get(c, f"coalesce(a.{c}, 0)") for c in RUN_ATTENDANCE_INPUTS)
        found = self.con.execute(
            f"SELECT {columns}, coalesce(e.service_start, e.hire_date), {attendance} "
            f"FROM {self.main}.employees e LEFT JOIN {self.main}.attendance a "
            f"ON a.employee_id = e.employee_id AND a.month = ? WHERE e.employee_id = ?",
            [month_label, employee_id]).fetchall()
        if not found:
            return False
        order = [c for c in RUN_EMPLOYEE_INPUTS if c != "service_start"] + ["service_start"]
        expected = [stored[RUN_EMPLOYEE_INPUTS[c]] for c in order] + [stored[STORED_AS.get(c, c)]
                                                                      for c in RUN_ATTENDANCE_INPUTS]
        return list(found[0]) == expected

    def use_month(self, month: Month) -> None:
        if month.year not in self.years:
            years = self.years | {month.year}
            prepare_read_only(self.con, self.policy, sorted(years))
            self.years = years
            self.month = None
        if self.month != month.label:
            # the Policy's tables of the month when a run or an earlier explain made them
            install_all_month_parameters(self.con, self.policy, month)
            self.month = month.label

    def trace(self, employee_id: str, month_label: str, stored: dict | None = None) -> list[TraceLine]:
        month = Month.parse(month_label)
        self.use_month(month)
        with self.inputs_as_run(employee_id, month.label, stored):
            return trace_person(self.con, self.policy, employee_id, month.label, month_ready=True)

    def person(self, employee_id: str) -> dict:
        cursor = self.con.execute(f"SELECT {', '.join(PERSON_COLUMNS)} FROM {self.main}.employees "
                                  "WHERE employee_id = ?",
                                  [employee_id])
        found = cursor.fetchall()
        if not found:
            raise PayrollError(f"no employee {employee_id!r} in the database")
        return dict(zip(PERSON_COLUMNS, found[0]))

    def stored_payslip(self, employee_id: str, month_label: str) -> dict | None:
        cursor = self.con.execute(f"SELECT * FROM {self.main}.payslips WHERE month = ? AND employee_id = ?",
                                  [month_label, employee_id])
        names = [d[0] for d in cursor.description]
        found = cursor.fetchall()
        return dict(zip(names, found[0])) if found else None

    def explain(self, employee_id: str, month_label: str, run: str | None = None) -> "Explanation":
        from ..engine.offcycle import month_state, person_runs, run_trace_lines, settled_state
        person = self.person(employee_id)
        month = Month.parse(month_label)
        stored = self.stored_payslip(employee_id, month.label)
        # issue 13: with off-cycle runs the recomputed month is the sum of its runs; each run's part follows
        runs = person_runs(self.con, self.main, employee_id, month.label)
        if run is not None and run != "regular" and run not in {r["offcycle_run_id"] for r in runs}:
            raise PayrollError(f"--run {run!r}: {employee_id} has no payslip of that run in {month.label}; their runs: "
                               f"{', '.join(['regular', *(r['offcycle_run_id'] for r in runs)])}")
        try:
            lines = self.trace(employee_id, month.label, stored)
        except PayrollError:
            if stored is not None or not runs:
                raise
            lines = []      # issue 13: a settlement of someone who had left (arrears owed): its runs only
        if runs or run is not None:
            lines += run_trace_lines(stored, runs, run)
            stored = month_state(stored, runs) if stored is not None else settled_state(runs)
        if table_exists(self.con, "arrears"):
            # 补发/补扣 paid this month, one line per month earned and component (issue 7)
            lines += arrears_trace_lines(self.con, employee_id, month.label)
        return Explanation(person, month.label, lines, stored,
                           differences(lines, stored, self.stored_units),
                           self.policy.region_names().get(person["region_code"], ""),
                           self.level_lines(employee_id, month))

    def level_lines(self, employee_id: str, month: Month, facts=None) -> list[str]:
        """Issue 16: the person's level history and next level as of the month's last day; `facts`
        (levels.path.LevelFacts) when the caller has them already (the web's month table)."""
        from ..levels.path import level_path
        return level_path(self.con, self.policy, employee_id, on=month.end, facts=facts).lines()


def differences(lines: list[TraceLine], stored: dict | None, units: dict[str, str]) -> list[str]:
    """Where the recomputed line differs from the stored payslip (tables changed since the run)."""
    if stored is None:
        return ["no stored payslip for this month: the amounts are computed now, not yet run"]
    by_name = {line.name: line for line in lines}
    found = []
    for column, unit in units.items():
        if column not in by_name or unit != "fen":
            continue
        if by_name[column].yuan != stored[column]:
            found.append(f"{column}: stored {stored[column]}, recomputed {by_name[column].yuan}")
    return found


@dataclass
class Explanation:
    person: dict
    month: str
    lines: list[TraceLine]
    stored: dict | None
    mismatches: list[str]
    region_name: str = ""
    levels: list[str] = field(default_factory=list)     # level history and next level (issue 16)
    by_name: dict[str, TraceLine] = field(init=False)

    def __post_init__(self):
        self.by_name = {line.name: line for line in self.lines}

    def amount(self, name: str) -> Decimal:
        return self.by_name[name].yuan

    @property
    def rule_lines(self) -> list[TraceLine]:
        return [line for line in self.lines if line.formula]

    @property
    def input_lines(self) -> list[TraceLine]:
        return [self.by_name[name] for name in INPUT_LINES]

    def to_dict(self) -> dict:
        return {
            "employee": {k: _plain(v) for k, v in self.person.items()},
            "region_name": self.region_name,
            "month": self.month,
            "tables_digest": self.stored.get("tables_digest") if self.stored else None,
            "run_id": self.stored.get("run_id") if self.stored else None,
            "matches_stored_payslip": not self.mismatches,
            "mismatches": self.mismatches,
            "payslip": [{"section_zh": zh, "section_en": en,
                         "lines": [_line_summary(self.by_name[name]) for name in names]}
                        for zh, en, names in PAYSLIP_SECTIONS],
            "inputs": [_line_summary(line) for line in self.input_lines],
            "lines": [_line_dict(line) for line in self.rule_lines],
            "levels": self.levels,
        }


def _plain(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _line_summary(line: TraceLine) -> dict:
    value = str(line.yuan) if line.unit == "fen" and line.raw is not None else line.shown
    return {"name": line.name, "label_zh": line.label_zh, "label_en": line.label_en, "value": value}


def _row_dict(row) -> dict:
    return {"table": row.table, "row_no": row.row_no, "effective_from": row.effective_from,
            "source": row.source, "values": {k: _plain(v) for k, v in row.values.items()
                                             if k not in ("effective_from", "source")}}


def _line_dict(line: TraceLine) -> dict:
    return {**_line_summary(line), "unit": line.unit, "shown": line.shown, "formula": line.formula,
            "basis": line.basis, "rows": [_row_dict(row) for row in line.rows]}


def row_text(row) -> str:
    figures = ", ".join(f"{k}={_plain(v)}" for k, v in row.values.items()
                        if k not in ("effective_from", "source", "region_code") and v is not None)
    return (f"{row.table} row {row.row_no}: {figures}; effective_from {row.effective_from}; "
            f"source {row.source}")


def person_heading(explanation: Explanation) -> str:
    p = explanation.person
    return (f"{p['employee_id']} {p['name']} ({p['id_number_masked'] or '—'}) · {p['unit']} · "
            f"{p['region_code']} {explanation.region_name} · {p['category']} 层级 level {p['level']} · "
            f"岗位 post {p['post']}")


def explanation_text(explanation: Explanation) -> str:
    out = [f"工资说明 Pay explanation {explanation.month}: {person_heading(explanation)}"]
    if explanation.mismatches:
        out.append("注意 NOTE: the recomputation differs from the stored payslip (policy tables changed "
                   "since the run?): " + "; ".join(explanation.mismatches))
    else:
        out.append("核对 Check: every amount equals the stored payslip.")
    for zh, en, names in PAYSLIP_SECTIONS:
        out.append(f"\n{zh} {en}")
        for name in names:
            line = explanation.by_name[name]
            out.append(f"  {line.label_zh} {line.label_en}".ljust(48) + f"{line.shown:>16}")
    out.append("\n输入 Inputs")
    for line in explanation.input_lines:
        out.append(f"  {line.label_zh} {line.label_en}: {line.shown}")
    if explanation.levels:
        out.append("\n层级 Level history and next level")
        out += [f"  {line}" for line in explanation.levels]
    out.append("\n计算过程 How each line is computed")
    for line in explanation.rule_lines:
        out.append(f"  {line.label_zh} {line.label_en} = {line.shown}")
        out.append(f"      = {line.formula}")
        out.append(f"      依据 basis: {line.basis}")
        for row in line.rows:
            out.append(f"      表 table {row_text(row)}")
    return "\n".join(out) + "\n"


def write_explanation_xlsx(explanation: Explanation, out: str | Path) -> Path:
    with xlsx.atomic_output(out) as path:
        workbook = xlsx.new_workbook(path, constant_memory=False)
        style = xlsx.styles(workbook)
        bold, wrap, money = style.bold, style.wrapped, style.money_top
        sheet = workbook.add_worksheet(xlsx.safe_sheet_name(f"工资说明 {explanation.month}"))
        sheet.write_string(0, 0, f"工资说明 {explanation.month}: {person_heading(explanation)}", bold)
        sheet.write_string(1, 0, "核对: 与工资表一致 (matches the stored payslip)" if not explanation.mismatches
                           else "注意: " + "; ".join(explanation.mismatches), wrap)
        headers = ("项目", "Item", "金额/数值 Value", "公式 Formula (numbers put in)", "依据 Basis",
                   "所用表行 Table rows used")
        for col, (text, width) in enumerate(zip(headers, (22, 28, 16, 60, 40, 80))):
            sheet.write_string(3, col, text, bold)
            sheet.set_column(col, col, width)
        row = 4
        for line in explanation.rule_lines + explanation.input_lines:
            sheet.write_string(row, 0, line.label_zh, wrap)
            sheet.write_string(row, 1, line.label_en, wrap)
            if line.unit == "fen" and line.raw is not None:
                sheet.write_number(row, 2, xlsx.fen_to_number(line.raw), money)
            else:
                sheet.write_string(row, 2, line.shown, wrap)
            sheet.write_string(row, 3, line.formula, wrap)
            sheet.write_string(row, 4, line.basis, wrap)
            sheet.write_string(row, 5, "\n".join(row_text(r) for r in line.rows), wrap)
            row += 1
        sheet.freeze_panes(4, 2)
        workbook.close()
    return Path(out)


def write_explanation(explanation: Explanation, fmt: str, out: str | Path | None) -> str | None:
    """Text or JSON to `out` (or returned for printing when out is None); XLSX needs `out`."""
    return write_report(fmt, out, lambda path: write_explanation_xlsx(explanation, path),
                        lambda: json.dumps(explanation.to_dict(), ensure_ascii=False, indent=2) + "\n",
                        lambda: explanation_text(explanation))


def write_report(fmt: str, out: str | Path | None, write_xlsx, as_json, as_text) -> str | None:
    """The three formats of explain and compare: XLSX written to `out` (which it needs); text or
    JSON returned for printing when `out` is None, else written to it."""
    if fmt not in FORMATS:
        raise PayrollError(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}")
    if fmt == "xlsx":
        if out is None:
            raise PayrollError("--format xlsx needs --out FILE.xlsx")
        write_xlsx(out)
        return None
    text = as_json() if fmt == "json" else as_text()
    if out is None:
        return text
    with xlsx.atomic_output(out) as path:
        Path(path).write_text(text, encoding="utf-8")
    return None
