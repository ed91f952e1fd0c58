"""The register's header note (含样本数字) is computed once per stretch of months in which no table
row takes effect or lapses (reports/table_status.py): it must equal the note computed afresh for
every month, across rows that start and rows that lapse (`valid_until`)."""
from __future__ import annotations

import shutil

from conftest import SHIPPED_TABLES

from payroll.policy import load_policy
from payroll.reports import table_status


def _with_a_lapsing_sample_row(tmp_path):
    """The shipped tables plus an average-wage row of Hohhot marked disputed, in force March–May 2025."""
    tables = tmp_path / "tables"
    shutil.copytree(SHIPPED_TABLES, tables)
    # average_wage.csv: region_code,effective_from,monthly_average_wage,basis,source,status,valid_until
    with open(tables / "average_wage.csv", "a", encoding="utf-8") as handle:
        handle.write("150100,2025-03-01,9500.00,test,test only: a disputed row that lapses,disputed,2025-05-31\n")
    return tables


def test_the_header_of_every_month_equals_the_one_computed_afresh(tmp_path):
    policy = load_policy(_with_a_lapsing_sample_row(tmp_path))
    frames = policy.frames
    regions = ["150100", "150600", "330100", "530100", "320600"]
    disputed = []
    for label in ("2025-01", "2025-02", "2025-03", "2025-04", "2025-05", "2025-06", "2025-07"):
        fresh = table_status.header_text(frames, label, regions)
        assert table_status._header_text_of("test-digest", frames, label, regions) == fresh, label
        if "1 disputed" in fresh:
            disputed.append(label)
    assert disputed == ["2025-03", "2025-04", "2025-05"]       # the row in force, and only then
