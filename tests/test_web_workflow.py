"""The month's workflow: draft → submitted → reviewed → approved → closed, return with a comment,
back to draft when a re-run or an import changes the month, four eyes, `payroll close` needing
approval in approval mode and not in single-person mode; the CLI's audit entries."""
from __future__ import annotations

import shutil
import subprocess
import sys

import duckdb
import pytest
from conftest import run_payroll

from payroll.db import connect
from payroll.errors import PayrollError
from payroll.office import audit, workflow
from payroll.office.schema import single_person_mode
from payroll.office.users import Grant, add_user

M = "2025-03"


def _cli(*args) -> subprocess.CompletedProcess:
    return run_payroll(*args)


def _cli_in_another_process(*args) -> subprocess.CompletedProcess:
    """For a command that must meet this process's open connection as another process would."""
    return subprocess.run([sys.executable, "-m", "payroll.cli", *args], capture_output=True, text=True, timeout=600)


@pytest.fixture()
def db(office_site, tmp_path):
    target = tmp_path / "office.duckdb"
    shutil.copy(office_site.db, target)
    return target


def test_a_month_goes_through_the_steps_with_four_eyes(db):
    con = connect(db)
    assert not single_person_mode(con)
    assert workflow.month_state(con, M) == "draft"
    with pytest.raises(PayrollError, match="needs it submitted"):
        workflow.advance(con, M, "pass", "reviewer")
    assert workflow.advance(con, M, "submit", "clerkapprover") == "submitted"
    with pytest.raises(PayrollError, match="needs a comment"):
        workflow.advance(con, M, "return", "reviewer", "  ")
    assert workflow.advance(con, M, "return", "reviewer", "level of FJ000003 looks wrong") == "draft"
    assert workflow.advance(con, M, "submit", "clerkapprover") == "submitted"
    assert workflow.advance(con, M, "pass", "reviewer") == "reviewed"
    with pytest.raises(PayrollError, match="submitted 2025-03 and may not also approve it"):
        workflow.advance(con, M, "approve", "clerkapprover")
    assert workflow.advance(con, M, "approve", "approver", "ok") == "approved"
    steps = [(s["step"], s["from_state"], s["to_state"], s["username"]) for s in workflow.month_steps(con, M)]
    assert steps == [("submit", "draft", "submitted", "clerkapprover"),
                     ("return", "submitted", "draft", "reviewer"),
                     ("submit", "draft", "submitted", "clerkapprover"),
                     ("pass", "submitted", "reviewed", "reviewer"),
                     ("approve", "reviewed", "approved", "approver")]
    assert workflow.month_steps(con, M)[1]["comment"] == "level of FJ000003 looks wrong"


def test_cli_close_needs_approval_in_approval_mode(db):
    refused = _cli("close", "--month", "2025-01", "--db", str(db))
    assert refused.returncode == 2 and "2025-01 (draft) not approved" in refused.stderr
    con = connect(db)
    for month in ("2025-01",):
        workflow.advance(con, month, "submit", "clerk")
        workflow.advance(con, month, "pass", "reviewer")
        workflow.advance(con, month, "approve", "approver")
    con.close()
    # closing through February would close a month not approved: refused as a whole
    refused = _cli("close", "--month", "2025-02", "--db", str(db))
    assert refused.returncode == 2 and "2025-02 (draft)" in refused.stderr and "2025-01" not in refused.stderr.split(
        "cannot close through 2025-02:")[1].split("not approved")[0]
    done = _cli("close", "--month", "2025-01", "--db", str(db))
    assert done.returncode == 0, done.stderr
    con = duckdb.connect(str(db), read_only=True)
    assert workflow.month_state(con, "2025-01") == "closed"
    closes = audit.entries(con, action="close")
    assert closes[0]["via"] == "cli" and closes[0]["target"] == "2025-01"
    assert audit.verify(con).ok


def test_a_database_without_users_is_single_person_and_closes_without_approval(tmp_path, office_site):
    from explain_demo import build_demo_database  # noqa: F401 - same data, users removed below
    target = tmp_path / "single.duckdb"
    shutil.copy(office_site.db, target)
    con = duckdb.connect(str(target))
    con.execute("DROP TABLE users")
    con.execute("DROP TABLE user_roles")
    con.execute("DROP TABLE office_settings")
    con.close()
    assert single_person_mode(connect(target, read_only=True))
    done = _cli("close", "--month", "2025-02", "--db", str(target))
    assert done.returncode == 0, done.stderr


