"""Compile the rules into one DuckDB query: a chain of stages, each adding the columns whose
inputs are already there. The same query runs the whole roster or, filtered, traces one person.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from ..db import optimisers_disabled
from ..rules import RULES
from .context import CONTEXT_BY_NAME, CONTEXT_COLUMNS, Month, People, context_sql
from .rule import Rule

IDENTIFIER = re.compile(r"\b[a-z_][a-z0-9_]*\b(?!\s*\()")   # names, not function calls


@dataclass(frozen=True)
class Stage:
    rules: tuple[Rule, ...]


def _referenced_columns(sql: str, known: set[str]) -> set[str]:
    return {token for token in IDENTIFIER.findall(sql) if token in known}


@lru_cache(maxsize=1)
def compile_stages() -> tuple[Stage, ...]:
    """Order rules into stages by their inputs; fail loudly on an unknown or undeclared input."""
    all_rules = list(RULES)
    known = set(CONTEXT_BY_NAME) | {rule.name for rule in all_rules}
    names = [rule.name for rule in all_rules]
    if len(names) != len(set(names)) or set(names) & set(CONTEXT_BY_NAME):
        raise RuntimeError("two rules or a rule and a context column share a name")
    for rule in all_rules:
        unknown = set(rule.inputs) - known
        undeclared = _referenced_columns(rule.sql, known) - set(rule.inputs) - {rule.name}
        if unknown or undeclared:
            raise RuntimeError(f"rule {rule.name}: unknown inputs {sorted(unknown)}, "
                               f"inputs used but not in its formula {sorted(undeclared)}")

    available = set(CONTEXT_BY_NAME)
    pending = list(RULES)
    stages: list[Stage] = []
    while pending:
        batch = tuple(rule for rule in pending if set(rule.inputs) <= available)
        if not batch:
            raise RuntimeError(f"rules with inputs nothing provides: {[rule.name for rule in pending]}")
        stages.append(Stage(batch))
        available |= {rule.name for rule in batch}
        pending = [rule for rule in pending if rule not in batch]
    return tuple(stages)


def all_rules() -> dict[str, Rule]:
    return {rule.name: rule for stage in compile_stages() for rule in stage.rules}


def pipeline_sql(month: Month, payslips_exist: bool, employee_id: People = None,
                 offcycle_overlay: bool = False) -> str:
    """WITH s{n} AS (the stages over the context); the caller selects from final_stage()."""
    return stages_sql(context_sql(month, payslips_exist, employee_id, offcycle_overlay))


def stages_sql(source_sql: str) -> str:
    """The compiled rule stages over any rows with the context columns (extra columns pass
    through): the monthly run over the month's context, compare over inputs mixed from two months.

    Each stage is `SELECT *, rule AS name … FROM (the stage before)`, nested subqueries under one
    CTE rather than a chain of CTEs: the same plan, but DuckDB plans the nested form about a third
    faster, a fixed cost of every month whatever the roster (issue 17)."""
    query = source_sql
    for stage in compile_stages():
        columns = ",\n       ".join(f"{rule.sql} AS {rule.name}" for rule in stage.rules)
        query = f"SELECT *, {columns}\nFROM ({query})"
    return f"WITH {final_stage()} AS ({query})"


def final_stage() -> str:
    return f"s{len(compile_stages())}"


# DuckDB plans the ~56 kB rule query again for every month it computes (prepared or not): about
# 0.4 s of CPU for a small roster on this machine, most of what the test suite and a small month
# cost. With these optimiser passes off a small roster's months take a tenth to a sixth less CPU,
# and the payslips of 5 to 1,000,000 people are identical and as fast at 200,000 and 1,000,000
# (measured side by side, README "Performance"; expression_rewriter, common_subexpressions and
# column_lifetime were cheaper still to plan but slowed 200,000 people by a tenth). issue 17
PASSES_THE_RULE_QUERY_SKIPS = (
    "statistics_propagation", "projection_placement", "projection_pullup", "self_join_aggregate",
    "duplicate_groups", "outer_join_simplification")


def lean_planning(con, *more_passes: str):
    """Plan the block's rule queries without PASSES_THE_RULE_QUERY_SKIPS (and `more_passes`)."""
    return optimisers_disabled(con, PASSES_THE_RULE_QUERY_SKIPS + more_passes)


# ---- what the payslips table stores: every rule column, the person's inputs, the rows read ----

SQL_TYPES = {"fen": "DECIMAL(18,2)", "centi": "DECIMAL(10,2)", "ppm": "DECIMAL(18,6)", "int": "BIGINT",
             "bool": "BOOLEAN", "text": "VARCHAR", "date": "DATE"}
EXTRA_COLUMNS = {"tables_digest": "VARCHAR", "run_id": "VARCHAR"}


def stored_columns() -> dict[str, str]:
    """column -> unit for every column the payslips table keeps, in table order."""
    columns = {c.name: c.unit for c in CONTEXT_COLUMNS if c.stored}
    columns.update({rule.name: rule.unit for rule in all_rules().values()})
    return columns


def payslips_ddl() -> str:
    body = ",\n    ".join(f"{name} {SQL_TYPES[unit]}" for name, unit in stored_columns().items())
    extra = ",\n    ".join(f"{name} {sql_type}" for name, sql_type in EXTRA_COLUMNS.items())
    # no primary key: a month is replaced whole in one transaction, and an index on millions of
    # rows would cost more than the whole computation
    return f"CREATE TABLE IF NOT EXISTS payslips (\n    {body},\n    {extra})"


def add_missing_columns(con, table: str = "payslips") -> list[str]:
    """A database whose payslips table was made before a rule column existed gets the column, NULL
    for the months run before (an `INSERT … BY NAME` of the new month would otherwise fail)."""
    have = {name for (name,) in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() "
        "AND schema_name = 'main' AND table_name = ?", [table]).fetchall()}
    added = [name for name in stored_columns() if name not in have]
    for name in added:
        con.execute(f"ALTER TABLE {table} ADD COLUMN {name} {SQL_TYPES[stored_columns()[name]]}")
    return added


def _to_stored(name: str, unit: str) -> str:
    # exact: integer × 0.01 (or 0.000001) in DECIMAL arithmetic, never a float division
    if unit in ("fen", "centi"):
        return f"CAST(CAST({name} AS DECIMAL(18,0)) * CAST(0.01 AS DECIMAL(3,2)) AS {SQL_TYPES[unit]}) AS {name}"
    if unit == "ppm":
        return f"CAST(CAST({name} AS DECIMAL(18,0)) * CAST(0.000001 AS DECIMAL(7,6)) AS DECIMAL(18,6)) AS {name}"
    return name


def stored_select() -> str:
    return ", ".join(_to_stored(name, unit) for name, unit in stored_columns().items())
