"""The security rules of the web application: CSRF, session rotation at login, lockout, inert
HTML, path traversal, the audit chain, and the server's exclusive hold on its database."""
from __future__ import annotations

import duckdb
import pytest
from starlette.testclient import TestClient

from payroll.errors import PayrollError
from payroll.io.idnumber import contains_full_id_number
from payroll.office import audit
from payroll.office.users import MAX_FAILED_LOGINS
from payroll.web.app import SECURITY_HEADERS, create_app
from payroll.web.sessions import COOKIE
from web_site import PASSWORD, csrf_of, log_in


@pytest.fixture(scope="module")
def app(office_site):
    application = create_app(str(office_site.db), None)
    yield application
    application.state.office.close()


def client_of(app) -> TestClient:
    return TestClient(app, follow_redirects=False)


def test_a_post_without_the_csrf_token_is_refused(app):
    client = client_of(app)
    log_in(client, "reviewer")
    for data in ({}, {"csrf": "forged"}):
        answer = client.post("/month/2025-03/return", data={"comment": "no token", **data})
        assert answer.status_code == 403 and "CSRF" in answer.text
    # the login form itself needs the token of the page it came from
    fresh = client_of(app)
    answer = fresh.post("/login", data={"username": "clerk", "password": PASSWORD})
    assert answer.status_code == 403


def test_the_session_cookie_from_before_login_is_not_accepted_after_it(app):
    client = client_of(app)
    client.get("/login")
    before = client.cookies.get(COOKIE)
    assert log_in(client, "auditor").status_code == 303
    after = client.cookies.get(COOKIE)
    assert before and after and before != after
    assert client.get("/audit").status_code == 200
    replay = client_of(app)
    replay.cookies.set(COOKIE, before)
    answer = replay.get("/audit")
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login")
    # a forged cookie is refused too
    forged = client_of(app)
    forged.cookies.set(COOKIE, after[:-2] + ("AA" if not after.endswith("AA") else "BB"))
    assert forged.get("/audit").status_code == 303


def test_logout_ends_the_session(app):
    client = client_of(app)
    log_in(client, "auditor")
    cookie = client.cookies.get(COOKIE)
    csrf = csrf_of(client.get("/audit").text)
    assert client.post("/logout", data={"csrf": csrf}).status_code == 303
    replay = client_of(app)
    replay.cookies.set(COOKIE, cookie)
    assert replay.get("/audit").status_code == 303


def test_repeated_failed_logins_lock_the_account(app):
    client = client_of(app)
    for attempt in range(MAX_FAILED_LOGINS):
        answer = log_in(client, "approver", "wrong password!")
        assert answer.status_code == 401
    assert "locked" in answer.text
    # now even the right password is refused, until the lock ends or an admin sets a new password
    locked = log_in(client_of(app), "approver")
    assert locked.status_code == 401 and "locked" in locked.text
    con = app.state.office.cursor()
    assert con.execute("SELECT locked_until > now() FROM users WHERE username = 'approver'").fetchall()[0][0]
    actions = [e["action"] for e in audit.entries(con, person="approver")]
    assert actions.count("login_failed") >= MAX_FAILED_LOGINS + 1
    from payroll.office.users import set_password
    with app.state.office.writer() as cur:
        set_password(cur, "approver", PASSWORD)
    assert log_in(client_of(app), "approver").status_code == 303


def test_html_and_script_in_names_are_shown_inert(app):
    client = client_of(app)
    log_in(client, "auditor")
    page = client.get("/?q=%3Cscript%3E").text
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    answer = client.get("/?q=FJ")
    assert not contains_full_id_number(answer.text)
    for header, value in SECURITY_HEADERS.items():
        assert answer.headers[header] == value
    assert "script-src" not in answer.headers["Content-Security-Policy"]     # default-src 'none': no script at all


@pytest.mark.parametrize("path", ["/static/../../../pyproject.toml", "/static/%2e%2e/%2e%2e/db.py",
                                  "/static/..%2f..%2fdb.py", "/static//etc/passwd", "/static/%2fetc%2fpasswd"])
def test_path_traversal_is_refused(app, path):
    answer = client_of(app).get(path)
    assert answer.status_code == 404
    assert "duckdb" not in answer.text and "root:" not in answer.text


