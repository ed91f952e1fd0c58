"""The DuckDB database: connection, schema and transactions.

Input tables keep the SPEC column names. Money is DECIMAL(18,2) yuan in every stored table; the
engine computes in integer fen and converts on the way in and out.
"""
from __future__ import annotations

import os
import re
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import duckdb

from .errors import PayrollError

DEFAULT_DB = "payroll.duckdb"

EMPLOYEES_DDL = """
CREATE TABLE IF NOT EXISTS employees (
    employee_id       VARCHAR PRIMARY KEY,
    name              VARCHAR NOT NULL,
    id_number_masked  VARCHAR,            -- first 6 and last 4 kept, never the full number
    region_code       VARCHAR NOT NULL,
    unit              VARCHAR NOT NULL,
    category          VARCHAR NOT NULL,   -- duty | civilian
    level             INTEGER NOT NULL,
    post              VARCHAR NOT NULL,
    hire_date         DATE NOT NULL,
    leave_date        DATE,
    service_start     DATE,               -- NULL means hire_date
    special_deduction DECIMAL(18,2) NOT NULL DEFAULT 0,
    contribution_base DECIMAL(18,2)       -- NULL means derived by the engine
)"""

ATTENDANCE_DDL = """
CREATE TABLE IF NOT EXISTS attendance (
    employee_id            VARCHAR NOT NULL,
    month                  VARCHAR NOT NULL,   -- YYYY-MM
    unpaid_leave_days      DECIMAL(8,2) NOT NULL DEFAULT 0,
    overtime_workday_hours DECIMAL(8,2) NOT NULL DEFAULT 0,
    overtime_restday_hours DECIMAL(8,2) NOT NULL DEFAULT 0,
    overtime_holiday_hours DECIMAL(8,2) NOT NULL DEFAULT 0,
    night_shifts           INTEGER NOT NULL DEFAULT 0,
    bonus                  DECIMAL(18,2) NOT NULL DEFAULT 0,
    deduction              DECIMAL(18,2) NOT NULL DEFAULT 0,
    deduction_kind         VARCHAR,            -- issue 13: court | damages | recovery | other (NULL = other)
    PRIMARY KEY (employee_id, month)
)"""
# a database made before issue 13 gets the column too
ATTENDANCE_KIND_DDL = "ALTER TABLE attendance ADD COLUMN IF NOT EXISTS deduction_kind VARCHAR"

# issue 13: one-off payments (`payroll import --payments`), paid by the month's regular run unless an
# off-cycle run of the month took them (run_id set when a run pays them)
PAYMENTS_DDL = """
CREATE TABLE IF NOT EXISTS payments (
    employee_id VARCHAR NOT NULL,
    month       VARCHAR NOT NULL,            -- YYYY-MM paid
    line_no     INTEGER NOT NULL,            -- row of the file it came from
    kind        VARCHAR NOT NULL,            -- annual_bonus | severance | other
    amount      DECIMAL(18,2) NOT NULL,      -- > 0
    tax_method  VARCHAR,                     -- annual_bonus: separate | merged | NULL (the cheaper)
    note        VARCHAR,
    run_kind    VARCHAR                      -- NULL or 'regular': the regular run; else the off-cycle run's id
)"""

# optional finance columns of the employees file (issue 8), in their own table so the employees
# table keeps its SPEC layout: the bank account (personal data, only the bank file shows it) and the
# monthly special additional deductions by item (their sum is employees.special_deduction)
EMPLOYEE_FINANCE_DDL = """
CREATE TABLE IF NOT EXISTS employee_finance (
    employee_id           VARCHAR PRIMARY KEY,
    bank_account          VARCHAR,
    children_education    DECIMAL(18,2),
    continuing_education  DECIMAL(18,2),
    housing_loan_interest DECIMAL(18,2),
    housing_rent          DECIMAL(18,2),
    elderly_support       DECIMAL(18,2),
    infant_care           DECIMAL(18,2),
    personal_pension      DECIMAL(18,2)
)"""

