"""Mutation testing of the rules and the shipped tables: `python -m tests.mutate`.

Each mutant is a one-line change, applied in a scratch copy of the project (the working tree is
never touched):
- rule SQL: in the SQL strings of payroll/rules/*.py (a Rule's `sql`, and every string holding a
  SELECT or CASE), one operator at one place: a comparison made strict or loose, + ↔ −,
  greatest ↔ least, AND ↔ OR, a literal 0/1/12 changed, a coalesce default changed;
- shipped tables: one figure of a row that a hand-computed case reads (tables/*.csv rows in force
  in 2025 for the hand-case regions, the whole tax table, the payroll's national parameters),
  raised by 10 % (a typo-sized change).

A mutant goes through up to four stages, each with -x (it stops at the first failing test), and
is killed as soon as one fails; every stage's tests are CI-tier tests, so "killed" means "killed
by the CI set":
1. fast: the tests that exercise the mutated module (FIRST, a per-module map), quickest killers
   first, in one process (no xdist start-up);
2. subset: the rest of the deterministic correctness subset (SUBSET);
3. properties: the random comparisons with the scalar reference (PROPERTIES, CI example counts);
4. ci: the whole CI tier (`pytest tests/`, xdist, ~15 min of CPU a mutant).
A mutant that passes every stage run (`--upto`, default properties) is a survivor of those
stages: README ("Mutation score") says for each whether it is equivalent or which test now kills
it. Stopping at properties can only count a mutant the rest of the CI tier would kill as a
survivor, never the other way: the score is a floor.
Stages run breadth-first (every mutant's stage 1, then stage 2 for those left, and so on), and
every verdict is appended to a results file at once, so an interrupted run resumes where it
stopped (the mutant's key is its file, line text and change, so a merge that shifts lines keeps
the verdicts). Mutants that cannot change any payslip are listed, each with its argument, in
tests/mutation_equivalents.json: they are not run, and the summary counts them apart.

    python -m tests.mutate                      # every mutant, every stage (hours on 2 cores)
    python -m tests.mutate --upto subset        # stop after the deterministic subset (left: pending)
    python -m tests.mutate --upto ci            # also the whole CI tier for the survivors
    python -m tests.mutate --jobs 2             # two mutants at a time, each in its own copy
    python -m tests.mutate --results F.jsonl    # where verdicts go (default: tests/mutation_results.jsonl)
    python -m tests.mutate --summary            # only the summary of the results file
    python -m tests.mutate --recheck --match leave.py   # after a new test: survivors again
    python -m tests.mutate --limit 10 --only rules --every 5 --match leave.py   # a sample
    python -m tests.mutate --list               # the mutants, without running them
"""
from __future__ import annotations

import argparse
import json
import threading
import ast
import csv
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"

# the rows a summed figure cites (allowances, accident premium), which no amount reveals
PROVENANCE = "tests/test_trace.py::test_a_summed_figure_cites_exactly_the_rows_it_adds_up"
# the deterministic part of the CI correctness tests, fastest killers first (each run stops at the
# first failure). A mutant it kills is killed by the CI set; the random properties (the rest of
# test_reference_vs_engine, test_benefits_reference, test_reference_reach) are left out to keep a
# mutant's run short on a shared machine: the whole-CI stage runs them, for the survivors.
SUBSET = [
    PROVENANCE,
    "tests/test_hand_computed.py",
    "tests/test_bases_at_floor_and_ceiling.py",
    "tests/test_minimum_wage_by_region.py",
    "tests/test_income_tax_examples.py",
    "tests/test_engine_arithmetic.py",
    "tests/test_calendar_proration.py",
    "tests/test_reference_vs_engine.py::test_engine_matches_reference_on_a_fixed_roster",
    "tests/test_reference_reach.py::test_every_bracket_on_the_shipped_tables",
    "tests/test_reference_reach.py::test_every_bracket_at_and_around_each_threshold",
    "tests/test_reference_reach.py::test_fixed_record_changes",
    "tests/test_reference_reach.py::test_fixed_arrears",
    "tests/test_benefits_reference.py::test_fixed_injury_roster_exercises_every_path",
    "tests/test_reference_reach.py::test_fixed_injuries_with_derived_base_and_topup",
    "tests/test_previous_year_gross.py",
    "tests/test_history_carry.py",
    "tests/test_guards.py",
    "tests/test_tax_export.py::test_the_exempt_disability_allowance_is_declared_as_exempt_income",
    "tests/test_medical_levy.py",
    "tests/test_year_end.py",
    "tests/test_leave_probation_death.py",
    "tests/test_leave_cases.py",
    "tests/test_leave_carry_over.py",
    "tests/test_one_off_cases.py",
]
HAND = "tests/test_hand_computed.py"
CLAMPS = "tests/test_bases_at_floor_and_ceiling.py"
FIXED_ROSTER = "tests/test_reference_vs_engine.py::test_engine_matches_reference_on_a_fixed_roster"
INJURIES = ["tests/test_benefits_reference.py::test_fixed_injury_roster_exercises_every_path",
            "tests/test_reference_reach.py::test_fixed_injuries_with_derived_base_and_topup"]
