"""The month's approval workflow: draft (after a run) → submitted (clerk) → reviewed (reviewer) →
approved (approver) → closed (clerk), and back to draft with a comment from any step before closing.
A re-run that changes the payslips, or an import that changes what a month read, sends the month back
to draft. The same person may not both submit and approve a month (four-eyes principle: 会计基础工作
规范 art. 52 separates the preparer from the approver). `payroll close` needs an approved month unless
the database is in single-person mode (schema.single_person_mode)."""
from __future__ import annotations

from dataclasses import dataclass

import duckdb

from ..db import scalar, table_exists, transaction
from ..engine.closing import close_through, closed_months
from ..engine.context import Month
from ..engine.ledger import now
from ..errors import PayrollError
from .schema import ensure_office_schema, single_person_mode

STATES = ("draft", "submitted", "reviewed", "approved", "closed")
STATE_LABELS = {"draft": "草稿 draft", "submitted": "已提交 submitted", "reviewed": "已审核 reviewed",
                "approved": "已审批 approved", "closed": "已结账 closed"}


@dataclass(frozen=True)
class Step:
    name: str
    from_states: tuple[str, ...]
    to_state: str
    label_zh: str
    needs_comment: bool = False


# the transitions a user can ask for, as data; `close` is close_month's (it also closes the books)
STEPS = {
    "submit": Step("submit", ("draft",), "submitted", "提交审核"),
    "pass": Step("pass", ("submitted",), "reviewed", "审核通过"),
    "approve": Step("approve", ("reviewed",), "approved", "审批通过"),
    "return": Step("return", ("submitted", "reviewed", "approved"), "draft", "退回修改", needs_comment=True),
}


def payslip_months(con: duckdb.DuckDBPyConnection) -> list[str]:
    if not table_exists(con, "payslips"):
        return []
    return [m for (m,) in con.execute("SELECT DISTINCT month FROM payslips ORDER BY month").fetchall()]


def month_state(con: duckdb.DuckDBPyConnection, month: str) -> str | None:
    """None: not run. A run month without a workflow row (run before issue 18) is a draft."""
    if month in closed_months(con):
        return "closed"
    if table_exists(con, "month_workflow"):
        state = scalar(con, "SELECT state FROM month_workflow WHERE month = ?", [month])
        if state is not None:
            return state
    if table_exists(con, "payslips") and scalar(con, "SELECT count(*) FROM payslips WHERE month = ?", [month]):
        return "draft"
    return None


