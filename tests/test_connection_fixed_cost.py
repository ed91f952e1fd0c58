"""Issue 17, the fixed cost of a run on a fresh connection: what a Policy makes once (the policy
tables cast to their SQL types, the snapshot rows, each stretch's parameter tables) and copies into
every new connection must be exactly what the long way makes there (ROSTER, the shipped tables).
"""
from __future__ import annotations

import json
from datetime import date

import pandas as pd
import pytest
from conftest import roster_connection

from payroll.calendar import calendar_frame, calendar_table, use_calendar_table
from payroll.db import connect
from payroll.engine.context import (PARAMETER_SOURCES, Month, _active_roster_sql, check_month_parameters,
                                    install_month, install_month_parameters)
from payroll.engine.run import months_between, prepare_connection, run_months
from payroll.errors import PolicyError
from payroll.policy import TABLES, Policy
from payroll.rules import leave


def _unmemoised(policy: Policy) -> Policy:
    """The same tables in a Policy that has made nothing yet."""
    return Policy(policy.directory, dict(policy.frames), policy.digest, policy.chain, list(policy.warnings))


def _table(con, name: str) -> tuple[list, list]:
    """A table's column names and types, and its rows in order."""
    return (con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {name})").fetchall(),
            con.execute(f"SELECT * FROM {name} ORDER BY ALL").fetchall())


def test_policy_tables_installed_from_the_policy_equal_the_frames_cast_column_by_column(policy):
    con = connect(":memory:")
    _unmemoised(policy).install(con)
    cast = connect(":memory:")
    for name, frame in policy.frames.items():
        cast.register("frame", frame)
        select = ", ".join(["CAST(row_no AS INTEGER) AS row_no"] +
                           [f"CAST({c.name} AS {c.sql_type}) AS {c.name}" for c in TABLES[name]])
        cast.execute(f"CREATE TEMP TABLE policy_{name} AS SELECT {select} FROM frame")
        cast.unregister("frame")
        assert _table(con, f"policy_{name}") == _table(cast, f"policy_{name}"), name
    assert con.execute("SELECT column_type FROM (DESCRIBE region_chain)").fetchall() == \
        [("VARCHAR",), ("VARCHAR",), ("INTEGER",)]
    assert con.execute("SELECT count(*) FROM region_chain").fetchone()[0] == len(policy.chain)
    assert con.execute("SELECT max(depth) FROM region_chain").fetchone()[0] == policy.chain.depth.max()


def test_snapshot_rows_are_made_once_and_hold_every_row_as_json(policy):
    fresh = _unmemoised(policy)
    rows = fresh.snapshot_rows()
    assert fresh.snapshot_rows() is rows
    frame = rows.to_pandas()
    assert frame.groupby("table_name").size().to_dict() == \
        {name: len(table) for name, table in policy.frames.items() if len(table)}
    iit = frame[(frame.table_name == "iit_brackets") & (frame.row_no == 3)].row_json.iloc[0]
    assert json.loads(iit) | {"source": "…"} == {
        "effective_from": "2019-01-01", "threshold": "36000", "rate": "0.1", "quick_deduction": "2520",
        "source": "…", "status": "secondary", "valid_until": None}


def test_a_second_connection_records_the_same_snapshot(policy):
    first, second = roster_connection(), roster_connection()
    run_months(first, _unmemoised(policy), "2025-03")
    run_months(second, policy, "2025-03")
    query = "SELECT * FROM policy_snapshots ORDER BY table_name, row_no"
    assert first.execute(query).fetchall() == second.execute(query).fetchall()
    assert len(first.execute(query).fetchall()) == sum(len(frame) for frame in policy.frames.values())


def test_parameter_tables_copied_on_a_fresh_connection_equal_the_tables_made_there(policy):
    fresh_policy = _unmemoised(policy)
    # 2025's rows take effect on 1 January, 1 July, 1 August, 1 October and 1 December: June reads
    # January's rows, so it copies January's tables. Three connections, prepared once: each month is
    # installed as on a fresh one (nothing installed: every table made or copied); June comes after
    # July, so a copy that left the tables there would leave July's and fail
    made, copied, long_way = roster_connection(), roster_connection(), roster_connection()
    for con in (made, copied, long_way):
        prepare_connection(con, fresh_policy, [2025])
    for number, new_stretch in ((1, True), (7, True), (6, False), (8, True), (12, True)):
        month = Month.parse(f"2025-{number:02d}")
        stretches = len(fresh_policy.month_parameters)
        install_month(made, fresh_policy, month, None)            # makes them (a new stretch), keeps them
        assert len(fresh_policy.month_parameters) == stretches + new_stretch, month.label
        install_month(copied, fresh_policy, month, None)          # copies them
        assert len(fresh_policy.month_parameters) == stretches + new_stretch, month.label
        install_month_parameters(long_way, month)
        for name in PARAMETER_SOURCES:
            assert _table(copied, name) == _table(long_way, name) == _table(made, name), (month.label, name)