# work injury and death (SPEC "events"); the extra columns are what the benefit rules need
EVENTS_DDL = """
CREATE TABLE IF NOT EXISTS events (
    employee_id      VARCHAR NOT NULL,
    event_date       DATE NOT NULL,
    kind             VARCHAR NOT NULL,    -- injury | death
    disability_grade INTEGER,             -- 1 (worst) … 10; NULL: none assessed
    stoppage_months  INTEGER NOT NULL DEFAULT 0,   -- 停工留薪期, whole months from the event month
    martyr           BOOLEAN NOT NULL DEFAULT false,
    heroic           BOOLEAN NOT NULL DEFAULT false,
    work_arranged    BOOLEAN NOT NULL DEFAULT false,  -- grades 5–6: the employer arranged suitable work
    nursing_level    VARCHAR,             -- full | most | partial (生活完全/大部分/部分不能自理); NULL: none
    left_job         BOOLEAN NOT NULL DEFAULT false,  -- grades 5–10: the job ended (provincial grants)
    leave_date       DATE,                -- when the job ended; NULL: employees.leave_date
    PRIMARY KEY (employee_id, event_date, kind)
)"""

DEPENDENTS_DDL = """
CREATE TABLE IF NOT EXISTS dependents (
    employee_id    VARCHAR NOT NULL,
    dependent_no   INTEGER NOT NULL,      -- order in the file, per employee
    relation       VARCHAR NOT NULL,      -- spouse | child | parent | other
    orphan_or_lone BOOLEAN NOT NULL DEFAULT false,
    name           VARCHAR,
    PRIMARY KEY (employee_id, dependent_no)
)"""

# one row per event and item (SPEC "benefits"); `paid` false marks the police package shown only for
# comparison; benefit_events keeps the 本人工资 (工伤保险条例 art. 64) each event was figured on
BENEFITS_DDL = """
CREATE TABLE IF NOT EXISTS benefits (
    employee_id VARCHAR NOT NULL,
    event_date  DATE NOT NULL,
    kind        VARCHAR NOT NULL,
    line_no     INTEGER NOT NULL,
    package     VARCHAR NOT NULL,     -- work_injury | martyr | police_reference | police_topup
    item        VARCHAR NOT NULL,
    recipient   VARCHAR,
    amount      DECIMAL(18,2) NOT NULL,
    period      VARCHAR NOT NULL,     -- once | monthly
    payer       VARCHAR NOT NULL,     -- injury_fund | employer | county_veterans_affairs | not_paid
    paid        BOOLEAN NOT NULL,
    basis       VARCHAR NOT NULL,
    formula     VARCHAR NOT NULL,
    PRIMARY KEY (employee_id, event_date, kind, line_no)
)"""

BENEFIT_EVENTS_DDL = """
CREATE TABLE IF NOT EXISTS benefit_events (
    employee_id        VARCHAR NOT NULL,
    event_date         DATE NOT NULL,
    kind               VARCHAR NOT NULL,
    region_code        VARCHAR NOT NULL,
    benefit_wage       DECIMAL(18,2) NOT NULL,
    wage_before_clamp  DECIMAL(18,2) NOT NULL,
    wage_source        VARCHAR NOT NULL,   -- payslips | declared_base
    history_months     INTEGER NOT NULL,
    average_wage       DECIMAL(18,2) NOT NULL,
    notes              VARCHAR,
    tables_digest      VARCHAR NOT NULL,
    PRIMARY KEY (employee_id, event_date, kind)
)"""

