"""Sessions kept in the database (table `web_sessions`), so a restart of the server logs nobody out
and an admin can end them: the cookie holds only a random session id signed with the server's key
(itsdangerous; the key is made once and kept in office_settings), so a forged or altered cookie is
refused before the database is asked. The table holds the id's SHA-256, never the id, so whoever
reads the database file cannot take over a session. A new id is issued at login (an id seen before
login never becomes a logged-in session) and deleted at logout; a session ends after IDLE minutes
without a request or MAX_AGE hours in all; disabling a user or setting their password deletes all of
theirs (`revoke_user`, also `payroll user logout`). Every session has its CSRF token."""
from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

import duckdb
from itsdangerous import BadSignature, TimestampSigner

from ..office.schema import ensure_office_schema, setting

COOKIE = "payroll_session"
IDLE_SECONDS = 30 * 60
MAX_AGE_SECONDS = 8 * 3600
TOUCH_SECONDS = 60          # last_seen is written at most once a minute per session: reads stay reads
KEY_SETTING = "session_key"


@dataclass
class Session:
    session_id: str
    username: str | None
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    created: float = field(default_factory=time.time)     # epoch seconds: they survive a restart
    last_seen: float = field(default_factory=time.time)


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def session_key(con: duckdb.DuckDBPyConnection) -> bytes:
    """The signing key, made on first use and kept, so cookies stay valid across restarts."""
    ensure_office_schema(con)
    key = setting(con, KEY_SETTING)
    if key is None:
        con.execute("INSERT INTO office_settings VALUES (?, ?) ON CONFLICT DO NOTHING",
                    [KEY_SETTING, secrets.token_hex(32)])
        key = setting(con, KEY_SETTING)
    return bytes.fromhex(key)


def revoke_user(con: duckdb.DuckDBPyConnection, username: str) -> int:
    """End every session of a user (disabled, password changed, or asked); returns how many."""
    ensure_office_schema(con)
    return con.execute("DELETE FROM web_sessions WHERE username = ?", [username]).fetchall()[0][0]


class SessionStore:
    """The sessions of one server, over its own cursor of the server's connection."""

    def __init__(self, con: duckdb.DuckDBPyConnection, secret: bytes | None = None,
                 hold_touch: Callable[[], bool] = lambda: False):
        """`hold_touch`: true while last_seen should not be written (a job's commit would make the
        page wait for it); the touch comes with the session's next request after."""
        self._cur = con.cursor()
        self._hold_touch = hold_touch
        self._lock = threading.Lock()
        self.signer = TimestampSigner(secret or session_key(self._cur), salt="payroll-session")

    def new(self, username: str | None) -> Session:
        session = Session(secrets.token_urlsafe(32), username)
        with self._lock:
            self._forget_expired(session.created)
            self._cur.execute("INSERT INTO web_sessions VALUES (?, ?, ?, ?, ?)",
                              [_digest(session.session_id), username, session.csrf, session.created,
                               session.last_seen])
        return session

    def cookie_value(self, session: Session) -> str:
        return self.signer.sign(session.session_id.encode()).decode()

    def from_cookie(self, value: str | None) -> Session | None:
        if not value:
            return None
        try:
            session_id = self.signer.unsign(value.encode(), max_age=MAX_AGE_SECONDS).decode()
        except BadSignature:
            return None
        key, moment = _digest(session_id), time.time()
        with self._lock:
            found = self._cur.execute("SELECT username, csrf, created_at, last_seen FROM web_sessions "
                                      "WHERE session_hash = ?", [key]).fetchall()
            if not found:
                return None
            username, csrf, created, last_seen = found[0]
            if moment - last_seen > IDLE_SECONDS or moment - created > MAX_AGE_SECONDS:
                self._cur.execute("DELETE FROM web_sessions WHERE session_hash = ?", [key])
                return None
            if moment - last_seen > TOUCH_SECONDS and not self._hold_touch():
                try:
                    self._cur.execute("UPDATE web_sessions SET last_seen = ? WHERE session_hash = ?", [moment, key])
                    last_seen = moment
                except duckdb.TransactionException:     # the same session touched at the same time: either wins
                    pass
        return Session(session_id, username, csrf, created, last_seen)

    def drop(self, session: Session | None) -> None:
        if session is not None:
            with self._lock:
                self._cur.execute("DELETE FROM web_sessions WHERE session_hash = ?", [_digest(session.session_id)])

    def drop_user(self, username: str) -> None:
        """End every session of a user (disabled, or password changed)."""
        with self._lock:
            revoke_user(self._cur, username)

    def _forget_expired(self, moment: float) -> None:
        """Inside the lock: pages of the login form never submitted would otherwise pile up."""
        self._cur.execute("DELETE FROM web_sessions WHERE last_seen < ? OR created_at < ?",
                          [moment - IDLE_SECONDS, moment - MAX_AGE_SECONDS])

    def close(self) -> None:
        with self._lock:
            try:
                self._cur.close()
            except duckdb.Error:
                pass


def csrf_ok(session: Session | None, token: str | None) -> bool:
    return session is not None and bool(token) and secrets.compare_digest(session.csrf, str(token))