def test_payslips_on_fresh_connections_equal_across_the_year_whether_made_or_copied(policy):
    fresh_policy = _unmemoised(policy)
    query = "SELECT * EXCLUDE (run_id) FROM payslips ORDER BY month, employee_id"
    # January: made, then copied (February: a month after either, nothing to install again). June
    # to August: made by a Policy that has made nothing yet, copied from January's tables (the same
    # stretch of rows), then July's and August's tables made again over the made or copied ones
    for first, last, made_policy in (("2025-01", "2025-02", fresh_policy),
                                     ("2025-06", "2025-08", _unmemoised(policy))):
        made, copied = roster_connection(), roster_connection()
        run_months(made, made_policy, first, last)
        run_months(copied, fresh_policy, first, last)
        payslips = made.execute(query).fetchall()
        assert payslips and payslips == copied.execute(query).fetchall()
        assert {row[1] for row in payslips} == {m.label for m in months_between(first, last)}


def _leave_status(con) -> tuple[list, list]:
    return (con.execute("DESCRIBE leave_month_status").fetchall(),
            con.execute("SELECT * FROM leave_month_status ORDER BY ALL").fetchall())


def test_a_fresh_connections_month_without_leave_has_the_leave_status_the_whole_query_makes(policy):
    run_months(roster_connection(), policy, "2025-03")       # the columns are known after a first run
    copied = roster_connection()
    run_months(copied, policy, "2025-03")                      # nobody has leave, leaves or is paid out
    march = Month.parse("2025-03")
    assert leave._status_empty(copied, march, _active_roster_sql(march))
    emptied = _leave_status(copied)
    copied.execute("DROP TABLE leave_month_status")
    leave.install_month_status(copied, march, _active_roster_sql(march))      # the whole query
    assert _leave_status(copied) == emptied and emptied[1] == []


def test_a_fresh_connections_month_with_leave_runs_the_leave_query(policy):
    query = "SELECT * EXCLUDE (run_id) FROM payslips ORDER BY month, employee_id"
    results = []
    fresh_policy = _unmemoised(policy)
    for run_policy in (fresh_policy, fresh_policy):      # makes March's tables, then copies them
        con = roster_connection()
        con.execute("INSERT INTO leave (employee_id, kind, start_date, end_date) "
                    "VALUES ('Z1', 'unpaid', DATE '2025-03-03', DATE '2025-03-04')")
        run_months(con, run_policy, "2025-03")
        assert con.execute("SELECT employee_id, leave_unpaid_days FROM leave_month_status").fetchall() == \
            [("Z1", 200)]                                       # two workdays, in hundredths
        results.append(con.execute(query).fetchall())
    assert results[0] == results[1]


def test_every_missing_figure_is_listed_in_order_naming_table_region_and_month(policy):
    roster = [("X1", "甲", "999999", "某局", "duty", 6, "PATROL", "2020-01-01", None, 0, None),
              ("X2", "乙", "150100", "新城分局", "duty", 6, "NOPE", "2020-01-01", None, 0, None),
              ("X3", "丙", "150100", "新城分局", "civilian", 99, "PATROL", "2020-01-01", None, 0, None)]
    frames = dict(policy.frames)
    frames["housing_fund"] = frames["housing_fund"][frames["housing_fund"].region_code != "150100"]
    frames["national_parameters"] = frames["national_parameters"][
        frames["national_parameters"].name != "hours_per_day"]
    lacking = Policy(policy.directory, frames, "lacking", policy.chain, [])
    con = roster_connection(roster)
    prepare_connection(con, lacking, [2025])
    month = Month.parse("2025-03")
    install_month_parameters(con, month)
    with pytest.raises(PolicyError) as caught:
        check_month_parameters(con, month)
    assert str(caught.value).split("\n  ")[1:] == [
        "regions: region 999999 is not in the regions table",
        "posts: post 'NOPE' is not in the posts table",
        "housing_fund: no row in force for region 150100 in 2025-03",
        "pay_scale: no row in force for region 150100, civilian level 99 in 2025-03",
        "pay_scale: no row in force for region 999999, duty level 6 in 2025-03",
        "national_parameters: no hours_per_day in force in 2025-03"]


def test_the_calendar_of_a_run_follows_the_calendar_table_in_use(policy):
    policy.use_calendar()
    before = calendar_table((2025,)).to_pandas()
    pd.testing.assert_frame_equal(before, calendar_frame([2025]), check_dtype=False)
    workday = date(2025, 3, 3)
    assert before.set_index("day").kind[workday] == "workday"
    try:
        use_calendar_table(pd.DataFrame({"date": [workday], "kind": ["holiday"]}), "test.csv")
        assert calendar_table((2025,)).to_pandas().set_index("day").kind[workday] == "statutory"
    finally:
        policy.use_calendar()
    assert calendar_table((2025,)).to_pandas().set_index("day").kind[workday] == "workday"
