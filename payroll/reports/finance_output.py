"""Writing the finance-loop reports (issue 19): one table as CSV, or sheets of tables as XLSX,
always through xlsx.atomic_output (a temporary file renamed onto the target), so a failed export
leaves nothing behind. Money stays Decimal up to the cell."""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Sequence

from . import xlsx

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class Table:
    """One sheet: columns (key, label, kind), rows of values in column order, an optional total."""
    name: str
    columns: list[xlsx.Column]
    rows: list[Sequence[Any]]
    title: str | None = None
    subtitle: str | None = None
    total: dict[str, Any] | None = None
    total_labels: dict[str, Any] = field(default_factory=dict)


def columns(spec: Sequence[tuple[str, str, str]], widths: dict[str, float] | None = None) -> list[xlsx.Column]:
    keys = [k for k, _, _ in spec]
    return xlsx.make_columns(keys, labels={k: label for k, label, _ in spec},
                             kinds={k: kind for k, _, kind in spec}, widths=widths or {})


def write_tables(target: Path, fmt: str, tables: list[Table]) -> Path:
    """CSV: the first table, header = Chinese labels; XLSX: one sheet per table."""
    target = Path(target)
    with xlsx.atomic_output(target) as temporary:
        if fmt == "csv":
            _write_csv(temporary, tables[0])
        else:
            workbook = xlsx.new_workbook(temporary, constant_memory=False)
            for table in tables:
                xlsx.write_simple_sheet(workbook, table.name, table.columns, table.rows, title=table.title,
                                        subtitle=table.subtitle, total=table.total,
                                        total_labels=table.total_labels)
            workbook.close()
    return target


def _write_csv(path: Path, table: Table) -> None:
    with open(path, "w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow([c.label for c in table.columns])
        for row in table.rows:
            writer.writerow([_csv_cell(value, column.kind) for value, column in zip(row, table.columns)])


def _csv_cell(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    text = str(value)
    if kind == xlsx.TEXT and text.startswith(FORMULA_START):
        return "'" + text                  # a cell a spreadsheet would run as a formula
    return text
