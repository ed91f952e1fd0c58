"""Users, their roles and unit scopes. Passwords are hashed with argon2id (argon2-cffi); the
database holds only the hash. Repeated failed logins lock the account for a while."""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache

import duckdb
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from ..db import scalar, table_exists, transaction
from ..engine.ledger import now
from ..errors import PayrollError
from .schema import ensure_office_schema, set_mode_once

ROLES = ("clerk", "reviewer", "approver", "hr", "auditor", "employee", "admin")
ROLE_LABELS = {"clerk": "制表员 clerk", "reviewer": "审核人 reviewer", "approver": "审批人 approver",
               "hr": "人事 HR", "auditor": "审计 auditor", "employee": "职工 employee", "admin": "管理员 admin"}
# security settings, not payroll policy: after this many failed logins in a row the account is locked
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 10

# argon2id with argon2-cffi's defaults (RFC 9106's low-memory choice). A module attribute so the test
# suite can put cheap parameters in (tests/conftest.py): a hash carries its parameters, so verifying
# reads them from the stored hash, whichever hasher made it.
HASHER = PasswordHasher()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Compared against when the user does not exist, so an unknown name costs the same time as a
    wrong password. Made on first use, not on import: every command importing this module would
    otherwise pay one argon2 hash (~0.1 s of CPU)."""
    return HASHER.hash(secrets.token_hex(16))


@dataclass(frozen=True)
class Grant:
    role: str
    unit: str               # '*' = all units
    include_below: bool

    def __str__(self) -> str:
        if self.role == "employee" or self.unit == "*":
            return self.role
        return f"{self.role}@{self.unit}{'/*' if self.include_below else ''}"


@dataclass(frozen=True)
class User:
    username: str
    display_name: str
    employee_id: str | None
    disabled: bool
    grants: tuple[Grant, ...] = field(default_factory=tuple)

    @property
    def roles(self) -> set[str]:
        return {g.role for g in self.grants}


def parse_grant(text: str) -> Grant:
    """`hr@南通市公安局崇川分局/*` (the unit and all below), `hr@某派出所` (that unit), `clerk` (all units)."""
    role, _, unit = text.partition("@")
    role = role.strip()
    if role not in ROLES:
        raise PayrollError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    unit = unit.strip()
    below = unit.endswith("/*")
    unit = unit[:-2] if below else unit
    if not unit or unit == "*":
        return Grant(role, "*", True)
    return Grant(role, unit, below)


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PayrollError(f"the password is too short: at least {MIN_PASSWORD_LENGTH} characters")


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def users_exist(con: duckdb.DuckDBPyConnection) -> bool:
    return table_exists(con, "users") and bool(scalar(con, "SELECT count(*) FROM users"))


def add_user(con: duckdb.DuckDBPyConnection, username: str, password: str, grants: list[Grant],
             display_name: str | None = None, employee_id: str | None = None,
             single_person: bool = False) -> User:
    ensure_office_schema(con)
    username = username.strip()
    if not username or any(c.isspace() for c in username):
        raise PayrollError(f"user name {username!r}: give a name without spaces")
    if not grants:
        raise PayrollError("give at least one --role")
    check_password_strength(password)
    if scalar(con, "SELECT count(*) FROM users WHERE username = ?", [username]):
        raise PayrollError(f"user {username!r} already exists")
    if any(g.role == "employee" for g in grants):
        if not employee_id:
            raise PayrollError("the employee role needs --employee ID (the person whose payslips they see)")
        if not scalar(con, "SELECT count(*) FROM employees WHERE employee_id = ?", [employee_id]):
            raise PayrollError(f"employee {employee_id!r} is not in the database")
    if any(g.role == "admin" for g in grants) and len({g.role for g in grants}) > 1:
        raise PayrollError("admin manages users and nothing else: give the admin role alone")
    stamp = now()
    with transaction(con):
        set_mode_once(con, single_person)
        con.execute("INSERT INTO users VALUES (?, ?, ?, ?, false, 0, NULL, ?, ?)",
                    [username, display_name or username, hash_password(password), employee_id, stamp, stamp])
        con.executemany("INSERT OR IGNORE INTO user_roles VALUES (?, ?, ?, ?)",
                        [[username, g.role, g.unit, g.include_below] for g in grants])
    return get_user(con, username)


def get_user(con: duckdb.DuckDBPyConnection, username: str) -> User | None:
    if not table_exists(con, "users"):
        return None
    found = con.execute("SELECT username, display_name, employee_id, disabled FROM users WHERE username = ?",
                        [username]).fetchall()
    if not found:
        return None
    grants = tuple(Grant(r, u, b) for r, u, b in con.execute(
        "SELECT role, unit, include_below FROM user_roles WHERE username = ? ORDER BY role, unit",
        [username]).fetchall())
    name, display, employee_id, disabled = found[0]
    return User(name, display, employee_id, disabled, grants)


def list_users(con: duckdb.DuckDBPyConnection) -> list[User]:
    if not table_exists(con, "users"):
        return []
    return [get_user(con, name) for (name,) in con.execute("SELECT username FROM users ORDER BY username").fetchall()]


def _require(con: duckdb.DuckDBPyConnection, username: str) -> None:
    if get_user(con, username) is None:
        raise PayrollError(f"no user {username!r}")


def disable_user(con: duckdb.DuckDBPyConnection, username: str, disabled: bool = True) -> None:
    _require(con, username)
    con.execute("UPDATE users SET disabled = ? WHERE username = ?", [disabled, username])


def set_password(con: duckdb.DuckDBPyConnection, username: str, password: str) -> None:
    _require(con, username)
    check_password_strength(password)
    con.execute("UPDATE users SET password_hash = ?, password_changed_at = ?, failed_logins = 0, "
                "locked_until = NULL WHERE username = ?", [hash_password(password), now(), username])


@dataclass(frozen=True)
class LoginResult:
    user: User | None
    reason: str             # ok | unknown | wrong_password | locked | disabled


def authenticate(con: duckdb.DuckDBPyConnection, username: str, password: str) -> LoginResult:
    """Check a password; count failures and lock the account after MAX_FAILED_LOGINS in a row."""
    found = con.execute("SELECT password_hash, disabled, failed_logins, locked_until FROM users "
                        "WHERE username = ?", [username]).fetchall() if table_exists(con, "users") else []
    if not found:
        _verify(_dummy_hash(), password)
        return LoginResult(None, "unknown")
    password_hash, disabled, failed, locked_until = found[0]
    stamp = now()
    if locked_until is not None and locked_until > stamp:
        return LoginResult(None, "locked")
    if not _verify(password_hash, password):
        failed += 1
        lock = stamp + LOCKOUT if failed >= MAX_FAILED_LOGINS else None
        con.execute("UPDATE users SET failed_logins = ?, locked_until = ? WHERE username = ?",
                    [0 if lock else failed, lock, username])
        return LoginResult(None, "locked" if lock else "wrong_password")
    if disabled:
        return LoginResult(None, "disabled")
    if failed or locked_until is not None:
        con.execute("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE username = ?", [username])
    return LoginResult(get_user(con, username), "ok")


def _verify(password_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
