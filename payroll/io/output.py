"""Writing an output file safely: the one way every export reaches the disk.

`safe_output(target)` yields a temporary path in the target's folder; when the block ends normally
the temporary file replaces the target with `os.replace`, which is atomic on one file system, so a
reader sees the old file or the new one, never half of one. A rename replaces whatever sits at the
path, so it is only done onto a regular file or a new path: a device (`/dev/full`), a FIFO or a
symlink is refused (exit 2) unless the user says `--force`. Forced, the finished file is copied
into the device or FIFO (write-through), and a symlink's target is replaced (the link stays).

CSV cells are escaped against formula injection (OWASP "CSV Injection"): a text cell beginning
with `=`, `+`, `-`, `@`, a tab or a carriage return is prefixed with a single quote, so Excel and
WPS show it as text instead of evaluating it. Numbers are written as numbers and never escaped.
"""
from __future__ import annotations

import os
import re
import shutil
import stat
import uuid
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Iterator

from ..errors import PayrollError

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")      # "-5.00" is an amount, not a formula
# set by the CLI's --force for the command it runs: write through to a device, FIFO or symlink target
FORCE_SPECIAL_TARGETS: ContextVar[bool] = ContextVar("force_special_targets", default=False)


@contextmanager
def forcing(force: bool) -> Iterator[None]:
    """While the block runs, outputs may go to devices, FIFOs and symlink targets (`--force`)."""
    token = FORCE_SPECIAL_TARGETS.set(bool(force))
    try:
        yield
    finally:
        FORCE_SPECIAL_TARGETS.reset(token)


def target_kind(path: Path) -> str:
    """'new', 'regular', 'symlink', 'fifo', 'device', 'folder' or 'other' for what sits at `path`."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return "new"
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISREG(mode):
        return "regular"
    if stat.S_ISDIR(mode):
        return "folder"
    if stat.S_ISFIFO(mode):
        return "fifo"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    return "other"


def check_target(out: str | os.PathLike, force: bool | None = None) -> Path:
    """The path to write: `out` itself, or for a forced symlink the file it points to. Raises
    PayrollError (exit 2) for anything but a regular file or a new path unless forced."""
    target = Path(out)
    forced = FORCE_SPECIAL_TARGETS.get() if force is None else force
    kind = target_kind(target)
    if kind in ("new", "regular"):
        return target
    if kind == "folder":
        raise PayrollError(f"--out {target} is a folder: give a file name")
    if not forced:
        raise PayrollError(f"--out {target} is a {kind}, not a regular file: it would be replaced by the "
                           f"report; give a regular file, or --force to write through it")
    if kind == "symlink":
        return check_target(target.resolve(), force=True) if target.resolve() != target else target
    return target


@contextmanager
def safe_output(out: str | os.PathLike, force: bool | None = None) -> Iterator[Path]:
    """Yield a temporary path next to the target; on success it replaces the target (a regular file
    or a new path), or, forced, is copied into a device or FIFO. The temporary file is removed on
    failure. The parent folder is created if needed."""
    target = check_target(out, force)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.stem}.{uuid.uuid4().hex[:8]}.tmp{target.suffix}")
    try:
        yield temporary
        if target_kind(target) in ("new", "regular"):
            os.replace(temporary, target)
        else:                                           # forced: a device or FIFO keeps its node
            with open(temporary, "rb") as source, open(target, "wb") as sink:
                shutil.copyfileobj(source, sink)
    finally:
        try:
            temporary.unlink()
        except FileNotFoundError:
            pass


def escape_formula(value):
    """A CSV cell value with a leading formula character made harmless: '=1+1' -> "'=1+1".
    Only text is escaped; numbers (a negative amount) are data."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def escape_formula_sql(expression: str) -> str:
    """The same escape as a DuckDB expression over a VARCHAR column (for COPY … TO csv). Nested
    CASEs, so the pattern runs only on cells that start like a formula: DuckDB evaluates both
    sides of an AND on every row, and the pattern on every cell doubled the bank file's COPY. The
    first character is compared as its code point (`ascii`: 0 for an empty text), a quarter of the
    bank file's COPY less than comparing texts (issue 17)."""
    starts = ", ".join(str(ord(start)) for start in FORMULA_STARTS)
    return (f"CASE WHEN ascii({expression}) IN ({starts}) "
            f"THEN CASE WHEN regexp_full_match({expression}, '{PLAIN_NUMBER.pattern}') "
            f"THEN {expression} ELSE '''' || {expression} END ELSE {expression} END")


def write_csv_rows(out: str | os.PathLike, rows, encoding: str = "utf-8-sig") -> Path:
    """Write rows (header first) as CSV through safe_output, every text cell escaped."""
    import csv

    with safe_output(out) as temporary:
        with open(temporary, "w", newline="", encoding=encoding) as handle:
            writer = csv.writer(handle)
            for row in rows:
                writer.writerow([escape_formula(cell) for cell in row])
    return Path(out)
