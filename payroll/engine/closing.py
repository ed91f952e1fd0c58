"""Closed months (结账): once a month is closed its payslips never change. A correction that reaches
back into a closed month is paid as arrears in the open month being run (engine.retro).

Closing is cumulative, as books are closed: `close --month M` closes every month run up to M.
"""
from __future__ import annotations

import duckdb

from ..db import scalar, table_exists, transaction
from ..errors import PayrollError
from .context import Month
from .ledger import now


def closed_months(con: duckdb.DuckDBPyConnection) -> list[str]:
    if not table_exists(con, "closed_months"):
        return []
    return [m for (m,) in con.execute("SELECT month FROM closed_months ORDER BY month").fetchall()]


def last_closed(con: duckdb.DuckDBPyConnection) -> str | None:
    months = closed_months(con)
    return months[-1] if months else None


def first_open_month(con: duckdb.DuckDBPyConnection) -> Month | None:
    """The month after the last closed one (None when nothing is closed)."""
    last = last_closed(con)
    return Month.parse(last).next() if last else None


def refuse_closed(con: duckdb.DuckDBPyConnection, months: list[Month]) -> None:
    """A run may not touch a closed month: exit 2 naming the closed months in the range."""
    last = last_closed(con)
    if last is None:
        return
    hit = [m.label for m in months if m.label <= last]
    if hit:
        shown = hit[0] if len(hit) == 1 else f"{hit[0]} … {hit[-1]} ({len(hit)} months)"
        asked = months[0].label if len(months) == 1 else f"{months[0].label} to {months[-1].label}"
        raise PayrollError(
            f"cannot run {asked}: {shown} {'is' if len(hit) == 1 else 'are'} closed (months are closed "
            f"through {last}) and a closed month never changes. Corrections to a closed month are paid as "
            f"arrears: import the corrected data and run the first open month, "
            f"`payroll run --month {Month.parse(last).next().label}`")


def close_through(con: duckdb.DuckDBPyConnection, month_label: str) -> list[str]:
    """Close every month run up to and including `month_label`; returns the months newly closed."""
    month = Month.parse(month_label)
    if not table_exists(con, "payslips") or not scalar(
            con, "SELECT count(*) FROM payslips WHERE month = ?", [month.label]):
        raise PayrollError(f"{month.label} has not been run: run it (`payroll run --month {month.label}`) "
                           f"before closing it")
    last = last_closed(con)
    if last is not None and last >= month.label:
        raise PayrollError(f"{month.label} is already closed (months are closed through {last})")
    newly = [m for (m,) in con.execute(
        "SELECT DISTINCT month FROM payslips WHERE month <= ? AND month > ? ORDER BY month",
        [month.label, last or ""]).fetchall()]
    with transaction(con):
        stamp = now()
        con.executemany("INSERT INTO closed_months VALUES (?, ?)", [[m, stamp] for m in newly])
    return newly
