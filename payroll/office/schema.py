"""Tables of the payroll office, created on first use (CREATE TABLE IF NOT EXISTS): databases made
before issue 18 gain them when a user, an audit entry or a workflow step is first written."""
from __future__ import annotations

import re

import duckdb

from ..db import scalar, table_exists

SETTINGS_DDL = """
CREATE TABLE IF NOT EXISTS office_settings (
    key   VARCHAR PRIMARY KEY,      -- mode: single | office
    value VARCHAR NOT NULL
)"""

USERS_DDL = """
CREATE TABLE IF NOT EXISTS users (
    username        VARCHAR PRIMARY KEY,
    display_name    VARCHAR NOT NULL,
    password_hash   VARCHAR NOT NULL,     -- argon2id, never the password
    employee_id     VARCHAR,              -- the person an `employee` user is (their own payslips)
    disabled        BOOLEAN NOT NULL DEFAULT false,
    failed_logins   INTEGER NOT NULL DEFAULT 0,
    locked_until    TIMESTAMP,
    password_changed_at TIMESTAMP NOT NULL,
    created_at      TIMESTAMP NOT NULL
)"""

# a role held in a unit: unit '*' is every unit; include_below: the unit and every unit whose name
# starts with it (units are named down the hierarchy: 南通市公安局崇川分局 … 崇川分局和平桥派出所)
USER_ROLES_DDL = """
CREATE TABLE IF NOT EXISTS user_roles (
    username      VARCHAR NOT NULL,
    role          VARCHAR NOT NULL,       -- clerk | reviewer | approver | hr | auditor | employee | admin
    unit          VARCHAR NOT NULL,       -- '*' = all units
    include_below BOOLEAN NOT NULL,
    PRIMARY KEY (username, role, unit)
)"""

AUDIT_DDL = """
CREATE TABLE IF NOT EXISTS audit_log (
    seq       BIGINT PRIMARY KEY,        -- 1, 2, 3, … with no gap
    logged_at TIMESTAMP NOT NULL,        -- UTC
    username  VARCHAR NOT NULL,
    via       VARCHAR NOT NULL,          -- web | cli
    address   VARCHAR NOT NULL,          -- client IP (web) or host name (cli)
    action    VARCHAR NOT NULL,          -- login, login_failed, view_pay, import, run, export, submit, …
    target    VARCHAR NOT NULL,          -- what was touched: employee ID, month, user name, file
    detail    VARCHAR NOT NULL,
    prev_hash VARCHAR NOT NULL,
    hash      VARCHAR NOT NULL           -- sha256(prev_hash | the fields above)
)"""

WORKFLOW_DDL = """
CREATE TABLE IF NOT EXISTS month_workflow (
    month      VARCHAR PRIMARY KEY,
    state      VARCHAR NOT NULL,          -- draft | submitted | reviewed | approved | closed
    updated_at TIMESTAMP NOT NULL
)"""

WORKFLOW_STEPS_DDL = """
CREATE TABLE IF NOT EXISTS month_workflow_steps (
    month      VARCHAR NOT NULL,
    step_no    INTEGER NOT NULL,
    step       VARCHAR NOT NULL,          -- run | submit | pass | approve | return | close | changed
    from_state VARCHAR NOT NULL,
    to_state   VARCHAR NOT NULL,
    username   VARCHAR NOT NULL,
    step_at    TIMESTAMP NOT NULL,
    comment    VARCHAR NOT NULL,
    PRIMARY KEY (month, step_no)
)"""

CONFIRMATIONS_DDL = """
CREATE TABLE IF NOT EXISTS payslip_confirmations (
    employee_id VARCHAR NOT NULL,
    month       VARCHAR NOT NULL,
    answer      VARCHAR NOT NULL,         -- confirmed | question
    comment     VARCHAR NOT NULL,
    username    VARCHAR NOT NULL,
    answered_at TIMESTAMP NOT NULL,
    PRIMARY KEY (employee_id, month)
)"""

# the web application's sessions (payroll.web.sessions): kept here so a restart logs nobody out
SESSIONS_DDL = """
CREATE TABLE IF NOT EXISTS web_sessions (
    session_hash VARCHAR PRIMARY KEY,     -- sha256 of the cookie's session id, never the id
    username     VARCHAR,                 -- NULL: the login page's session, before login
    csrf         VARCHAR NOT NULL,
    created_at   DOUBLE NOT NULL,         -- epoch seconds (UTC)
    last_seen    DOUBLE NOT NULL
)"""

OFFICE_SCHEMA = [SETTINGS_DDL, USERS_DDL, USER_ROLES_DDL, AUDIT_DDL, WORKFLOW_DDL, WORKFLOW_STEPS_DDL,
                 CONFIRMATIONS_DDL, SESSIONS_DDL]


OFFICE_TABLES = [re.search(r"CREATE TABLE IF NOT EXISTS (\w+)", ddl).group(1) for ddl in OFFICE_SCHEMA]


def ensure_office_schema(con: duckdb.DuckDBPyConnection) -> None:
    # every audit entry and page asks: looking the tables up costs ~0.1 ms each, eight CREATE
    # statements ~5 ms (issue 18: HR pages while a month runs)
    if all(table_exists(con, name) for name in OFFICE_TABLES):
        return
    for ddl in OFFICE_SCHEMA:
        con.execute(ddl)


def setting(con: duckdb.DuckDBPyConnection, key: str) -> str | None:
    if not table_exists(con, "office_settings"):
        return None
    return scalar(con, "SELECT value FROM office_settings WHERE key = ?", [key])


def single_person_mode(con: duckdb.DuckDBPyConnection) -> bool:
    """Single-person mode: `payroll close` needs no approval. A database is in it when it was set so at
    creation of its first user (`payroll user add … --single-person`), or when it has no user at all
    (a CLI-only office: nobody else could approve)."""
    mode = setting(con, "mode")
    return mode != "office"


def set_mode_once(con: duckdb.DuckDBPyConnection, single_person: bool) -> str:
    """Fix the mode when the first user is created; later calls keep it."""
    ensure_office_schema(con)
    mode = setting(con, "mode")
    if mode is None:
        mode = "single" if single_person else "office"
        con.execute("INSERT INTO office_settings VALUES ('mode', ?)", [mode])
    return mode


def mode_label(con: duckdb.DuckDBPyConnection) -> str:
    return label_of_mode(single_person_mode(con))


def label_of_mode(single_person: bool) -> str:
    return ("单人模式 single-person mode: months close without approval" if single_person
            else "审批模式 approval mode: a month closes only after approval")
