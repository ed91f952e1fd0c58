"""`payroll levels ID` and explain's level section: the person's level path and the next steps.

Past: every version of the record where the level changed, with the reason recorded by
`levels --apply`. Next: from the level in force, the earliest date the rules allow the next
promotion if every appraisal from the latest result on is `competent` (and, shown beside it, with
one `excellent`), with the grade pay of each level from the pay scale in force on that date.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

import duckdb

from ..db import table_exists
from ..errors import PayrollError
from ..policy import Policy
from ..rules.performance_pay import assessments_in_force_sql
from .rules import (RESULT_ZH, conditions_text, decide, level_since, level_versions, level_versions_sql,
                    rule_in_force, scale_in_force)

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


@dataclass(frozen=True)
class LevelFacts:
    """What a person's level path is made from, as the database holds it."""
    region_code: str
    category: str
    hire_date: date
    versions: list[tuple[date, int, date]]          # level_versions: (valid_from, level, hire_date)
    results: dict[int, str]                          # appraisal result per year in force
    reasons: dict[tuple[date, int], tuple[str, str, str]]   # (effective_from, to_level) -> kind, reason, rule


def level_facts(con: duckdb.DuckDBPyConnection, employee_id: str) -> LevelFacts:
    versions = level_versions(con, [employee_id]).get(employee_id)
    if not versions:
        raise PayrollError(f"employee {employee_id!r} is not in the database")
    region, category, hire = con.execute("SELECT region_code, category, hire_date FROM employees "
                                         "WHERE employee_id = ?", [employee_id]).fetchall()[0]
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
    return LevelFacts(region, category, hire, versions, results, reasons)


def everyone_level_facts_sql(con: duckdb.DuckDBPyConnection) -> str:
    """level_facts of every employee as one JSON text per employee_id (the web's month table packs it,
    issue 18), read back by `facts_from_json`: the same queries, grouped by person, in the same order."""
    assessments = (f"SELECT employee_id, to_json(list([year::VARCHAR, result] ORDER BY year)) AS results "
                   f"FROM ({assessments_in_force_sql()}) GROUP BY employee_id"
                   if table_exists(con, "assessments") else
                   "SELECT NULL::VARCHAR AS employee_id, NULL::JSON AS results WHERE false")
    changes = ("SELECT employee_id, to_json(list([effective_from::VARCHAR, to_level::VARCHAR, kind, reason, rule_row] "
               "ORDER BY applied_at)) AS reasons FROM level_changes GROUP BY employee_id"
               if table_exists(con, "level_changes") else
               "SELECT NULL::VARCHAR AS employee_id, NULL::JSON AS reasons WHERE false")
    return f"""
        WITH versions AS ({level_versions_sql("")}),
        grouped AS (SELECT employee_id, to_json(list([valid_from::VARCHAR, level::VARCHAR, hire_date::VARCHAR]
                                                     ORDER BY valid_from)) AS versions
                    FROM versions GROUP BY employee_id)
        SELECT e.employee_id, to_json([e.region_code, e.category, e.hire_date::VARCHAR])::VARCHAR AS record,
               g.versions::VARCHAR AS versions, a.results::VARCHAR AS results, c.reasons::VARCHAR AS reasons
        FROM employees e JOIN grouped g USING (employee_id)
        LEFT JOIN ({assessments}) a USING (employee_id) LEFT JOIN ({changes}) c USING (employee_id)"""


def facts_from_json(record: str, versions: str, results: str | None, reasons: str | None) -> LevelFacts:
    region, category, hire = json.loads(record)
    day = date.fromisoformat
    return LevelFacts(
        region, category, day(hire),
        [(day(v), int(level), day(h)) for v, level, h in json.loads(versions)],
        {int(year): result for year, result in json.loads(results or "[]")},
        {(day(d), int(to)): (kind, reason, rule) for d, to, kind, reason, rule in json.loads(reasons or "[]")})


def level_path(con: duckdb.DuckDBPyConnection, policy: Policy, employee_id: str, on: date | None = None,
               facts: LevelFacts | None = None) -> LevelPath:
    facts = facts or level_facts(con, employee_id)
    versions, hire, results = facts.versions, facts.hire_date, facts.results
    on = on or max(date.today(), versions[-1][0])
    level, since = level_since(versions, on)
    past, previous = [], None
    for valid_from, step_level, _ in versions:
        if step_level == previous:
            continue
        start = max(valid_from, hire)
        kind, reason, rule = facts.reasons.get((start, step_level), ("", "", ""))
        text = f"{kind}: {reason} ({rule})" if kind else ("entry level" if previous is None else "changed by import")
        past.append(Step(start, previous, step_level, text))
        previous = step_level
    projected, conditions = _project(policy, facts.region_code, facts.category, level, since, results, on)
    return LevelPath(employee_id, facts.region_code, facts.category, level, since, results, past, projected,
                     conditions)


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
