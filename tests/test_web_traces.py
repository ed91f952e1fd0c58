"""The web's month traces (payroll.web.traces): a person page traced from the month's table computed
once for everybody gives exactly the lines the per-person path gives (the CLI's `explain`), a table is
used only under the state its page's snapshot sees, and a person whose inputs changed since the run
is still explained as the run saw them."""
from __future__ import annotations

import shutil
import time

import pytest

from payroll.reports.explain import Explainer
from payroll.web.office import Office


@pytest.fixture()
def office(office_site, tmp_path):
    shutil.copy(office_site.db, tmp_path / "traces.duckdb")
    office = Office(str(tmp_path / "traces.duckdb"), None)
    yield office
    office.close()


def _wait_for_table(office: Office, month: str, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if office.traces.ready(month):
            return
        time.sleep(0.05)
    raise AssertionError(f"no trace table for {month}")


def _lines(explanation) -> list:
    """Every trace line whole (value, shown figure, formula, basis, policy rows) and the differences
    against the stored payslip."""
    return [explanation.lines, explanation.mismatches]


def test_a_page_traced_from_the_month_table_matches_the_per_person_trace(office):
    cur = office.cursor()
    people = [p for (p,) in cur.execute("SELECT employee_id FROM payslips WHERE month = '2025-03' "
                                        "ORDER BY employee_id").fetchall()]
    sample = people[:: max(1, len(people) // 3)]      # CI cost: each per-person trace is ~0.5 s
    web, plain = office.explainer(), Explainer(office.con.cursor(), office.policy)
    _wait_for_table(office, "2025-03")                # the latest month: built when the server starts
    # an earlier month: its first page takes the per-person path and starts the build
    assert office.traces.row(cur, sample[0], "2025-02") is None
    _wait_for_table(office, "2025-02")
    assert office.traces.row(cur, sample[0], "2025-02") is not None
    for month in ("2025-03",):                  # a month with earlier months: the year-to-date tax
        assert office.traces.row(cur, sample[0], month) is not None      # the table is used
        for person in sample:
            assert _lines(web.explain(person, month)) == _lines(plain.explain(person, month)), (person, month)


def test_a_new_import_or_run_stops_the_old_table_being_used(office):
    cur = office.cursor()
    person = cur.execute("SELECT min(employee_id) FROM payslips WHERE month = '2025-03'").fetchall()[0][0]
    office.traces.row(cur, person, "2025-03")
    _wait_for_table(office, "2025-03")
    assert office.traces.row(cur, person, "2025-03") is not None
    # a run from a later month (its ledger row, written in the run's transaction) leaves it in use
    cur.execute("INSERT INTO runs SELECT * REPLACE ('later-run' AS run_id, started_at + INTERVAL 1 SECOND "
                "AS started_at, '2025-04' AS first_month, '2025-04' AS last_month) FROM runs "
                "ORDER BY started_at DESC LIMIT 1")
    assert office.traces.row(cur, person, "2025-03") is not None
    # a run from the month or before changes the fingerprint the page sees: the table is not used
    cur.execute("INSERT INTO runs SELECT * REPLACE ('another-run' AS run_id, started_at + INTERVAL 2 SECOND "
                "AS started_at, '2025-03' AS first_month, '2025-03' AS last_month) FROM runs "
                "ORDER BY started_at DESC LIMIT 1")
    assert office.traces.row(cur, person, "2025-03") is None
    _wait_for_table(office, "2025-03")                # rebuilt for the new state, then used
    assert office.traces.row(cur, person, "2025-03") is not None
    # so does an import
    cur.execute("INSERT INTO imports VALUES ('i-test', now(), 'attendance', 'march.csv', 'x', 1, 1)")
    assert office.traces.row(cur, person, "2025-03") is None


def test_a_person_whose_inputs_changed_is_explained_as_the_run_saw_them(office):
    cur = office.cursor()
    person = cur.execute("SELECT min(employee_id) FROM payslips WHERE month = '2025-03'").fetchall()[0][0]
    office.traces.row(cur, person, "2025-03")
    _wait_for_table(office, "2025-03")
    plain = Explainer(office.con.cursor(), office.policy)
    before = _lines(plain.explain(person, "2025-03"))
    # a changed level not yet run: the month's table (built before) and the stored payslip disagree with
    # the inputs; the page must still show what the run computed
    cur.execute("UPDATE employees SET special_deduction = special_deduction + 100000 WHERE employee_id = ?", [person])
    assert _lines(office.explainer().explain(person, "2025-03")) == before


def test_closing_the_server_stops_a_build_under_way(office_site, tmp_path):
    """No build thread is left inside DuckDB when the server closes (a thread killed there at the
    process's end aborts it)."""
    shutil.copy(office_site.db, tmp_path / "closing.duckdb")
    office = Office(str(tmp_path / "closing.duckdb"), None)         # starts building the latest month
    threads = list(office.traces._active)
    assert threads                                                  # the build is under way (it takes ~1 s)
    office.close()
    assert not any(thread.is_alive() for thread in threads)
    assert not office.traces._active
