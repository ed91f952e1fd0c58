"""`payroll month submit|pass|return|approve|close|status`: the month's workflow from the command line,
acting as a named office user, under the web's rules (roles, four eyes, a comment to return, close
only when approved) and audited under that user's name. In-process through `run_cli` (exit codes as
`main()` returns them), on a copy of the web tests' office (tests/web_site.py)."""
from __future__ import annotations

import shutil

import pytest

from payroll.cli import run_cli
from payroll.db import connect
from payroll.office import audit, workflow
from web_site import PASSWORD

M = "2025-01"       # the first month run: `close --month 2025-01` closes it alone


@pytest.fixture()
def db(office_site, tmp_path):
    target = tmp_path / "office.duckdb"
    shutil.copy(office_site.db, target)
    return str(target)


def month(db: str, step: str, user: str, *extra: str, password: str = PASSWORD) -> int:
    return run_cli(["month", step, "--month", M, "--user", user, "--password", password, "--db", db, *extra])


def test_a_month_goes_from_draft_to_closed_from_the_command_line(db, capsys):
    assert month(db, "submit", "clerk") == 0
    assert month(db, "return", "reviewer") == 2                      # returning needs a comment
    assert "needs a comment" in capsys.readouterr().err
    assert month(db, "return", "reviewer", "--comment", "加班费 check the overtime") == 0
    assert month(db, "submit", "clerk", "--comment", "overtime corrected") == 0
    assert month(db, "pass", "reviewer") == 0
    assert month(db, "approve", "approver") == 0
    assert month(db, "close", "clerk") == 0
    capsys.readouterr()
    assert run_cli(["month", "status", "--month", M, "--db", db]) == 0
    shown = capsys.readouterr().out
    assert "closed" in shown and "check the overtime" in shown
    con = connect(db, read_only=True)
    steps = [(s["step"], s["username"], s["to_state"]) for s in workflow.month_steps(con, M)]
    assert steps[-6:] == [("submit", "clerk", "submitted"), ("return", "reviewer", "draft"),
                          ("submit", "clerk", "submitted"), ("pass", "reviewer", "reviewed"),
                          ("approve", "approver", "approved"), ("close", "clerk", "closed")]
    # each step audited under the acting user's name, marked cli, the month as target
    logged = [(e["username"], e["via"], e["action"]) for e in audit.entries(con, action=None, limit=50)
              if e["target"] == M]
    for expected in (("clerk", "cli", "submit"), ("reviewer", "cli", "return"), ("reviewer", "cli", "pass"),
                     ("approver", "cli", "approve"), ("clerk", "cli", "close")):
        assert expected in logged, expected
    assert audit.verify(con).ok


def test_the_command_line_keeps_the_web_rules(db, capsys):
    # a role that does not hold the step
    assert month(db, "submit", "hr") == 2
    assert "roles do not allow" in capsys.readouterr().err
    assert month(db, "approve", "clerk") == 2
    assert "roles do not allow" in capsys.readouterr().err
    # a step out of order
    assert month(db, "approve", "approver") == 2
    assert "needs it reviewed" in capsys.readouterr().err
    # four eyes: who submitted may not approve, even holding both roles
    assert month(db, "submit", "clerkapprover") == 0
    assert month(db, "pass", "reviewer") == 0
    assert month(db, "approve", "clerkapprover") == 2
    assert "may not also approve" in capsys.readouterr().err
    # close needs approved in approval mode
    assert month(db, "close", "clerk") == 2
    assert "not approved" in capsys.readouterr().err
    # a wrong password is refused, audited, and counts towards the lockout
    assert month(db, "submit", "clerk", password="not the password") == 2
    assert "wrong user name or password" in capsys.readouterr().err
    con = connect(db, read_only=True)
    assert workflow.month_state(con, M) == "reviewed"
    assert con.execute("SELECT failed_logins FROM users WHERE username = 'clerk'").fetchall()[0][0] == 1
    assert [e["action"] for e in audit.entries(con, person="clerk", limit=5)][0] == "login_failed"