# Issue 7: closed months, retro pay (arrears), effective-dated employee records, run ledger.
EMPLOYEE_HISTORY_DDL = """
CREATE TABLE IF NOT EXISTS employee_history (
    -- a superseded version of a person's record: it applied to months starting in [valid_from, valid_until)
    employee_id       VARCHAR NOT NULL,
    valid_from        DATE NOT NULL,
    valid_until       DATE NOT NULL,
    name              VARCHAR NOT NULL,
    id_number_masked  VARCHAR,
    region_code       VARCHAR NOT NULL,
    unit              VARCHAR NOT NULL,
    category          VARCHAR NOT NULL,
    level             INTEGER NOT NULL,
    post              VARCHAR NOT NULL,
    hire_date         DATE NOT NULL,
    leave_date        DATE,
    service_start     DATE,
    special_deduction DECIMAL(18,2) NOT NULL DEFAULT 0,
    contribution_base DECIMAL(18,2),
    PRIMARY KEY (employee_id, valid_from)
)"""

CLOSED_MONTHS_DDL = """
CREATE TABLE IF NOT EXISTS closed_months (
    month     VARCHAR PRIMARY KEY,           -- YYYY-MM; its payslips never change again
    closed_at TIMESTAMP NOT NULL
)"""

MONTH_INPUTS_DDL = """
CREATE TABLE IF NOT EXISTS month_inputs (
    month       VARCHAR PRIMARY KEY,         -- the fingerprint of the inputs its payslips reflect
    fingerprint VARCHAR NOT NULL
)"""

ARREARS_DDL = """
CREATE TABLE IF NOT EXISTS arrears (
    employee_id  VARCHAR NOT NULL,
    month_paid   VARCHAR NOT NULL,           -- the open month whose payslip carries the line
    month_earned VARCHAR NOT NULL,           -- the closed month recomputed
    component    VARCHAR NOT NULL,           -- payslip column: base_pay, pension_employee, …
    amount       DECIMAL(18,2) NOT NULL,     -- positive 补发, negative 补扣
    run_id       VARCHAR NOT NULL
)"""

IMPORTS_DDL = """
CREATE TABLE IF NOT EXISTS imports (
    import_id   VARCHAR NOT NULL,
    imported_at TIMESTAMP NOT NULL,
    kind        VARCHAR NOT NULL,            -- employees | attendance | timesheet | events | dependents
    file_name   VARCHAR NOT NULL,            -- base name only
    sha256      VARCHAR NOT NULL,
    bytes       BIGINT NOT NULL,
    rows        BIGINT NOT NULL
)"""

RUNS_DDL = """
CREATE TABLE IF NOT EXISTS runs (
    run_id         VARCHAR PRIMARY KEY,
    started_at     TIMESTAMP NOT NULL,
    finished_at    TIMESTAMP NOT NULL,
    first_month    VARCHAR NOT NULL,
    last_month     VARCHAR NOT NULL,
    payslips       BIGINT NOT NULL,
    arrears_lines  BIGINT NOT NULL,
    tables_dir     VARCHAR NOT NULL,
    tables_digest  VARCHAR NOT NULL,
    inputs_digest  VARCHAR NOT NULL,         -- employees, history and attendance as the run read them
    input_files    VARCHAR NOT NULL,         -- JSON: imports since the previous run (file, sha256)
    engine_version VARCHAR NOT NULL
)"""

# year to date brought from a former payroll system (payroll import --opening), through `month`
OPENING_BALANCES_DDL = """
CREATE TABLE IF NOT EXISTS opening_balances (
    employee_id           VARCHAR NOT NULL,
    year                  INTEGER NOT NULL,
    month                 INTEGER NOT NULL,      -- the last month the figures cover (1-11)
    income_ytd            DECIMAL(15,2) NOT NULL,   -- 累计收入
    contributions_ytd     DECIMAL(15,2) NOT NULL,   -- 累计专项扣除 (employee social insurance and housing fund)
    special_deduction_ytd DECIMAL(15,2) NOT NULL,   -- 累计专项附加扣除
    iit_ytd               DECIMAL(15,2) NOT NULL,   -- 累计已预扣预缴税额
    months_employed       INTEGER NOT NULL,         -- months employed by this payer in the year
    PRIMARY KEY (employee_id, year)
)"""

