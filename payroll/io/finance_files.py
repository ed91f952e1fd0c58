"""What the finance-loop imports share (issue 19): a strict reader and matching people by ID and name.

The files come from other systems (the tax withholding client, the budget office), so the reader is
strict where `payroll import` of our own files is lenient: every header must be known (a typo in a
header would otherwise silently drop a column of deductions or a budget line), and the client's
required-field star ("*姓名") is accepted. A person is matched by the ID number (checked, then
compared in masked form: the database keeps only masked numbers) and the name, and by the 工号 too
when the file has one.
"""
from __future__ import annotations

import difflib
from pathlib import Path

import duckdb
import pandas as pd

from ..errors import CellProblem, InputError
from .checks import ProblemLog
from .idnumber import id_number_problems, mask_id_numbers
from .readers import (HEADER_ALIASES, OLD_XLS_MAGIC, XLSX_MAGIC, Layout, RawTable, _csv_cells, _to_raw_table,
                      _xlsx_cells, normalise_header)

REQUIRED_STAR = "*＊"
RESIDENT_ID_TYPES = ("居民身份证", "201", "")
# columns of the tax client's exports and the finance templates read by these imports
FINANCE_ALIASES: dict[str, tuple[str, ...]] = {
    "id_number": ("证件号码", "证照号码", "身份证件号码"),
    "id_type": ("证件类型", "证照类型", "身份证件类型"),
    "month": ("所得期间", "所得期间止", "税款所属期", "所属期", "所属月份"),
    "row_no": ("序号", "行号"),
    "note": ("备注",),
    "period_start": ("所得期间起",),
}


