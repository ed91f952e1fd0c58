"""The demo's appraisals and level changes: results for the four years before the demo year, drawn
with the shipped `appraisal_distribution` shares, then the level changes they bring (effective in
the demo year) proposed and applied through `levels --apply`, as HR would."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from ..db import transaction
from ..pay_structure import _ancestors, _in_force
from ..policy import Policy
from .apply import ApplySummary, apply_changes
from .propose import propose_changes, write_proposals

HISTORY_YEARS = 4


def shares_in_force(policy: Policy, region: str, day: date) -> tuple[float, float, float, float]:
    """(excellent, competent, basic, incompetent) shares for a region: competent is the rest."""
    frame = policy.frames.get("appraisal_distribution")
    rows = _in_force(frame, _ancestors(policy.chain, region), day) if frame is not None else frame
    if rows is None or rows.empty:
        return 0.0, 1.0, 0.0, 0.0
    row = rows.iloc[0]
    excellent, basic, incompetent = float(row.excellent_share), float(row.basic_share), float(row.incompetent_share)
    return excellent, 1 - excellent - basic - incompetent, basic, incompetent


def demo_assessments(con: duckdb.DuckDBPyConnection, policy: Policy, year: int, seed: int) -> int:
    """Results for every person employed in each of the HISTORY_YEARS years before `year`."""
    staff = con.execute("SELECT employee_id, region_code, hire_date, leave_date FROM employees ORDER BY 1").df()
    rng = np.random.default_rng(seed + 16)
    frames = []
    for result_year in range(year - HISTORY_YEARS, year):
        employed = staff[(staff.hire_date.dt.year <= result_year)
                         & (staff.leave_date.isna() | (staff.leave_date.dt.year >= result_year))]
        draw = rng.random(len(employed))
        results = np.empty(len(employed), dtype=object)
        for region, index in employed.groupby("region_code").indices.items():
            cumulative = np.cumsum(shares_in_force(policy, region, date(result_year, 12, 1)))
            picked = np.searchsorted(cumulative, draw[index], side="right").clip(0, 3)
            results[index] = np.array(["excellent", "competent", "basic", "incompetent"])[picked]
        frames.append(pd.DataFrame({"employee_id": employed.employee_id.to_numpy(), "year": result_year,
                                    "result": results}))
    rows = pd.concat(frames, ignore_index=True)
    with transaction(con):
        con.register("_demo_results", rows)
        try:
            con.execute("INSERT INTO assessments SELECT employee_id, CAST(year AS INTEGER), result, 'demo', 1, "
                        "now()::TIMESTAMP, 'demo', 0 FROM _demo_results")
        finally:
            con.unregister("_demo_results")
    return len(rows)


def demo_level_changes(con: duckdb.DuckDBPyConnection, policy: Policy, year: int, out: Path) -> tuple[Path, ApplySummary]:
    """Propose the changes last year's appraisal brings, write HR's list, and apply it unchanged."""
    proposals = propose_changes(con, policy, year - 1)
    listed = write_proposals(proposals, out / f"levels-{year - 1}.xlsx", year - 1)
    return listed, apply_changes(con, policy, listed)