def test_uploaded_file_names_never_become_paths(app):
    client = client_of(app)
    log_in(client, "clerk")
    csrf = csrf_of(client.get("/months").text)
    answer = client.post("/months/import", data={"csrf": csrf},
                         files={"employees": ("../../evil.sh", b"x", "text/plain")})
    assert answer.status_code == 400 and ".csv or .xlsx" in answer.text


def test_the_login_redirect_stays_on_this_server(app):
    client = client_of(app)
    page = client.get("/login?next=//evil.example/x")
    answer = client.post("/login", data={"username": "auditor", "password": PASSWORD, "csrf": csrf_of(page.text),
                                         "next": "https://evil.example/"})
    assert answer.headers["location"] == "/"


def test_the_audit_chain_detects_an_edited_a_deleted_and_a_cut_off_row(tmp_path):
    con = duckdb.connect(str(tmp_path / "a.duckdb"))
    for number in range(5):
        audit.record(con, audit.AuditEvent("hr", "web", "127.0.0.1", "view_pay", f"FJ{number}", "2025-03"))
    assert audit.verify(con).ok and audit.verify(con).entries == 5
    con.execute("UPDATE audit_log SET target = 'FJ9' WHERE seq = 3")           # edited
    result = audit.verify(con)
    assert not result.ok and any(p.startswith("entry 3: its content was changed") for p in result.problems)
    con.execute("UPDATE audit_log SET target = 'FJ2' WHERE seq = 3")
    assert audit.verify(con).ok
    con.execute("DELETE FROM audit_log WHERE seq = 2")                         # deleted
    assert any("entry 2: missing" in p for p in audit.verify(con).problems)
    other = duckdb.connect(str(tmp_path / "b.duckdb"))
    for number in range(3):
        audit.record(other, audit.AuditEvent("hr", "web", "127.0.0.1", "view_pay", f"FJ{number}", ""))
    other.execute("DELETE FROM audit_log WHERE seq = 3")                       # cut off the end
    assert any("recorded head" in p for p in audit.verify(other).problems)


def test_the_cli_names_the_server_that_holds_the_database(tmp_path):
    """While `payroll serve` runs, another process gets the server's address instead of a lock error."""
    import json
    import subprocess
    import sys
    db = tmp_path / "held.duckdb"
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; "
                               f"c = duckdb.connect({str(db)!r}); print('ready', flush=True); time.sleep(60)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        (tmp_path / "held.duckdb.server.json").write_text(json.dumps({"pid": holder.pid, "url": "http://127.0.0.1:9/"}))
        from payroll.db import connect
        with pytest.raises(PayrollError, match=r"held by `payroll serve` .* at http://127.0.0.1:9/"):
            connect(str(db))
    finally:
        holder.kill()
        holder.wait()


# ---- sessions kept in the database: a restart logs nobody out; revocation, expiry and rotation hold

@pytest.fixture
def own_db(office_site, tmp_path):
    """A copy of the office database for a test that restarts its server."""
    import shutil
    shutil.copy(office_site.db, tmp_path / "own.duckdb")
    return str(tmp_path / "own.duckdb")


def test_a_session_survives_a_restart_of_the_server(own_db):
    first = create_app(own_db, None)
    client = client_of(first)
    assert log_in(client, "reviewer").status_code == 303
    cookie, csrf = client.cookies.get(COOKIE), csrf_of(client.get("/months").text)
    first.state.office.close()
    restarted = create_app(own_db, None)
    try:
        again = client_of(restarted)
        again.cookies.set(COOKIE, cookie)
        assert again.get("/months").status_code == 200                   # still logged in
        # the session's CSRF token survived with it: a form from before the restart is accepted
        answer = again.post("/month/2025-03/return", data={"csrf": csrf, "comment": "after restart"})
        assert answer.status_code != 403, answer.text[:300]
        # the table keeps the id's hash, never the id the cookie carries
        session_id = restarted.state.office.sessions.signer.unsign(cookie.encode()).decode()
        stored = [h for (h,) in restarted.state.office.cursor().execute(
            "SELECT session_hash FROM web_sessions").fetchall()]
        assert session_id not in stored and len(stored) >= 1
    finally:
        restarted.state.office.close()


