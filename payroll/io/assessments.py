"""`payroll import --assessments F`: the annual appraisal results (年度考核等次).

Columns: employee_id, year, result (`excellent` 优秀 | `competent` 称职 | `basic` 基本称职 |
`incompetent` 不称职), note. A year's result is final once imported: importing another result
for the same person and year is a correction, kept as a new row (the latest import is in force,
payroll/rules/performance_pay.py) and it needs a note saying why. The same result again changes
nothing. Every row is checked before anything is written (exit 2 naming file, row and column).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from ..db import scalar, transaction
from ..engine.ledger import record_import
from ..errors import CellProblem, InputError
from ..rules.performance_pay import assessments_in_force_sql
from .checks import ProblemLog, check_unique, parse_choice, parse_whole_numbers, require_known_employee
from .readers import Layout, read_table

ASSESSMENTS = Layout("assessments", required=("employee_id", "year", "result"), optional=("note",))
RESULT_ALIASES = {
    "excellent": "excellent", "优秀": "excellent",
    "competent": "competent", "称职": "competent", "合格": "competent",
    "basic": "basic", "基本称职": "basic", "基本合格": "basic",
    "incompetent": "incompetent", "不称职": "incompetent", "不合格": "incompetent",
}
YEARS = (1990, 2100)


@dataclass
class AssessmentSummary:
    rows: int
    new: int
    corrections: int
    unchanged: int

    def __str__(self) -> str:
        return (f"assessments: {self.rows:,} rows ({self.new:,} new, {self.corrections:,} corrections recorded, "
                f"{self.unchanged:,} unchanged)")


def validate_assessments(con: duckdb.DuckDBPyConnection, path: Path,
                         policy=None) -> tuple[pd.DataFrame, list[CellProblem]]:
    """Check every cell; return the rows with `status` new | correction | unchanged, and the problems.
    With the policy, a region's own words for the results (appraisal_labels.csv) are accepted for
    the people of that region (and of the regions under it)."""
    try:
        table = read_table(Path(path), ASSESSMENTS)
    except InputError as error:
        return pd.DataFrame(), list(error.problems)
    log = ProblemLog(table)
    cells = table.frame
    known = pd.Index(con.execute("SELECT employee_id FROM employees").df()["employee_id"].astype(str))
    has_id = require_known_employee(log, cells["employee_id"], known)
    year = parse_whole_numbers(log, cells["year"], "year", required=True, minimum=YEARS[0], maximum=YEARS[1])
    result = parse_choice(log, _regional_words(con, policy, cells), "result", RESULT_ALIASES, required=True)
    check_unique(log, cells[["employee_id", "year"]], "year", "the person and year")
    rows = pd.DataFrame({"employee_id": cells["employee_id"], "year": year, "result": result,
                         "note": cells["note"], "file_row": table.row_numbers.to_numpy()})
    _check_employed(con, log, rows, has_id & year.notna(), cells["year"])
    status = _status(con, rows)
    log.flag((status == "correction") & (rows["note"] == ""), "note",
             "changes the imported result of '{}' ({}): a correction needs a note saying why",
             rows["employee_id"], rows["stored"])
    return rows.assign(status=status), log.problems()


def _regional_words(con, policy, cells: pd.DataFrame) -> pd.Series:
    """The result column with a region's own words replaced by the result they stand for."""
    values = cells["result"]
    labels = policy.frames.get("appraisal_labels") if policy is not None else None
    if labels is None or labels.empty:
        return values
    regions = dict(con.execute("SELECT employee_id, region_code FROM employees").fetchall())
    chain = policy.chain.groupby("region_code").ancestor_code.apply(set).to_dict()
    words = {(row.region_code, row.label.strip()): row.result for row in labels.itertuples()}

    def translate(employee_id: str, value: str) -> str:
        for ancestor in chain.get(regions.get(employee_id), ()):
            if (ancestor, value) in words:
                return words[(ancestor, value)]
        return value

    return pd.Series([translate(e, v) for e, v in zip(cells["employee_id"], values)], index=values.index)


