"""Issue 17: the rule query is planned without the optimiser passes of
pipeline.PASSES_THE_RULE_QUERY_SKIPS (a third of planning it, paid every month). They must change no
payslip: the same months with every pass on give the same rows, column by column."""
from __future__ import annotations

from benchmarks.common import synth_database
from payroll.db import connect
from payroll.engine import pipeline
from payroll.engine.run import run_months

MONTHS = ("2025-01", "2025-02", "2025-03")


def _payslips(policy, monkeypatch, skipped: tuple[str, ...]) -> list[tuple]:
    monkeypatch.setattr(pipeline, "PASSES_THE_RULE_QUERY_SKIPS", skipped)
    planned = []
    real = pipeline.optimisers_disabled
    monkeypatch.setattr(pipeline, "optimisers_disabled", lambda con, passes: planned.append(passes) or real(con, passes))
    con = connect(":memory:")
    synth_database(con, 300, MONTHS)
    run_months(con, policy, MONTHS[0], MONTHS[-1])
    assert planned == [(*skipped, "build_side_probe_side")] * len(MONTHS)      # each month planned so
    return con.execute("SELECT * EXCLUDE (run_id) FROM payslips ORDER BY month, employee_id").fetchall()


def test_the_lean_plan_pays_what_every_pass_pays(policy, monkeypatch):
    lean = _payslips(policy, monkeypatch, pipeline.PASSES_THE_RULE_QUERY_SKIPS)
    every_pass = _payslips(policy, monkeypatch, ())
    assert len(lean) > 800
    assert lean == every_pass


def test_the_skipped_passes_are_duckdbs_and_restored_after(policy):
    known = {name for (name,) in connect(":memory:").execute("SELECT name FROM duckdb_optimizers()").fetchall()}
    assert set(pipeline.PASSES_THE_RULE_QUERY_SKIPS) <= known
    con = connect(":memory:")
    with pipeline.lean_planning(con, "build_side_probe_side"):
        during = con.execute("SELECT current_setting('disabled_optimizers')").fetchone()[0]
    assert set(during.split(",")) >= {*pipeline.PASSES_THE_RULE_QUERY_SKIPS, "build_side_probe_side"}
    assert con.execute("SELECT current_setting('disabled_optimizers')").fetchone()[0] == ""