BRACKETS = ["tests/test_reference_reach.py::test_every_bracket_at_and_around_each_threshold",
            "tests/test_reference_reach.py::test_every_bracket_on_the_shipped_tables"]
LEAVE = ["tests/test_leave_cases.py", "tests/test_leave_probation_death.py", "tests/test_leave_carry_over.py",
         "tests/test_leave_reference.py"]
PARAMETERS_ONLY = "tests/test_policy.py::test_the_most_specific_region_wins_then_the_latest_date"
# stage 1: per mutated module (rules: the module's stem; tables: the table's name), the tests that
# exercise it, quickest killers first. A module not named here gets DEFAULT_FIRST.
DEFAULT_FIRST = [HAND, FIXED_ROSTER, "tests/test_reference_reach.py::test_fixed_record_changes"]
FIRST = {
    # the parameters-only status tables (no leave or terms tables): installed by test_policy's cases
    "leave": [*LEAVE, PARAMETERS_ONLY], "probation": [*LEAVE, PARAMETERS_ONLY], "death": LEAVE,
    "one_off": ["tests/test_one_off_cases.py", "tests/test_year_end.py", "tests/test_offcycle.py",
                "tests/test_levels.py",
                "tests/test_guards.py::test_a_severance_of_one_fen_without_an_average_wage_row_is_refused"],
    "deductions": ["tests/test_year_end.py", "tests/test_medical_levy.py", HAND, FIXED_ROSTER,
                   "tests/test_leave_probation_death.py::test_a_deduction_takes_nothing_when_the_contributions_exceed_the_pay",
                   "tests/test_one_off_cases.py"],      # tax withheld: the bonus and severance taxes
    "injury_pay": [*INJURIES, "tests/test_injury_without_grade.py", "tests/test_guards.py", "tests/test_previous_year_gross.py",
                   "tests/test_history_carry.py", *LEAVE],      # tax-exempt income: the maternity allowance
    "medical_levy": ["tests/test_medical_levy.py", HAND, FIXED_ROSTER],
    # net pay and the tax lines: the annual bonus and severance taxes only the one-off cases pay
    "net": [HAND, FIXED_ROSTER, "tests/test_year_end.py", "tests/test_one_off_cases.py"],
    "performance_pay": ["tests/test_levels.py"],
    # gross pay's lines: the hand cases, then the one case paying performance pay and the appraisal bonus
    "pay": [HAND, FIXED_ROSTER, "tests/test_levels.py::test_performance_pay_by_result_in_two_regions",
            "tests/test_reference_reach.py::test_fixed_record_changes", PROVENANCE,
            # the lines none of those pays: severance, the injury allowance, maternity
            "tests/test_one_off_cases.py::test_severance_and_other_payments_with_a_bonus_in_one_regular_run",
            INJURIES[0], *LEAVE,
            # a night-shift rate where no table row gives one; arrears in gross pay
            "tests/test_income_tax_examples.py::test_night_shifts_where_no_table_row_pays_them_pay_nothing",
            "tests/test_reference_reach.py::test_fixed_arrears"],
    "accident_insurance": [*DEFAULT_FIRST, PROVENANCE],
    "income_tax": [HAND, *BRACKETS, "tests/test_income_tax_examples.py", "tests/test_year_end.py",
                   *INJURIES, "tests/test_previous_year_gross.py"],     # the exempt allowance
    "floors": ["tests/test_guards.py", HAND, *INJURIES,
               "tests/test_levels.py::test_performance_pay_by_result_in_two_regions"],
    "proration": [HAND, "tests/test_calendar_proration.py", FIXED_ROSTER, *LEAVE],   # maternity days
    "overtime": [HAND, "tests/test_engine_arithmetic.py", FIXED_ROSTER],
    "iit_brackets": [*BRACKETS, HAND, "tests/test_income_tax_examples.py"],
    # the rule module and the table of the same name share the entry
    "social_insurance": [CLAMPS, HAND, FIXED_ROSTER], "housing_fund": [CLAMPS, HAND, FIXED_ROSTER],
    "minimum_wage": ["tests/test_minimum_wage_by_region.py", HAND],
    "national_parameters": [HAND, "tests/test_income_tax_examples.py", "tests/test_engine_arithmetic.py",
                            *BRACKETS],
}
# stage 3: the random comparisons with the scalar reference the subset leaves out
PROPERTIES = [
    "tests/test_reference_vs_engine.py",
    "tests/test_benefits_reference.py",
    "tests/test_reference_reach.py",
    "tests/test_leave_reference.py",
    "tests/test_contribution_year.py",
    "tests/test_offcycle.py",
    "tests/test_retro.py",
]
STAGES = ("fast", "subset", "properties", "ci")

