"""Issue 17, the month's fixed cost: the work a month skips must leave exactly what the full work
leaves. Each shortcut is checked against the long way on the same database (ROSTER, the shipped
tables, 2025: rows take effect on 1 January, 1 July, 1 August, 1 October and 1 December).
"""
from __future__ import annotations

from datetime import date

from conftest import roster_connection

from payroll.engine.context import (PARAMETER_SOURCES, Month, _active_roster_sql, install_month,
                                    install_month_parameters, tables_changed)
from payroll.engine.run import prepare_connection, run_months
from payroll.policy import Policy
from payroll.rules import leave


def _parameter_tables(con) -> dict:
    return {name: con.execute(f"SELECT * FROM {name} ORDER BY ALL").fetchall() for name in PARAMETER_SOURCES}


def test_parameter_tables_made_again_only_where_a_table_changed_equal_a_whole_install(con, policy):
    fresh = roster_connection()
    prepare_connection(con, policy, [2025])
    prepare_connection(fresh, policy, [2025])
    installed, partly = None, []
    for number in range(1, 13):
        month = Month.parse(f"2025-{number:02d}")
        changed = tables_changed(policy, installed, month)
        if changed and installed is not None:
            partly.append((month.label, changed))
        installed = install_month(con, policy, month, installed)
        install_month_parameters(fresh, month)            # every table made again
        assert _parameter_tables(con) == _parameter_tables(fresh), month.label
    # July: new average wages and housing-fund rows, nothing else; the pay scale is not rebuilt
    july = dict(partly)["2025-07"]
    assert {"average_wage", "housing_fund"} <= july and "pay_scale" not in july


def test_tables_changed_counts_a_row_that_lapses_from_the_day_after_its_valid_until(policy):
    june, july = Month.parse("2025-06"), Month.parse("2025-07")
    assert tables_changed(policy, None, july) is None                   # nothing installed: all
    assert tables_changed(policy, july, june) is None                   # backwards: all
    assert tables_changed(policy, june, june) == frozenset()
    lapsing = [(name, frame.valid_until.dropna().min()) for name, frame in policy.frames.items()
               if "valid_until" in frame and frame.valid_until.notna().any()]
    for name, last_day in lapsing:
        day = last_day if isinstance(last_day, date) else last_day.date()
        before = Month.parse(f"{day.year}-{day.month:02d}")
        if day == before.end:               # in force through the month: lapses on the next 1st
            assert name in tables_changed(policy, before, before.next())


def _leave_status(con) -> tuple[list, list]:
    return (con.execute("DESCRIBE leave_month_status").fetchall(),
            con.execute("SELECT * FROM leave_month_status ORDER BY ALL").fetchall())


def test_a_month_without_leave_empties_the_leave_status_as_the_whole_query_would(con, policy):
    # N1 leaves on 20 February (a payout row); nobody has leave, leaves or is paid out in March
    run_months(con, policy, "2025-01", "2025-03")
    march = Month.parse("2025-03")
    roster = _active_roster_sql(march)
    february = Month.parse("2025-02")
    assert not leave._status_empty(con, february, _active_roster_sql(february))     # the leaver
    assert leave._status_empty(con, march, roster)
    shortcut = _leave_status(con)                       # what March's run left: the emptied table
    con.execute("DROP TABLE leave_month_status")
    leave.install_month_status(con, march, roster)     # the whole query
    assert _leave_status(con) == shortcut
    assert shortcut[1] == []


def test_a_leave_record_in_the_month_runs_the_whole_query_after_an_empty_month(con, policy):
    run_months(con, policy, "2025-01", "2025-03")           # March emptied the table
    con.execute("INSERT INTO leave (employee_id, kind, start_date, end_date) "
                "VALUES ('Z1', 'unpaid', DATE '2025-04-07', DATE '2025-04-08')")
    run_months(con, policy, "2025-04", "2025-04")
    rows = con.execute("SELECT employee_id, leave_unpaid_days FROM leave_month_status").fetchall()
    assert rows == [("Z1", 200)]                            # two workdays, in hundredths
    assert con.execute("SELECT leave_unpaid_days FROM payslips WHERE month = '2025-04' "
                       "AND employee_id = 'Z1'").fetchone()[0] == 2