def test_single_person_mode_is_chosen_with_the_first_user(tmp_path):
    con = connect(tmp_path / "x.duckdb")
    con.execute("INSERT INTO employees (employee_id, name, region_code, unit, category, level, post, hire_date) "
                "VALUES ('A1', '甲', '320600', 'u', 'duty', 7, 'PATROL', '2020-01-01')")
    add_user(con, "me", "long enough pw", [Grant("clerk", "*", True)], single_person=True)
    assert single_person_mode(con)
    add_user(con, "other", "long enough pw", [Grant("hr", "*", True)])      # later users keep the mode
    assert single_person_mode(con)
    with pytest.raises(PayrollError, match="too short"):
        add_user(con, "short", "x", [Grant("hr", "*", True)])
    with pytest.raises(PayrollError, match="admin manages users and nothing else"):
        add_user(con, "boss", "long enough pw", [Grant("admin", "*", True), Grant("clerk", "*", True)])
    stored = con.execute("SELECT password_hash FROM users WHERE username = 'me'").fetchall()[0][0]
    assert stored.startswith("$argon2id$") and "long enough pw" not in stored


def test_a_rerun_that_changes_the_month_and_an_import_send_it_back_to_draft(db, tmp_path):
    from payroll.engine.run import run_months
    from payroll.policy import load_policy
    con = connect(db)
    policy = load_policy()
    workflow.advance(con, M, "submit", "clerk")
    same = {M: workflow.payslips_digest(con, M)}
    run_months(con, policy, M)
    assert workflow.after_run(con, [M], same, "clerk") == []                # nothing changed: stays submitted
    assert workflow.month_state(con, M) == "submitted"
    # an attendance change of March: the import sends the month back, before anyone re-runs it
    person = con.execute("SELECT employee_id FROM payslips WHERE month = ? ORDER BY employee_id LIMIT 1", [M]).fetchall()[0][0]
    (tmp_path / "att.csv").write_text(f"employee_id,month,night_shifts\n{person},{M},9\n", encoding="utf-8")
    con.close()
    imported = _cli("import", "--attendance", str(tmp_path / "att.csv"), "--db", str(db))
    assert imported.returncode == 0, imported.stderr
    assert "back to draft" in imported.stdout and M in imported.stdout
    con = connect(db)
    assert workflow.month_state(con, M) == "draft"
    workflow.advance(con, M, "submit", "clerk")
    before = {M: workflow.payslips_digest(con, M)}
    con.execute("UPDATE attendance SET night_shifts = 10 WHERE employee_id = ? AND month = ?", [person, M])
    run_months(con, policy, M)
    assert workflow.after_run(con, [M], before, "clerk") == [M]
    assert workflow.month_state(con, M) == "draft"
    assert workflow.month_steps(con, M)[-1]["step"] == "changed"


def test_a_first_run_is_a_change_and_a_rerun_that_changes_nothing_says_so(db):
    from payroll.engine.run import run_months
    from payroll.policy import load_policy
    con = connect(db)
    policy = load_policy()
    month = "2025-04"                                   # never run on the office's database
    before = {month: workflow.payslips_digest(con, month)}
    assert before[month] == "0:0"
    run_months(con, policy, month)
    assert workflow.after_run(con, [month], before, "clerk") == []
    first = workflow.month_steps(con, month)[-1]
    assert (first["step"], first["to_state"], first["comment"]) == ("run", "draft", "")
    before = {month: workflow.payslips_digest(con, month)}
    run_months(con, policy, month)
    workflow.after_run(con, [month], before, "clerk")
    assert workflow.month_steps(con, month)[-1]["comment"] == "重新计算，工资未变 re-run, no payslip changed"
    # nothing before and nothing after (the payslips deleted): no change
    con.execute("DELETE FROM payslips WHERE month = ?", [month])
    workflow.after_run(con, [month], {month: "0:0"}, "clerk")
    assert workflow.month_steps(con, month)[-1]["comment"] == "重新计算，工资未变 re-run, no payslip changed"