# (pattern, replacement) applied to one occurrence in one line of rule SQL
SQL_OPERATORS = [
    (r"<=", "<"), (r"(?<![<>!])>=", ">"), (r"(?<![<>=!-])<(?![=>])", "<="), (r"(?<![<>=!-])>(?![=])", ">="),
    (r" \+ ", " - "), (r" - ", " + "), (r"\bgreatest\(", "least("), (r"\bleast\(", "greatest("),
    (r"\bAND\b", "OR"), (r"\bOR\b", "AND"), (r"(?<![\w.[])0(?![\w.\]])", "1"), (r"(?<![\w.[])1(?![\w.\]])", "0"),
    (r"(?<![\w.])12(?![\w.])", "11"), (r"\bNOT ", ""), (r"\btrue\b", "false"), (r"\bfalse\b", "true"),
]

# the people of tests/test_hand_computed.py: region, category, level (its K8 uses a test-only row)
HAND_PEOPLE = (("150100", "duty", 6), ("150600", "civilian", 7), ("330100", "duty", 1), ("530100", "duty", 4),
               ("320600", "duty", 7))
HAND_REGIONS = tuple(region for region, _, _ in HAND_PEOPLE)
HAND_DAY = date(2025, 6, 1)
# columns that hold a figure, per table (one mutant per row and figure)
TABLE_FIGURES = {
    "pay_scale": ("base_pay",), "allowances": ("amount",), "minimum_wage": ("monthly_minimum_wage",),
    "social_insurance": ("employer_rate", "employee_rate", "base_floor", "base_ceiling"),
    "housing_fund": ("employer_rate", "employee_rate", "base_floor", "base_ceiling"),
    "accident_insurance": ("annual_premium",), "iit_brackets": ("threshold", "rate", "quick_deduction"),
    "national_parameters": ("value",),
}
PAYROLL_PARAMETERS = ("pay_days_per_month", "hours_per_day", "overtime_workday_rate", "overtime_restday_rate",
                      "overtime_holiday_rate", "iit_basic_deduction_monthly", "iit_no19_annual_deduction",
                      "iit_no19_income_limit")


@dataclass(frozen=True)
class Mutant:
    kind: str           # rules | tables
    path: str           # relative to the project
    line: int           # 1-based
    before: str
    after: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.before.strip()[:90]!r} -> {self.after.strip()[:90]!r}"


