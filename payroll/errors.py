"""Errors a user can act on. The CLI turns them into exit status 2 with their message."""
from __future__ import annotations

from dataclasses import dataclass


class PayrollError(Exception):
    """Bad input or bad use: exit 2, nothing written."""


@dataclass(frozen=True)
class CellProblem:
    file: str
    row: int | None      # 1-based data row as a spreadsheet shows it (header is row 1)
    column: str | None
    reason: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column:
            where += f", column {self.column}"
        return f"{where}: {self.reason}"


class InputError(PayrollError):
    """One or more bad cells in an input or policy file."""

    def __init__(self, problems: list[CellProblem], limit: int = 50):
        self.problems = problems
        shown = "\n".join(f"  {p}" for p in problems[:limit])
        more = f"\n  … and {len(problems) - limit} more" if len(problems) > limit else ""
        super().__init__(f"{len(problems)} problem(s) found, nothing was written:\n{shown}{more}")


class PolicyError(PayrollError):
    """A policy table lacks a figure a month needs, or holds an invalid one."""
