"""Employees confirm their payslip or raise a question; HR sees the state per month and exports it."""
from __future__ import annotations

import csv
import io

import duckdb

from ..db import table_exists
from ..engine.context import Month
from ..engine.ledger import now
from ..errors import PayrollError
from .schema import ensure_office_schema

ANSWERS = {"confirmed": "已确认 confirmed", "question": "有疑问 question"}


def answer_payslip(con: duckdb.DuckDBPyConnection, employee_id: str, month: str, answer: str, comment: str,
                   username: str) -> None:
    Month.parse(month)
    if answer not in ANSWERS:
        raise PayrollError(f"answer {answer!r}: confirmed or question")
    if answer == "question" and not comment.strip():
        raise PayrollError("a question needs a comment saying what is unclear")
    ensure_office_schema(con)
    con.execute("INSERT OR REPLACE INTO payslip_confirmations VALUES (?, ?, ?, ?, ?, ?)",
                [employee_id, month, answer, comment.strip(), username, now()])


def answer_of(con: duckdb.DuckDBPyConnection, employee_id: str, month: str) -> tuple[str, str] | None:
    if not table_exists(con, "payslip_confirmations"):
        return None
    found = con.execute("SELECT answer, comment FROM payslip_confirmations WHERE employee_id = ? AND month = ?",
                        [employee_id, month]).fetchall()
    return found[0] if found else None


CONFIRMATION_COLUMNS = ("employee_id", "name", "unit", "net_pay", "answer", "comment", "answered_at")


def confirmations(con: duckdb.DuckDBPyConnection, month: str, scope: tuple[str, list]) -> list[tuple]:
    """Everyone paid in the month within scope, with their answer (empty: not answered yet)."""
    where, params = scope
    join = ("LEFT JOIN payslip_confirmations c ON c.employee_id = p.employee_id AND c.month = p.month"
            if table_exists(con, "payslip_confirmations") else
            "LEFT JOIN (SELECT NULL AS answer, NULL AS comment, NULL AS answered_at) c ON false")
    return con.execute(f"""
        SELECT p.employee_id, e.name, p.unit, p.net_pay, coalesce(c.answer, ''), coalesce(c.comment, ''),
               coalesce(CAST(c.answered_at AS VARCHAR), '')
        FROM payslips p LEFT JOIN employees e USING (employee_id) {join}
        WHERE p.month = ? AND {where} ORDER BY p.unit, p.employee_id""", [month] + params).fetchall()


def confirmations_csv(rows: list[tuple]) -> str:
    """CSV for finance; a cell that a spreadsheet would run as a formula is prefixed with '."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CONFIRMATION_COLUMNS)
    for row in rows:
        writer.writerow([_inert(v) for v in row])
    return "\ufeff" + out.getvalue()


def _inert(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(text) else text


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False