# Issue 19: the finance loop. The tax client's result per person and month (money in yuan; NULL:
# the file did not give it), the approved budget per unit and economic item, the authorised
# headcount (员额) per unit, and every disclosure of one person's pay (income certificates).
TAX_FEEDBACK_DDL = """
CREATE TABLE IF NOT EXISTS tax_feedback (
    employee_id           VARCHAR NOT NULL,
    month                 VARCHAR NOT NULL,
    income                DECIMAL(18,2),
    contributions         DECIMAL(18,2),
    special_deduction_ytd DECIMAL(18,2),
    tax                   DECIMAL(18,2) NOT NULL,
    file_name             VARCHAR NOT NULL,
    PRIMARY KEY (employee_id, month)
)"""

BUDGET_DDL = """
CREATE TABLE IF NOT EXISTS budget (
    year   INTEGER NOT NULL,
    unit   VARCHAR NOT NULL,
    item   VARCHAR NOT NULL,             -- economic classification item (支出经济分类), e.g. 30101
    amount DECIMAL(18,2) NOT NULL,
    PRIMARY KEY (year, unit, item)
)"""

QUOTA_DDL = """
CREATE TABLE IF NOT EXISTS headcount_quota (
    year      INTEGER NOT NULL,
    unit      VARCHAR NOT NULL,
    headcount INTEGER NOT NULL,          -- 核定员额
    PRIMARY KEY (year, unit)
)"""

DISCLOSURES_DDL = """
CREATE TABLE IF NOT EXISTS disclosures (
    disclosed_at TIMESTAMP NOT NULL,
    kind         VARCHAR NOT NULL,       -- certificate
    employee_id  VARCHAR NOT NULL,
    period       VARCHAR NOT NULL,       -- YYYY-MM..YYYY-MM
    file_name    VARCHAR NOT NULL,
    requested_by VARCHAR NOT NULL
)"""

# Issue 16: annual appraisal results (a correction is a new import, kept) and level changes applied.
ASSESSMENTS_DDL = """
CREATE TABLE IF NOT EXISTS assessments (
    employee_id VARCHAR NOT NULL,
    year        INTEGER NOT NULL,
    result      VARCHAR NOT NULL,            -- excellent | competent | basic | incompetent
    note        VARCHAR,
    import_seq  BIGINT NOT NULL,             -- the latest import of a person's year is in force
    imported_at TIMESTAMP NOT NULL,
    file_name   VARCHAR NOT NULL,
    file_row    INTEGER NOT NULL
)"""

LEVEL_CHANGES_DDL = """
CREATE TABLE IF NOT EXISTS level_changes (
    employee_id    VARCHAR NOT NULL,
    effective_from DATE NOT NULL,
    from_level     INTEGER NOT NULL,
    to_level       INTEGER NOT NULL,
    kind           VARCHAR NOT NULL,         -- promotion | demotion | selection
    reason         VARCHAR NOT NULL,
    rule_row       VARCHAR,                  -- the level_rules / selection_quotas row applied
    unit           VARCHAR NOT NULL,
    applied_at     TIMESTAMP NOT NULL,
    file_name      VARCHAR NOT NULL
)"""

# issue 14: leave records (payroll/io/leave.py), the employment terms the employees file carries
# beyond the SPEC columns (probation_end), and the cause of an event (work | non_work)
LEAVE_DDL = """
CREATE TABLE IF NOT EXISTS leave (
    employee_id VARCHAR NOT NULL,
    kind        VARCHAR NOT NULL,     -- annual | sick | maternity | paternity | marriage | bereavement | injury | unpaid | other_paid
    start_date  DATE NOT NULL,
    end_date    DATE NOT NULL,
    note        VARCHAR,
    PRIMARY KEY (employee_id, start_date)
)"""
EMPLOYEE_TERMS_DDL = """
CREATE TABLE IF NOT EXISTS employee_terms (
    employee_id   VARCHAR PRIMARY KEY,
    probation_end DATE                -- 劳动合同法 art. 19–20: last day of probation; NULL: none
)"""
EVENT_CAUSE_DDL = "ALTER TABLE events ADD COLUMN IF NOT EXISTS cause VARCHAR"   # work | non_work
# issue 15: the injury is an occupational disease (职业病): a province may raise the medical leaving grant
EVENT_OCCUPATIONAL_DDL = ("ALTER TABLE events ADD COLUMN IF NOT EXISTS occupational_disease "
                          "BOOLEAN DEFAULT false")

