"""`payroll levels ID` and explain's level section: the person's level path and the next steps.

Past: every version of the record where the level changed, with the reason recorded by
`levels --apply`. Next: from the level in force, the earliest date the rules allow the next
promotion if every appraisal from the latest result on is `competent` (and, shown beside it, with
one `excellent`), with the grade pay of each level from the pay scale in force on that date.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from ..db import table_exists
from ..errors import PayrollError
from ..policy import Policy
from ..rules.performance_pay import assessments_in_force_sql
from .rules import RESULT_ZH, conditions_text, decide, level_since, level_versions, rule_in_force, scale_in_force

MAX_STEPS = 10


@dataclass(frozen=True)
class Step:
    effective_from: date
    from_level: int | None
    to_level: int
    reason: str
    base_pay: object = None


@dataclass(frozen=True)
class LevelPath:
    employee_id: str
    region_code: str
    category: str
    level: int
    since: date
    results: dict[int, str]
    past: list[Step]
    projected: list[Step]
    next_conditions: str

    def lines(self) -> list[str]:
        out = [f"层级 level {self.level} since {self.since} ({self.category}, region {self.region_code})"]
        if self.results:
            shown = ", ".join(f"{y} {RESULT_ZH[r]}" for y, r in sorted(self.results.items()))
            out.append(f"考核 appraisals: {shown}")
        out.append("过往 path:")
        for step in self.past:
            start = "hired" if step.from_level is None else f"{step.from_level} → {step.to_level}"
            out.append(f"  {step.effective_from}  {start:<8} level {step.to_level}  {step.reason}")
        out.append(f"下一层级 next level: {self.next_conditions}")
        for step in self.projected:
            pay = f"grade pay {step.base_pay:,.2f}" if step.base_pay is not None else "no pay-scale row"
            out.append(f"  {step.effective_from}  {step.from_level} → {step.to_level}  {pay}  ({step.reason})")
        return out


def level_path(con: duckdb.DuckDBPyConnection, policy: Policy, employee_id: str, on: date | None = None) -> LevelPath:
    versions = level_versions(con, [employee_id]).get(employee_id)
    if not versions:
        raise PayrollError(f"employee {employee_id!r} is not in the database")
    record = con.execute("SELECT region_code, category, hire_date FROM employees WHERE employee_id = ?",
                         [employee_id]).fetchall()[0]
    region, category, hire = record
    on = on or max(date.today(), versions[-1][0])
    level, since = level_since(versions, on)
    results, reasons = {}, {}
    # a database made before these tables existed, opened read-only, has neither
    if table_exists(con, "assessments"):
        results = {int(y): r for y, r in con.execute(
            f"SELECT year, result FROM ({assessments_in_force_sql()}) WHERE employee_id = ? ORDER BY year",
            [employee_id]).fetchall()}
    if table_exists(con, "level_changes"):
        reasons = {(d, to): (kind, reason, rule) for d, to, kind, reason, rule in con.execute(
            "SELECT effective_from, to_level, kind, reason, rule_row FROM level_changes WHERE employee_id = ? "
            "ORDER BY applied_at", [employee_id]).fetchall()}
    past, previous = [], None
    for valid_from, step_level, _ in versions:
        if step_level == previous:
            continue
        start = max(valid_from, hire)
        kind, reason, rule = reasons.get((start, step_level), ("", "", ""))
        text = f"{kind}: {reason} ({rule})" if kind else ("entry level" if previous is None else "changed by import")
        past.append(Step(start, previous, step_level, text))
        previous = step_level
    projected, conditions = _project(policy, region, category, level, since, results, on)
    return LevelPath(employee_id, region, category, level, since, results, past, projected, conditions)


def _project(policy: Policy, region: str, category: str, level: int, since: date, results: dict[int, str],
             on: date) -> tuple[list[Step], str]:
    """Next steps if every appraisal not yet imported is `competent`."""
    rule = rule_in_force(policy, region, category, level, on)
    if rule is None:
        return [], "no level_rules row in force for this region, category and level"
    conditions = conditions_text(rule)
    if level - 1 < int(rule["top_level_without_selection"]):
        return [], conditions + "; the next level is by selection only (选拔晋升)"
    assumed = dict(results)
    year = max(results) - 1 if results else on.year - 1
    steps: list[Step] = []
    while len(steps) < MAX_STEPS and year < on.year + 40:
        year += 1
        assumed.setdefault(year, "competent")
        rule = rule_in_force(policy, region, category, level, date(year + 1, 1, 1))
        if rule is None or level - 1 < int(rule["top_level_without_selection"]):
            break
        change = decide(rule, level, level, since, assumed, year)
        if change is None or change.kind != "promotion":
            continue
        pay = scale_in_force(policy, region, category, change.effective_from).get(change.to_level)
        if year in results and all(y in results for y in range(year - 1, year + 1)):
            why = f"due on the imported results, not applied yet: {change.reason}"
        else:
            why = f"if every year from {max(results) + 1 if results else year} is 称职"
        steps.append(Step(change.effective_from, level, change.to_level, f"{why}; {change.rule_row}", pay))
        level, since = change.to_level, change.effective_from
    return steps, conditions
