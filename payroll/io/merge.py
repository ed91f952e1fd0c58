"""What an import may change: nothing the user did not give.

A re-import updates the rows it names. For those rows:

- a column the file does not have keeps its stored values (a roster without the bank-account
  column leaves everyone's account as it was); `--replace` says instead that the file is the whole
  record, so an absent column is cleared to its default, as for a new row;
- an empty cell over a stored non-empty value is refused, naming the row and column, unless the
  user asks for it (`--clear-empty`, or `--replace`): an empty cell is more often a lost value
  than an intended erasure.

The check and the fill work on the validated text rows (the form the loaders cast from), before
the transaction, so a refused file writes nothing. Stored values come back as text through the
same casts (DECIMAL and DATE print as the importer reads them).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import pandas as pd

from ..db import table_exists
from ..errors import CellProblem
from .readers import RawTable


@dataclass(frozen=True)
class StoredColumn:
    """One file column and where its value is stored."""
    file_column: str                  # the column of the layout (SPEC name)
    row_column: str                   # the column of the validated rows it becomes
    table: str                        # the stored table
    stored: str                       # the stored column
    empty: tuple[str, ...] = ("",)    # stored texts that count as "no value" (a default 0, false)
    private: bool = False             # personal data: a message never quotes it


@dataclass(frozen=True)
class MergePlan:
    """The columns of one input kind that a re-import could erase, and the key of its rows."""
    kind: str
    key: tuple[str, ...]
    columns: tuple[StoredColumn, ...]
    also_present: dict[str, tuple[str, ...]] = field(default_factory=dict)   # column given by others


@dataclass
class ColumnChange:
    """What an import writes to one table: the columns written and those kept as stored."""
    kind: str
    written: list[str]
    kept: list[str]

    def __str__(self) -> str:
        text = f"{self.kind}: columns written {', '.join(self.written) or 'none'}"
        if self.kept:
            text += f"; kept as stored (not in the file): {', '.join(self.kept)}"
        return text


ZERO = ("", "0", "0.0", "0.00")


def present_columns(table: RawTable, plan: MergePlan) -> set[str]:
    """The plan's file columns this file has (a column counts as present when another present
    column gives it, e.g. special_deduction derived from the deduction items)."""
    present = set(table.positions)
    for column, givers in plan.also_present.items():
        if present & set(givers):
            present.add(column)
    return present


def merge_stored(con: duckdb.DuckDBPyConnection, table: RawTable, rows: pd.DataFrame, plan: MergePlan,
                 replace: bool = False, clear_empty: bool = False
                 ) -> tuple[pd.DataFrame, list[CellProblem], ColumnChange]:
    """The rows to write, with absent columns filled from the stored values of rows already
    stored (unless `replace`), and the problems of empty cells over stored values (unless
    `clear_empty` or `replace`)."""
    present = present_columns(table, plan)
    change = column_change(table, plan, replace)
    stored = _stored_values(con, rows, plan)
    if stored is None:
        return rows, [], change
    problems: list[CellProblem] = []
    rows = rows.copy()
    for column in plan.columns:
        value = stored[column.stored + "@" + column.table]
        has_value = value.notna() & ~value.isin(column.empty)
        if column.file_column in present:
            if not (clear_empty or replace):
                empty = table.frame[column.file_column] == ""
                for giver in plan.also_present.get(column.file_column, ()):   # derived from items given
                    if giver in table.frame:
                        empty &= table.frame[giver] == ""
                erased = has_value & empty.to_numpy()
                problems.extend(_erasures(table, plan, column, erased, value))
        elif not replace:
            # the stored value stays: fill it into the rows written (stored rows only)
            fill = value.notna().to_numpy()
            if fill.any():
                converted = value.fillna("")
                if rows[column.row_column].dtype == bool:
                    converted = converted == "true"
                rows.loc[fill, column.row_column] = converted[fill].to_numpy()
    return rows, problems, change


def column_change(table: RawTable, plan: MergePlan, replace: bool = False) -> ColumnChange:
    """The columns the file writes, and (unless `replace`) the plan's columns it keeps as stored."""
    present = present_columns(table, plan)
    kept = [] if replace else [c.file_column for c in plan.columns if c.file_column not in present]
    return ColumnChange(plan.kind, [c for c in table.positions if c not in plan.key], kept)


def _stored_values(con: duckdb.DuckDBPyConnection, rows: pd.DataFrame, plan: MergePlan) -> pd.DataFrame | None:
    """One row per rows row: the stored text of every plan column (NaN where the row is new or
    the stored value is NULL). None when nothing of this kind is stored yet (a first import asks
    no row of 100k people)."""
    tables = sorted({c.table for c in plan.columns})
    if not all(table_exists(con, t) for t in tables):
        return None
    if not any(con.execute(f"SELECT EXISTS (SELECT 1 FROM {t})").fetchall()[0][0] for t in tables):
        return None
    keys = rows[list(plan.key)].astype(str).reset_index(drop=True)
    keys["_order"] = range(len(keys))
    con.register("_merge_keys", keys)
    try:
        # keys compared as text: the file's '2025-03-01' meets a stored DATE
        joins = " ".join(f"LEFT JOIN {t} ON " + " AND ".join(f"CAST({t}.{k} AS VARCHAR) = _merge_keys.{k}"
                                                             for k in plan.key) for t in tables)
        select = ", ".join(f"CAST({t}.{c.stored} AS VARCHAR) AS \"{c.stored}@{t}\""
                           for c in plan.columns for t in [c.table])
        frame = con.execute(f"SELECT _order, {select} FROM _merge_keys {joins} ORDER BY _order").df()
    finally:
        con.unregister("_merge_keys")
    frame.index = rows.index
    return frame.drop(columns="_order")


def _erasures(table: RawTable, plan: MergePlan, column: StoredColumn, erased: pd.Series,
              value: pd.Series) -> list[CellProblem]:
    if not erased.any():
        return []
    header = table.header_of(column.file_column)
    key_text = table.frame.loc[erased, list(plan.key)].astype(str).agg(", ".join, axis=1)
    problems = []
    for row, key, stored in zip(table.row_numbers[erased], key_text, value[erased]):
        shown = "" if column.private else f" ({stored})"
        problems.append(CellProblem(
            table.file, int(row), header,
            f"is empty, but {key} has a stored {column.file_column}{shown}: the import would erase it. "
            f"Give the value, leave the column out to keep it, or --clear-empty to erase it"))
    return problems
