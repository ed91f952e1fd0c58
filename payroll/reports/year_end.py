"""Warnings about the year-end bonus a run prints (issue 13): bonuses taxed apart that fall in a
cliff (临界点盲区: a bonus just above a row boundary of the monthly-converted table leaves less net
than the boundary itself, 财税〔2018〕164号 art. 1(一)), and one line on the methods chosen."""
from __future__ import annotations

import duckdb

from ..db import table_exists

MAX_LISTED = 10


def cliff_warnings(con: duckdb.DuckDBPyConnection, month: str) -> list[str]:
    if not table_exists(con, "payslips"):
        return []
    rows = con.execute("""
        SELECT employee_id, CAST(annual_bonus_total AS VARCHAR), CAST(iit_annual_bonus AS VARCHAR),
               CAST(annual_bonus_boundary_net AS VARCHAR)
        FROM payslips WHERE month = ? AND annual_bonus_in_cliff ORDER BY employee_id""", [month]).fetchall()
    lines = []
    methods = con.execute("SELECT annual_bonus_method, count(*) FROM payslips WHERE month = ? "
                          "AND annual_bonus_total > 0 GROUP BY 1 ORDER BY 1", [month]).fetchall()
    if methods:
        lines.append(f"{month} 全年一次性奖金 annual bonus: "
                     + ", ".join(f"{method} {count:,}" for method, count in methods))
    if rows:
        shown = "; ".join(f"{e} bonus {b} tax {t} (the boundary leaves {n} net)" for e, b, t, n in rows[:MAX_LISTED])
        more = f" … and {len(rows) - MAX_LISTED} more" if len(rows) > MAX_LISTED else ""
        lines.append(f"warning: {len(rows):,} annual bonus(es) of {month} taxed apart fall in a cliff "
                     f"(临界点盲区: less net than at the row boundary; register column annual_bonus_in_cliff): "
                     f"{shown}{more}")
    return lines
