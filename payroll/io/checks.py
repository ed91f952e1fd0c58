"""Column-wise cell checks: each looks at a whole column at once and logs every bad cell.

A check never stops at the first problem: it flags all bad rows of its column in the ProblemLog,
and returns the parsed column (NA where the cell was bad or empty) for later cross-column checks.
"""
from __future__ import annotations

import pandas as pd

from ..errors import CellProblem
from .readers import RawTable

MAX_INTEGER_DIGITS = 16          # DECIMAL(18,2) holds 16 digits before the point
NUMBER_PATTERN = r"-?\d+(?:\.\d+)?"
DATE_PATTERN = r"\d{4}-\d{2}-\d{2}"
MONTH_PATTERN = r"\d{4}-(?:0[1-9]|1[0-2])"
WHOLE_PATTERN = r"-?\d+"


class ProblemLog:
    """Bad cells of one file, kept as small frames until the end (a million bad rows stay cheap)."""

    def __init__(self, table: RawTable):
        self.table = table
        self._parts: list[pd.DataFrame] = []
        self._order = {column: i for i, column in enumerate(table.frame.columns)}

    def flag(self, bad: pd.Series, column: str, reason: str | pd.Series) -> None:
        bad = bad.fillna(False).astype(bool)
        if not bad.any():
            return
        reasons = reason[bad] if isinstance(reason, pd.Series) else reason
        self._parts.append(pd.DataFrame({
            "row": self.table.row_numbers[bad], "order": self._order.get(column, len(self._order)),
            "column": self.table.header_of(column), "reason": reasons,
        }))

    def __bool__(self) -> bool:
        return bool(self._parts)

    def problems(self) -> list[CellProblem]:
        if not self._parts:
            return []
        found = pd.concat(self._parts).sort_values(["row", "order"], kind="stable")
        file = self.table.file
        return [CellProblem(file, int(row), column, reason)
                for row, column, reason in zip(found["row"], found["column"], found["reason"])]


def quoted(values: pd.Series) -> pd.Series:
    """Cell values as they appear in messages: 'E001'."""
    return "'" + values.astype(str) + "'"


def require_text(log: ProblemLog, values: pd.Series, column: str) -> pd.Series:
    """Flag empty cells; return whether each cell is filled."""
    empty = values == ""
    log.flag(empty, column, "is empty")
    return ~empty


def check_unique(log: ProblemLog, keys: pd.DataFrame, column: str, what: str) -> None:
    """Flag every repeat of a key (all key cells filled) after its first row."""
    filled = (keys != "").all(axis=1)
    repeated = keys.duplicated(keep="first") & filled
    if not repeated.any():
        return
    rows = log.table.row_numbers
    first_rows = rows.groupby([keys[c] for c in keys.columns]).transform("first")
    shown = keys.astype(str).agg(", ".join, axis=1) if keys.shape[1] > 1 else keys.iloc[:, 0]
    log.flag(repeated, column, "repeats " + what + " " + quoted(shown) + " of row " + first_rows.astype(str))


def check_pattern(log: ProblemLog, values: pd.Series, column: str, pattern: str, expected: str,
                  required: bool) -> pd.Series:
    """Flag cells not matching the pattern (and empty ones if required); return which match."""
    empty = values == ""
    if required:
        log.flag(empty, column, "is empty")
    matches = values.str.fullmatch(pattern).fillna(False).astype(bool)
    log.flag(~matches & ~empty, column, quoted(values) + f" is not {expected}")
    return matches


def parse_dates(log: ProblemLog, values: pd.Series, column: str, required: bool) -> pd.Series:
    """ISO dates YYYY-MM-DD that exist in the calendar; NaT for empty or bad cells."""
    shaped = check_pattern(log, values, column, DATE_PATTERN, "a date YYYY-MM-DD", required)
    dates = pd.to_datetime(values.where(shaped), format="%Y-%m-%d", errors="coerce")
    log.flag(shaped & dates.isna(), column, quoted(values) + " is not a real date")
    return dates


def check_month(log: ProblemLog, values: pd.Series, column: str) -> pd.Series:
    return check_pattern(log, values, column, MONTH_PATTERN, "a month YYYY-MM", required=True)


def parse_amounts(log: ProblemLog, values: pd.Series, column: str, places: int = 2,
                  maximum: float | None = None, positive: bool = False) -> pd.Series:
    """Decimal numbers ≥ 0 (> 0 if positive) with at most `places` decimals and ≤ maximum.

    Returns the values as floats for range checks only; the text is what gets loaded, so no
    float rounding reaches the database. Empty cells are NA and not flagged.
    """
    empty = values == ""
    numeric = values.str.fullmatch(NUMBER_PATTERN).fillna(False).astype(bool)
    log.flag(~numeric & ~empty, column, quoted(values) + " is not a number")
    whole_part = values.str.split(".", n=1).str[0].str.lstrip("-").str.lstrip("0")
    fraction = values.str.partition(".")[2].str.rstrip("0")
    amounts = pd.to_numeric(values.where(numeric), errors="coerce")
    negative = numeric & (amounts < 0)
    log.flag(negative, column, quoted(values) + " is negative")
    too_precise = numeric & ~negative & (fraction.str.len() > places)
    log.flag(too_precise, column, quoted(values) + f" has more than {places} decimal places")
    in_range = numeric & ~negative & ~too_precise
    too_big = in_range & (whole_part.str.len() > MAX_INTEGER_DIGITS)
    if maximum is not None:
        too_big = too_big | (in_range & (amounts > maximum))
    limit = f"{maximum:g}" if maximum is not None else "the largest amount stored"
    log.flag(too_big, column, quoted(values) + f" is more than {limit}")
    if positive:
        log.flag(in_range & (amounts == 0), column, quoted(values) + " must be more than 0")
    return amounts.where(in_range & ~too_big)


def parse_whole_numbers(log: ProblemLog, values: pd.Series, column: str, required: bool,
                        minimum: int | None = None, maximum: int | None = None) -> pd.Series:
    """Integers in [minimum, maximum]; NA for empty or bad cells."""
    whole = check_pattern(log, values, column, WHOLE_PATTERN, "a whole number", required)
    short = whole & (values.str.lstrip("-").str.len() <= 9)
    numbers = pd.to_numeric(values.where(short), errors="coerce").astype("Int64")
    out_of_range = whole & ~short
    if minimum is not None:
        out_of_range |= short & (numbers < minimum).fillna(False).astype(bool)
    if maximum is not None:
        out_of_range |= short & (numbers > maximum).fillna(False).astype(bool)
    bounds = f"between {minimum} and {maximum}" if minimum is not None and maximum is not None \
        else "a whole number of at most 9 digits"
    log.flag(out_of_range, column, quoted(values) + f" is not {bounds}")
    return numbers.where(whole & ~out_of_range)
