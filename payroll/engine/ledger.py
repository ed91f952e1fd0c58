"""The run ledger: which files were imported (with their SHA-256), and for every run its id, time,
months, the tables directory and its digest, a digest of the inputs it read and the engine version.
`payroll history` lists it. Also a content digest of the whole database, used by the tests that
check a failed or killed command changed nothing.
"""
from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from importlib import metadata
from pathlib import Path

import duckdb

from ..db import scalar, table_exists
from ..io.idnumber import FULL_ID_NUMBER_RE, mask_id_number

PACKAGE_DIR = Path(__file__).resolve().parent.parent


def new_id() -> str:
    return uuid.uuid4().hex[:12]


def now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def file_sha256(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


@lru_cache(maxsize=1)
def engine_version() -> str:
    """Package version plus a hash of the payroll/ sources: two runs with the same string ran the
    same code (no git needed: an installed copy has no repository)."""
    try:
        version = metadata.version("fujing-payroll")
    except metadata.PackageNotFoundError:
        version = "unknown"
    sha = hashlib.sha256()
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        sha.update(str(path.relative_to(PACKAGE_DIR)).encode())
        sha.update(path.read_bytes())
    return f"{version}+src.{sha.hexdigest()[:12]}"


def record_import(con: duckdb.DuckDBPyConnection, kind: str, path: Path, rows: int) -> None:
    """One ledger row per imported file; call inside the import's transaction."""
    path = Path(path)
    name = FULL_ID_NUMBER_RE.sub(lambda found: mask_id_number(found.group(0)), path.name)  # a file named by an ID
    con.execute("INSERT INTO imports VALUES (?, ?, ?, ?, ?, ?, ?)",
                [new_id(), now(), kind, name, file_sha256(path), path.stat().st_size, rows])


def inputs_digest(con: duckdb.DuckDBPyConnection) -> str:
    """Order-independent digest of the inputs a run reads."""
    parts = [str(scalar(con, f"SELECT count(*) || ':' || coalesce(sum(hash(t)::HUGEINT), 0) FROM {name} t"))
             for name in ("employees", "employee_history", "attendance")]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def record_run(con: duckdb.DuckDBPyConnection, run_id: str, started_at: datetime, first: str, last: str,
               tables_dir: Path, tables_digest: str) -> None:
    """The run's ledger row; call inside the run's transaction so a failed run leaves none."""
    previous = scalar(con, "SELECT max(started_at) FROM runs")
    since = con.execute("SELECT kind, file_name, sha256, rows FROM imports "
                        "WHERE ? IS NULL OR imported_at > ? ORDER BY imported_at",
                        [previous, previous]).fetchall()
    files = [{"kind": k, "file": f, "sha256": h, "rows": r} for k, f, h, r in since]
    payslips = scalar(con, "SELECT count(*) FROM payslips WHERE run_id = ?", [run_id])
    arrears = scalar(con, "SELECT count(*) FROM arrears WHERE run_id = ?", [run_id])
    con.execute("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [run_id, started_at, now(), first, last, payslips, arrears, str(Path(tables_dir).resolve()),
                 tables_digest, inputs_digest(con), json.dumps(files, ensure_ascii=False), engine_version()])


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    started_at: datetime
    finished_at: datetime
    first_month: str
    last_month: str
    payslips: int
    arrears_lines: int
    tables_dir: str
    tables_digest: str
    inputs_digest: str
    input_files: list
    engine_version: str


def run_history(con: duckdb.DuckDBPyConnection) -> list[RunRecord]:
    if not table_exists(con, "runs"):
        return []
    rows = con.execute("SELECT * FROM runs ORDER BY started_at, run_id").fetchall()
    return [RunRecord(*row[:10], json.loads(row[10]), row[11]) for row in rows]


def database_digest(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """table -> digest of its whole content (row order ignored): equal digests, equal databases."""
    digests = {}
    tables = [name for (name,) in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
        "AND table_type = 'BASE TABLE' ORDER BY table_name").fetchall()]
    for name in tables:
        rows, total = con.execute(f'SELECT count(*), coalesce(sum(hash(t)::HUGEINT), 0) FROM "{name}" t').fetchall()[0]
        digests[name] = f"{rows}:{total}"
    return digests
