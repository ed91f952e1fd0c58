"""Resident identity numbers (公民身份号码, GB 11643-1999): check, mask, and find in text.

An 18-character number is 6 digits of address code, 8 digits of birth date (YYYYMMDD), 3 digits
of sequence and one check character computed with ISO 7064 MOD 11-2 over the first 17 digits.

The full number must never reach an output other than the tax declaration: store and show
`mask_id_number(...)` (first 6 and last 4 kept), and use `find_full_id_numbers` in privacy tests.
"""
from __future__ import annotations

import re
from datetime import date

import numpy as np
import pandas as pd

ID_LENGTH = 18
KEPT_HEAD = 6
KEPT_TAIL = 4
MASK_CHAR = "*"

# ISO 7064 MOD 11-2: weight of position i (0-based, left to right) is 2**(17 - i) mod 11
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
# check character for (weighted sum mod 11) = 0, 1, ..., 10
CHECK_CHARS = "10X98765432"

ID_SHAPE = r"[0-9]{17}[0-9X]"
# an 18-character ID standing alone: not part of a longer run of letters or digits
FULL_ID_NUMBER_RE = re.compile(r"(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")


def check_character(first_17_digits: str) -> str:
    """The GB 11643 check character for the first 17 digits."""
    if len(first_17_digits) != 17 or not first_17_digits.isascii() or not first_17_digits.isdigit():
        raise ValueError("need exactly 17 digits")
    weighted_sum = sum(int(d) * w for d, w in zip(first_17_digits, WEIGHTS))
    return CHECK_CHARS[weighted_sum % 11]


def id_number_problem(id_number: str, today: date | None = None) -> str | None:
    """Why this is not a valid resident ID (the number shown masked), or None if it is valid."""
    reasons = id_number_problems(pd.Series([id_number], dtype=object), today)
    reason = reasons.iloc[0]
    return None if pd.isna(reason) else reason


def is_valid_id_number(id_number: str, today: date | None = None) -> bool:
    return id_number_problem(id_number, today) is None


def id_number_problems(id_numbers: pd.Series, today: date | None = None) -> pd.Series:
    """Vectorised check: a reason (with the number masked) per bad entry, NA for valid ones.

    Lower-case 'x' is accepted as the check character; empty strings are reported as bad, so
    filter out optional empty cells before calling.
    """
    text = id_numbers.astype(str).str.upper()
    reasons = pd.Series(pd.NA, index=id_numbers.index, dtype=object)
    masked = mask_id_numbers(text)
    well_shaped = text.str.fullmatch(ID_SHAPE).fillna(False).astype(bool)
    reasons[~well_shaped] = "ID number " + masked[~well_shaped] + \
        " is not 17 digits followed by a digit or X"
    shaped = text[well_shaped]
    if shaped.empty:
        return reasons
    bad_check = ~_check_character_matches(shaped)
    bad_birth = ~_birth_date_is_real(shaped, today or date.today())
    reasons[bad_birth[bad_birth].index] = "ID number " + masked[bad_birth[bad_birth].index] + \
        " has an impossible birth date"
    reasons[bad_check[bad_check].index] = "ID number " + masked[bad_check[bad_check].index] + \
        " fails the GB 11643 checksum (wrong check character)"
    return reasons


def _check_character_matches(well_shaped: pd.Series) -> pd.Series:
    codes = np.frombuffer("".join(well_shaped.tolist()).encode("ascii"), dtype=np.uint8).reshape(-1, ID_LENGTH)
    digits = codes[:, :17].astype(np.int64) - ord("0")
    weighted_sums = digits @ np.array(WEIGHTS, dtype=np.int64)
    expected = np.frombuffer(CHECK_CHARS.encode("ascii"), dtype=np.uint8)[weighted_sums % 11]
    return pd.Series(expected == codes[:, 17], index=well_shaped.index)


def _birth_date_is_real(well_shaped: pd.Series, today: date) -> pd.Series:
    birth = pd.to_datetime(well_shaped.str[6:14], format="%Y%m%d", errors="coerce")
    return birth.notna() & (birth <= pd.Timestamp(today)) & (birth.dt.year >= 1900)


def mask_id_number(id_number: str) -> str:
    """Keep the first 6 and last 4 characters, star the rest: 110101********1234.

    Anything too short to keep 10 characters and still hide some is starred completely.
    """
    if len(id_number) <= KEPT_HEAD + KEPT_TAIL:
        return MASK_CHAR * len(id_number)
    hidden = len(id_number) - KEPT_HEAD - KEPT_TAIL
    return id_number[:KEPT_HEAD] + MASK_CHAR * hidden + id_number[-KEPT_TAIL:]


def mask_id_sql(expr: str) -> str:
    """mask_id_number in SQL, for exports straight from DuckDB; an already masked value stays."""
    kept = KEPT_HEAD + KEPT_TAIL
    return (f"CASE WHEN {expr} IS NULL OR strpos({expr}, '{MASK_CHAR}') > 0 THEN {expr} "
            f"WHEN length({expr}) > {kept} THEN left({expr}, {KEPT_HEAD}) || "
            f"repeat('{MASK_CHAR}', length({expr}) - {kept}) || right({expr}, {KEPT_TAIL}) "
            f"ELSE repeat('{MASK_CHAR}', length({expr})) END")


def mask_id_numbers(id_numbers: pd.Series) -> pd.Series:
    """mask_id_number over a column; 18-character entries take the fast path."""
    text = id_numbers.astype(str)
    masked = text.str[:KEPT_HEAD] + MASK_CHAR * (ID_LENGTH - KEPT_HEAD - KEPT_TAIL) + text.str[-KEPT_TAIL:]
    odd_length = text.str.len() != ID_LENGTH
    if odd_length.any():
        masked = masked.astype(object)
        masked[odd_length] = [mask_id_number(s) for s in text[odd_length]]
    return masked


def find_full_id_numbers(text: str, require_checksum: bool = True) -> list[str]:
    """Unmasked 18-character IDs in a text (privacy tests).

    With require_checksum (the default) only numbers whose check character is right count, which
    keeps long amounts or timestamps from being reported; pass False to report every 17-digit +
    digit/X run that stands alone.
    """
    found = FULL_ID_NUMBER_RE.findall(text)
    if not require_checksum:
        return found
    return [s for s in found if check_character(s[:17]) == s[17].upper()]


def contains_full_id_number(text: str, require_checksum: bool = True) -> bool:
    return bool(find_full_id_numbers(text, require_checksum))
