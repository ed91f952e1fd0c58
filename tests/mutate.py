"""Mutation testing of the rules and the shipped tables: `python -m tests.mutate`.

Each mutant is a one-line change, applied in a scratch copy of the project (the working tree is
never touched):
- rule SQL: in the SQL strings of payroll/rules/*.py (a Rule's `sql`, and every string holding a
  SELECT or CASE), one operator at one place: a comparison made strict or loose, + ↔ −,
  greatest ↔ least, AND ↔ OR, a literal 0/1/12 changed, a coalesce default changed;
- shipped tables: one figure of a row that a hand-computed case reads (tables/*.csv rows in force
  in 2025 for the hand-case regions, the whole tax table, the payroll's national parameters),
  raised by 10 % (a typo-sized change).
For each mutant the CI correctness subset (SUBSET) runs with -x; the mutant is killed when a test
fails. Survivors are listed with the line; the ones that cannot change any payslip are explained in
README ("Mutation testing") as equivalent.

    python -m tests.mutate                 # every mutant (CPU-heavy: minutes to an hour)
    python -m tests.mutate --limit 10      # the first 10 of each kind, to try it
    python -m tests.mutate --only rules    # or: --only tables
    python -m tests.mutate --list          # the mutants, without running them
"""
from __future__ import annotations

import argparse
import ast
import csv
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"

# the deterministic part of the CI correctness tests, fastest killers first (each run stops at the
# first failure). A mutant it kills is killed by the CI set; the random properties (the rest of
# test_reference_vs_engine, test_benefits_reference, test_reference_reach) are left out to keep a
# mutant's run short on a shared machine: `--with-random` adds them, for the survivors.
SUBSET = [
    "tests/test_hand_computed.py",
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
]
# --quick: the fastest killers only (a survivor here may still die in SUBSET)
QUICK = [
    "tests/test_hand_computed.py",
    "tests/test_income_tax_examples.py",
    "tests/test_reference_vs_engine.py::test_engine_matches_reference_on_a_fixed_roster",
    "tests/test_reference_reach.py::test_every_bracket_on_the_shipped_tables",
    "tests/test_reference_reach.py::test_fixed_record_changes",
    "tests/test_previous_year_gross.py",
    "tests/test_guards.py",
]
RANDOM = [
    "tests/test_reference_vs_engine.py",
    "tests/test_benefits_reference.py",
    "tests/test_reference_reach.py",
]

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


def _scratch_copy() -> Path:
    target = Path(tempfile.mkdtemp(prefix="payroll-mutate-")) / "project"
    ignore = shutil.ignore_patterns(".git", "__pycache__", ".hypothesis", ".pytest_cache", "*.duckdb",
                                    ".benchmarks", "node_modules")
    shutil.copytree(ROOT, target, ignore=ignore)
    return target


def _run(copy: Path, mutant: Mutant | None, timeout: int, tests: list[str] = SUBSET) -> tuple[str, float, str]:
    path = copy / mutant.path if mutant else None
    original = path.read_bytes() if path else None
    if mutant:
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        assert lines[mutant.line - 1] == mutant.before, mutant
        lines[mutant.line - 1] = mutant.after
        path.write_text("".join(lines), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(copy), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PAYROLL_THOROUGH", None)
    env.pop("PAYROLL_TABLES", None)
    started = time.monotonic()
    try:
        result = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
                                 "-p", "no:randomly", "--hypothesis-seed=0", *tests],
                                cwd=copy, env=env, capture_output=True, text=True, timeout=timeout)
        outcome = "survived" if result.returncode == 0 else "killed"
        failed = re.findall(r"^FAILED (\S+)", result.stdout, re.M)
        detail = failed[0] if failed else result.stdout.strip().splitlines()[-1:] and result.stdout.strip().splitlines()[-1]
    except subprocess.TimeoutExpired:
        outcome, detail = "undecided", f"no verdict within {timeout} s"
    finally:
        if path:
            path.write_bytes(original)
    return outcome, time.monotonic() - started, str(detail)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("rules", "tables"))
    parser.add_argument("--limit", type=int, help="at most this many mutants of each kind")
    parser.add_argument("--every", type=int, default=1, help="only every N-th mutant (a quicker sample)")
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--timeout", type=int, default=900)
    parser.add_argument("--quick", action="store_true", help="only the fastest killers (QUICK)")
    parser.add_argument("--with-random", action="store_true",
                        help="run each survivor of the subset again with the random properties")
    args = parser.parse_args(argv)
    kinds = {"rules": rule_mutants, "tables": table_mutants}
    mutants = []
    for kind, make in kinds.items():
        if args.only in (None, kind):
            mutants += make()[:args.limit]
    mutants = mutants[::args.every]
    if args.list:
        for mutant in mutants:
            print(mutant)
        print(f"{len(mutants)} mutants")
        return 0
    global SUBSET
    if args.quick:
        SUBSET = QUICK
    copy = _scratch_copy()
    outcome, seconds, detail = _run(copy, None, args.timeout, SUBSET)
    if outcome != "survived":
        print(f"the subset fails without any mutant ({detail}): fix that first", file=sys.stderr)
        return 2
    print(f"{len(mutants)} mutants; the subset takes {seconds:.0f} s unmutated", flush=True)
    survivors, killed = [], 0
    for number, mutant in enumerate(mutants, 1):
        outcome, seconds, detail = _run(copy, mutant, args.timeout, SUBSET)
        if outcome == "survived" and args.with_random:
            outcome, more, detail = _run(copy, mutant, args.timeout, RANDOM)
            seconds += more
        killed += outcome == "killed"
        if outcome != "killed":
            survivors.append(mutant)
        print(f"[{number}/{len(mutants)}] {outcome:8} {seconds:5.0f} s  {mutant}  ({detail})", flush=True)
    by_kind = {k: [m for m in mutants if m.kind == k] for k in kinds}
    for kind, group in by_kind.items():
        if group:
            dead = len(group) - sum(m in survivors for m in group)
            print(f"{kind}: {dead}/{len(group)} killed")
    score = 100 * killed / len(mutants) if mutants else 100
    print(f"mutation score: {killed}/{len(mutants)} killed ({score:.1f} %)")
    if survivors:
        print("survivors:")
        for mutant in survivors:
            print(f"  {mutant}")
    shutil.rmtree(copy.parent, ignore_errors=True)
    return 0 if not survivors else 1


if __name__ == "__main__":
    sys.exit(main())
