"""Issue 17: retro pay recomputes only the closed months whose policy rows in force, inputs or people
changed, and the months after one whose payslips came out different (their year to date and bases
read it). Each case also checks the arrears against a full recompute: a fresh database that ran every
closed month on the edited tables, minus what was paid, to the fen.
"""
from __future__ import annotations

import csv
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import SHIPPED_TABLES, database_copy, database_template, insert_roster
from test_retro import _arrears_by_key, _expected_differences, _payslips, _roster_db

from payroll.engine.closing import close_through
from payroll.engine.run import run_months
from payroll.policy import load_policy

H1_SCALE = ("150100", "duty", "6")          # H1's pay-scale key: 6830.00 a month from 2024-01-01
SOURCE = "test: a scale in force from March to May 2025"


def _tables(tmp_path: Path, name: str, march_base_pay: str = "6830", march_source: str = SOURCE,
            edit=None) -> Path:
    """The shipped tables plus two pay_scale rows for H1's key, appended (no row number moves): one
    in force from 2025-03-01 and the shipped figure again from 2025-06-01, so the first is in force
    in March, April and May only. `edit(rows_by_file)` changes other files."""
    tables = tmp_path / name
    shutil.copytree(SHIPPED_TABLES, tables)
    path = tables / "pay_scale.csv"
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    region, category, level = H1_SCALE
    for day, base_pay, source in (("2025-03-01", march_base_pay, march_source),
                                  ("2025-06-01", "6830", "test: the shipped figure again")):
        rows.append({**{k: "" for k in rows[0]}, "region_code": region, "effective_from": day,
                     "category": category, "level": level, "base_pay": base_pay, "source": source,
                     "status": "sample"})
    _write(path, rows)
    if edit:
        edit(tables)
    return tables