def read_strict(path: str | Path, layout: Layout, aliases: dict[str, tuple[str, ...]]) -> RawTable:
    """The file as text cells with SPEC names; InputError naming the file, row 1 and the column for
    an unknown or repeated header (nothing is ignored)."""
    path = Path(path)
    file = path.name
    if not path.is_file():
        raise InputError([CellProblem(str(path), None, None, "file does not exist")])
    content = path.read_bytes()
    notes: list[str] = []
    if content.startswith(XLSX_MAGIC):
        cells = _xlsx_cells(path, layout)
    elif content.startswith(OLD_XLS_MAGIC):
        raise InputError([CellProblem(file, None, None, "is an old .xls workbook: save it as .xlsx or CSV (UTF-8)")])
    else:
        cells = _csv_cells(content, file, notes)
    cells = cells.fillna("").astype(str)
    lookup = {}
    for column in layout.columns:
        for alias in (column, *HEADER_ALIASES.get(column, ()), *FINANCE_ALIASES.get(column, ()),
                      *aliases.get(column, ())):
            lookup[normalise_header(alias)] = column
    original = [str(h).strip() for h in cells.iloc[0]]
    renamed, problems = [], []
    for text in original:
        key = normalise_header(text.lstrip(REQUIRED_STAR)) if text else ""
        column = lookup.get(key)
        if text and column is None:
            close = difflib.get_close_matches(key, list(lookup), n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            problems.append(CellProblem(file, 1, text, f"is not a column of the {layout.kind} file{hint}"))
        renamed.append(column or "")
    if problems:
        raise InputError(problems)
    cells.iloc[0] = renamed
    table = _to_raw_table(cells, Layout(layout.kind, layout.required, layout.optional), file, notes)
    table.headers.update({column: original[position] for column, position in table.positions.items()})
    return table


def roster(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return con.execute("SELECT employee_id, name, coalesce(id_number_masked, '') AS id_number_masked, "
                       "hire_date, leave_date FROM employees").df()


def match_people(log: ProblemLog, cells: pd.DataFrame, people: pd.DataFrame) -> pd.Series:
    """employee_id per row (NA where the row is flagged): by 工号 when given, else by masked ID and
    name; a wrong ID checksum, a person not on the roster, or a name that does not match the ID is
    flagged on its cell."""
    id_types = cells["id_type"] if "id_type" in cells else pd.Series("", index=cells.index)
    log.flag(~id_types.isin(RESIDENT_ID_TYPES), "id_type",
             "'{}': only the resident identity card (居民身份证) is supported", id_types)
    ids = cells["id_number"].str.replace(r"\s+", "", regex=True).str.upper()
    log.flag(ids == "", "id_number", "is empty: the person is matched by the ID number")
    present = ids != ""
    reasons = id_number_problems(ids[present]).reindex(cells.index)
    log.flag(present & reasons.notna(), "id_number", "{}", reasons)
    valid = present & reasons.isna()
    masked = mask_id_numbers(ids.where(valid, "")).where(valid, "")
    names = cells["name"]
    log.flag(names == "", "name", "is empty")
    by_id = people.set_index("employee_id")
    given_id = cells["employee_id"] if "employee_id" in cells else pd.Series("", index=cells.index)
    result = pd.Series(pd.NA, index=cells.index, dtype=object)
    # rows with a 工号: the ID number and the name must be that person's
    with_id = valid & (given_id != "")
    known = with_id & given_id.isin(by_id.index)
    log.flag(with_id & ~known, "employee_id", "'{}' is not on the roster", given_id)
    stored_masked = given_id.map(by_id["id_number_masked"])
    stored_name = given_id.map(by_id["name"])
    wrong_id = known & (stored_masked != masked)
    log.flag(wrong_id, "id_number", "ID number {} is not the one on the roster for employee {}", masked, given_id)
    wrong_name = known & ~wrong_id & (names != "") & (stored_name != names)
    log.flag(wrong_name, "name", "'{}' does not match the ID number {} (the roster has '{}')",
             names, masked, stored_name)
    result[known & ~wrong_id & ~wrong_name] = given_id
    # rows without: the masked ID and the name together name one person
    without = valid & (given_id == "")
    if without.any():
        keyed = people.assign(key=people["id_number_masked"] + "|" + people["name"])
        counts = keyed["key"].value_counts()
        key = masked + "|" + names
        ids_known = masked.isin(set(people["id_number_masked"]) - {""})
        log.flag(without & ~ids_known, "id_number", "no one on the roster has the ID number {}", masked)
        name_of_id = masked.map(people.drop_duplicates("id_number_masked").set_index("id_number_masked")["name"])
        mismatch = without & ids_known & ~key.isin(counts.index)
        log.flag(mismatch, "name", "'{}' does not match the ID number {} (the roster has '{}')",
                 names, masked, name_of_id)
        twice = without & key.map(counts).fillna(0).gt(1)
        log.flag(twice, "id_number", "ID number {} and this name match two people: give the 工号 column", masked)
        unique = without & key.map(counts).fillna(0).eq(1)
        result[unique] = key[unique].map(keyed.drop_duplicates("key").set_index("key")["employee_id"])
    return result


def parse_period(log: ProblemLog, values: pd.Series, column: str, required: bool) -> pd.Series:
    """A month given as 2025-01, 2025-01-31 (the client's 所得期间止), 202501 or 2025年1月 -> 'YYYY-MM'."""
    text = values.str.strip()
    digits = text.str.extract(r"^(\d{4})\D?(\d{1,2})(?:\D?\d{1,2}\D?)?月?$")
    month = digits[1].fillna("0").astype(int)
    ok = digits[0].notna() & month.between(1, 12)
    label = digits[0] + "-" + month.map("{:02d}".format)
    if required:
        log.flag(text == "", column, "is empty: give the month (YYYY-MM)")
    log.flag((text != "") & ~ok, column, "'{}' is not a month (YYYY-MM)", text)
    return label.where(ok & (text != ""))


MONEY_PATTERN = r"-?[0-9]+(?:\.[0-9]{1,2})?"
MAX_FEN = 10 ** 15


def parse_fen(log: ProblemLog, values: pd.Series, column: str, negative_ok: bool = False) -> pd.Series:
    """Yuan text ('1,000.5' too) -> integer fen (exact, no float); NA where empty or flagged."""
    text = values.str.replace(",", "", regex=False).str.strip()
    shaped = text.str.fullmatch(MONEY_PATTERN).fillna(False)
    log.flag((text != "") & ~shaped, column, "'{}' is not an amount in yuan (at most 2 decimals)", values)
    fen = text.where(shaped).map(_to_fen, na_action="ignore").astype("object")
    if not negative_ok:
        log.flag(fen.map(lambda f: f is not None and not pd.isna(f) and f < 0), column,
                 "'{}' is negative", values)
    log.flag(fen.map(lambda f: f is not None and not pd.isna(f) and abs(f) >= MAX_FEN), column,
             "'{}' is too large", values)
    return fen


def _to_fen(text: str) -> int:
    sign = -1 if text.startswith("-") else 1
    whole, _, part = text.lstrip("-").partition(".")
    return sign * (int(whole) * 100 + int((part + "00")[:2]))


def fen_text(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"