def _sql_lines(source: str) -> set[int]:
    """Lines of the module inside a Rule's sql= or inside a string holding SELECT or CASE."""
    lines: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.keyword) and node.arg == "sql":
            lines.update(range(node.value.lineno, node.value.end_lineno + 1))
        elif isinstance(node, (ast.Constant, ast.JoinedStr)):
            text = node.value if isinstance(node, ast.Constant) else ast.unparse(node)
            if isinstance(text, str) and re.search(r"\b(SELECT|CASE)\b", text):
                lines.update(range(node.lineno, node.end_lineno + 1))
    return lines


def rule_mutants() -> list[Mutant]:
    out = []
    for path in sorted((ROOT / "payroll" / "rules").glob("*.py")):
        source = path.read_text(encoding="utf-8")
        text_lines = source.splitlines(keepends=True)
        for number in sorted(_sql_lines(source)):
            line = text_lines[number - 1]
            if line.lstrip().startswith("#") or "label_" in line or "formula=" in line or "basis=" in line:
                continue
            code = line.split("#", 1)[0] if "--" not in line else line.split("--", 1)[0]
            for pattern, replacement in SQL_OPERATORS:
                for match in re.finditer(pattern, code):
                    mutated = line[:match.start()] + replacement + line[match.end():]
                    if mutated != line:
                        out.append(Mutant("rules", str(path.relative_to(ROOT)), number, line, mutated))
    return out


def _in_force_rows(tables_dir: Path) -> dict[str, set[int]]:
    """table -> 0-based data row numbers a hand-computed case reads (rows in force on HAND_DAY)."""
    sys.path.insert(0, str(TESTS))
    import reference
    tables = reference.Tables(tables_dir)
    wanted: dict[str, set[int]] = {name: set() for name in TABLE_FIGURES}
    keys = {"pay_scale": lambda r: (r["category"], r["level"]), "allowances": lambda r: r["item"],
            "social_insurance": lambda r: r["fund"], "accident_insurance": lambda r: r["cover"]}
    for name in ("pay_scale", "allowances", "minimum_wage", "social_insurance", "housing_fund", "accident_insurance"):
        rows = tables.rows[name]
        for region, category, level in HAND_PEOPLE:
            for found, row in tables.resolve(name, region, HAND_DAY, key=keys.get(name, lambda r: ())).items():
                if name == "pay_scale" and found != (category, level):
                    continue
                wanted[name].add(next(i for i, r in enumerate(rows) if r is row))
    wanted["iit_brackets"] = {i for i, r in enumerate(tables.rows["iit_brackets"])
                              if r is not None and r in tables.brackets(HAND_DAY)}
    for parameter in PAYROLL_PARAMETERS:
        rows = tables.rows["national_parameters"]
        candidates = [i for i, r in enumerate(rows) if r["name"] == parameter and r["effective_from"] <= HAND_DAY]
        wanted["national_parameters"].add(max(candidates, key=lambda i: rows[i]["effective_from"]))
    return wanted


def _raised(text: str) -> str:
    """The figure 10 % higher, at its own precision (at least one unit of its last place more)."""
    value = Decimal(text)
    places = max(-value.as_tuple().exponent, 0)
    unit = Decimal(1).scaleb(-places)
    return str(max((value * Decimal("1.1")).quantize(unit), value + unit))


def table_mutants() -> list[Mutant]:
    tables_dir = ROOT / "tables"
    out = []
    for name, rows in sorted(_in_force_rows(tables_dir).items()):
        path = tables_dir / f"{name}.csv"
        lines = path.read_text(encoding="utf-8-sig").splitlines(keepends=True)
        header = next(csv.reader([lines[0]]))
        for turn, index in enumerate(sorted(rows)):
            number = index + 2                               # header is line 1
            cells = next(csv.reader([lines[number - 1]]))
            # one figure per row (the table's figure columns in turn), a zero rate left alone
            figures = [c for c in TABLE_FIGURES[name] if cells[header.index(c)].strip() not in ("", "0")]
            for column in figures[turn % len(figures):][:1] if figures else []:
                position = header.index(column)
                changed = list(cells)
                changed[position] = _raised(cells[position])
                buffer = io.StringIO()
                csv.writer(buffer, lineterminator="\n").writerow(changed)
                out.append(Mutant("tables", str(path.relative_to(ROOT)), number, lines[number - 1],
                                  buffer.getvalue()))
    return out