def test_sessions_are_revoked_by_logout_from_the_cli_and_by_disabling(own_db):
    from typer.testing import CliRunner

    from payroll.cli import app as cli
    first = create_app(own_db, None)
    reviewer, auditor = client_of(first), client_of(first)
    log_in(reviewer, "reviewer")
    log_in(auditor, "auditor")
    cookies = {"reviewer": reviewer.cookies.get(COOKIE), "auditor": auditor.cookies.get(COOKIE)}
    first.state.office.close()
    runner = CliRunner()
    ended = runner.invoke(cli, ["user", "logout", "reviewer", "--db", own_db])
    assert ended.exit_code == 0 and "1 web session(s) ended" in ended.output, ended.output
    assert runner.invoke(cli, ["user", "disable", "auditor", "--db", own_db]).exit_code == 0
    unknown = runner.invoke(cli, ["user", "logout", "nobody", "--db", own_db])
    assert isinstance(unknown.exception, PayrollError) and "no user 'nobody'" in str(unknown.exception)   # main() exits 2
    restarted = create_app(own_db, None)
    try:
        for name, cookie in cookies.items():
            replay = client_of(restarted)
            replay.cookies.set(COOKIE, cookie)
            answer = replay.get("/months")
            assert answer.status_code == 303 and answer.headers["location"].startswith("/login"), name
    finally:
        restarted.state.office.close()


def test_an_idle_or_too_old_session_ends(own_db):
    import time

    from payroll.web.sessions import IDLE_SECONDS, MAX_AGE_SECONDS
    app = create_app(own_db, None)
    try:
        cur = app.state.office.cursor()
        for column, age in (("last_seen", IDLE_SECONDS + 5), ("created_at", MAX_AGE_SECONDS + 5)):
            client = client_of(app)
            log_in(client, "auditor")
            assert client.get("/audit").status_code == 200
            cur.execute("DELETE FROM web_sessions WHERE username IS NULL")
            cur.execute(f"UPDATE web_sessions SET {column} = ? WHERE username = 'auditor'", [time.time() - age])
            answer = client.get("/audit")
            assert answer.status_code == 303 and answer.headers["location"].startswith("/login"), column
            # the ended session is deleted, not only refused
            assert cur.execute("SELECT count(*) FROM web_sessions WHERE username = 'auditor'").fetchall()[0][0] == 0
    finally:
        app.state.office.close()


def test_a_cookie_signed_with_another_key_is_refused(own_db):
    from payroll.web.sessions import SessionStore
    app = create_app(own_db, None)
    try:
        store = app.state.office.sessions
        session = store.new("auditor")
        stranger = SessionStore(app.state.office.con, secret=b"another server's key")
        forged = client_of(app)
        forged.cookies.set(COOKIE, stranger.cookie_value(session))         # right id, wrong key
        assert forged.get("/audit").status_code == 303
        genuine = client_of(app)
        genuine.cookies.set(COOKIE, store.cookie_value(session))
        assert genuine.get("/audit").status_code == 200
    finally:
        app.state.office.close()


def test_last_seen_is_written_when_due_but_not_while_a_job_writes(own_db):
    """A session's last_seen is written at most once a minute, and not while a run or import writes
    the database (the page would wait for the job's commit); the next request after the job does it."""
    import time

    from payroll.web.sessions import TOUCH_SECONDS
    app = create_app(own_db, None)
    office = app.state.office
    try:
        client = client_of(app)
        log_in(client, "auditor")
        cur = office.cursor()
        long_ago = time.time() - TOUCH_SECONDS - 5

        def last_seen() -> float:
            return cur.execute("SELECT last_seen FROM web_sessions WHERE username = 'auditor'").fetchall()[0][0]

        cur.execute("UPDATE web_sessions SET last_seen = ? WHERE username = 'auditor'", [long_ago])
        with office.jobs._write_lock:                    # as while a job runs
            assert client.get("/audit").status_code == 200
            assert last_seen() == long_ago
        assert client.get("/audit").status_code == 200
        assert last_seen() > long_ago
        touched = last_seen()
        assert client.get("/audit").status_code == 200      # within the minute: not written again
        assert last_seen() == touched
    finally:
        office.close()
