"""Column-wise cell checks: each looks at a whole column at once and logs every bad cell.

A check never stops at the first problem: it flags all bad rows of its column in the ProblemLog,
and returns the parsed column (NA where the cell was bad or empty) for later cross-column checks.
Messages are built only for the bad rows, so a clean million-row file costs no string work.
"""
from __future__ import annotations

from typing import Iterable

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import CellProblem
from .idnumber import FULL_ID_NUMBER_RE, mask_id_number
from .readers import RawTable

MAX_INTEGER_DIGITS = 16          # DECIMAL(18,2) holds 16 digits before the point
NUMBER_PATTERN = r"-?[0-9]+(?:\.[0-9]+)?"
DATE_PATTERN = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
MONTH_PATTERN = r"[0-9]{4}-(?:0[1-9]|1[0-2])"
WHOLE_PATTERN = r"-?[0-9]+"
MAX_WHOLE_DIGITS = 9             # fits INTEGER


class ProblemLog:
    """Bad cells of one file, kept as small frames until the end (a million bad rows stay cheap)."""

    def __init__(self, table: RawTable):
        self.table = table
        self._parts: list[pd.DataFrame] = []

    def flag(self, bad: pd.Series, column: str, template: str, *values: pd.Series) -> None:
        """Log each row where `bad` holds; each '{}' in the template is filled from `values`."""
        bad = bad.fillna(False).astype(bool)
        if not bad.any():
            return
        pieces = template.split("{}")
        reasons: str | pd.Series = pieces[0]
        for value, piece in zip(values, pieces[1:]):
            reasons = reasons + value[bad].astype(str).astype(object) + piece
        if values:
            reasons = hide_id_numbers(reasons)
        self._parts.append(pd.DataFrame({
            "row": self.table.row_numbers[bad], "order": self.table.positions.get(column, -1),
            "column": self.table.header_of(column), "reason": reasons,
        }))

    def __bool__(self) -> bool:
        return bool(self._parts)

    def problems(self) -> list[CellProblem]:
        """Every problem, by row and then by the column's place in the file."""
        if not self._parts:
            return []
        found = pd.concat(self._parts).sort_values(["row", "order"], kind="stable")
        file = self.table.file
        return [CellProblem(file, int(row), column, reason)
                for row, column, reason in zip(found["row"], found["column"], found["reason"])]


def hide_id_numbers(reasons: pd.Series) -> pd.Series:
    """Mask any full ID number a message quotes, whatever column it was typed into."""
    return reasons.str.replace(FULL_ID_NUMBER_RE, lambda found: mask_id_number(found.group(0)), regex=True)


def is_in(values: pd.Series, allowed: Iterable[str]) -> pd.Series:
    """values.isin(allowed), done by Arrow (pandas' own isin on Arrow strings loops in Python)."""
    if isinstance(allowed, (pd.Series, pd.Index)):
        allowed_array = pa.array(pd.Index(allowed.astype(str)).unique(), type=pa.string())
    else:
        allowed_array = pa.array(sorted({str(v) for v in allowed}), type=pa.string())
    found = pc.is_in(pa.array(values.astype(str), type=pa.string()), value_set=allowed_array)
    return pd.Series(found.to_numpy(zero_copy_only=False), index=values.index).fillna(False).astype(bool)


_ALPHANUMERIC = "^[0-9A-Za-z]*$"


def matches(values: pd.Series, pattern: str) -> pd.Series:
    return values.str.fullmatch(pattern).fillna(False).astype(bool)


def all_alphanumeric(values: pd.Series) -> bool:
    """Every cell only ASCII letters and digits (or empty): nothing for a normaliser to remove,
    which pandas' regular expressions would look for a cell at a time in Python."""
    return len(values) == 0 or bool(pc.all(pc.match_substring_regex(text_array(values), _ALPHANUMERIC)
                                           .fill_null(False)).as_py())