SCHEMA = [OPENING_BALANCES_DDL, EMPLOYEES_DDL, ATTENDANCE_DDL, EMPLOYEE_FINANCE_DDL, EVENTS_DDL, DEPENDENTS_DDL, BENEFITS_DDL,
          BENEFIT_EVENTS_DDL, EMPLOYEE_HISTORY_DDL, CLOSED_MONTHS_DDL, MONTH_INPUTS_DDL, ARREARS_DDL,
          IMPORTS_DDL, RUNS_DDL, TAX_FEEDBACK_DDL, BUDGET_DDL, QUOTA_DDL, DISCLOSURES_DDL, ASSESSMENTS_DDL,
          LEVEL_CHANGES_DDL,
          ATTENDANCE_KIND_DDL, PAYMENTS_DDL, LEAVE_DDL, EMPLOYEE_TERMS_DDL, EVENT_CAUSE_DDL, EVENT_OCCUPATIONAL_DDL]


def resolve_db_path(db: str | os.PathLike | None) -> str:
    return str(db or os.environ.get("PAYROLL_DB") or DEFAULT_DB)


def connect(db: str | os.PathLike | None = None, read_only: bool = False,
            wait: float = 0) -> duckdb.DuckDBPyConnection:
    """Open (and if needed create) the database with the input schema in place.

    DuckDB lets one process write a file: a second one gets a lock error. With `wait` seconds it
    retries until the other process is done, then gives up with a clear message."""
    path = resolve_db_path(db)
    if read_only and path != ":memory:" and not Path(path).exists():
        raise PayrollError(f"database {path} does not exist: run `payroll import` or `payroll demo` first")
    deadline = time.monotonic() + max(wait, 0)
    while True:
        try:
            con = duckdb.connect(path, read_only=read_only)
            break
        except duckdb.IOException as error:
            if "lock" not in str(error).lower():
                raise
            from .office.serverlock import refuse_if_served
            refuse_if_served(path)                  # `payroll serve` has it: say where its page is
            if time.monotonic() < deadline:
                time.sleep(0.2)
                continue
            # another payroll command has the file open for writing: say so instead of a traceback
            waited = f" (waited {wait:g} s)" if wait > 0 else "; `--wait SECONDS` waits for it"
            raise PayrollError(f"database {path} is in use by another process{waited}; wait for it to "
                               f"finish and try again ({error})") from None
    threads = os.environ.get("PAYROLL_DUCKDB_THREADS", "")
    if threads.isdigit() and int(threads) > 0:
        # e.g. 1 when several processes already share the cores (the test suite's workers)
        con.execute(f"SET threads = {int(threads)}")
    if not read_only:
        _ensure_schema(con)
    return con


def _ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """The input tables, made or migrated in one transaction: one commit instead of one per
    statement (on an existing file every statement is a no-op, and the commits were most of the
    cost of opening it), and a schema never half made."""
    con.execute("BEGIN TRANSACTION")
    try:
        for ddl in SCHEMA:
            con.execute(ddl)
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection):
    """All or nothing: commit when the block ends normally, roll back on any exception."""
    con.execute("BEGIN TRANSACTION")
    _marker("transaction begun")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
    _marker("transaction committed")