# mutants argued equivalent (they cannot change any payslip), each with its argument: not run, and
# counted apart in the summary. An entry names the file and the change of its line (before → after
# text); a test checks each still matches exactly one mutant, so a stale entry cannot hide one.
EQUIVALENTS = TESTS / "mutation_equivalents.json"


def load_equivalents(path: Path = EQUIVALENTS) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else []


def equivalent_matches(entry: dict, mutant: Mutant) -> bool:
    """Whether the mutant is the entry's change: its line with `before` replaced by `after` at one place."""
    if mutant.path != entry["path"]:
        return False
    line, before = mutant.before, entry["before"]
    at = line.find(before)
    while at >= 0:
        if line[:at] + entry["after"] + line[at + len(before):] == mutant.after:
            return True
        at = line.find(before, at + 1)
    return False


def equivalence_of(mutant: Mutant, entries: list[dict]) -> str | None:
    return next((entry["why"] for entry in entries if equivalent_matches(entry, mutant)), None)


def _module(mutant: Mutant) -> str:
    return Path(mutant.path).stem


def _key(mutant: Mutant, nth: int) -> str:
    """The mutant's name in the results file: file, line text, change and which of equal ones
    (no line number, so a merge that shifts lines keeps the verdict)."""
    return json.dumps([mutant.path, mutant.before.strip(), mutant.after.strip(), nth], ensure_ascii=False)


def _keys(mutants: list[Mutant]) -> list[str]:
    seen: dict[tuple, int] = {}
    out = []
    for mutant in mutants:
        name = (mutant.path, mutant.before, mutant.after)
        seen[name] = seen.get(name, 0) + 1
        out.append(_key(mutant, seen[name]))
    return out


def _rank(key: str) -> int:
    """A mutant's place in the sample order, from its key alone: `--every N` and a run stopped early
    take the same mutants whatever is added to or removed from the list (a position would shift)."""
    return int(hashlib.sha256(key.encode("utf-8")).hexdigest()[:12], 16)


def _node_file(node: str) -> str:
    return node.split("::", 1)[0]


def stage_tests(mutant: Mutant, stage: str, root: Path = ROOT) -> list[str]:
    """The tests of one stage for a mutant (stage 2 leaves out what stage 1 ran)."""
    first = [t for t in FIRST.get(_module(mutant), DEFAULT_FIRST) if (root / _node_file(t)).exists()]
    if stage == "fast":
        return first
    ran_files = {t for t in first if "::" not in t}
    subset = [t for t in SUBSET if t not in first and _node_file(t) not in ran_files]
    if stage == "subset":
        return subset
    if stage == "properties":
        ran = first + subset
        ran_files |= {t for t in ran if "::" not in t}
        files = [t for t in PROPERTIES if t not in ran_files and (root / t).exists()]
        # a test already run in an earlier stage is not run again
        return files + [f"--deselect={t}" for t in ran if "::" in t and _node_file(t) in files]
    return ["tests"]


def _scratch_copy() -> Path:
    target = Path(tempfile.mkdtemp(prefix="payroll-mutate-")) / "project"
    ignore = shutil.ignore_patterns(".git", "__pycache__", ".hypothesis", ".pytest_cache", "*.duckdb",
                                    ".benchmarks", "node_modules")
    shutil.copytree(ROOT, target, ignore=ignore)
    return target