def month_steps(con: duckdb.DuckDBPyConnection, month: str) -> list[dict]:
    if not table_exists(con, "month_workflow_steps"):
        return []
    cursor = con.execute("SELECT step_no, step, from_state, to_state, username, step_at, comment "
                         "FROM month_workflow_steps WHERE month = ? ORDER BY step_no", [month])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def _write_step(con: duckdb.DuckDBPyConnection, month: str, step: str, from_state: str, to_state: str,
                username: str, comment: str) -> None:
    """Inside the caller's transaction."""
    stamp = now()
    number = scalar(con, "SELECT coalesce(max(step_no), 0) + 1 FROM month_workflow_steps WHERE month = ?", [month])
    con.execute("INSERT INTO month_workflow_steps VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [month, number, step, from_state, to_state, username, stamp, comment])
    con.execute("INSERT OR REPLACE INTO month_workflow VALUES (?, ?, ?)", [month, to_state, stamp])


def last_actor(con: duckdb.DuckDBPyConnection, month: str, step: str) -> str | None:
    if not table_exists(con, "month_workflow_steps"):
        return None
    return scalar(con, "SELECT username FROM month_workflow_steps WHERE month = ? AND step = ? "
                       "ORDER BY step_no DESC LIMIT 1", [month, step])


def advance(con: duckdb.DuckDBPyConnection, month: str, step_name: str, username: str, comment: str = "") -> str:
    """Take one workflow step; returns the new state. PayrollError when the step is not allowed now."""
    Month.parse(month)
    ensure_office_schema(con)
    step = STEPS.get(step_name)
    if step is None:
        raise PayrollError(f"unknown step {step_name!r}; steps: {', '.join(STEPS)}, close")
    state = month_state(con, month)
    if state is None:
        raise PayrollError(f"{month} has not been run")
    if state not in step.from_states:
        raise PayrollError(f"{month} is {state}: {step_name} needs it {' or '.join(step.from_states)}")
    comment = comment.strip()
    if step.needs_comment and not comment:
        raise PayrollError(f"{step_name} needs a comment saying what to change")
    if step_name == "approve" and last_actor(con, month, "submit") == username:
        raise PayrollError(f"{username} submitted {month} and may not also approve it")
    if step_name == "approve" and not comment:
        differences = tax_difference_count(con, month)
        if differences:
            raise PayrollError(f"{month} has {differences} difference(s) between the tax client's result and the "
                               f"payslips (`payroll export --what tax-check --month {month}`): approving it needs a "
                               f"comment saying why they are accepted")
    with transaction(con):
        _write_step(con, month, step_name, state, step.to_state, username, comment)
    return step.to_state


def tax_difference_count(con: duckdb.DuckDBPyConnection, month: str) -> int:
    """People whose tax in the client's imported result differs from the payslip's (issue 19); 0 when
    no client result for the month was imported."""
    if not (table_exists(con, "tax_feedback")
            and scalar(con, "SELECT count(*) FROM tax_feedback WHERE month = ?", [month])):
        return 0
    from ..reports.tax_check import tax_differences
    return len(tax_differences(con, month))


# payslips_digest of a month without payslips: "<count>:<sum of the rows' hashes>"
NO_PAYSLIPS = "0:0"


def payslips_digest(con: duckdb.DuckDBPyConnection, month: str) -> str:
    """What a re-run could change: every payslip column but the run id (NO_PAYSLIPS for none)."""
    if not table_exists(con, "payslips"):
        return ""
    return str(scalar(con, "SELECT count(*) || ':' || coalesce(sum(hash(p)::HUGEINT), 0) FROM "
                           "(SELECT * EXCLUDE (run_id) FROM payslips WHERE month = ?) p", [month]))


def _changed(con: duckdb.DuckDBPyConnection, month: str, digest_before: str | None) -> bool:
    """The month's payslips differ from `digest_before` (payslips_digest before the run). A month
    that had none changed if it has any now: no column is hashed (0.2 s at 100,000 people, issue 17)."""
    if digest_before == NO_PAYSLIPS:
        return bool(scalar(con, "SELECT count(*) > 0 FROM payslips WHERE month = ?", [month]))
    return digest_before != payslips_digest(con, month)


def after_run(con: duckdb.DuckDBPyConnection, months: list[str], digests_before: dict[str, str],
              username: str) -> list[str]:
    """Record the run in each month's workflow; a month past draft whose payslips changed goes back
    to draft. Returns the months sent back."""
    ensure_office_schema(con)
    sent_back = []
    with transaction(con):
        for month in months:
            state = month_state(con, month)
            changed = _changed(con, month, digests_before.get(month))
            if state in ("submitted", "reviewed", "approved") and changed:
                _write_step(con, month, "changed", state, "draft", username, "重新计算改变了工资 a re-run changed the payslips")
                sent_back.append(month)
            elif state in (None, "draft"):
                _write_step(con, month, "run", state or "draft", "draft", username,
                            "" if changed else "重新计算，工资未变 re-run, no payslip changed")
    return sent_back


def after_import(con: duckdb.DuckDBPyConnection, tables_digest: str, username: str, files: str) -> list[str]:
    """An import that changes what an open month in review read sends it back to draft."""
    from ..engine.retro import month_fingerprint
    if not table_exists(con, "month_workflow"):
        return []
    in_review = [m for (m,) in con.execute(
        "SELECT month FROM month_workflow WHERE state IN ('submitted', 'reviewed', 'approved') ORDER BY month").fetchall()]
    stored = dict(con.execute("SELECT month, fingerprint FROM month_inputs").fetchall())
    changed = [m for m in in_review if stored.get(m) != month_fingerprint(con, Month.parse(m), tables_digest)]
    if changed:
        with transaction(con):
            for month in changed:
                _write_step(con, month, "changed", month_state(con, month), "draft", username,
                            f"导入改变了输入 an import changed its inputs: {files}")
    return changed


def close_month(con: duckdb.DuckDBPyConnection, month: str, username: str) -> list[str]:
    """Close the books through `month` (engine.closing); in approval mode every month closed must be
    approved."""
    Month.parse(month)
    if not single_person_mode(con):
        closed = closed_months(con)
        last = closed[-1] if closed else ""
        waiting = [(m, month_state(con, m)) for m in payslip_months(con) if last < m <= month]
        not_approved = [f"{m} ({state})" for m, state in waiting if state != "approved"]
        if not_approved:
            raise PayrollError(f"cannot close through {month}: {', '.join(not_approved)} not approved. This "
                               f"database is in approval mode: a month is submitted, reviewed and approved "
                               f"before it is closed (in the web application, `payroll serve`)")
    newly = close_through(con, month)
    ensure_office_schema(con)
    with transaction(con):
        for closed_month in newly:
            _write_step(con, closed_month, "close", month_state_before_close(con, closed_month), "closed",
                        username, "")
    return newly


def month_state_before_close(con: duckdb.DuckDBPyConnection, month: str) -> str:
    state = scalar(con, "SELECT state FROM month_workflow WHERE month = ?", [month])
    return state or "draft"
