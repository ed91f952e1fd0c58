"""Promotion and demotion by the annual appraisal, as data (`level_rules.csv`).

内蒙古条例 art. 33 (层级间实行考核晋升和选拔晋升; 考核结果作为层级升降…的依据); 云南条例 art. 28;
杭州规定 arts. 13, 15; 鄂尔多斯指导意见 三(三)2; 南通实施办法 arts. 7, 11. Level 1 is the top: a
promotion goes from level L to L − 1, a demotion to L + demote_levels (never below the entry level,
the largest number on the scale).

A row of `level_rules` (region, category, the level left) says:
- `years_required` appraisal years at the level, each with `min_result` or better, earn the next
  level; `excellent_shortens` years fewer when one of those years is `excellent`;
- a result of `demote_result` or worse in the year demotes by `demote_levels` (0: no raise only);
  a result below `min_result` is no raise;
- levels above `top_level_without_selection` are reached only by selection (选拔晋升, typed in,
  within `selection_quotas`);
- changes take effect on the 1st of `effective_month` of the year after the appraisal.

An appraisal year counts toward the level when the person held the level from its 1 January, so a
level taken mid-year starts counting the next year. A year without an imported result breaks the run.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date


from ..pay_structure import _ancestors
from ..policy import RESULTS, Policy

BASIS = ("内蒙古条例 art. 33; 云南条例 art. 28; 杭州规定 arts. 13, 15; 鄂尔多斯指导意见 三(三)2; "
         "南通实施办法 arts. 7, 11 (考核晋升, 层级升降)")
RANK = {result: rank for rank, result in enumerate(RESULTS)}      # 0 = excellent (best)
RESULT_ZH = {"excellent": "优秀", "competent": "称职", "basic": "基本称职", "incompetent": "不称职"}


@dataclass(frozen=True)
class Change:
    to_level: int
    effective_from: date
    kind: str              # promotion | demotion
    reason: str
    rule_row: str


def rule_in_force(policy: Policy, region: str, category: str, level: int, day: date) -> dict | None:
    """The level_rules row in force on `day`: most specific region, then the latest date."""
    for row in _rows_by_precedence(policy, "level_rules", region, category, level):
        if row["effective_from"] <= day:
            return dict(row)            # a copy: callers own what they get
    return None


def scale_in_force(policy: Policy, region: str, category: str, day: date) -> dict[int, object]:
    """level -> base_pay of the pay scale in force on `day` (most specific region, latest date)."""
    scale: dict[int, object] = {}
    for row in _rows_by_precedence(policy, "pay_scale", region, category):
        if row["effective_from"] <= day:
            scale.setdefault(int(row["level"]), row["base_pay"])
    return scale


def _rows_by_precedence(policy: Policy, table: str, region: str, category: str, level: int | None = None
                        ) -> list[dict]:
    """The table's rows for the region's chain (and category, and level if given) in the order
    pay_structure._in_force ranks them (most specific region first, then the latest date), kept
    per Policy: a person's page asks for many days, and pandas took ~5 ms a question (issue 17)."""
    key = ("by_precedence", table, region, category, level)
    memo = policy.lookups
    if key not in memo:
        depth = memo.get(("chain", region))
        if depth is None:
            depth = memo[("chain", region)] = _ancestors(policy.chain, region)
        rows = [row for row in _rows_by_key(policy, table).get((category, level), [])
                if row["region_code"] in depth]
        memo[key] = sorted(rows, key=lambda row: (depth[row["region_code"]], -row["effective_from"].toordinal()))
    return memo[key]


def _rows_by_key(policy: Policy, table: str) -> dict[tuple, list[dict]]:
    """The table's rows as dicts by (category, level) and by (category, None), made once per Policy."""
    key = ("rows_by_key", table)
    memo = policy.lookups
    if key not in memo:
        frame = policy.frames.get(table)
        grouped: dict[tuple, list[dict]] = {}
        for row in ([] if frame is None else frame.to_dict("records")):
            grouped.setdefault((row["category"], int(row["level"])), []).append(row)
            grouped.setdefault((row["category"], None), []).append(row)
        memo[key] = grouped
    return memo[key]


def counted_years(level_since: date, year: int) -> list[int]:
    """Appraisal years up to `year` held at the level from their 1 January."""
    first = level_since.year if (level_since.month, level_since.day) == (1, 1) else level_since.year + 1
    return list(range(first, year + 1))