_PRIMARY_KEY = re.compile(r", PRIMARY KEY\((?P<key>[^()]*)\)(?=\);?\s*$)")


@contextmanager
def key_added_after(con: duckdb.DuckDBPyConnection, table: str):
    """Rows written into an EMPTY keyed table inside the caller's transaction: the table is made
    again from its own DDL without its primary key, and the key is added when the block ends,
    its index built once from every row. DuckDB grows a key's index a chunk at a time while
    inserting: the first import of a year's attendance (934k rows) spent about as long on that as
    on everything else it writes (issue 17). A repeated key fails the transaction's COMMIT (DuckDB
    checks an added key there) instead of the INSERT, and nothing is kept; the import has refused
    repeated keys long before. A table holding rows is written as it is."""
    if not _TABLE_NAME.fullmatch(table):
        raise ValueError(f"not a table name: {table!r}")
    ddl = con.execute("SELECT sql FROM duckdb_tables() WHERE table_name = ? AND schema_name = 'main' "
                      "AND database_name = current_database()", [table]).fetchall()
    key = _PRIMARY_KEY.search(ddl[0][0]) if ddl else None
    if key is None or con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]:
        yield
        return
    con.execute(f"DROP TABLE {table}")
    con.execute(ddl[0][0][:key.start()] + ddl[0][0][key.end():])
    yield
    con.execute(f"ALTER TABLE {table} ADD PRIMARY KEY ({key['key']})")


@contextmanager
def optimiser_off(con: duckdb.DuckDBPyConnection):
    """Plan the block's queries without DuckDB's optimiser (this connection only; restored after).
    For the rule stages over a few rows already made (one person's context, compare's steps) the
    optimiser has no join or filter to place and costs about a third of the query (issue 17).
    Fetch a result inside the block: the statement restoring the setting ends a pending result."""
    before = scalar(con, "SELECT current_setting('enable_optimizer')")
    con.execute("SET SESSION enable_optimizer = false")
    try:
        yield con
    finally:
        con.execute(f"SET SESSION enable_optimizer = {'true' if before else 'false'}")


@contextmanager
def optimisers_disabled(con: duckdb.DuckDBPyConnection, passes: tuple[str, ...]):
    """Plan the block's queries without the named passes of DuckDB's optimiser (this connection
    only, added to any already off; restored after)."""
    before = scalar(con, "SELECT current_setting('disabled_optimizers')")
    disabled = ", ".join(name for name in (before, *passes) if name)
    con.execute(f"SET disabled_optimizers = '{disabled}'")
    try:
        yield con
    finally:
        con.execute(f"SET disabled_optimizers = '{before}'")


def _marker(text: str) -> None:
    """With PAYROLL_TRANSACTION_MARKERS=1, say on stderr when a transaction begins and commits, so
    the atomicity test can place its kills inside the transaction (tests/test_atomicity.py)."""
    if os.environ.get("PAYROLL_TRANSACTION_MARKERS") == "1":
        print(f"payroll: {text}", file=sys.stderr, flush=True)


_TABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,2}")


def table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """A table or view of that name (any schema, temporary too). Binding a one-column query of the
    name is the cheapest test: about 30 times cheaper than a query of information_schema, and 5
    times cheaper than `con.table(name)`, which binds every column (payslips: 222) into Python
    types. A month's run asks a dozen times. Names are the code's own, never a user's."""
    if not _TABLE_NAME.fullmatch(name):
        raise ValueError(f"not a table name: {name!r}")
    try:
        con.sql(f"SELECT NULL FROM {name}")
        return True
    except (duckdb.CatalogException, duckdb.ParserException):
        return False


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None):
    """The single value of a query. Drains the result (DuckDB 2.0 keeps an undrained result busy)."""
    rows = con.execute(sql, params or []).fetchall()
    return rows[0][0] if rows else None


def one_row(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> tuple | None:
    rows = con.execute(sql, params or []).fetchall()
    return rows[0] if rows else None
