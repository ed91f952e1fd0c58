"""The mutation tool (`python -m tests.mutate`, issue 20) plans what it says: real one-line mutants,
stages that never run a test twice, and an honest interval for a sampled score."""
from __future__ import annotations

import dataclasses
from pathlib import Path

from mutate import (ROOT, STAGES, _keys, _rank, equivalent_matches, load_equivalents, rule_mutants, stage_tests,
                    table_mutants, wilson_interval)


def test_every_mutant_changes_exactly_its_line():
    mutants = rule_mutants() + table_mutants()
    assert len(mutants) > 400
    for mutant in mutants:
        lines = (ROOT / mutant.path).read_text(encoding="utf-8").splitlines(keepends=True)
        assert lines[mutant.line - 1] == mutant.before != mutant.after, mutant
    # every rule module is mutated, and the shipped tables too
    assert {Path(m.path).stem for m in mutants if m.kind == "rules"} >= {"pay", "income_tax", "leave", "one_off"}
    assert any(m.kind == "tables" for m in mutants)


def test_a_later_stage_runs_no_test_an_earlier_one_ran():
    mutant = next(m for m in rule_mutants() if m.path.endswith("income_tax.py"))
    ran: set[str] = set()
    for stage in STAGES[:-1]:
        tests = stage_tests(mutant, stage)
        selected = {t for t in tests if not t.startswith("--deselect=")}
        deselected = {t.removeprefix("--deselect=") for t in tests if t.startswith("--deselect=")}
        assert not (selected & ran)
        # a whole file run again leaves out the nodes already run from it
        assert {t for t in ran if "::" in t and t.split("::")[0] in selected} <= deselected
        ran |= selected
    assert stage_tests(mutant, "ci") == ["tests"]


def test_the_sample_interval():
    low, high = wilson_interval(54, 54)
    assert 0.93 < low < 0.94 and high == 1.0          # all 54 killed: above 93 % with 95 % confidence
    low, high = wilson_interval(50, 54)
    assert low < 50 / 54 < high
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_a_hash_sample_keeps_its_mutants_when_the_list_changes():
    """`--every 10` by the mutant's hash: about a tenth of the list, and a mutant added in front (a
    new rule line) moves no other mutant in or out of the sample (a position-based sample would)."""
    mutants = rule_mutants()
    keys = _keys(mutants)
    sample = [k for k in keys if _rank(k) % 10 == 0]
    assert 0.05 * len(keys) < len(sample) < 0.15 * len(keys)
    grown = _keys([dataclasses.replace(mutants[0], after=mutants[0].after + " ")] + mutants)
    assert [k for k in grown[1:] if _rank(k) % 10 == 0] == sample


def test_each_mutant_argued_equivalent_is_exactly_one_mutant_of_today_s_code():
    """tests/mutation_equivalents.json: an entry that matched nothing (its line changed) or several
    would hide mutants from the run without an argument for each."""
    mutants = rule_mutants() + table_mutants()
    entries = load_equivalents()
    assert entries
    for entry in entries:
        assert entry["why"].strip(), entry
        assert sum(equivalent_matches(entry, mutant) for mutant in mutants) == 1, entry


def test_a_mutant_that_stops_its_module_importing_is_killed(tmp_path):
    """`"a" + "b"` → `"a" - "b"` fails at import: every test errors in collection (pytest exits 2, or
    4 when conftest imports it). That is a kill, told apart from a usage error of the tool by the
    traceback naming the mutated line (a usage error of the tool names none: undecided)."""
    from mutate import _pytest
    (tmp_path / "rules.py").write_text('LABEL = "a" - "b"\n', encoding="utf-8")
    (tmp_path / "test_rules.py").write_text("import rules\n\ndef test_label():\n    assert rules.LABEL\n",
                                            encoding="utf-8")
    outcome, _, detail = _pytest(tmp_path, ["test_rules.py"], 120, "0", "rules.py:1")
    assert (outcome, detail) == ("killed", "rules.py:1 does not import")


def test_the_score_counts_only_kills_by_the_ci_tier():
    """The README's score is the CI tier's (DEVELOPERS.md): no test that killed a mutant, and no test
    the tool's first stages name, is left to the full tier (tests/tiers.py); every killer and every
    entry there names a test that exists, so a renamed test cannot leave a stale verdict or entry."""
    import json
    import re

    from mutate import DEFAULT_FIRST, FIRST, SUBSET
    from tiers import FULL_TIER, in_full_tier
    killers = {json.loads(line)["detail"] for line in (ROOT / "tests/mutation_results.jsonl").open(encoding="utf-8")
               if '"killed"' in line}
    killers = {k for k in killers if "::" in k}
    assert len(killers) > 50
    assert not {k for k in killers if in_full_tier(k)}
    def names_a_test(node: str) -> bool:          # a module, or a test function defined in it
        path, _, name = node.partition("::")
        text = (ROOT / path).read_text(encoding="utf-8")
        return not name or bool(re.search(rf"^def {name.split('[')[0]}\(", text, re.M))
    # a killer renamed or deleted since its verdict: the verdict must be run again
    assert [k for k in killers if not names_a_test(k)] == []
    named = {t for tests in [SUBSET, DEFAULT_FIRST, *FIRST.values()] for t in tests}
    assert not {t for t in named if in_full_tier(t)}
    assert [entry for entry in FULL_TIER if not names_a_test(entry)] == []
