"""A death ends employment on the day (issue 14).

An event of kind `death` is the last day employed: the month of death pays monthly amounts for the
paid days through that day (SPEC proration), and no later month pays the person, even while the
employees file still lists them without a leave_date. Those runs say so (`unpaid_dead_notes`).
Whether the death was work-related (`cause`) only matters for the benefits (payroll/benefits/).
"""
from __future__ import annotations

BASIS = "劳动合同法 art. 44(四) (劳动者死亡的，劳动合同终止)"

DEATHS_SQL = "SELECT employee_id, min(event_date) AS death_date FROM events WHERE kind = 'death' GROUP BY employee_id"


def roster_with_deaths_sql(records_sql: str) -> str:
    """The employee records with leave_date brought forward to the date of death."""
    return f"""
        SELECT r.* REPLACE (CASE WHEN d.death_date IS NOT NULL
                                      AND (r.leave_date IS NULL OR r.leave_date > d.death_date)
                                 THEN d.death_date ELSE r.leave_date END AS leave_date)
        FROM ({records_sql}) r LEFT JOIN ({DEATHS_SQL}) d ON d.employee_id = r.employee_id"""


def unpaid_dead_notes(con, month) -> list[str]:
    """People the employees file still lists as employed in the month who died before it."""
    rows = con.execute(f"""
        SELECT e.employee_id, d.death_date FROM employees e JOIN ({DEATHS_SQL}) d USING (employee_id)
        WHERE d.death_date < DATE '{month.start}' AND e.hire_date <= DATE '{month.end}'
          AND (e.leave_date IS NULL OR e.leave_date >= DATE '{month.start}')
        ORDER BY e.employee_id""").fetchall()
    if not rows:
        return []
    shown = ", ".join(f"{employee_id} (died {death_date})" for employee_id, death_date in rows[:10])
    more = f" and {len(rows) - 10} more" if len(rows) > 10 else ""
    return [f"not paid in {month.label}: {len(rows)} person(s) died before the month but the employees file "
            f"still lists them as employed: {shown}{more}; set their leave_date to the date of death"]
