"""`payroll run`'s sample-figure warnings kept with the policy's on-disk cache (issue 17, target 3):
the lines printed are the lines computed the old way, and a later command reads them instead of
computing them again; a Policy with other tables, a damaged file or PAYROLL_CACHE_DIR=off never
reads a stale value."""
from __future__ import annotations

import os

import pytest
from conftest import ROSTER, run_payroll

from payroll import policy as policy_module
from payroll.db import connect
from payroll.reports import table_status


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setattr(policy_module, "_LOADED", {})          # as a new process
    return tmp_path / "cache"


def _new_process(monkeypatch) -> None:
    monkeypatch.setattr(policy_module, "_LOADED", {})


def _computed(monkeypatch) -> list:
    """Each month for which the warning lines are computed, not read."""
    calls = []
    real = table_status.warning_lines
    monkeypatch.setattr(table_status, "warning_lines", lambda frames, month, regions: calls.append(month)
                        or real(frames, month, regions))
    return calls


def _run(db, month: str, cache, tmp_path):
    env = {**os.environ, "PAYROLL_DB": "", "PAYROLL_TABLES": "", "PAYROLL_CACHE_DIR": str(cache)}
    result = run_payroll("run", "--db", str(db), "--month", month, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    return [line for line in result.stderr.splitlines() if "sample figure(s)" in line]


def _roster_db(tmp_path):
    db = tmp_path / "city.duckdb"
    con = connect(str(db))
    for row in ROSTER:
        con.execute("INSERT INTO employees (employee_id, name, region_code, unit, category, level, post, hire_date, "
                    "leave_date, special_deduction, contribution_base) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    list(row))
    con.close()
    return db


REGIONS = sorted({row[2] for row in ROSTER})            # one person in each of the five places


def test_the_warnings_read_from_the_cache_are_the_lines_computed_the_old_way(tmp_path, cache, monkeypatch):
    db = _roster_db(tmp_path)
    old_way = table_status.warning_lines          # what every run called before the cache
    computed = _computed(monkeypatch)
    first = _run(db, "2025-01", cache, tmp_path)
    assert computed == ["2025-01"] and list(cache.glob("derived-*.pickle"))
    assert len(first) == 5 and first == old_way(policy_module.load_policy().frames, "2025-01", REGIONS)

    _new_process(monkeypatch)
    again = _run(db, "2025-01", cache, tmp_path)               # a re-run, in a new process: read
    assert again == first and computed == ["2025-01"]

    _new_process(monkeypatch)
    february = _run(db, "2025-02", cache, tmp_path)            # another month: its own lines
    assert computed == ["2025-01", "2025-02"]
    assert february == old_way(policy_module.load_policy().frames, "2025-02", REGIONS)


def test_a_policy_with_other_tables_computes_its_own(cache, monkeypatch):
    monkeypatch.setenv("PAYROLL_CACHE_DIR", str(cache))
    shipped = policy_module.load_policy()
    assert shipped.derived(("k",), lambda: "shipped") == "shipped"
    _new_process(monkeypatch)
    assert policy_module.load_policy().derived(("k",), lambda: "made again") == "shipped"   # read back
    scenario = shipped.with_frames({"regions": shipped.frames["regions"]}, "same rows, another label")
    assert scenario.derived(("k",), lambda: "scenario") == "scenario"


def test_a_damaged_derived_file_is_ignored_and_off_writes_nothing(cache, monkeypatch):
    monkeypatch.setenv("PAYROLL_CACHE_DIR", str(cache))
    policy_module.load_policy().derived(("k",), lambda: 1)
    (derived,) = cache.glob("derived-*.pickle")
    derived.write_bytes(b"not a pickle")
    _new_process(monkeypatch)
    assert policy_module.load_policy().derived(("k",), lambda: 2) == 2
    written = {path: path.read_bytes() for path in cache.iterdir()}
    monkeypatch.setenv("PAYROLL_CACHE_DIR", "off")
    _new_process(monkeypatch)
    assert policy_module.load_policy().derived(("k",), lambda: 3) == 3
    assert {path: path.read_bytes() for path in cache.iterdir()} == written


def test_the_cast_tables_and_month_digests_read_back_equal_those_made_afresh(cache, monkeypatch):
    """What a run installs and what retro pay compares, read from the cache by a second command,
    against a Policy of the same tables that made everything itself."""
    from datetime import date

    monkeypatch.setenv("PAYROLL_CACHE_DIR", str(cache))
    months = [date(2025, 1, 1), date(2026, 7, 1)]
    first = policy_module.load_policy()
    made = first._installed_tables(connect(":memory:")), [first.month_digest(m) for m in months]
    _new_process(monkeypatch)
    second = policy_module.load_policy()
    monkeypatch.setattr(policy_module.Policy, "_cast_tables", lambda *a: pytest.fail("made again"))
    monkeypatch.setattr(policy_module.Policy, "_rows_in_force_digest", lambda *a: pytest.fail("made again"))
    read = second._installed_tables(connect(":memory:")), [second.month_digest(m) for m in months]
    monkeypatch.undo()
    fresh = policy_module.Policy(first.directory, dict(first.frames), first.digest, first.chain, list(first.warnings))
    afresh = fresh._installed_tables(connect(":memory:")), [fresh.month_digest(m) for m in months]
    for forms in (made, read):
        assert forms[0].keys() == afresh[0].keys() and forms[1] == afresh[1]
        assert all(forms[0][name].equals(table, check_metadata=True) for name, table in afresh[0].items())
    assert afresh[1][0] != afresh[1][1]                    # the two months read different rows
