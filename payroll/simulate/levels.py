"""Level rules in a projection (`[roster.levels]` in a scenario, scenarios/README.md).

Each January of a projected year Y the projection draws every person's appraisal result of Y − 1
from `appraisal_distribution` of the person's region (deterministically: the same seed, year and
roster give the same results), stores it where the engine reads results (so performance pay follows
it), and applies `level_rules` (payroll/levels/rules.py, the same `decide` HR's proposals use): the
changes take effect on the 1st of the rule's effective_month. Years before the projection are drawn
the same way, so the first January has a history. A person's time at the level counts from the
hire date (the projection does not carry the level history of the database).

This replaces `promotion.every_years` (kept as it was for old scenario files).
"""
from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from ..db import ASSESSMENTS_DDL
from ..levels.demo import shares_in_force
from ..levels.rules import decide, rule_in_force, scale_in_force
from ..policy import RESULTS, Policy

PRIOR_YEARS = 10


class ProjectedLevels:
    def __init__(self, con, policy: Policy, seed: int, first_year: int):
        self.con, self.policy, self.seed = con, policy, seed
        con.execute(ASSESSMENTS_DDL)
        self.results: dict[str, dict[int, str]] = {}
        self.since: dict[str, date] = {}
        self.pending: dict[date, list[tuple[str, int]]] = {}
        self._rules: dict[tuple, dict | None] = {}
        self._entry: dict[tuple, int] = {}
        self._scales: dict[tuple, dict] = {}
        for year in range(first_year - PRIOR_YEARS, first_year - 1):
            self._draw(year)

    def _draw(self, year: int) -> pd.DataFrame:
        """Results of `year` for everyone employed in it, stored in the projection's assessments."""
        staff = self.con.execute(f"""SELECT employee_id, region_code, hire_date FROM employees
            WHERE hire_date <= DATE '{year}-12-31' AND (leave_date IS NULL OR leave_date >= DATE '{year}-01-01')
            ORDER BY employee_id""").df()
        rng = np.random.default_rng([self.seed, year])
        draw = rng.random(len(staff))
        results = np.empty(len(staff), dtype=object)
        for region, index in staff.groupby("region_code").indices.items():
            cumulative = np.cumsum(shares_in_force(self.policy, region, date(year, 12, 1)))
            results[index] = np.asarray(RESULTS, dtype=object)[np.searchsorted(cumulative, draw[index],
                                                                                 side="right").clip(0, 3)]
        frame = pd.DataFrame({"employee_id": staff.employee_id.to_numpy(), "result": results})
        for employee_id, result in zip(frame.employee_id, frame.result):
            self.results.setdefault(employee_id, {})[year] = result
        for employee_id, hire in zip(staff.employee_id, staff.hire_date):
            self.since.setdefault(employee_id, hire.date() if hasattr(hire, "date") else hire)
        self.con.register("_drawn", frame)
        try:
            self.con.execute(f"INSERT INTO assessments SELECT employee_id, {year}, result, 'simulate', 1, "
                             f"now()::TIMESTAMP, 'simulate', 0 FROM _drawn")
        finally:
            self.con.unregister("_drawn")
        return frame

    def before_month(self, month) -> None:
        """In January: draw last year's results and decide the changes; every month: apply the
        changes that take effect on its first day."""
        if month.start.month == 1:
            self._draw(month.year - 1)
            self._decide(month.year - 1)
        due = self.pending.pop(month.start, [])
        if due:
            frame = pd.DataFrame(due, columns=["employee_id", "to_level"])
            self.con.register("_due", frame)
            try:
                self.con.execute("UPDATE employees SET level = d.to_level FROM _due d "
                                 "WHERE employees.employee_id = d.employee_id")
            finally:
                self.con.unregister("_due")
            for employee_id, _ in due:
                self.since[employee_id] = month.start

    def _decide(self, year: int) -> None:
        day = date(year + 1, 1, 1)
        staff = self.con.execute(f"""SELECT employee_id, region_code, category, level, leave_date FROM employees
            WHERE hire_date <= DATE '{year}-12-31' AND (leave_date IS NULL OR leave_date > DATE '{year}-12-31')""").fetchall()
        for employee_id, region, category, level, leave in staff:
            key = (region, category, level, day)
            if key not in self._rules:
                self._rules[key] = rule_in_force(self.policy, region, category, level, day)
            rule = self._rules[key]
            if rule is None:
                continue
            if (region, category, day) not in self._entry:
                scale = scale_in_force(self.policy, region, category, day)
                self._entry[(region, category, day)] = max(scale) if scale else level
            change = decide(rule, level, self._entry[(region, category, day)], self.since[employee_id],
                            self.results.get(employee_id, {}), year)
            if change is None:
                continue
            scale_key = (region, category, change.effective_from)
            if scale_key not in self._scales:
                self._scales[scale_key] = scale_in_force(self.policy, region, category, change.effective_from)
            if change.to_level not in self._scales[scale_key]:
                continue
            if leave is not None and leave < change.effective_from:
                continue
            self.pending.setdefault(change.effective_from, []).append((employee_id, change.to_level))