def normalised_id_numbers(values: pd.Series) -> pd.Series:
    """Spaces inside removed and a lower-case check 'x' raised: '110105 19491231 002x' is fine."""
    if not all_alphanumeric(values) and values.str.contains(r"\s", regex=True).any():
        values = values.str.replace(r"\s+", "", regex=True)
    return values.str.upper()


def text_array(values: pd.Series) -> pa.Array:
    """A text column as an Arrow string array (missing: null)."""
    array = pa.array(values, from_pandas=True)
    array = array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array
    return array if array.type == pa.string() else pc.cast(array, pa.string())


def require_text(log: ProblemLog, values: pd.Series, column: str) -> pd.Series:
    """Flag empty cells; return whether each cell is filled."""
    empty = values == ""
    log.flag(empty, column, "is empty")
    return ~empty


def require_known_employee(log: ProblemLog, ids: pd.Series, known_ids: pd.Index | None) -> pd.Series:
    """Flag an empty employee_id, and (known_ids given) one that is neither in the employees file
    nor in the database; return whether each cell is filled."""
    has_id = require_text(log, ids, "employee_id")
    if known_ids is not None:
        log.flag(has_id & ~is_in(ids, known_ids), "employee_id",
                 "'{}' is not in the employees file or the database", ids)
    return has_id


def check_unique(log: ProblemLog, keys: pd.DataFrame, column: str, what: str) -> None:
    """Flag every repeat of a key (all key cells filled) after its first row."""
    filled = (keys != "").all(axis=1)
    repeated = keys.duplicated(keep="first") & filled
    if not repeated.any():
        return
    first_rows = log.table.row_numbers.groupby([keys[c] for c in keys.columns]).transform("first")
    repeats = keys[repeated]
    shown = repeats.agg(", ".join, axis=1) if keys.shape[1] > 1 else repeats.iloc[:, 0]
    log.flag(repeated, column, f"repeats {what} '{{}}' of row {{}}", shown, first_rows)


def check_pattern(log: ProblemLog, values: pd.Series, column: str, pattern: str, expected: str,
                  required: bool) -> pd.Series:
    """Flag cells not matching the pattern (and empty ones if required); return which match."""
    empty = values == ""
    if required:
        log.flag(empty, column, "is empty")
    shaped = matches(values, pattern)
    log.flag(~shaped & ~empty, column, f"'{{}}' is not {expected}", values)
    return shaped


def parse_dates(log: ProblemLog, values: pd.Series, column: str, required: bool) -> pd.Series:
    """ISO dates YYYY-MM-DD that exist in the calendar; NaT for empty or bad cells."""
    shaped = check_pattern(log, values, column, DATE_PATTERN, "a date YYYY-MM-DD", required)
    dates = pd.to_datetime(values.where(shaped), format="%Y-%m-%d", errors="coerce")
    log.flag(shaped & dates.isna(), column, "'{}' is not a real date", values)
    return dates


def check_month(log: ProblemLog, values: pd.Series, column: str) -> pd.Series:
    return check_pattern(log, values, column, MONTH_PATTERN, "a month YYYY-MM", required=True)


def parse_amounts(log: ProblemLog, values: pd.Series, column: str, places: int = 2,
                  maximum: float | None = None, positive: bool = False) -> pd.Series:
    """Decimal numbers ≥ 0 (> 0 if positive) with at most `places` decimals and ≤ maximum.

    Returns floats for range checks only: the text is what gets loaded, so no float rounding
    reaches the database. Trailing zeros do not count as places ('1.500' is 1.50). Empty cells
    are NA and not flagged.
    """
    empty = values == ""
    if empty.all():
        return pd.Series(float("nan"), index=values.index)
    if places > 0 and (empty | matches(values, rf"[0-9]{{1,{MAX_INTEGER_DIGITS}}}(?:\.[0-9]{{1,{places}}})?")).all():
        # every cell in the plainest form: none is negative, too precise or too long, so only the
        # limits below can flag (one pattern instead of four on a clean column)
        return _within_limits(log, values, column, pd.to_numeric(values.where(~empty), errors="coerce"),
                              ~empty, maximum, positive)
    numeric = matches(values, NUMBER_PATTERN)
    log.flag(~numeric & ~empty, column, "'{}' is not a number", values)
    negative = numeric & values.str.startswith("-") & ~matches(values, r"-0*(?:\.0*)?")
    log.flag(negative, column, "'{}' is negative", values)
    precise = matches(values, rf"-?[0-9]+(?:\.[0-9]{{0,{places}}}0*)?")
    too_precise = numeric & ~negative & ~precise
    log.flag(too_precise, column, f"'{{}}' has more than {places} decimal places", values)
    acceptable = numeric & ~negative & precise
    amounts = pd.to_numeric(values.where(acceptable), errors="coerce")
    too_long = acceptable & ~matches(values, rf"-?0*[0-9]{{1,{MAX_INTEGER_DIGITS}}}(?:\.[0-9]*)?")
    return _within_limits(log, values, column, amounts, acceptable, maximum, positive, too_long)