def _write(path: Path, rows: list[dict]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture(scope="module")
def before(tmp_path_factory):
    """The tables before the edit (the shipped ones plus the March–May row at the shipped figure)."""
    return load_policy(_tables(tmp_path_factory.mktemp("tables"), "before"))


@pytest.fixture(scope="module")
def raised(tmp_path_factory):
    """The March–May row raised by 300 (7130)."""
    return load_policy(_tables(tmp_path_factory.mktemp("tables"), "after", march_base_pay="7130"))


@pytest.fixture(scope="module")
def closed_through(before):
    """closed_through(last): a database of ROSTER run on `before` from January and closed through
    `last`, for each test a copy of its own. Built once per module, month by month: the database
    closed through May, run and closed through June, then July (each month closed after its run)."""
    built: dict[str, Path] = {}

    def closed(last: str):
        if last not in built:
            month = int(last[5:])
            earlier = f"2025-{month - 1:02d}"
            if month > 5:
                closed(earlier)

            def build(con):
                if month > 5:
                    run_months(con, before, last)
                else:
                    insert_roster(con)
                    run_months(con, before, "2025-01", last)
                close_through(con, last)
            built[last] = database_template(build, start=built[earlier] if month > 5 else None)
        return database_copy(built[last])
    return closed


@pytest.fixture(scope="module")
def raised_from_january(raised):
    """The full recompute: a fresh database that ran January–July on the raised tables, its
    payslips (each closed month's payslip does not depend on the months after it)."""
    fresh = _roster_db()
    months = [f"2025-{m:02d}" for m in range(1, 8)]
    run_months(fresh, raised, months[0], months[-1])
    return _payslips(fresh, months)


def _run_with_retro(con, policy, month: str):
    reported = []
    run_months(con, policy, month, retro=reported.append)
    return reported[0] if reported else None


def _full_recompute_differences(fresh: dict, paid: dict, months: list[str]) -> dict:
    return _expected_differences({key: row for key, row in fresh.items() if key[1] in months}, paid)


def test_editing_a_2026_row_recomputes_no_2025_month(tmp_path, before, closed_through):
    """Zhejiang's minimum wage from 2026-01-01 corrected (2660 → 2700) while 2025 is closed through
    June: the whole-tables digest changes, but no 2025 month reads that row."""

    def minimum_wage_2026(tables: Path) -> None:
        path = tables / "minimum_wage.csv"
        with open(path, encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        hits = [r for r in rows if (r["region_code"], r["effective_from"]) == ("330100", "2026-01-01")]
        assert len(hits) == 1 and hits[0]["monthly_minimum_wage"] == "2660"
        hits[0]["monthly_minimum_wage"] = "2700"
        _write(path, rows)

    after = load_policy(_tables(tmp_path, "after", edit=minimum_wage_2026))
    assert after.digest != before.digest
    con = closed_through("2025-06")
    assert _run_with_retro(con, after, "2025-07") is None
    assert con.execute("SELECT count(*) FROM arrears").fetchone()[0] == 0


def test_a_row_in_force_march_to_may_recomputes_exactly_those_months(raised, closed_through, raised_from_january):
    """Closed January–May; the March–May row raised by 300: March, April and May are recomputed
    (not January and February), and the arrears are the full recompute's, to the fen."""
    after = raised
    closed = [f"2025-{m:02d}" for m in range(1, 6)]
    con = closed_through(closed[-1])
    paid = _payslips(con, closed)
    retro = _run_with_retro(con, after, "2025-06")
    assert retro.months_recomputed == ["2025-03", "2025-04", "2025-05"]
    got = _arrears_by_key(con, "2025-06")
    assert got == _full_recompute_differences(raised_from_january, paid, closed)
    assert {m: got[("H1", m, "base_pay")] for m in ("2025-03", "2025-04", "2025-05")} == \
        {m: Decimal("300.00") for m in ("2025-03", "2025-04", "2025-05")}
    # the same month run again finds nothing changed
    assert _run_with_retro(con, after, "2025-06") is None


def test_a_later_closed_month_is_recomputed_when_its_history_changed(raised, closed_through, raised_from_january):
    """Closed January–July; the same raise: June and July read March–May's year to date, so they are
    recomputed too, and the arrears still equal the full recompute's."""
    after = raised
    closed = [f"2025-{m:02d}" for m in range(1, 8)]
    con = closed_through(closed[-1])
    paid = _payslips(con, closed)
    retro = _run_with_retro(con, after, "2025-08")
    assert retro.months_recomputed == ["2025-03", "2025-04", "2025-05", "2025-06", "2025-07"]
    assert _arrears_by_key(con, "2025-08") == _full_recompute_differences(raised_from_january, paid, closed)


@pytest.mark.slow     # CI: the March–May and later-month cases decide the same stop
def test_a_change_that_moves_no_payslip_stops_at_its_own_months(tmp_path, before, closed_through):
    """Closed January–July; only the March–May row's source text corrected: March–May are recomputed
    (their rows in force changed) and give the payslips paid, so June and July are not."""
    after = load_policy(_tables(tmp_path, "after", march_source=SOURCE + " (article corrected)"))
    con = closed_through("2025-07")
    retro = _run_with_retro(con, after, "2025-08")
    assert retro.months_recomputed == ["2025-03", "2025-04", "2025-05"]
    assert con.execute("SELECT count(*) FROM arrears").fetchone()[0] == 0


@pytest.mark.slow     # CI: test_retro.py withdraws a raise too (net arrears 0)
def test_a_reversed_change_takes_back_what_a_later_month_was_paid(before, raised, closed_through):
    """The raise paid as arrears in August (March–July recomputed), then withdrawn: March–May give
    other payslips than last computed, so June and July are recomputed again and every line paid is
    taken back: the arrears of each month earned sum to zero."""
    con = closed_through("2025-07")
    _run_with_retro(con, raised, "2025-08")
    close_through(con, "2025-08")
    retro = _run_with_retro(con, before, "2025-09")
    assert retro.months_recomputed[:5] == ["2025-03", "2025-04", "2025-05", "2025-06", "2025-07"]
    left = con.execute("SELECT employee_id, month_earned, component, sum(amount) FROM arrears "
                       "WHERE month_earned < '2025-08' GROUP BY ALL HAVING sum(amount) <> 0").fetchall()
    assert left == []