def test_cli_commands_are_audited_and_audit_person_answers_who_looked(db, tmp_path):
    con = duckdb.connect(str(db), read_only=True)
    person = con.execute("SELECT min(employee_id) FROM payslips").fetchall()[0][0]
    con.close()
    assert _cli("explain", person, "--month", M, "--db", str(db)).returncode == 0
    # while another process reads the database, the export's entry waits beside it and is chained later
    reader = duckdb.connect(str(db), read_only=True)
    exported = _cli_in_another_process("export", "--month", M, "--what", "register", "--format", "csv", "--out",
                    str(tmp_path / "r.csv"), "--db", str(db))
    assert exported.returncode == 0, exported.stderr
    reader.close()
    assert (tmp_path / "office.duckdb.audit-pending.jsonl").stat().st_size > 0
    shown = _cli("audit", "--person", person, "--db", str(db))      # read-only: the export entry still waits
    assert shown.returncode == 0 and "view_pay" in shown.stdout and "cli" in shown.stdout
    waiting = _cli("audit", "--action", "export", "--db", str(db))      # listed already, marked pending
    assert waiting.returncode == 0 and "pending" in waiting.stdout and "register" in waiting.stdout, waiting.stdout
    noted = _cli("audit", "verify", "--db", str(db))
    assert noted.returncode == 0 and "1 entry pending" in noted.stdout, noted.stdout
    con = connect(db)
    audit.record(con, audit.cli_event("run", M, "next write folds the waiting entry in"))
    actions = [e["action"] for e in audit.entries(con)][:3]
    assert actions == ["run", "export", "view_pay"]
    assert (tmp_path / "office.duckdb.audit-pending.jsonl").stat().st_size == 0
    con.close()
    verified = _cli("audit", "verify", "--db", str(db))
    assert verified.returncode == 0 and "intact" in verified.stdout
    con = duckdb.connect(str(db))
    con.execute("UPDATE audit_log SET username = 'someone else' WHERE action = 'view_pay'")
    con.close()
    broken = _cli("audit", "verify", "--db", str(db))
    assert broken.returncode == 2 and "its content was changed" in broken.stdout


def _in_process(*args):
    """The CLI in this process (a subprocess costs seconds of imports): (exit code, output, error)."""
    from typer.testing import CliRunner

    from payroll.cli import app
    result = CliRunner().invoke(app, list(args), standalone_mode=False)
    if isinstance(result.exception, PayrollError):
        return 2, result.output, str(result.exception)
    assert result.exception is None, result.exception
    return 0, result.output, ""


def test_user_commands(db):
    code, _, error = _in_process("user", "add", "hr2", "--role", "hr@某分局/*", "--role", "auditor", "--password",
                                 "a long password", "--db", str(db))
    assert code == 0, error
    code, listed, _ = _in_process("user", "list", "--db", str(db))
    assert "hr@某分局/*" in listed and "approval mode" in listed
    assert _in_process("user", "disable", "hr2", "--db", str(db))[0] == 0
    assert _in_process("user", "passwd", "hr2", "--password", "short", "--db", str(db))[0] == 2
    assert _in_process("user", "passwd", "hr2", "--password", "another long one", "--db", str(db))[0] == 0
    code, _, error = _in_process("user", "add", "x", "--role", "boss", "--password", "a long password", "--db", str(db))
    assert code == 2 and "unknown role" in error
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT disabled FROM users WHERE username = 'hr2'").fetchall() == [(True,)]
    assert [e["action"] for e in audit.entries(con, person="hr2")][:3] == ["user_passwd", "user_disable", "user_add"]


def test_the_review_page_figures(db):
    """Totals are the month's sums; a swing is |net change| above the threshold share of last month's
    net; everyone paid without a bank account is listed; scope narrows every list."""
    from payroll.office.review import build_review, write_review_xlsx
    from payroll.policy import load_policy
    con = duckdb.connect(str(db), read_only=True)
    review = build_review(con, M, ("true", []), load_policy(), None, swing_percent=5)
    totals = {row[0]: row[1:] for row in review.section("totals").rows}
    net_feb, net_mar = con.execute("SELECT sum(net_pay) FILTER (WHERE month = '2025-02'), "
                                   "sum(net_pay) FILTER (WHERE month = '2025-03') FROM payslips").fetchall()[0]
    assert totals["实发合计 net"] == (net_feb, net_mar, net_mar - net_feb)
    expected_swings = con.execute(
        "SELECT count(*) FROM payslips a JOIN payslips b ON a.employee_id = b.employee_id AND a.month = '2025-02' "
        "AND b.month = '2025-03' WHERE abs(b.net_pay - a.net_pay) > 0.05 * abs(a.net_pay)").fetchall()[0][0]
    assert len(review.section("swings").rows) == expected_swings
    assert len(review.section("no_bank").rows) == con.execute(
        "SELECT count(*) FROM payslips WHERE month = ? AND net_pay > 0", [M]).fetchall()[0][0]   # no accounts here
    narrow = build_review(con, M, ("p.employee_id = ?", ["FJ000003"]), None, None, swing_percent=5)
    assert {row[0] for row in narrow.section("no_bank").rows} == {"FJ000003"}
    path = write_review_xlsx(review, db.parent / "review.xlsx")
    import openpyxl
    assert openpyxl.load_workbook(path).sheetnames[:3] == ["totals", "joiners_leavers", "changes"]
