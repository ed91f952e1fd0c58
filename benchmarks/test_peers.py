"""The two peers of issue 17 (benchmarks/peers/) equal the engine to the fen on every row and column
they write, on a small synthetic February (January run first, so the year to date exists), and
refuse a database holding what they do not compute. Timing lives in `python3 -m benchmarks.report
--peers-only`; these are checks only.
"""
from __future__ import annotations

import pytest

from benchmarks.common import FIRST, MONTH, run_month, size, synth_database
from benchmarks.peers import numpy_peer
from benchmarks.peers.check import differing_rows
from benchmarks.peers.inputs import OutOfScope, PolicyRows
from payroll.db import connect
from payroll.policy import load_policy

PEOPLE = size("BENCH_PEERS_PEOPLE", 300)


@pytest.fixture(scope="module")
def february():
    """A synthetic roster with January and February run by the engine."""
    policy = load_policy()
    con = connect(":memory:")
    synth_database(con, PEOPLE)
    run_month(con, policy, FIRST)
    run_month(con, policy, MONTH)
    return con


def test_numpy_peer_equals_the_engine_on_every_row(february):
    written = numpy_peer.run(february, MONTH, PolicyRows())
    differing = differing_rows(february, numpy_peer.TABLE, MONTH)
    assert written["rows"] > PEOPLE * 0.9
    assert len(differing) > 60                       # every payslip column the peer writes is compared
    assert {column: n for column, n in differing.items() if n} == {}


def test_openfisca_peer_equals_the_engine_on_every_row(february):
    pytest.importorskip("openfisca_core", reason="the OpenFisca peer needs the bench extra: "
                                                 "pip install -e '.[bench]'")
    from benchmarks.peers import openfisca_peer
    written = openfisca_peer.run(february, MONTH, PolicyRows())
    differing = differing_rows(february, openfisca_peer.TABLE, MONTH)
    assert written["rows"] > PEOPLE * 0.9
    assert {column: n for column, n in differing.items() if n} == {}


def test_the_check_counts_a_changed_fen(february):
    """The comparison is not blind: one fen off on one person shows as one differing row."""
    numpy_peer.run(february, MONTH, PolicyRows(), table="peer_changed")
    february.execute("UPDATE peer_changed SET net_pay = net_pay + 0.01 "
                     "WHERE employee_id = (SELECT min(employee_id) FROM peer_changed)")
    assert differing_rows(february, "peer_changed", MONTH)["net_pay"] == 1


def test_a_peer_refuses_a_month_with_a_work_injury(february):
    """Injuries are outside the peers' scope: refused, not computed wrong."""
    february.execute("CREATE TEMP TABLE saved_events AS SELECT * FROM events")
    person = february.execute("SELECT min(employee_id) FROM employees").fetchall()[0][0]
    february.execute("INSERT INTO events (employee_id, event_date, kind, stoppage_months, cause) "
                     "VALUES (?, DATE '2025-01-10', 'injury', 2, 'work')", [person])
    try:
        with pytest.raises(OutOfScope, match="injury or death"):
            numpy_peer.run(february, MONTH, PolicyRows(), table="peer_refused")
    finally:
        february.execute("DELETE FROM events")
        february.execute("INSERT INTO events SELECT * FROM saved_events")
