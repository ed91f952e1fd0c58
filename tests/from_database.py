"""Read a payroll database's inputs into the scalar reference's layout (tests/reference.py), and
compare its stored payslips with the reference's: for the demo year and the thorough tier's
100,000-person year. Reads the inputs tables only; the engine's payslips are what is checked."""
from __future__ import annotations

import random
from decimal import Decimal

import reference
from test_reference_vs_engine import check_identities, diff_rows

ATTENDANCE_DAYS = ("unpaid_leave_days", "overtime_workday_hours", "overtime_restday_hours", "overtime_holiday_hours")


def _record(row: dict) -> dict:
    return {
        "employee_id": row["employee_id"], "name": row["name"], "region_code": row["region_code"],
        "unit": row["unit"], "category": row["category"], "level": int(row["level"]), "post": row["post"],
        "hire_date": row["hire_date"], "leave_date": row["leave_date"], "service_start": row["service_start"],
        "special_deduction": Decimal(row["special_deduction"] or 0),
        "contribution_base": Decimal(row["contribution_base"]) if row["contribution_base"] is not None else None,
    }


def _rows(con, sql: str, params=()) -> list[dict]:
    cursor = con.execute(sql, list(params))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, r)) for r in cursor.fetchall()]


def sample_ids(con, n: int | None, seed: int) -> list[str]:
    """n people drawn at random across the whole roster (all of them when n is None)."""
    ids = sorted(r[0] for r in con.execute("SELECT employee_id FROM employees").fetchall())
    return ids if n is None or n >= len(ids) else sorted(random.Random(seed).sample(ids, n))


def reference_inputs(con, ids: list[str]) -> tuple[list[dict], dict]:
    """(employees with their dated changes and injuries, attendance) of these people."""
    people = {r["employee_id"]: _record(r) for r in _rows(
        con, "SELECT * FROM employees WHERE employee_id IN (SELECT unnest(?))", [ids])}
    versions = _rows(con, "SELECT * FROM employee_history WHERE employee_id IN (SELECT unnest(?)) "
                          "ORDER BY employee_id, valid_from", [ids])
    current = dict(people)
    by_person: dict[str, list[dict]] = {}
    for version in versions:
        by_person.setdefault(version["employee_id"], []).append(version)
    for eid, older in by_person.items():
        # the first record, then each later version (and the current one) as a change from its date
        first = _record(older[0])
        changes = [(v["valid_from"], _record(v)) for v in older[1:]]
        changes.append((older[-1]["valid_until"], current[eid]))
        people[eid] = dict(first, changes=changes)
    for event in _rows(con, "SELECT * FROM events WHERE kind = 'injury' AND employee_id IN (SELECT unnest(?))", [ids]):
        people[event["employee_id"]]["injury"] = {
            "event_date": event["event_date"], "disability_grade": event["disability_grade"],
            "stoppage_months": event["stoppage_months"], "work_arranged": event["work_arranged"]}
    # appraisal results (issue 16): the latest import of a person's year is in force
    if con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'assessments'").fetchone()[0]:
        for row in _rows(con, "SELECT employee_id, year, arg_max(result, import_seq) AS result FROM assessments "
                              "WHERE employee_id IN (SELECT unnest(?)) GROUP BY ALL", [ids]):
            for record in [people[row["employee_id"]], *(v for _, v in people[row["employee_id"]].get("changes", []))]:
                record.setdefault("assessments", {})[int(row["year"])] = row["result"]
    _life_inputs(con, ids, people)
    attendance = {}
    for row in _rows(con, "SELECT * FROM attendance WHERE employee_id IN (SELECT unnest(?))", [ids]):
        attendance[(row["employee_id"], row["month"])] = {
            **{c: Decimal(row[c] or 0) for c in ATTENDANCE_DAYS},
            "night_shifts": int(row["night_shifts"] or 0), "bonus": Decimal(row["bonus"] or 0),
            "deduction": Decimal(row["deduction"] or 0), "deduction_kind": row.get("deduction_kind")}
    return [people[i] for i in ids if i in people], attendance


def _has(con, table: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                            [table]).fetchone()[0])


def _records(person: dict) -> list[dict]:
    """The person's first record and every dated change: a fact of the person goes on each."""
    return [person, *(v for _, v in person.get("changes", []))]


