"""A rule is one computed column: its SQL over earlier columns, its labels, formula and legal basis.

Rules carry everything explain needs (OpenFisca's Variable with `reference`): the engine runs the
SQL for the whole roster at once, and for one person keeps every column so the trace can print the
formula with the numbers put in and the law it rests on.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

# Units say how a column is stored and shown: fen (integer fen, shown as yuan), centi (hundredths:
# days, hours), ppm (millionths: rates, 21.75 days), int, bool, text, date, rows (list of table rows).
UNITS = ("fen", "centi", "ppm", "int", "bool", "text", "date", "rows")


@dataclass(frozen=True)
class Rule:
    name: str
    sql: str
    label_zh: str
    label_en: str
    formula: str                      # for people, with {column} placeholders
    basis: str                        # regulation and article
    unit: str = "fen"
    reads: tuple[str, ...] = ()       # policy row columns (e.g. "pay_scale_row") shown by explain
    inputs: tuple[str, ...] = field(default=())
    regional_basis: str = ""          # family in rules/citations.py: the region's own article, added by explain

    def __post_init__(self):
        if self.unit not in UNITS:
            raise ValueError(f"rule {self.name}: unknown unit {self.unit}")
        if not self.inputs:
            # the formula's placeholders name the columns the rule reads
            object.__setattr__(self, "inputs", tuple(dict.fromkeys(re.findall(r"{(\w+)}", self.formula))))


@dataclass(frozen=True)
class ContextColumn:
    """A column the engine provides before any rule runs: inputs, calendar, table values, history."""

    name: str
    unit: str
    label_zh: str
    label_en: str
    source: str                       # where it comes from: input file, table, history
    reads: tuple[str, ...] = ()
    stored: bool = True               # False: a table value the payslip points to by row, not copies
