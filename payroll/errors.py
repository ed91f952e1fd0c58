"""Errors a user can act on. The CLI turns them into exit status 2 with their message."""
from __future__ import annotations

import re
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


# The environment, not the input or the code: a file that is not a database, a full or read-only
# disk, a port in use, a file in another encoding. The CLI reports these as exit 2 with one line.
ENVIRONMENT_ERRNOS = {
    2: "no such file or folder", 13: "permission denied", 17: "already exists", 20: "not a folder",
    21: "is a folder", 28: "no space left on the disk", 30: "the file system is read-only",
    98: "the port is already in use", 122: "the disk quota is exceeded",
}
ENVIRONMENT_PHRASES = (
    ("not a valid DuckDB database file", "not a DuckDB database file"),
    ("No space left on device", "no space left on the disk"),
    ("Read-only file system", "the file system is read-only"),
    ("Permission denied", "permission denied"),
    ("Disk quota exceeded", "the disk quota is exceeded"),
    ("Could not set lock on file", "the database is in use by another process"),
)


def environment_reason(error: BaseException) -> str | None:
    """A one-line reason when `error` (or an exception it was raised from or during) is an
    environment failure; None for anything else (a bug keeps its traceback and exit 1).
    DuckDB reports a full disk inside a run as "transaction is aborted": the cause is in the chain."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        reason = _one_reason(error)
        if reason:
            return reason
        error = error.__cause__ or error.__context__
    return None


def _one_reason(error: BaseException) -> str | None:
    if isinstance(error, UnicodeDecodeError):
        return f"a file is not UTF-8 text ({error.reason} at byte {error.start}): save it as UTF-8"
    if isinstance(error, OSError) and error.errno in ENVIRONMENT_ERRNOS:
        where = f": {error.filename}" if error.filename else ""
        return f"{ENVIRONMENT_ERRNOS[error.errno]}{where}"
    text = str(error)
    for phrase, reason in ENVIRONMENT_PHRASES:
        if phrase in text:
            found = re.search(r'[Ff]ile "?([^"\s:]+)', text)
            return f"{reason}" + (f": {found.group(1)}" if found else "")
    return None
