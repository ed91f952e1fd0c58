"""The CLI acting as a named user of the office (issue 18): `payroll month submit|pass|return|approve|close`
take the same workflow steps as the web pages, under the same rules. The user's password is checked
as at the web login (failures count towards the lockout and are audited), the user's roles must allow
the step (web.permissions, the one table of who may do what), and the step is audited under the
user's name, marked cli. 个人信息保护法 art. 51: operating permissions hold on every path in."""
from __future__ import annotations

import duckdb

from ..errors import PayrollError
from .audit import AuditEvent, cli_event, record
from .users import User, authenticate

REASONS = {"unknown": "wrong user name or password", "wrong_password": "wrong user name or password",
           "locked": "too many failed logins: the account is locked for a while",
           "disabled": "this account is disabled"}


def event_as(username: str, action: str, target: str, detail: str = "") -> AuditEvent:
    """The CLI's entry (host name as address) under the acting user's name."""
    anonymous = cli_event(action, target, detail)
    return AuditEvent(username, anonymous.via, anonymous.address, action, target, detail)


def act_as(con: duckdb.DuckDBPyConnection, username: str, password: str, action: str) -> User:
    """The user, once their password is right and their roles allow `action`; PayrollError otherwise
    (a wrong password is audited as login_failed before the error)."""
    from ..web.permissions import ACTIONS, allowed
    result = authenticate(con, username, password)
    if result.user is None:
        record(con, event_as(username or "-", "login_failed", username, result.reason))
        raise PayrollError(f"{username}: {REASONS[result.reason]}")
    if not allowed(result.user, action):
        record(con, event_as(username, "denied", "", action))
        raise PayrollError(f"{username}: your roles do not allow: {ACTIONS[action].description}")
    return result.user
