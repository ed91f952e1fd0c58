"""The web server's audit writer (issue 18): entries of requests arriving at once share one
transaction, and the chain stays what `payroll audit verify` expects: every entry once, in order,
with no gap, after a clash with another writer and after a CLI command's pending entry."""
from __future__ import annotations

import threading

import duckdb
import pytest

from payroll.db import connect
from payroll.office import audit
from payroll.office.schema import ensure_office_schema


def _event(number: int) -> audit.AuditEvent:
    return audit.AuditEvent(f"hr{number % 3}", "web", "127.0.0.1", "view_pay", f"FJ{number:06d}", "2025-03")


@pytest.fixture
def con(tmp_path):
    con = connect(tmp_path / "office.duckdb")
    ensure_office_schema(con)
    yield con
    con.close()


def test_entries_recorded_at_once_are_each_in_the_chain_once(con):
    writer = audit.AuditWriter(con)
    threads = [threading.Thread(target=lambda n=n: [writer.record(_event(n * 100 + i)) for i in range(25)])
               for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    writer.close()
    result = audit.verify(con)
    assert result.ok, result.problems
    targets = [t for (t,) in con.execute("SELECT target FROM audit_log ORDER BY seq").fetchall()]
    assert sorted(targets) == sorted(f"FJ{n * 100 + i:06d}" for n in range(8) for i in range(25))
    # fewer transactions than entries is the point, but never required: only the chain is
    assert con.execute("SELECT min(seq), max(seq), count(*) FROM audit_log").fetchall()[0] == (1, 200, 200)


def test_another_writer_in_between_is_followed_not_overwritten(con):
    writer = audit.AuditWriter(con)
    writer.record(_event(1))
    audit.record(con.cursor(), _event(2))          # e.g. the first-run bootstrap on another cursor
    writer.record(_event(3))                        # its remembered head is stale: it reads it again
    result = audit.verify(con)
    assert result.ok and result.entries == 3, result.problems
    assert [t for (t,) in con.execute("SELECT target FROM audit_log ORDER BY seq").fetchall()] == [
        "FJ000001", "FJ000002", "FJ000003"]


def test_a_cli_commands_pending_entry_is_chained_before_the_next_page(con, tmp_path):
    writer = audit.AuditWriter(con)
    writer.record(_event(1))
    audit.record_pending(str(tmp_path / "office.duckdb"), audit.cli_event("export", "2025-03", "register"))
    writer.record(_event(2))
    assert [a for (a,) in con.execute("SELECT action FROM audit_log ORDER BY seq").fetchall()] == [
        "view_pay", "export", "view_pay"]
    assert audit.verify(con).ok
    assert not audit.pending_path(str(tmp_path / "office.duckdb")).read_text()


def test_a_failed_write_raises_in_the_request_and_leaves_the_chain_whole(con):
    writer = audit.AuditWriter(con)
    writer.record(_event(1))
    con.execute("ALTER TABLE audit_log RENAME TO audit_log_away")
    with pytest.raises(duckdb.Error):
        writer.record(_event(2))
    con.execute("ALTER TABLE audit_log_away RENAME TO audit_log")
    writer.record(_event(3))
    assert [t for (t,) in con.execute("SELECT target FROM audit_log ORDER BY seq").fetchall()] == [
        "FJ000001", "FJ000003"]
    assert audit.verify(con).ok


def test_while_a_job_writes_entries_wait_in_the_pending_file_and_are_chained_at_its_end(con, tmp_path):
    writer = audit.AuditWriter(con)
    writer.record(_event(1))
    pending = audit.pending_path(str(tmp_path / "office.duckdb"))
    with writer.deferred():
        threads = [threading.Thread(target=writer.record, args=(_event(n),)) for n in range(2, 12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        # durable before the page is answered, and not yet in the database the job is writing
        assert len(pending.read_text(encoding="utf-8").splitlines()) == 10
        assert con.execute("SELECT count(*) FROM audit_log").fetchall()[0][0] == 1
        # "who looked at this person's pay" answers with the waiting entry already
        assert [(e["seq"], e["target"]) for e in audit.entries(con, person="FJ000005")] == [(None, "FJ000005")]
        assert [e["seq"] for e in audit.entries(con)][-1] == 1 and len(audit.entries(con)) == 11
    rows = con.execute("SELECT target, logged_at FROM audit_log ORDER BY seq").fetchall()
    assert sorted(t for t, _ in rows[1:]) == sorted(f"FJ{n:06d}" for n in range(2, 12))
    assert [at for _, at in rows] == sorted(at for _, at in rows)        # each with its own time, in order
    assert pending.read_text(encoding="utf-8") == ""
    writer.record(_event(12))
    result = audit.verify(con)
    assert result.ok and result.entries == 12, result.problems


def test_an_in_memory_database_has_no_pending_file_and_commits_at_once():
    con = duckdb.connect(":memory:")
    ensure_office_schema(con)
    writer = audit.AuditWriter(con)
    with writer.deferred():
        writer.record(_event(1))
        assert con.execute("SELECT count(*) FROM audit_log").fetchall()[0][0] == 1
    assert audit.verify(con).ok
