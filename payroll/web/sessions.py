"""Server-side sessions: the cookie holds only a random session id signed with the server's key
(itsdangerous), so a forged or altered cookie is refused. A new id is issued at login (an id seen
before login never becomes a logged-in session) and dropped at logout; a session ends after
IDLE minutes without a request or MAX_AGE hours in all. Every session has its CSRF token."""
from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field

from itsdangerous import BadSignature, TimestampSigner

COOKIE = "payroll_session"
IDLE_SECONDS = 30 * 60
MAX_AGE_SECONDS = 8 * 3600


@dataclass
class Session:
    session_id: str
    username: str | None
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    created: float = field(default_factory=time.monotonic)
    last_seen: float = field(default_factory=time.monotonic)


class SessionStore:
    def __init__(self, secret: bytes | None = None):
        self.signer = TimestampSigner(secret or secrets.token_bytes(32), salt="payroll-session")
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def new(self, username: str | None) -> Session:
        session = Session(secrets.token_urlsafe(32), username)
        with self._lock:
            self._sessions[session.session_id] = session
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
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                return None
            moment = time.monotonic()
            if moment - session.last_seen > IDLE_SECONDS or moment - session.created > MAX_AGE_SECONDS:
                del self._sessions[session_id]
                return None
            session.last_seen = moment
            return session

    def drop(self, session: Session | None) -> None:
        if session is not None:
            with self._lock:
                self._sessions.pop(session.session_id, None)

    def drop_user(self, username: str) -> None:
        """End every session of a user (disabled, or password changed)."""
        with self._lock:
            for key in [k for k, s in self._sessions.items() if s.username == username]:
                del self._sessions[key]


def csrf_ok(session: Session | None, token: str | None) -> bool:
    return session is not None and bool(token) and secrets.compare_digest(session.csrf, str(token))
