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


def _month_rows(office: Office, month: str) -> dict[str, dict]:
    """The month's pipeline for everybody, as DuckDB's client gives it (the reference for the packing)."""
    from payroll.engine.context import Month
    from payroll.engine.offcycle import overlay_needed
    from payroll.engine.pipeline import final_stage, pipeline_sql
    from payroll.engine.trace import earlier_payslips_exist
    cursor = office.con.cursor()
    explainer = Explainer(cursor, office.policy)
    parsed = Month.parse(month)
    explainer.use_month(parsed)
    found = cursor.execute(f"{pipeline_sql(parsed, earlier_payslips_exist(cursor, parsed), None, overlay_needed(cursor, parsed.previous()))}\n"
                           f"SELECT * FROM {final_stage()}")
    names = [d[0] for d in found.description]
    return {row[0]: dict(zip(names, row)) for row in found.fetchall()}


def test_every_packed_row_reads_back_as_the_database_gives_it(office):
    """The JSON packing loses nothing: every person's pipeline row, stored payslip (DECIMAL to the
    fen and beyond, DATE) and record read back equal, value and type, to a plain query's."""
    cur = office.cursor()
    _wait_for_table(office, "2025-03")
    pipeline = _month_rows(office, "2025-03")
    stored = cur.execute("SELECT * FROM payslips WHERE month = '2025-03'")
    names = [d[0] for d in stored.description]
    payslips = {row[names.index("employee_id")]: dict(zip(names, row)) for row in stored.fetchall()}
    explainer = Explainer(office.con.cursor(), office.policy)
    assert pipeline and set(payslips) <= set(pipeline)
    for person, values in pipeline.items():
        page = office.traces.page(cur, person, "2025-03")
        assert page.values == values and page.stored == payslips.get(person), person
        assert [type(v) for v in page.values.values()] == [type(v) for v in values.values()], person
        assert page.person == explainer.person(person)
        if person in payslips:
            assert [type(v) for v in page.stored.values()] == [type(v) for v in payslips[person].values()]


def test_the_row_says_whose_inputs_changed_as_the_per_person_check_does(office):
    """`as_run`, computed for everybody at the build, is Explainer._inputs_unchanged of each person."""
    cur = office.cursor()
    people = [p for (p,) in cur.execute("SELECT employee_id FROM payslips WHERE month = '2025-03' "
                                        "ORDER BY employee_id").fetchall()]
    cur.execute("UPDATE employees SET level = level + 1 WHERE employee_id = ?", [people[0]])
    cur.execute("UPDATE employees SET special_deduction = special_deduction + 1 WHERE employee_id = ?", [people[1]])
    cur.execute("UPDATE employees SET service_start = DATE '2001-02-03' WHERE employee_id = ?", [people[2]])
    changed = cur.execute("UPDATE attendance SET night_shifts = coalesce(night_shifts, 0) + 1 WHERE month = '2025-03' "
                          "AND employee_id = ? RETURNING 1", [people[3]]).fetchall()
    cur.execute("INSERT INTO imports VALUES ('i-test', now(), 'employees', 'changed.csv', 'x', 1, 1)")
    assert office.traces.page(cur, people[0], "2025-03") is None          # the new state's table is built
    _wait_for_table(office, "2025-03")
    explainer = Explainer(office.con.cursor(), office.policy)
    flags = {}
    for person in people:
        page = office.traces.page(cur, person, "2025-03")
        flags[person] = page.as_run
        assert page.as_run == explainer._inputs_unchanged(person, "2025-03", page.stored), person
    assert [flags[p] for p in people[:3]] == [False, False, False]
    assert flags[people[3]] is (not changed) and sum(flags.values()) == len(people) - 3 - len(changed)


def test_a_person_with_arrears_is_explained_by_the_per_person_path(office):
    """Arrears paid in the month add lines the row does not hold: the row says so, and the page
    explains the person as the CLI does."""
    cur = office.cursor()
    person = cur.execute("SELECT min(employee_id) FROM payslips WHERE month = '2025-03'").fetchall()[0][0]
    cur.execute("INSERT INTO arrears VALUES (?, '2025-03', '2025-01', 'base_pay', 12.34, 'r-test')", [person])
    cur.execute("INSERT INTO runs SELECT * REPLACE ('r-test' AS run_id, started_at + INTERVAL 1 SECOND AS started_at) "
                "FROM runs ORDER BY started_at DESC LIMIT 1")
    office.traces.page(cur, person, "2025-03")
    _wait_for_table(office, "2025-03")
    page = office.traces.page(cur, person, "2025-03")
    assert page.arrears and not page.plain
    web, plain = office.explainer().explain(person, "2025-03"), Explainer(office.con.cursor(), office.policy).explain(person, "2025-03")
    assert any(line.name.startswith("arrears[") for line in web.lines)
    assert _lines(web) == _lines(plain)