def decide(rule: dict, level: int, entry_level: int, level_since: date, results: dict[int, str],
           year: int) -> Change | None:
    """The change the year's appraisal brings under this rule row, or None."""
    result = results.get(year)
    if result is None:
        return None
    day = date(year + 1, int(rule["effective_month"]), 1)
    row = f"level_rules.csv row {int(rule['row_no'])}"
    demote = rule["demote_result"]
    if demote != "none" and RANK[result] >= RANK[demote] and rule["demote_levels"] > 0:
        to_level = min(level + int(rule["demote_levels"]), entry_level)
        if to_level != level:
            return Change(to_level, day, "demotion",
                          f"{year} {RESULT_ZH[result]} ({result}): down {to_level - level} level(s)", row)
        return None
    if level - 1 < int(rule["top_level_without_selection"]):
        return None                                  # the next level is by selection only
    years = counted_years(level_since, year)
    required, shortened = int(rule["years_required"]), int(rule["years_required"]) - int(rule["excellent_shortens"])
    minimum = RANK[rule["min_result"]]
    for needed in sorted({required, shortened}, reverse=True):
        run = list(range(year - needed + 1, year + 1))
        if run[0] < (years[0] if years else year + 1):
            continue
        found = [results.get(y) for y in run]
        if any(r is None or RANK[r] > minimum for r in found):
            continue
        if needed < required and "excellent" not in found:
            continue
        shown = ", ".join(f"{y} {RESULT_ZH[r]}" for y, r in zip(run, found))
        why = f"{needed} years at level {level} ({shown})"
        if needed < required:
            why += f": one 优秀 shortens {required} years by {int(rule['excellent_shortens'])}"
        return Change(level - 1, day, "promotion", why, row)
    return None


def conditions_text(rule: dict) -> str:
    """What the next promotion needs, in words (levels ID, explain)."""
    required, cut = int(rule["years_required"]), int(rule["excellent_shortens"])
    text = (f"{required} appraisal years at the level, each {RESULT_ZH[rule['min_result']]} ({rule['min_result']}) "
            f"or better")
    if cut:
        text += f"; {required - cut} with one 优秀 (excellent)"
    if rule["demote_result"] != "none" and rule["demote_levels"]:
        text += f"; {RESULT_ZH[rule['demote_result']]} or worse: down {int(rule['demote_levels'])}"
    return text + f"; takes effect on the 1st of month {int(rule['effective_month'])} (level_rules.csv row {int(rule['row_no'])})"


def level_versions_sql(only: str) -> str:
    """(employee_id, valid_from, level, hire_date) of every version; `only` an AND condition on employee_id."""
    return f"""
        SELECT employee_id, valid_from, level, hire_date FROM employee_history WHERE true{only}
        UNION ALL
        SELECT employee_id, coalesce(h.until, DATE '0001-01-01'), level, hire_date
        FROM employees LEFT JOIN (SELECT employee_id, max(valid_until) AS until FROM employee_history
                                  WHERE true{only} GROUP BY employee_id) h USING (employee_id)
        WHERE true{only}"""


def level_versions(con, employee_ids: list[str] | None = None) -> dict[str, list[tuple[date, int, date]]]:
    """Every version of each person's record, oldest first: (valid_from, level, hire_date); the
    current record starts where its latest history version ends (else 0001-01-01)."""
    # the people as a list parameter, filtered in every branch: registering a DataFrame for one person
    # cost ~6 ms of an HR page's ~12 ms level history (issue 18)
    only, params = ("", {}) if employee_ids is None else (
        " AND employee_id IN (SELECT unnest($people))", {"people": list(employee_ids)})
    rows = con.execute(f"{level_versions_sql(only)}\nORDER BY 1, 2", params).fetchall()
    versions: dict[str, list] = {}
    for employee_id, valid_from, level, hire_date in rows:
        versions.setdefault(employee_id, []).append((valid_from, int(level), hire_date))
    return versions


def level_since(versions: list[tuple[date, int, date]], on: date) -> tuple[int, date] | None:
    """One person's level in force on `on` and the date they took it (hire date when never changed)."""
    held = [v for v in versions if v[0] <= on]
    if not held:
        return None
    current = held[-1][1]
    index = len(held) - 1
    while index > 0 and held[index - 1][1] == current:
        index -= 1
    return current, max(held[index][0], held[-1][2])
