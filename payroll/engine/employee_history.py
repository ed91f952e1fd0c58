"""Effective-dated employee records. `employees` holds each person's current record; a change with an
effective date (a back-dated promotion) moves the record it replaces to `employee_history` with the
months it applied to, [valid_from, valid_until). A month reads the record in force on its first day,
as it does for policy tables (SPEC: the row in force on the first day of a month applies to it).

Without `effective_from`, a changed record applies from the first open month (the month after the
last closed one): a plain re-import never rewrites a closed month. With nothing closed it simply
replaces the record, as before.
"""
from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd

from ..errors import CellProblem, InputError
from .context import Month

BEGINNING = date(1, 1, 1)
RECORD_COLUMNS = ("name", "id_number_masked", "region_code", "unit", "category", "level", "post", "hire_date",
                  "leave_date", "service_start", "special_deduction", "contribution_base")


def employees_as_of_sql(month: Month) -> str:
    """Every person's record in force on the first day of the month (cheap when nothing is dated)."""
    day = f"DATE '{month.start}'"
    in_force = f"valid_from <= {day} AND {day} < valid_until"
    return (f"SELECT * FROM employees WHERE employee_id NOT IN "
            f"(SELECT employee_id FROM employee_history WHERE {in_force}) "
            f"UNION ALL BY NAME SELECT * EXCLUDE (valid_from, valid_until) FROM employee_history WHERE {in_force}")


def record_versions(con: duckdb.DuckDBPyConnection, staged: str, default_from: date | None,
                    file_name: str) -> int:
    """Before the imported records (`staged`: validated rows with effective_from text and row_number;
    `_new_employee_records`: the same typed) replace records in `employees`, keep the records they
    supersede in employee_history. Call inside the import's transaction; returns the records kept."""
    changes = con.execute(f"""
        SELECT s.employee_id, s.row_number, CAST(NULLIF(s.effective_from, '') AS DATE) AS explicit,
               coalesce((SELECT max(valid_until) FROM employee_history h WHERE h.employee_id = s.employee_id),
                        DATE '{BEGINNING}') AS current_from
        FROM {staged} s JOIN employees e USING (employee_id)""").fetchall()
    replace_all, kept, problems = [], [], []
    for employee_id, row_number, explicit, current_from in changes:
        effective = explicit or default_from
        if effective is None:
            replace_all.append(employee_id)      # nothing closed, no date: the record is replaced outright
        elif effective < current_from:
            problems.append(CellProblem(
                file_name, int(row_number), "effective_from",
                f"{employee_id}: a change effective {effective} is earlier than the person's latest recorded "
                f"change ({current_from}); closed months are never rewritten by an undated change, so give "
                f"the changes with effective_from in date order"))
        elif effective > current_from:
            kept.append((employee_id, current_from, effective))
    if problems:
        raise InputError(problems)
    if replace_all:
        con.execute("DELETE FROM employee_history WHERE list_contains(?, employee_id)", [replace_all])
    if not kept:
        return 0
    con.register("_kept_versions", pd.DataFrame(kept, columns=["employee_id", "valid_from", "valid_until"]))
    try:
        # only a real change is kept: an identical record re-imported leaves no history
        columns = ", ".join(f"e.{c}" for c in RECORD_COLUMNS)
        differs = " OR ".join(f"e.{c} IS DISTINCT FROM n.{c}" for c in RECORD_COLUMNS)
        return len(con.execute(f"""
            INSERT INTO employee_history (employee_id, valid_from, valid_until, {", ".join(RECORD_COLUMNS)})
            SELECT e.employee_id, CAST(k.valid_from AS DATE), CAST(k.valid_until AS DATE), {columns}
            FROM employees e JOIN _kept_versions k USING (employee_id)
            JOIN _new_employee_records n USING (employee_id)
            WHERE {differs}
            RETURNING employee_id""").fetchall())
    finally:
        con.unregister("_kept_versions")
