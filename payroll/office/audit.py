"""The audit log (个人信息保护法 art. 51: operating permissions and security measures for personal
information): who did what to which record, when and from where. Append-only and hash-chained: each
entry's hash covers the previous entry's hash and its own fields, so an edited, deleted or inserted
row breaks the chain at that point, and `payroll audit verify` names it.

The head (last sequence number and hash) is also kept in office_settings; an entry cut off the end
shows as a head that no longer matches. Someone able to rewrite the whole file could rebuild the
chain: keep copies of `payroll audit verify`'s printed head elsewhere (see README)."""
from __future__ import annotations

import fcntl
import getpass
import hashlib
import json
import os
import socket
import threading
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from ..db import table_exists, transaction
from ..engine.ledger import now
from .schema import ensure_office_schema, setting

GENESIS = "0" * 64
# one writer at a time inside a process (the web server's request threads); across processes DuckDB's
# file lock already allows one writer
_APPEND_LOCK = threading.Lock()


@dataclass(frozen=True)
class AuditEvent:
    username: str
    via: str            # web | cli
    address: str
    action: str
    target: str = ""
    detail: str = ""


@dataclass(frozen=True)
class VerifyResult:
    entries: int
    problems: list[str]
    head_hash: str

    @property
    def ok(self) -> bool:
        return not self.problems

    def __str__(self) -> str:
        if self.ok:
            return f"audit log intact: {self.entries:,} entries, head {self.head_hash}"
        return "audit log BROKEN:\n" + "\n".join(f"  {p}" for p in self.problems)


def entry_hash(prev_hash: str, seq: int, at, username: str, via: str, address: str, action: str,
               target: str, detail: str) -> str:
    fields = [prev_hash, seq, str(at), username, via, address, action, target, detail]
    return hashlib.sha256(json.dumps(fields, ensure_ascii=False).encode("utf-8")).hexdigest()


def record(con: duckdb.DuckDBPyConnection, event: AuditEvent) -> int:
    """Append one entry (after any pending ones, see `record_pending`); returns its sequence number.
    Runs in its own transaction."""
    with _APPEND_LOCK:
        ensure_office_schema(con)
        _fold_pending(con)
        return _append(con, event)


def _append(con: duckdb.DuckDBPyConnection, event: AuditEvent, at=None) -> int:
    with transaction(con):
        seq, _ = append_entries(con, None, [(event, at or now())])
    return seq


def append_entries(con: duckdb.DuckDBPyConnection, head: tuple[int, str] | None,
                   batch: list[tuple[AuditEvent, datetime]]) -> tuple[int, str]:
    """Inside the caller's transaction: chain `batch` after `head` (seq, hash of the last entry; None:
    read it) in one INSERT and move the kept head; returns the new head."""
    if head is None:
        last = con.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchall()
        head = (last[0][0], last[0][1]) if last else (0, GENESIS)
    seq, prev_hash = head
    rows = []
    for event, at in batch:
        seq += 1
        digest = entry_hash(prev_hash, seq, at, event.username, event.via, event.address, event.action,
                            event.target, event.detail)
        rows.append([seq, at, event.username, event.via, event.address, event.action, event.target,
                     event.detail, prev_hash, digest])
        prev_hash = digest
    if rows:
        values = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"] * len(rows))
        con.execute(f"INSERT INTO audit_log VALUES {values}", [v for row in rows for v in row])
        con.execute("INSERT OR REPLACE INTO office_settings VALUES ('audit_head', ?)", [f"{seq}:{prev_hash}"])
    return seq, prev_hash