def _check_employed(con, log: ProblemLog, rows: pd.DataFrame, checkable: pd.Series, years: pd.Series) -> None:
    """An appraisal year must overlap the person's employment (hire date to leave date)."""
    if not checkable.any():
        return
    con.register("_assessment_years", rows[checkable][["employee_id", "year"]].astype({"year": "int64"}).reset_index())
    try:
        outside = con.execute("""
            SELECT a.index FROM _assessment_years a JOIN employees e USING (employee_id)
            WHERE e.hire_date > make_date(CAST(a.year AS INTEGER), 12, 31)
               OR e.leave_date < make_date(CAST(a.year AS INTEGER), 1, 1)""").df()["index"]
    finally:
        con.unregister("_assessment_years")
    bad = rows.index.isin(outside)
    log.flag(pd.Series(bad, index=rows.index), "year", "'{}': '{}' was not employed in that year",
             rows["employee_id"], years)


def _status(con, rows: pd.DataFrame) -> pd.Series:
    stored = con.execute(f"SELECT employee_id, year, result AS stored FROM ({assessments_in_force_sql()})").df()
    merged = rows.reset_index().merge(stored.astype({"year": "Int64"}), on=["employee_id", "year"], how="left")
    merged = merged.set_index("index")
    rows["stored"] = merged["stored"].fillna("")
    status = pd.Series("new", index=rows.index)
    status[merged["stored"].notna() & (merged["stored"] != merged["result"])] = "correction"
    status[merged["stored"].notna() & (merged["stored"] == merged["result"])] = "unchanged"
    return status


def import_assessments(con: duckdb.DuckDBPyConnection, path: Path, policy=None) -> AssessmentSummary:
    """Validate the file completely, then record its new results and corrections in one transaction."""
    rows, problems = validate_assessments(con, path, policy)
    if problems:
        raise InputError(problems)
    return write_assessments(con, rows, Path(path))


def write_assessments(con: duckdb.DuckDBPyConnection, rows: pd.DataFrame, path: Path) -> AssessmentSummary:
    with transaction(con):
        return insert_assessments(con, rows, path)


def import_with_employees(con: duckdb.DuckDBPyConnection, path: Path, policy, summaries: list[str]):
    """For `import --employees F --assessments G`: a step the employees import runs inside its own
    transaction after writing F, so G may name the people F adds; a bad row of G raises InputError
    there and the transaction, F's rows included, is rolled back (nothing written)."""
    def step() -> None:
        rows, problems = validate_assessments(con, path, policy)
        if problems:
            raise InputError(problems)
        summaries.append(str(insert_assessments(con, rows, Path(path))))
    return step


def insert_assessments(con: duckdb.DuckDBPyConnection, rows: pd.DataFrame, path: Path) -> AssessmentSummary:
    """Record the new results and corrections (inside the caller's transaction)."""
    recorded = rows[rows.status != "unchanged"]
    seq = int(scalar(con, "SELECT coalesce(max(import_seq), 0) + 1 FROM assessments"))
    con.register("_assessment_rows", recorded[["employee_id", "year", "result", "note", "file_row"]])
    try:
        con.execute("""INSERT INTO assessments
            SELECT employee_id, CAST(year AS INTEGER), result, NULLIF(note, ''), ?, now()::TIMESTAMP, ?,
                   CAST(file_row AS INTEGER)
            FROM _assessment_rows""", [seq, path.name])
    finally:
        con.unregister("_assessment_rows")
    record_import(con, "assessments", path, len(rows))
    counts = rows.status.value_counts()
    return AssessmentSummary(rows=len(rows), new=int(counts.get("new", 0)),
                             corrections=int(counts.get("correction", 0)), unchanged=int(counts.get("unchanged", 0)))
