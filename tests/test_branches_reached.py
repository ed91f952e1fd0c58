"""Every branch docs/rules.md lists under "Branches the reference comparison reaches" was reached by
a payslip compared with the scalar reference in this run (the CI examples, or the thorough tier's).

The comparisons record their reference payslips in tests/branches.py as they run; conftest moves
this test to the end of the session. Run on its own (or with the comparisons deselected), it runs
the comparisons that did not report first, so it never passes on an empty tally.
"""
from __future__ import annotations

from pathlib import Path

import branches
import test_benefits_reference as injuries
import test_reference_reach as reach
import test_reference_vs_engine as random_rosters

RULES_MD = Path(__file__).resolve().parent.parent / "docs" / "rules.md"

# source name (branches.record) -> the comparisons that report under it
COMPARISONS = {
    "random tables_simple": [random_rosters.test_engine_matches_reference],
    "random tables": [random_rosters.test_engine_matches_reference_on_shipped_tables],
    "fixed roster": [random_rosters.test_engine_matches_reference_on_a_fixed_roster],
    "injuries": [injuries.test_engine_matches_reference_with_injuries,
                 injuries.test_fixed_injury_roster_exercises_every_path],
    "record_changes": [reach.test_records_changing_during_the_year_match_the_reference],
    "record_changes_fixed": [reach.test_fixed_record_changes],
    "injuries_year": [reach.test_injuries_over_a_full_prior_year_match_the_reference],
    "injuries_fixed": [reach.test_fixed_injuries_with_derived_base_and_topup],
    "brackets": [reach.test_any_bracket_matches_the_reference],
    "brackets_fixed": [reach.test_every_bracket_at_and_around_each_threshold],
    "brackets_shipped": [reach.test_every_bracket_on_the_shipped_tables],
    "retro": [reach.test_arrears_over_random_closed_month_changes_match_the_reference],
    "retro_fixed": [reach.test_fixed_arrears],
}


def test_the_documented_branches_are_the_tallied_ones():
    documented = branches.documented_branches(RULES_MD.read_text(encoding="utf-8"))
    assert len(documented) == len(set(documented))
    assert set(documented) == set(branches.BRANCHES), (
        f"only in docs/rules.md: {sorted(set(documented) - set(branches.BRANCHES))}; "
        f"only in tests/branches.py: {sorted(set(branches.BRANCHES) - set(documented))}")


def test_every_documented_branch_was_reached():
    for source, comparisons in COMPARISONS.items():
        if source not in branches.SOURCES:
            for comparison in comparisons:
                comparison()
    documented = branches.documented_branches(RULES_MD.read_text(encoding="utf-8"))
    tally = "\n".join(f"  {name:45} {branches.REACHED[name]:6}" for name in documented)
    print("payslips compared with the reference, per branch:\n" + tally)
    missed = [name for name in documented if not branches.REACHED[name]]
    assert not missed, f"branches no compared payslip reached in this run: {missed}\n{tally}"
