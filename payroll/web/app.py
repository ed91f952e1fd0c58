"""The payroll office's web application (issue 18): Starlette on uvicorn, Jinja2 templates, no
script and nothing from outside this server (the police network has no internet).

- the server owns the database (payroll.web.office): it is its one writer, runs imports and months
  as background jobs, and leaves `<db>.server.json` so the CLI can say which server holds the file;
- every page goes through payroll.web.guard (login, CSRF, role, unit scope, audit);
- bound to 127.0.0.1 unless --host says otherwise; TLS belongs to a reverse proxy in front (README).
"""
from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from ..office import audit
from ..office.serverlock import remove_marker, write_marker
from ..office.users import Grant, add_user, generate_password, users_exist
from .guard import render
from .office import Office
from .routes import admin, auth, me, months, people

HOST = "127.0.0.1"
STATIC = Path(__file__).resolve().parent / "static"
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
                               "base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class SecurityHeaders:
    """Pure ASGI middleware: the headers above on every response."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.decode().lower() not in {h.lower() for h in SECURITY_HEADERS}]
                headers += [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
                message = {**message, "headers": headers}
            await send(message)
        await self.app(scope, receive, send_with_headers)


async def http_error(request: Request, error: HTTPException) -> Response:
    return render(request, "error.html", error.status_code, message=str(error.detail), title=str(error.status_code))


# pages are CPU-bound work on a few cores (DuckDB releases the GIL, the templates do not): more threads
# than this only add a prepared connection each and thrash; further requests wait their turn. Measured
# at 100,000 people, 20 HR users, 2 cores: 4 threads ~30 ms of server CPU a query, 8 threads ~40 ms
WORKER_THREADS = 4


@contextlib.asynccontextmanager
async def lifespan(app: Starlette):
    import anyio.to_thread
    anyio.to_thread.current_default_thread_limiter().total_tokens = WORKER_THREADS
    yield


def create_app(db: str | None, tables: str | None, log: Callable[[str], None] | None = None) -> Starlette:
    office = Office(db, tables, log)
    app = Starlette(routes=[*auth.routes, *people.routes, *months.routes, *me.routes, *admin.routes,
                            Mount("/static", StaticFiles(directory=str(STATIC)), name="static")],
                    middleware=[Middleware(SecurityHeaders)],
                    exception_handlers={HTTPException: http_error}, lifespan=lifespan)
    app.state.office = office
    return app


def bootstrap_admin(office: Office, single_person: bool = False) -> str | None:
    """First run: a database without users gets the user `admin` (role admin) with a printed random
    password; the admin then adds the office's users. Returns the password, or None when users exist."""
    with office.writer() as cur:
        if users_exist(cur):
            return None
        password = generate_password()
        add_user(cur, "admin", password, [Grant("admin", "*", True)], display_name="管理员 administrator",
                 single_person=single_person)
        audit.record(cur, audit.cli_event("user_add", "admin", "first-run bootstrap of the admin"))
    return password


class BackgroundServer:
    """uvicorn in a thread (the tests and the benchmark); `url` once started."""

    def __init__(self, app: Starlette, host: str = HOST, port: int = 0):
        import socket

        import uvicorn
        if port == 0:
            with socket.socket() as probe:
                probe.bind((host, 0))
                port = probe.getsockname()[1]
        self.app, self.url = app, f"http://{host}:{port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning",
                                                    access_log=False))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> "BackgroundServer":
        self.thread.start()
        deadline = time.time() + 30
        while not self.server.started and time.time() < deadline:
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(15)
        self.app.state.office.close()


def _check_port_free(host: str, port: int) -> None:
    """A port in use is the user's to fix (another server, an old instance): exit 2 with one line,
    before anything is opened, rather than uvicorn's own exit."""
    import socket
    from ..errors import PayrollError
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError as error:
            raise PayrollError(f"cannot listen on {host}:{port}: the port is already in use ({error.strerror or error}); "
                               f"stop what uses it or give another --port") from None


def serve(db: str | None, tables: str | None, port: int, host: str = HOST, single_person: bool = False,
          log: Callable[[str], None] = print) -> None:
    import uvicorn
    _check_port_free(host, port)
    app = create_app(db, tables, log)
    office: Office = app.state.office
    password = bootstrap_admin(office, single_person)
    if password is not None:
        log(f"first run: created user [bold]admin[/] with password [bold]{password}[/] — log in, add the "
            f"office's users, then change it (Users page or `payroll user passwd admin`)")
    if host != HOST:
        log(f"[bold yellow]warning:[/] listening on {host}: anyone who reaches this port sees the login page. "
            f"Put a TLS reverse proxy in front (README: TLS) and keep the port off the open network.")
    url = f"http://{host}:{port}/"
    write_marker(office.db_path, url)
    log(f"serving {office.db_path} on {url} ({office.mode_text()}; Ctrl-C stops)")
    # uvicorn stops gracefully on SIGTERM and then re-raises it to the handler it found: make that
    # handler an exit, so the marker is removed and the database closed (a stale marker is harmless
    # anyway: the CLI checks that its process is alive)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=True,
                    forwarded_allow_ips="127.0.0.1")
    finally:
        remove_marker(office.db_path)
        office.close()