def _life_inputs(con, ids: list[str], people: dict) -> None:
    """Deaths, leave, probation (issue 14) and opening balances (issue 12), as the reference takes them."""
    if _has(con, "events"):
        for row in _rows(con, "SELECT employee_id, min(event_date) AS death_date FROM events WHERE kind = 'death' "
                              "AND employee_id IN (SELECT unnest(?)) GROUP BY ALL", [ids]):
            for record in _records(people[row["employee_id"]]):
                record["death_date"] = row["death_date"]
    if _has(con, "leave"):
        for row in _rows(con, "SELECT employee_id, kind, start_date, end_date FROM leave "
                              "WHERE employee_id IN (SELECT unnest(?)) ORDER BY employee_id, start_date", [ids]):
            for record in _records(people[row["employee_id"]]):
                record.setdefault("leave", []).append((row["kind"], row["start_date"], row["end_date"]))
    if _has(con, "employee_terms"):
        for row in _rows(con, "SELECT employee_id, probation_end FROM employee_terms WHERE probation_end IS NOT NULL "
                              "AND employee_id IN (SELECT unnest(?))", [ids]):
            for record in _records(people[row["employee_id"]]):
                record["probation_end"] = row["probation_end"]
    if _has(con, "opening_balances"):
        for row in _rows(con, "SELECT * FROM opening_balances WHERE employee_id IN (SELECT unnest(?))", [ids]):
            opening = {"year": int(row["year"]), "month": int(row["month"]),
                       **{c: Decimal(row[c]) for c in ("income_ytd", "contributions_ytd", "special_deduction_ytd",
                                                       "iit_ytd")},
                       "months_employed": int(row["months_employed"])}
            for record in _records(people[row["employee_id"]]):
                record["opening"] = opening


def payments_of(con, ids: list[str]) -> dict:
    """The one-off payments the month's runs paid (issue 13), as the reference takes them: the
    regular run's and those of the off-cycle runs done (the month's state, engine/offcycle.py)."""
    payments: dict = {}
    done = (" OR (employee_id, month, run_kind) IN (SELECT employee_id, month, offcycle_kind FROM offcycle_payslips)"
            if _has(con, "offcycle_payslips") else "")
    if _has(con, "payments"):
        for row in _rows(con, "SELECT * FROM payments WHERE employee_id IN (SELECT unnest(?)) "
                              f"AND (coalesce(run_kind, 'regular') = 'regular'{done}) ORDER BY employee_id, month, line_no",
                         [ids]):
            payments.setdefault((row["employee_id"], row["month"]), []).append(
                {"kind": row["kind"], "amount": Decimal(row["amount"]), "tax_method": row["tax_method"] or ""})
    return payments


def compare_stored_year(con, tables_dir, ids: list[str], months: list[str]) -> tuple[int, list[str]]:
    """(payslips compared, differences) between the stored payslips of these people and the
    reference computed from the database's inputs over the months."""
    employees, attendance = reference_inputs(con, ids)
    expected = reference.compute_year(employees, attendance, tables_dir, months, payments=payments_of(con, ids))
    stored = {(r["employee_id"], r["month"]): r for r in _rows(
        con, "SELECT * FROM payslips WHERE employee_id IN (SELECT unnest(?)) AND month BETWEEN ? AND ?",
        [ids, months[0], months[-1]])}
    _add_offcycle_runs(con, stored, ids, months)
    problems = []
    if set(stored) != set(expected):
        problems.append(f"  payslips only stored: {sorted(set(stored) - set(expected))[:10]}; "
                        f"only in the reference: {sorted(set(expected) - set(stored))[:10]}")
    for key in sorted(set(stored) & set(expected)):
        problems += diff_rows(key, stored[key], expected[key])
        problems += check_identities(key, stored[key])
    return len(expected), problems


def _add_offcycle_runs(con, stored: dict, ids: list[str], months: list[str]) -> None:
    """A month's payslips of a person add up to the month computed once (engine/offcycle.py): the
    regular payslip plus the off-cycle ones, line by line; an off-cycle run after the regular run
    holds the month's last year to date. The identities are checked on the sums (they are linear)."""
    if not _has(con, "offcycle_payslips"):
        return
    for row in _rows(con, "SELECT * FROM offcycle_payslips WHERE employee_id IN (SELECT unnest(?)) "
                          "AND month BETWEEN ? AND ? ORDER BY offcycle_seq", [ids, months[0], months[-1]]):
        key = (row["employee_id"], row["month"])
        regular = stored[key]
        summed = {c: regular[c] + row[c] for c in reference.OFFCYCLE_LINES if c in regular}
        if row["after_regular"]:
            regular.update({c: v for c, v in row.items() if c in regular})
        regular.update(summed)
