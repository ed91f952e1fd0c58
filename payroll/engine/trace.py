"""One person's month, line by line: the run's compiled SQL for one person (the context filtered
to the person, then the same rule stages over that row), keeping every intermediate column, with the formula filled in, the legal basis and every policy
row it read (value, effective_from, source). Explain prints this; it never re-implements a rule.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal

import duckdb

from ..rules.citations import basis_for
from ..errors import PayrollError
from ..policy import FUNDS, Policy
from ..db import optimiser_off
from .context import CONTEXT_BY_NAME, NATIONAL_PARAMETERS, Month, context_sql, install_all_month_parameters
from .pipeline import all_rules, final_stage, stages_sql
from .rule import Rule
from ..rules.leave import ROW_TABLES as LEAVE_ROW_TABLES

# which policy table a *_row / *_rows column points into
ROW_TABLES = {
    "pay_scale_row": "pay_scale", "minimum_wage_row": "minimum_wage", "allowances_rows": "allowances",
    "accident_insurance_rows": "accident_insurance", "housing_fund_row": "housing_fund",
    "posts_row": "posts", "iit_brackets_rows": "iit_brackets",
    "performance_pay_row": "performance_pay", "appraisal_bonus_row": "performance_pay",
    **{f"{fund}_row": "social_insurance" for fund in FUNDS},
    **{f"{name}_row": "national_parameters" for name in NATIONAL_PARAMETERS},
    **LEAVE_ROW_TABLES,    # issue 14: sick_pay, maternity, annual_leave_policy, probation
}


@dataclass(frozen=True)
class PolicyRow:
    table: str
    row_no: int
    values: dict
    effective_from: str | None
    source: str



@dataclass(frozen=True)
class TraceLine:
    name: str
    label_zh: str
    label_en: str
    unit: str
    raw: object                       # as the engine holds it (fen, ppm, hundredths …)
    shown: str                        # for people: yuan, days, rates
    formula: str                      # with the numbers put in ("" for inputs)
    basis: str
    rows: tuple[PolicyRow, ...] = field(default=())

    @property
    def yuan(self) -> Decimal | None:
        return Decimal(self.raw) / 100 if self.unit == "fen" and self.raw is not None else None


def show(value, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "fen":
        return f"{Decimal(value) / 100:,.2f}"
    if unit == "centi":
        return f"{Decimal(value) / 100:g}"
    if unit == "ppm":
        return f"{Decimal(value) / 1_000_000:g}"
    if unit == "bool":
        return "yes" if value else "no"
    return str(value)


# How people write the figures the engine holds scaled (issue 12: explain printed proration factors
# such as 356250000 and tax thresholds in fen). The unit gives the scale; these give the words:
# rates as percentages (劳动法 art. 44 writes 150 %), 月计薪天数 in days (21.75 days), hours in hours.
RATE_SUFFIXES = ("_rate", "_share", "_ratio")        # a ppm column with such a name is a rate
DAYS = frozenset({"pay_days_per_month", "unpaid_leave_days", "leave_unpaid_days", "paid_leave_days",
                  "sick_leave_days", "annual_leave_taken_ytd"})
HOURS = frozenset({"hours_per_day", "overtime_workday_hours", "overtime_restday_hours", "overtime_holiday_hours"})
# the tax tables' lists, one element per bracket: the unit of each element
ELEMENT_UNITS = {"iit_thresholds": "fen", "iit_quick_deductions": "fen", "iit_rates": "ppm",
                 "iit_bonus_thresholds": "fen", "iit_bonus_quick_deductions": "fen", "iit_bonus_rates": "ppm"}
# integer rules whose value is days × 月计薪天数 (ppm): shown on the ppm scale (21 × 21.75 = 456.75)
SCALED_AS = {"proration_numerator": "ppm", "proration_denominator": "ppm"}


def percent(value) -> str:
    """A ppm rate as a percentage: 30000 → '3 %', 1500000 → '150 %', 5000 → '0.5 %'."""
    return f"{(Decimal(value) / 10_000).normalize():f} %"


def show_named(name: str, value, unit: str) -> str:
    """`show` with the words people write: '21.75 days', '8 hours', '3 %', tax thresholds in yuan."""
    if isinstance(value, (list, tuple)) and name in ELEMENT_UNITS:
        element = ELEMENT_UNITS[name]
        return "[" + ", ".join("—" if v is None else percent(v) if element == "ppm" else show(v, element)
                               for v in value) + "]"
    unit = SCALED_AS.get(name, unit)
    if value is None:
        return show(value, unit)
    if unit == "ppm" and name.endswith(RATE_SUFFIXES):
        return percent(value)
    text = show(value, unit)
    if name in DAYS:
        return f"{text} days"
    if name in HOURS:
        return f"{text} hours"
    return text


def _fill(rule: Rule, values: dict, units: dict) -> str:
    return re.sub(r"{(\w+)}", lambda m: show_named(m.group(1), values.get(m.group(1)),
                                                   units.get(m.group(1), "int")), rule.formula)


class PolicyRows:
    """Policy rows by table and row number, from the snapshot the payslip was computed with."""

    def __init__(self, con: duckdb.DuckDBPyConnection, policy: Policy, digest: str | None = None):
        self.rows: dict[tuple[str, int], PolicyRow] = {}
        if digest and digest != policy.digest:
            records = con.execute("SELECT table_name, row_no, row_json FROM policy_snapshots "
                                  "WHERE tables_digest = ?", [digest]).fetchall()
            for table, row_no, row_json in records:
                self._add(table, row_no, json.loads(row_json))
        else:
            for table, frame in policy.frames.items():
                for record in frame.to_dict("records"):
                    self._add(table, int(record.pop("row_no")), record)

    def _add(self, table: str, row_no: int, values: dict) -> None:
        values = {k: (None if v != v else v) for k, v in values.items()}   # NaN → None
        # a whole-number column with empty cells reads as float (pay_month 12.0): show it whole
        values = {k: int(v) if isinstance(v, float) and v.is_integer() else v for k, v in values.items()}
        since = values.get("effective_from")
        self.rows[(table, row_no)] = PolicyRow(table, row_no, values, str(since) if since else None,
                                               str(values.get("source", "")))

    def read(self, column: str, value) -> tuple[PolicyRow, ...]:
        table = ROW_TABLES.get(column)
        if table is None or value is None:
            return ()
        numbers = value if isinstance(value, (list, tuple)) else [value]
        return tuple(self.rows[(table, int(n))] for n in numbers if (table, int(n)) in self.rows)


# PolicyRows by (policy digest, stored digest): explain asks for the same rows again and again
_POLICY_ROWS: dict[tuple[str, str | None], PolicyRows] = {}


def policy_rows(con: duckdb.DuckDBPyConnection, policy: Policy, digest: str | None) -> PolicyRows:
    key = (policy.digest, digest if digest != policy.digest else None)
    if key not in _POLICY_ROWS:
        if len(_POLICY_ROWS) > 16:
            _POLICY_ROWS.clear()
        _POLICY_ROWS[key] = PolicyRows(con, policy, digest)
    return _POLICY_ROWS[key]


def earlier_payslips_exist(con: duckdb.DuckDBPyConnection, month: Month) -> bool:
    return bool(con.execute("SELECT EXISTS (SELECT 1 FROM payslips WHERE month < ?)",
                            [month.label]).fetchall()[0][0])


def rules_over(source_sql: str) -> str:
    """The compiled rule stages over any context rows, every column selected (compare)."""
    return f"{stages_sql(source_sql)}\nSELECT * FROM {final_stage()}"


def trace_person(con: duckdb.DuckDBPyConnection, policy: Policy, employee_id: str, month_label: str,
                 *, month_ready: bool = False) -> list[TraceLine]:
    """Every context and rule column of one person's month. The connection must be prepared
    (engine.run.prepare_connection) for the month's year; month_ready=True says the month's
    parameter tables are installed already (explain keeps them between calls)."""
    month = Month.parse(month_label)
    if not month_ready:
        install_all_month_parameters(con, policy, month)     # the Policy's tables of the month, if made
    from .offcycle import overlay_needed
    overlay = overlay_needed(con, month.previous())      # issue 13: last month's off-cycle runs
    # the person's context made with the optimiser (its joins and the person's filter), then the
    # rule stages over that one row without it: the same SQL as the run's (pipeline_sql is
    # stages_sql over context_sql), a third less to plan
    con.execute(f"CREATE OR REPLACE TEMP TABLE traced_context AS "
                f"{context_sql(month, earlier_payslips_exist(con, month), employee_id, overlay)}")
    with optimiser_off(con):         # (fetched inside: restoring the setting ends the result)
        cursor = con.execute(rules_over("SELECT * FROM traced_context"))
        names = [d[0] for d in cursor.description]
        found = cursor.fetchall()
    if not found:
        raise PayrollError(f"{employee_id} is not paid in {month.label} (not employed that month, or unknown)")
    stored = con.execute("SELECT tables_digest FROM payslips WHERE employee_id = ? AND month = ?",
                         [employee_id, month.label]).fetchall()
    return trace_lines(dict(zip(names, found[0])), policy_rows(con, policy, stored[0][0] if stored else None))


def trace_lines(values: dict, rows: PolicyRows) -> list[TraceLine]:
    """The lines of one evaluated row: inputs first, then every rule in stage order."""
    rules = all_rules()
    units = {**{c.name: c.unit for c in CONTEXT_BY_NAME.values()}, **{r.name: r.unit for r in rules.values()}}
    lines = []
    for column in CONTEXT_BY_NAME.values():
        read = tuple(r for c in column.reads for r in rows.read(c, values.get(c)))
        lines.append(TraceLine(column.name, column.label_zh, column.label_en, column.unit,
                               values.get(column.name), show_named(column.name, values.get(column.name),
                                                                   column.unit),
                               "", f"input: {column.source}", read))
    for rule in rules.values():
        read = tuple(r for c in rule.reads for r in rows.read(c, values.get(c)))
        lines.append(TraceLine(rule.name, rule.label_zh, rule.label_en, rule.unit, values.get(rule.name),
                               show_named(rule.name, values.get(rule.name), rule.unit), _fill(rule, values, units),
                               basis_for(rule.basis, rule.regional_basis, values.get("region_code")), read))
    return lines