def _pytest(copy: Path, tests: list[str], timeout: int, workers: str, mutated: str = "") -> tuple[str, float, str]:
    env = {**os.environ, "PYTHONPATH": str(copy), "PYTHONDONTWRITEBYTECODE": "1"}
    for name in ("PAYROLL_THOROUGH", "PAYROLL_FULL", "PAYROLL_TABLES"):      # the CI tier: its kills are the score
        env.pop(name, None)
    started = time.monotonic()
    try:
        result = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
                                 "-p", "no:randomly", "--hypothesis-seed=0", "-n", workers, *tests],
                                cwd=copy, env=env, capture_output=True, text=True, timeout=timeout)
        # 0: all passed; 5: nothing collected (a stage with no test left) counts as passed
        outcome = "survived" if result.returncode in (0, 5) else "killed"
        if result.returncode < 0 or result.returncode == 4:      # stopped by a signal, or a usage error
            outcome = "undecided"
        # a mutant that stops its module importing (e.g. str - str) fails every test at collection
        # or in conftest (exit 2 or 4): killed, when the traceback names the mutated line
        if mutated and result.returncode in (2, 4) and f"{mutated}: in <module>" in result.stdout + result.stderr:
            return "killed", time.monotonic() - started, f"{mutated} does not import"
        failed = re.findall(r"^(?:FAILED|ERROR) (\S+)", result.stdout, re.M)
        tail = result.stdout.strip().splitlines()[-1:]
        detail = failed[0] if failed else (tail[0] if tail else f"exit {result.returncode}")
    except subprocess.TimeoutExpired:
        outcome, detail = "undecided", f"no verdict within {timeout} s"
    return outcome, time.monotonic() - started, str(detail)


def _run(copy: Path, mutant: Mutant | None, timeout: int, tests: list[str], workers: str = "0"
         ) -> tuple[str, float, str]:
    """Run tests on the copy with the mutant applied, then put the file back."""
    if not tests:
        return "survived", 0.0, "no test in this stage"
    path = copy / mutant.path if mutant else None
    original = path.read_bytes() if path else None
    try:
        if mutant:
            lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
            assert lines[mutant.line - 1] == mutant.before, mutant
            lines[mutant.line - 1] = mutant.after
            path.write_text("".join(lines), encoding="utf-8")
        return _pytest(copy, tests, timeout, workers, f"{mutant.path}:{mutant.line}" if mutant else "")
    finally:
        if path:
            path.write_bytes(original)


class Results:
    """The append-only verdicts file: one JSON line per (mutant, stage) run."""

    def __init__(self, path: Path):
        self.path = path
        self.lock = threading.Lock()
        self.verdicts: dict[str, dict[str, dict]] = {}
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    record = json.loads(line)
                    self.verdicts.setdefault(record["key"], {})[record["stage"]] = record

    def add(self, record: dict) -> None:
        with self.lock:
            self.verdicts.setdefault(record["key"], {})[record["stage"]] = record
            with self.path.open("a", encoding="utf-8") as out:
                out.write(json.dumps(record, ensure_ascii=False) + "\n")

    def forget_survivals(self, keys: list[str]) -> int:
        """Drop the 'survived' verdicts of these mutants (after a new test: run them again)."""
        dropped = 0
        for key in keys:
            for stage, record in list(self.verdicts.get(key, {}).items()):
                if record["outcome"] != "killed":
                    del self.verdicts[key][stage]
                    dropped += 1
        return dropped

    def state(self, key: str, upto: str = "ci") -> tuple[str, str | None]:
        """(killed | survived | pending, the next stage to run or the stage that decided); a mutant
        that passed every stage through `upto` is a survivor of those stages."""
        done = self.verdicts.get(key, {})
        for stage in STAGES[:STAGES.index(upto) + 1]:
            record = done.get(stage)
            if record is None or record["outcome"] == "undecided":
                return "pending", stage
            if record["outcome"] == "killed":
                return "killed", stage
        return "survived", upto


def wilson_interval(killed: int, decided: int, z: float = 1.96) -> tuple[float, float]:
    """95 % interval of the score when the mutants run are a sample of all (Wilson's score
    interval: sound at scores near 100 %, where the normal approximation is not)."""
    if not decided:
        return 0.0, 1.0
    share = killed / decided
    centre = (share + z * z / (2 * decided)) / (1 + z * z / decided)
    half = z * ((share * (1 - share) / decided + z * z / (4 * decided * decided)) ** 0.5) / (1 + z * z / decided)
    return max(0.0, centre - half), min(1.0, centre + half)