def _within_limits(log: ProblemLog, values: pd.Series, column: str, amounts: pd.Series, acceptable: pd.Series,
                   maximum: float | None, positive: bool, too_long: pd.Series | None = None) -> pd.Series:
    """parse_amounts' last step: flag acceptable amounts above `maximum` (or too long to store) and,
    if `positive`, zeros; the amounts left, NA elsewhere."""
    too_big = too_long if too_long is not None else pd.Series(False, index=values.index)
    if maximum is not None:
        too_big |= acceptable & (amounts > maximum).fillna(False).astype(bool)
    limit = f"{maximum:g}" if maximum is not None else "the largest amount stored"
    log.flag(too_big, column, f"'{{}}' is more than {limit}", values)
    if positive:
        log.flag(acceptable & (amounts == 0), column, "'{}' must be more than 0", values)
    return amounts.where(acceptable & ~too_big)


def parse_whole_numbers(log: ProblemLog, values: pd.Series, column: str, required: bool,
                        minimum: int | None = None, maximum: int | None = None) -> pd.Series:
    """Integers in [minimum, maximum]; NA for empty or bad cells."""
    whole = check_pattern(log, values, column, WHOLE_PATTERN, "a whole number", required)
    short = whole & (values.str.lstrip("-").str.len() <= MAX_WHOLE_DIGITS)
    numbers = pd.to_numeric(values.where(short), errors="coerce").astype("Int64")
    out_of_range = whole & ~short
    if minimum is not None:
        out_of_range |= short & (numbers < minimum).fillna(False).astype(bool)
    if maximum is not None:
        out_of_range |= short & (numbers > maximum).fillna(False).astype(bool)
    bounds = f"between {minimum} and {maximum}" if minimum is not None and maximum is not None \
        else f"a whole number of at most {MAX_WHOLE_DIGITS} digits"
    log.flag(out_of_range, column, f"'{{}}' is not {bounds}", values)
    return numbers.where(whole & ~out_of_range)


TRUE_WORDS = ("true", "yes", "y", "1", "是", "真")
FALSE_WORDS = ("false", "no", "n", "0", "否", "假")


def parse_booleans(log: ProblemLog, values: pd.Series, column: str) -> pd.Series:
    """true/false (also yes/no, 1/0, 是/否); an empty cell is false."""
    folded = values.str.casefold()
    truthy, falsy = folded.isin(TRUE_WORDS), folded.isin(FALSE_WORDS) | (values == "")
    log.flag(~truthy & ~falsy, column, "'{}' is not true or false (是/否)", values)
    return truthy


def parse_choice(log: ProblemLog, values: pd.Series, column: str, aliases: dict[str, str],
                 required: bool) -> pd.Series:
    """A value from a fixed list (compared case-insensitively, Chinese aliases accepted); NA if bad."""
    choice = values.str.casefold().map(aliases)
    if required:
        log.flag(values == "", column, "is empty")
    allowed = ", ".join(dict.fromkeys(aliases.values()))
    log.flag((values != "") & choice.isna(), column, f"'{{}}' is not one of {allowed}", values)
    return choice