class AuditWriter:
    """The web server's audit log (it owns the database): the chain's head kept in memory and entries
    written by group commit. A page's entry is committed before its response is sent (the request
    waits), but the requests waiting at the same moment share one transaction: twenty HR pages at once
    paid ~10 ms of CPU each for their own SELECT of the head, INSERT and COMMIT (issue 18, measured).

    While a job writes the database (`deferred`), an entry is written to the durable pending file
    instead (fsync'd before the page is sent) and chained when the job ends: a run's commit of 100,000
    payslips holds DuckDB's commit for seconds, and every page's entry had waited for it (issue 18,
    measured: the slow pages during a run were those)."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self._cur = con.cursor()
        self._db_path = _database_path(con)                                  # None: in memory
        self._pending_file = pending_path(self._db_path) if self._db_path else None
        self._head: tuple[int, str] | None = None       # (seq, hash) of the last committed entry
        self._changed = threading.Condition()
        self._queue: list[tuple[int, AuditEvent | None, datetime]] = []
        self._next_ticket = 1
        self._done = 0                                   # every ticket up to this one is settled
        self._failed: dict[int, BaseException] = {}
        self._writing = False
        self._deferring = 0                              # jobs writing the database now

    @contextmanager
    def deferred(self):
        """Around a job that writes the database: entries wait in the pending file meanwhile, and are
        chained as the last such job ends."""
        with self._changed:
            self._deferring += 1
        try:
            yield
        finally:
            with self._changed:
                self._deferring -= 1
                last = self._deferring == 0
            if last:
                try:
                    self._commit(None)
                except Exception:           # noqa: BLE001 - they stay in the durable file, for the next write
                    pass

    def record(self, event: AuditEvent) -> None:
        """Returns once the entry is committed (or, while a job writes, durably pending); raises what
        the write raised."""
        if self._pending_file is not None:
            with self._changed:
                if self._deferring:        # under the lock: in order with the entries chained at the job's end
                    record_pending(self._db_path, event)
                    return
        self._commit(event)

    def _commit(self, event: AuditEvent | None) -> None:
        """Group commit of `event` (None: only the pending entries)."""
        with self._changed:
            ticket = self._next_ticket
            self._next_ticket += 1
            self._queue.append((ticket, event, now()))
            while self._done < ticket:
                if self._writing:
                    self._changed.wait()
                    continue
                batch, self._queue, self._writing = self._queue, [], True
                self._changed.release()
                try:
                    error = self._write_batch([(e, at) for _, e, at in batch if e is not None])
                finally:
                    self._changed.acquire()
                    self._writing = False
                if error is not None:
                    self._failed.update((t, error) for t, _, _ in batch)
                self._done = batch[-1][0]
                self._changed.notify_all()
            error = self._failed.pop(ticket, None)
        if error is not None:
            raise error

    def _write_batch(self, batch: list[tuple[AuditEvent, datetime]]) -> BaseException | None:
        """One transaction; on a clash with another writer of the log (seq is its primary key) the
        head is read again and the batch written once more."""
        for attempt in (1, 2):
            try:
                with _APPEND_LOCK:
                    if self._pending_file is not None and self._pending_file.exists():   # a CLI entry waiting
                        _fold_pending(self._cur)
                        self._head = None
                    with transaction(self._cur):
                        self._head = append_entries(self._cur, self._head, batch)
                return None
            except duckdb.ConstraintException as error:
                self._head = None
                if attempt == 2:
                    return error
            except BaseException as error:             # noqa: BLE001 - handed to every waiting request
                self._head = None
                return error
        return None

    def close(self) -> None:
        try:
            self._cur.close()
        except duckdb.Error:
            pass




def cli_event(action: str, target: str = "", detail: str = "") -> AuditEvent:
    """An entry for a CLI command: the OS user, marked cli, the host name as address."""
    try:
        user = getpass.getuser()
    except Exception:                       # no user name in the environment (containers)
        user = "unknown"
    return AuditEvent(username=user, via="cli", address=socket.gethostname(), action=action, target=target,
                      detail=detail)


def verify(con: duckdb.DuckDBPyConnection) -> VerifyResult:
    """Recompute the chain; every break is named by sequence number."""
    if not table_exists(con, "audit_log"):
        return VerifyResult(0, [], GENESIS)
    rows = con.execute("SELECT seq, logged_at, username, via, address, action, target, detail, prev_hash, hash "
                       "FROM audit_log ORDER BY seq").fetchall()
    problems: list[str] = []
    expected_prev, expected_seq = GENESIS, 1
    for seq, at, username, via, address, action, target, detail, prev_hash, stored in rows:
        if seq != expected_seq:
            problems.append(f"entry {expected_seq}: missing (next entry is {seq})")
        if prev_hash != expected_prev:
            problems.append(f"entry {seq}: does not follow the entry before it (deleted or inserted row)")
        if entry_hash(prev_hash, seq, at, username, via, address, action, target, detail) != stored:
            problems.append(f"entry {seq}: its content was changed after it was written ({action} {target})")
        expected_prev, expected_seq = stored, seq + 1
    head = setting(con, "audit_head")
    last = f"{rows[-1][0]}:{rows[-1][9]}" if rows else None
    if head is not None and head != last:
        problems.append(f"the log ends at {last or 'nothing'} but its recorded head is {head} "
                        f"(entries removed from the end)")
    return VerifyResult(len(rows), problems, expected_prev)


def entries(con: duckdb.DuckDBPyConnection, person: str | None = None, action: str | None = None,
            limit: int = 500) -> list[dict]:
    """Latest entries first; `person`: every touch of that employee's record or pay. Entries still
    waiting in the pending file (a job was writing, or a read-only command ran) come first, with no
    sequence number yet: "who looked at this person's pay" includes them."""
    waiting = [entry for entry in reversed(pending_entries(_database_path(con)))
               if (person is None or entry["target"] == person) and (action is None or entry["action"] == action)]
    if not table_exists(con, "audit_log"):
        return waiting[:limit]
    where, params = [], []
    if person is not None:
        where.append("target = ?")
        params.append(person)
    if action is not None:
        where.append("action = ?")
        params.append(action)
    sql = ("SELECT seq, logged_at, username, via, address, action, target, detail FROM audit_log"
           + (" WHERE " + " AND ".join(where) if where else "") + f" ORDER BY seq DESC LIMIT {int(limit)}")
    cursor = con.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return (waiting + [dict(zip(names, row)) for row in cursor.fetchall()])[:limit]


def pending_entries(db_path: str | None) -> list[dict]:
    """The entries in the pending file, oldest first, as `entries` gives them (seq None)."""
    if not db_path or not pending_path(db_path).exists():
        return []
    with open(pending_path(db_path), encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_SH)
        waiting = _pending_lines(handle)
    return [{"seq": None, "logged_at": at, **asdict(event)} for event, at in waiting]


def _pending_lines(handle) -> list[tuple[AuditEvent, datetime]]:
    """The pending file's entries, each with the time it was made (the caller holds its lock)."""
    found = []
    for text in handle.read().splitlines():
        if text.strip():
            item = json.loads(text)
            at = datetime.fromisoformat(item.pop("at"))
            found.append((AuditEvent(**item), at))
    return found


# A command that only reads (export, explain) while other processes also read the file cannot open it
# for writing; its entry waits in `<db>.audit-pending.jsonl` (appended under an exclusive lock) and is
# chained, in order and with its own time, by the next write to the log.
def pending_path(db_path: str) -> Path:
    return Path(str(db_path) + ".audit-pending.jsonl")


def record_pending(db_path: str, event: AuditEvent) -> None:
    line = json.dumps({**asdict(event), "at": now().isoformat()}, ensure_ascii=False) + "\n"
    with open(pending_path(db_path), "a", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.write(line)
        handle.flush()
        os.fsync(handle.fileno())


def _database_path(con: duckdb.DuckDBPyConnection) -> str | None:
    found = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchall()
    return found[0][0] if found and found[0][0] else None


def _fold_pending(con: duckdb.DuckDBPyConnection) -> None:
    """Chain the pending entries, in order and each with its own time, in one transaction."""
    db_path = _database_path(con)
    if not db_path or not pending_path(db_path).exists():
        return
    with open(pending_path(db_path), "r+", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        batch = _pending_lines(handle)
        if batch:
            with transaction(con):
                append_entries(con, None, batch)
        handle.seek(0)
        handle.truncate()