def test_the_change_days_table_by_table(policy):
    by_table = policy.change_days_by_table()
    # 1 July 2025: new housing-fund rows, no new pay scale; a row with a valid_until changes its
    # table on the day after
    assert date(2025, 7, 1) in by_table["housing_fund"] and date(2025, 7, 1) not in by_table["pay_scale"]
    lapsing = [(name, day) for name, frame in policy.frames.items() if "valid_until" in frame
               for day in frame.valid_until.dropna()]
    assert lapsing
    for name, day in lapsing:
        assert date.fromordinal(day.toordinal() + 1) in by_table[name], (name, day)


def _with_a_new_row_from_may(policy, table: str):
    """The policy with the rows of `table` in force in April restated from 1 May 2025, the last one
    with its first figure changed (no shipped row takes effect in May: the table changes alone; a
    tax table is restated whole, as a new one is published)."""
    import pandas as pd
    from payroll.policy import TABLES, UNIQUE_KEYS
    frame = policy.frames[table]
    keys = [k for k in UNIQUE_KEYS[table] if k != "effective_from"]
    restated = (frame[frame.effective_from <= date(2025, 4, 1)].sort_values("effective_from", kind="stable")
                .drop_duplicates(keys, keep="last").copy())
    figure = next(c.name for c in TABLES[table] if c.kind in ("money", "rate", "int") and c.name != "level")
    restated.iloc[-1, restated.columns.get_loc(figure)] = restated[figure].iloc[-1] * 2 + 1
    restated["effective_from"] = date(2025, 5, 1)
    restated["row_no"] = range(frame.row_no.max() + 1, frame.row_no.max() + 1 + len(restated))
    return policy.with_frames({table: pd.concat([frame, restated], ignore_index=True)}, f"test: {table} from May")


def test_each_policy_table_changing_alone_makes_again_what_reads_it(policy):
    """PARAMETER_SOURCES names, for each parameter table, the policy tables it reads; a table left out
    there would keep last month's figures in the month it changes alone. For every dated table the
    parameter tables read: April installed, then May with only that table changed, equals a whole
    install of May."""
    dated = sorted(t for t in set().union(*PARAMETER_SOURCES.values()) if "effective_from" in policy.frames[t])
    assert {"housing_fund", "pay_scale", "social_insurance", "iit_brackets"} <= set(dated)
    april, may = Month.parse("2025-04"), Month.parse("2025-05")
    # one connection for every table, prepared once with the shipped tables: each round puts the
    # changed policy's table in place of the shipped one (the other policy tables are the same),
    # makes every parameter table for April, lets install_month make May's again where the table
    # changed, then makes every one for May (each parameter table is CREATE OR REPLACE from the
    # policy tables alone: the whole install a fresh connection makes), and puts the shipped table back
    con = roster_connection()
    prepare_connection(con, policy, [2025])

    def install_table(table: str, frame, label: str):
        """policy_<table> (cast as Policy.install casts it) holding this frame, and region_chain."""
        Policy(policy.directory, {table: frame}, f"test: {table} {label}", policy.chain, []).install(con)

    for table in dated:
        changed_policy = _with_a_new_row_from_may(policy, table)
        assert tables_changed(changed_policy, april, may) == {table}, table
        install_table(table, changed_policy.frames[table], "from May")
        install_month_parameters(con, april)              # April installed: every table made
        before = _parameter_tables(con)
        assert install_month(con, changed_policy, may, april) == may, table
        after = _parameter_tables(con)
        install_month_parameters(con, may)                # every table made again for May
        assert after == _parameter_tables(con), table
        assert after != before, table          # the new row did reach a parameter table
        install_table(table, policy.frames[table], "shipped")