def test_a_column_the_packing_cannot_give_back_exactly_stops_the_build():
    """A float (or any type without an exact JSON form) is refused, never rounded on the way."""
    import duckdb

    from payroll.web.traces import RowCodec, UnpackableColumn
    con = duckdb.connect()
    con.execute("CREATE TABLE t (id VARCHAR, amount DECIMAL(18,2), rate DECIMAL(18,6), day DATE, rows BIGINT[], "
                "flag BOOLEAN, note VARCHAR)")
    con.execute("INSERT INTO t VALUES ('a', 0.10, 1.000001, DATE '2025-03-31', [2, 4], true, '\"引号\" <b>'), "
                "('b', NULL, -3.5, NULL, NULL, NULL, NULL)")
    codec = RowCodec.of(con, "SELECT * FROM t")
    packed = con.execute(f"SELECT {codec.pack_sql('t')} FROM t ORDER BY id").fetchall()
    found = con.execute("SELECT * FROM t ORDER BY id")
    names = [d[0] for d in found.description]
    assert [codec.unpack(text) for (text,) in packed] == [dict(zip(names, row)) for row in found.fetchall()]
    assert str(codec.unpack(packed[0][0])["amount"]) == "0.10"
    con.execute("CREATE TABLE f (x DOUBLE)")
    with pytest.raises(UnpackableColumn):
        RowCodec.of(con, "SELECT * FROM f")


def test_the_level_history_packed_in_the_month_table_is_the_databases(office_site, tmp_path):
    """A person page's level history (issue 16) comes from the month table's packed facts: for every
    person they equal level_facts' queries, including a history version, a corrected appraisal (the
    later import wins) and a level change recorded twice (the later one's reason wins)."""
    shutil.copy(office_site.db, tmp_path / "levels.duckdb")
    import duckdb
    con = duckdb.connect(str(tmp_path / "levels.duckdb"))
    person, level = con.execute("SELECT employee_id, level FROM payslips WHERE month = '2025-03' "
                                "ORDER BY employee_id LIMIT 1").fetchall()[0]
    con.execute("INSERT INTO employee_history SELECT employee_id, DATE '2019-01-01', DATE '2023-01-01', name, "
                "id_number_masked, region_code, unit, category, level - 1, post, hire_date, leave_date, "
                "service_start, special_deduction, contribution_base FROM employees WHERE employee_id = ?", [person])
    con.executemany("INSERT INTO assessments VALUES (?, ?, ?, '', ?, now()::TIMESTAMP, 'a.csv', 1)",
                    [[person, 2023, "competent", 1], [person, 2024, "basically_competent", 1],
                     [person, 2024, "excellent", 2]])
    con.executemany("INSERT INTO level_changes VALUES (?, DATE '2023-01-01', ?, ?, 'promotion', ?, 'r1', '', ?, 'l.csv')",
                    [[person, level - 1, level, "first reason", "2024-01-01 00:00:00"],
                     [person, level - 1, level, "corrected reason", "2024-02-01 00:00:00"]])
    con.close()
    from datetime import date
    from payroll.levels.path import level_facts, level_path
    office = Office(str(tmp_path / "levels.duckdb"), None)
    try:
        _wait_for_table(office, "2025-03")
        cur = office.cursor()
        people = [p for (p,) in cur.execute("SELECT employee_id FROM employees ORDER BY 1").fetchall()]
        for someone in people:
            page = office.traces.page(cur, someone, "2025-03")
            if page is None:                              # not paid in March: no row
                continue
            assert page.levels == level_facts(cur, someone), someone
        page = office.traces.page(cur, person, "2025-03")
        assert len(page.levels.versions) == 2 and page.levels.results == {2023: "competent", 2024: "excellent"}
        assert [r for _, r, _ in page.levels.reasons.values()] == ["corrected reason"]
        on = date(2025, 3, 31)
        assert level_path(cur, office.policy, person, on=on, facts=page.levels).lines() == \
            level_path(cur, office.policy, person, on=on).lines()
        assert any("corrected reason" in line for line in office.explainer().explain(person, "2025-03").levels)
    finally:
        office.close()


def test_a_request_whose_snapshot_predates_the_table_takes_the_per_person_path(office):
    """A page whose transaction began before the month's table was committed (the build ran in
    between) cannot see that table: it answers by the per-person path (None here), not an error."""
    cur = office.cursor()
    person = cur.execute("SELECT min(employee_id) FROM payslips WHERE month = '2025-02'").fetchall()[0][0]
    _wait_for_table(office, "2025-03")          # built at start
    cur.execute("BEGIN TRANSACTION")           # the request's snapshot, before February's build
    try:
        assert office.traces.page(cur, person, "2025-03") is not None   # reads the tables' database
        assert office.traces.row(cur, person, "2025-02") is None        # starts the build
        _wait_for_table(office, "2025-02")
        assert office.traces.row(cur, person, "2025-02") is None        # committed after the snapshot
        assert cur.execute("SELECT count(*) FROM payslips").fetchall()[0][0] > 0   # the request goes on
    finally:
        cur.execute("ROLLBACK")
    assert office.traces.row(cur, person, "2025-02") is not None        # a new snapshot sees it