def summary(mutants: list[Mutant], keys: list[str], results: Results, upto: str = "properties",
            population: int | None = None) -> tuple[int, int, int]:
    """Print the score; `population` is the number of all mutants when these are a sample."""
    entries = load_equivalents()
    states = [("equivalent", None) if equivalence_of(m, entries) else results.state(key, upto)
              for m, key in zip(mutants, keys)]
    killed = sum(state == "killed" for state, _ in states)
    equivalent = sum(state == "equivalent" for state, _ in states)
    survived = [m for m, (state, _) in zip(mutants, states) if state == "survived"]
    pending = [(m, stage) for m, (state, stage) in zip(mutants, states) if state == "pending"]
    total = len(mutants)
    by_stage = {stage: sum(s == ("killed", stage) for s in states) for stage in STAGES}
    print(f"\n{total} mutants: {killed} killed, {equivalent} equivalent ({EQUIVALENTS.name}), "
          f"{len(survived)} survived, {len(pending)} not decided yet"
          f"  (killed in stage " + ", ".join(f"{stage} {n}" for stage, n in by_stage.items()) + ")")
    for kind in ("rules", "tables"):
        group = [s for m, s in zip(mutants, states) if m.kind == kind]
        if group:
            print(f"  {kind}: {sum(s == 'killed' for s, _ in group)}/{len(group)} killed")
    decided = killed + len(survived)
    if decided:
        print(f"mutation score on the {decided} decided non-equivalent: {killed}/{decided} killed "
              f"({100 * killed / decided:.1f} %); on all {total - equivalent} non-equivalent: at least "
              f"{100 * killed / (total - equivalent):.1f} %; counting the equivalent as survivors: at least "
              f"{100 * killed / total:.1f} %")
        if population and population > total:
            low, high = wilson_interval(killed, decided)
            print(f"these {total} are a systematic sample of all {population} mutants: the score of all "
                  f"is {100 * low:.1f}–{100 * high:.1f} % with 95 % confidence")
    if survived:
        print(f"survivors (passed every stage through {upto}):")
        for mutant in survived:
            print(f"  {mutant}")
    if pending:
        waiting = {stage: sum(1 for _, s in pending if s == stage) for stage in STAGES}
        print("not decided yet, by the stage they wait for: "
              + ", ".join(f"{stage} {n}" for stage, n in waiting.items() if n))
        for mutant, stage in pending:
            if stage != "fast":
                print(f"  [{stage}] {mutant}")
    return killed, len(survived), len(pending)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("rules", "tables"))
    parser.add_argument("--match", help="only mutants whose 'path:line:' contains this (e.g. leave.py:122:)")
    parser.add_argument("--limit", type=int, help="at most this many mutants of each kind")
    parser.add_argument("--every", type=int, default=1,
                        help="only about one mutant in N, chosen by a hash of the mutant (a quicker, stable sample)")
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--summary", action="store_true", help="print the results file's summary only")
    parser.add_argument("--timeout", type=int, default=900, help="seconds per stage run (ci: 4x)")
    parser.add_argument("--jobs", type=int, default=1, help="mutants run at once, each in its own copy")
    parser.add_argument("--upto", choices=STAGES, default="properties",
                        help="the last stage to run; a mutant passing it is a survivor (default properties)")
    parser.add_argument("--ci-workers", default="2", help="xdist workers for the whole-CI stage")
    parser.add_argument("--recheck", action="store_true",
                        help="run the survivors and the undecided again from stage 1 (after a new test)")
    parser.add_argument("--in-file-order", action="store_true",
                        help="run in list order (default: hash order, so a stopped run is a random sample)")
    # kept in the repository: a run resumes across sessions and the README's score is `--summary` of it
    parser.add_argument("--results", type=Path, default=TESTS / "mutation_results.jsonl")
    args = parser.parse_args(argv)
    kinds = {"rules": rule_mutants, "tables": table_mutants}
    mutants = []
    for kind, make in kinds.items():
        if args.only in (None, kind):
            mutants += make()[:args.limit]
    keys = _keys(mutants)
    chosen = [(m, k) for m, k in zip(mutants, keys) if args.match is None or args.match in f"{m.path}:{m.line}:"]
    population = len(chosen)
    chosen = [(m, k) for m, k in chosen if _rank(k) % args.every == 0]
    mutants, keys = [m for m, _ in chosen], [k for _, k in chosen]
    if args.list:
        for mutant in mutants:
            print(mutant)
        print(f"{len(mutants)} mutants")
        return 0
    results = Results(args.results)
    entries = load_equivalents()
    if args.summary:
        summary(mutants, keys, results, args.upto, population)
        return 0
    if args.recheck:
        print(f"{results.forget_survivals(keys)} verdicts other than 'killed' set aside for a new run")
    print(f"{len(mutants)} mutants; verdicts in {args.results}", flush=True)
    copies = [_scratch_copy() for _ in range(max(args.jobs, 1))]
    free = list(copies)
    free_lock = threading.Lock()
    baseline: dict[str, bool] = {}
    baseline_lock = threading.Lock()
    counter = {"n": 0}

    def passes_unmutated(copy: Path, node: str, stage: str) -> bool:
        """The failing test must pass on the unmutated copy for its failure to kill (checked once
        per test: cheaper than a baseline of every stage's whole list)."""
        with baseline_lock:
            known = baseline.get(node)
        if known is None:
            workers = args.ci_workers if stage == "ci" and "::" not in node else "0"
            outcome, seconds, detail = _run(copy, None, args.timeout, [node], workers)
            known = outcome == "survived"
            with baseline_lock:
                baseline[node] = known
            print(f"  unmutated {node}: {'passes' if known else 'FAILS (' + detail + ')'} ({seconds:.0f} s)",
                  flush=True)
        return known

    def work(item: tuple[Mutant, str, str]) -> None:
        mutant, key, stage = item
        with free_lock:
            copy = free.pop()
        try:
            tests = stage_tests(mutant, stage, copy)
            workers = args.ci_workers if stage == "ci" else "0"
            timeout = args.timeout * (4 if stage == "ci" else 1)
            outcome, seconds, detail = _run(copy, mutant, timeout, tests, workers)
            # (a module that does not import needs no unmutated run: the unmutated module imports)
            if outcome == "killed" and not detail.endswith("does not import") \
                    and not passes_unmutated(copy, detail if "::" in detail else tests[0], stage):
                outcome, detail = "undecided", f"{detail} fails without the mutant too"
            results.add({"key": key, "stage": stage, "outcome": outcome, "seconds": round(seconds, 1),
                         "detail": detail, "where": f"{mutant.path}:{mutant.line}",
                         "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
            with free_lock:
                counter["n"] += 1
                print(f"[{counter['n']}] {stage:6} {outcome:9} {seconds:5.0f} s  {mutant}  ({detail})", flush=True)
        finally:
            with free_lock:
                free.append(copy)

    started = time.monotonic()
    try:
        for stage in STAGES[:STAGES.index(args.upto) + 1]:
            todo = [(m, k, stage) for m, k in zip(mutants, keys)
                    if results.state(k, args.upto) == ("pending", stage) and not equivalence_of(m, entries)]
            if not args.in_file_order:      # in hash order: a run stopped early is a random sample
                todo.sort(key=lambda item: _rank(item[1]))
            if not todo:
                continue
            print(f"stage {stage}: {len(todo)} mutants", flush=True)
            with ThreadPoolExecutor(max_workers=len(copies)) as pool:
                list(pool.map(work, todo))
    except KeyboardInterrupt:
        print("interrupted: the verdicts so far are kept; run the same command again to resume")
    finally:
        for copy in copies:
            shutil.rmtree(copy.parent, ignore_errors=True)
    print(f"this run took {(time.monotonic() - started) / 60:.0f} min")
    killed, survived, pending = summary(mutants, keys, results, args.upto, population)
    return 0 if not survived and not pending else 1


if __name__ == "__main__":
    sys.exit(main())
