"""Apply a scenario's table changes to the policy tables, copy-on-write.

Only the tables a scenario touches are copied (once each); every other frame is shared with the
baseline Policy. A change effective on date D works like a new table row published on D:

- rows of the filter dated on or after D are changed in place;
- for each key (region and the table's key columns) whose row in force on D is older than D, a
  copy of that row dated D is added and changed, so the months before D keep the old figure.

Results are rounded half-up to the places the table allows (money 0.01, rates 0.000001, whole
numbers for int columns), exactly as if the user had typed them into the CSV.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pandas as pd

from ..policy import TABLES, UNIQUE_KEYS, Policy
from .scenario import ScenarioError, TableChange

QUANTUM = {"money": Decimal("0.01"), "rate": Decimal("0.000001"), "int": Decimal(1)}


@dataclass(frozen=True)
class Edit:
    """One change to apply: the change, where it came from (for errors and the row's source)."""
    change: TableChange
    path: str            # key path in the scenario file, e.g. change[2]
    label: str           # what the new rows' source says


def _region_scope(policy: Policy, codes: list[str], file, path: str) -> set[str]:
    """The codes given and every region below them (a province filter reaches its cities' rows)."""
    known = policy.region_codes()
    unknown = [code for code in codes if code not in known]
    if unknown:
        raise ScenarioError(file, f"{path}.region", f"{', '.join(unknown)} not in regions.csv")
    chain = policy.chain
    return set(chain[chain.ancestor_code.isin(codes)].region_code)


def _new_value(old, change: TableChange, kind: str, file, path: str):
    if old is None or (isinstance(old, float) and pd.isna(old)):
        return old                      # e.g. ratio of a `none` floor rule: nothing to scale
    op = change.operation
    if hasattr(old, "item"):            # a numpy integer (an int column of a frame): Decimal needs int
        old = old.item()
    if kind in QUANTUM:
        if op == "scale":
            value = Decimal(old) * change.scale
        elif op == "add":
            value = Decimal(old) + change.add
        else:
            value = Decimal(change.set)
        value = value.quantize(QUANTUM[kind], rounding=ROUND_HALF_UP)
        if value < 0:
            raise ScenarioError(file, f"{path}.{op}", f"gives a negative {change.column} ({value})")
        return int(value) if kind == "int" else value
    return change.set


def _matching(frame: pd.DataFrame, change: TableChange, policy: Policy, file, path: str) -> pd.Series:
    mask = pd.Series(True, index=frame.index)
    for name, values in change.filters().items():
        if name == "region":
            mask &= frame.region_code.isin(_region_scope(policy, values, file, path))
            continue
        column = next(c for c in TABLES[change.table] if c.name == name)
        if column.kind == "int":
            try:
                values = [int(v) for v in values]
            except ValueError:
                raise ScenarioError(file, f"{path}.{name}", "needs whole numbers") from None
        else:
            values = [str(v) for v in values]
        mask &= frame[name].isin(values)
    if not mask.any():
        regions = f" (regions {', '.join(change.region)}: a region taking its figures from a parent " \
                  "has no rows of its own)" if change.region else ""
        raise ScenarioError(file, path, f"the filter matches no row of {change.table}.csv{regions}")
    return mask


def _apply(frame: pd.DataFrame, edit: Edit, policy: Policy, start: date, file) -> pd.DataFrame:
    change, path = edit.change, edit.path
    kind = next(c for c in TABLES[change.table] if c.name == change.column).kind
    mask = _matching(frame, change, policy, file, path)
    if "effective_from" in frame.columns:
        effective = change.effective or start
        later = mask & (frame.effective_from >= effective)
        keys = [k for k in UNIQUE_KEYS[change.table] if k != "effective_from"]
        earlier = frame[mask & (frame.effective_from < effective)]
        in_force = earlier.sort_values("effective_from", kind="stable").groupby(keys, sort=False).tail(1)
        # a key that already has a row dated exactly D needs no copy: that row is changed in place
        dated = frame[later & (frame.effective_from == effective)][keys]
        if not in_force.empty and not dated.empty:
            already = in_force[keys].merge(dated, how="left", indicator=True)._merge.eq("both").to_numpy()
            in_force = in_force[~already]
        copies = in_force.copy()
        copies["effective_from"] = effective
        copies["source"] = edit.label
        copies["row_no"] = range(len(frame) + 2, len(frame) + 2 + len(copies))
        changed = frame.index[later]
        frame = pd.concat([frame, copies], ignore_index=True)
        changed = list(changed) + list(range(len(frame) - len(copies), len(frame)))
    else:
        changed = list(frame.index[mask])
    frame.loc[changed, change.column] = [
        _new_value(frame.at[i, change.column], change, kind, file, path) for i in changed]
    return frame


def apply_changes(policy: Policy, edits: list[Edit], start: date, file, label: str) -> Policy:
    """The policy with the edits applied, in order; untouched tables are shared, not copied."""
    if not edits:
        return policy
    frames: dict[str, pd.DataFrame] = {}
    for edit in edits:
        name = edit.change.table
        frame = frames.get(name)
        if frame is None:
            frame = policy.frames[name].copy()      # copy-on-write: once per touched table
        frames[name] = _apply(frame, edit, policy, start, file)
    if {"average_wage", "pay_scale_ratios"} & set(frames):
        # an indexed scale follows the changed average wage or ratios (payroll/pay_structure.py)
        from ..errors import InputError
        from ..pay_structure import indexed_pay_scale, written_rows
        problems: list = []
        merged = {**policy.frames, **frames}
        frames["pay_scale"] = indexed_pay_scale({**merged, "pay_scale": written_rows(merged["pay_scale"])},
                                                policy.chain, problems)
        if problems:
            raise InputError(problems)
    return policy.with_frames(frames, label)


def first_effective(edits: list[Edit], start: date) -> date:
    """The earliest date any edit takes effect (the projection start for undated changes)."""
    return min((edit.change.effective or start) for edit in edits) if edits else date.max


def write_tables(policy: Policy, directory: str | Path) -> Path:
    """Write every table as a CSV directory of the shipped layout (usable as --tables DIR)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for name, columns in TABLES.items():
        frame = policy.frames[name].sort_values("row_no")
        if name == "pay_scale":
            from ..pay_structure import written_rows
            frame = written_rows(frame)         # rows derived from pay_scale_ratios are not the file's
        with open(directory / f"{name}.csv", "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow([c.name for c in columns])
            for record in frame.to_dict("records"):
                writer.writerow(["" if _missing(record[c.name]) else _text(record[c.name]) for c in columns])
    return directory


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NaT


def _text(value) -> str:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, float) and value.is_integer():    # an integer column with gaps reads as float
        return str(int(value))
    return str(value)
