"""Shared XLSX helpers for every report: one look for all exports, streaming-friendly.

A report builds a `Sheet` (title row, optional subtitle, Chinese header, frozen panes, column widths,
print setup) on a workbook from `new_workbook` (xlsxwriter in constant-memory mode: rows go to disk
as they are written, so they must be written top to bottom), writes its rows with `write_row` /
`write_sum_row`, and calls `finish`. `atomic_output` gives a temporary path next to the target that
replaces it only when the block ends normally, so a failed export never leaves a half-written file.

Money: pass exact values (int fen via `fen_to_number`, or Decimal); a cell holds the double closest
to the exact amount, which Excel shows exactly with the 2-decimal money format. Sum rows take the
exact total (computed by the caller as DECIMAL in DuckDB) as the cached value of a SUBTOTAL formula,
so a reader that does not recalculate sees the exact figure and Excel's filter still works.

Large tables go through `Sheet.block` / `write_columns`: in a constant-memory workbook a block of
data rows is rendered column-wise by Arrow into the same cell XML xlsxwriter would write (same
references, styles, inline strings, numbers that read back as the same doubles) and appended to the
worksheet's row stream in one write, skipping xlsxwriter's per-cell Python work (about 20× faster
per cell). A block holding anything the renderer does not reproduce byte for byte (control
characters, `_xHHHH_` sequences, leading or trailing white space, rich-string markup, numbers that
Arrow prints with an exponent, NaN or infinity), a workbook not in constant-memory mode, or
PAYROLL_XLSX_FAST=0 take xlsxwriter's per-cell path, which writes the same cells.
"""
from __future__ import annotations

import functools
import os
import re
import shutil
import threading
import unicodedata
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import xlsxwriter
import xlsxwriter.worksheet
from xlsxwriter.utility import xl_col_to_name, xl_rowcol_to_cell

from ..columns import LABELS, MONEY_COLUMNS
from ..io.output import safe_output

MONEY_FORMAT = "#,##0.00"
INTEGER_FORMAT = "0"
EXCEL_MAX_ROWS = 1_048_576
SHEET_NAME_MAX = 31
SUBTOTAL_LABEL = "小计"
TOTAL_LABEL = "合计"

TEXT, MONEY, INTEGER = "text", "money", "integer"

# a few columns whose content is wider or narrower than their label suggests (display width units)
DEFAULT_WIDTHS: dict[str, int] = {
    "employee_id": 11, "name": 9, "id_number_masked": 20, "month": 9, "region_code": 9,
    "unit": 30, "level": 6, "category": 8, "post": 10,
}
MONEY_MIN_WIDTH = 12


def display_width(text: Any) -> int:
    """Width of a text in Excel column units: East Asian wide and full-width characters count 2."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in str(text))


def safe_sheet_name(name: str) -> str:
    """A valid sheet name: no []:*?/\\ characters, not quoted, at most 31 characters."""
    cleaned = re.sub(r"[\[\]:*?/\\]", "-", name).strip("'") or "Sheet"
    return cleaned[:SHEET_NAME_MAX]


def fen_to_number(fen: int | None) -> float | None:
    """The cell value of an amount in integer fen (the double closest to fen / 100)."""
    return None if fen is None else fen / 100


def money_number(value: Decimal | int | float | str | None) -> float | None:
    """The cell value of an exact yuan amount (Decimal or str): the closest double."""
    return None if value is None else float(Decimal(value) if isinstance(value, str) else value)


def atomic_output(out: str | os.PathLike):
    """Yield a temporary path in the target's folder; it replaces `out` when the block succeeds and
    is deleted when the block fails. Only a regular file or a new path is replaced: see
    payroll/io/output.py (devices, FIFOs and symlinks need --force)."""
    return safe_output(out)


# zlib level of the XLSX package: level 1 deflates a register's sheet XML about 2× faster than
# xlsxwriter's default 6, for a file about 30 % larger (any level is the same file to a reader)
ZIP_LEVEL = 1
_ZIP_PATCH = threading.Lock()


class Worksheet(xlsxwriter.worksheet.Worksheet):
    """xlsxwriter's worksheet, whose constant-memory rows are copied into the sheet's XML file as
    bytes: xlsxwriter copies them as text, decoding and encoding every row again, about half of a
    large sheet's packaging time (issue 17). The same bytes either way."""

    def _write_optimized_sheet_data(self) -> None:
        target = getattr(self.fh, "buffer", None)       # None: an in-memory file, xlsxwriter's copy
        if self.dim_rowmin is None or target is None:
            super()._write_optimized_sheet_data()
            return
        self._xml_start_tag("sheetData")
        self.row_data_fh.flush()
        self.fh.flush()                                 # the text before the rows, then the rows
        with open(self.row_data_filename, "rb") as rows:
            shutil.copyfileobj(rows, target, 1 << 20)
        self.row_data_fh.close()
        os.unlink(self.row_data_filename)
        self._xml_end_tag("sheetData")


class Workbook(xlsxwriter.Workbook):
    """xlsxwriter's workbook, packaged at ZIP_LEVEL (xlsxwriter offers no compression option: its
    ZipFile is given the level while this workbook is stored), its sheets `Worksheet`s."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.worksheet_class = Worksheet

    def _store_workbook(self) -> None:
        import xlsxwriter.workbook as module
        with _ZIP_PATCH:
            original = module.ZipFile
            module.ZipFile = functools.partial(original, compresslevel=ZIP_LEVEL)
            try:
                super()._store_workbook()
            finally:
                module.ZipFile = original


def new_workbook(path: str | os.PathLike, *, constant_memory: bool = True) -> xlsxwriter.Workbook:
    """A workbook that streams rows to disk and never reinterprets text (no numbers, formulas or
    URLs guessed from strings)."""
    return Workbook(str(path), {
        "constant_memory": constant_memory,
        "strings_to_numbers": False,
        "strings_to_formulas": False,
        "strings_to_urls": False,
    })


@dataclass
class Styles:
    title: Any
    subtitle: Any
    header: Any
    text: Any
    integer: Any
    money: Any
    subtotal_text: Any
    subtotal_integer: Any
    subtotal_money: Any
    total_text: Any
    total_integer: Any
    total_money: Any
    bold: Any           # the explanation sheets (explain, compare): labels, wrapped text, money at the top
    wrapped: Any
    money_top: Any

    def for_kind(self, kind: str, row_kind: str = "data"):
        prefix = {"data": "", "subtotal": "subtotal_", "total": "total_"}[row_kind]
        return getattr(self, prefix + kind)


_STYLE_CACHE_ATTR = "_payroll_styles"


def styles(workbook: xlsxwriter.Workbook) -> Styles:
    """The shared formats of a workbook (created once per workbook)."""
    cached = getattr(workbook, _STYLE_CACHE_ATTR, None)
    if cached is not None:
        return cached
    font = {"font_name": "宋体", "font_size": 10}
    subtotal = {**font, "bold": True, "bg_color": "#F2F2F2", "top": 1}
    total = {**font, "bold": True, "bg_color": "#D9E1F2", "top": 1, "bottom": 6}
    made = Styles(
        title=workbook.add_format({**font, "bold": True, "font_size": 14, "align": "center",
                                   "valign": "vcenter"}),
        subtitle=workbook.add_format({**font, "align": "left", "valign": "vcenter",
                                      "font_color": "#404040"}),
        header=workbook.add_format({**font, "bold": True, "align": "center", "valign": "vcenter",
                                    "text_wrap": True, "border": 1, "bg_color": "#D9E1F2"}),
        text=workbook.add_format(font),
        integer=workbook.add_format({**font, "num_format": INTEGER_FORMAT, "align": "center"}),
        money=workbook.add_format({**font, "num_format": MONEY_FORMAT}),
        subtotal_text=workbook.add_format(subtotal),
        subtotal_integer=workbook.add_format({**subtotal, "num_format": INTEGER_FORMAT,
                                              "align": "center"}),
        subtotal_money=workbook.add_format({**subtotal, "num_format": MONEY_FORMAT}),
        total_text=workbook.add_format(total),
        total_integer=workbook.add_format({**total, "num_format": INTEGER_FORMAT, "align": "center"}),
        total_money=workbook.add_format({**total, "num_format": MONEY_FORMAT}),
        bold=workbook.add_format({**font, "bold": True}),
        wrapped=workbook.add_format({**font, "text_wrap": True, "valign": "top"}),
        money_top=workbook.add_format({**font, "num_format": MONEY_FORMAT, "valign": "top"}),
    )
    setattr(workbook, _STYLE_CACHE_ATTR, made)
    return made


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = TEXT       # text | money | integer
    width: float = 10


def column_kind(key: str) -> str:
    if key in MONEY_COLUMNS:
        return MONEY
    if key in ("level", "night_shifts", "headcount"):
        return INTEGER
    return TEXT


def make_columns(keys: Sequence[str], *, labels: dict[str, str] | None = None,
                 widths: dict[str, float] | None = None,
                 kinds: dict[str, str] | None = None) -> list[Column]:
    """Columns with Chinese labels (columns.LABELS unless overridden), kinds and widths that fit
    the label (wrapped on two lines at most) and the usual content."""
    labels, widths, kinds = labels or {}, widths or {}, kinds or {}
    columns = []
    for key in keys:
        label = labels.get(key) or LABELS.get(key, (key, key))[0]
        kind = kinds.get(key) or column_kind(key)
        width = widths.get(key)
        if width is None:
            label_width = display_width(label)
            # a long label may wrap onto two lines in the header row
            label_width = max((label_width + 1) // 2, 6) if label_width > 12 else label_width
            base = DEFAULT_WIDTHS.get(key, MONEY_MIN_WIDTH if kind == MONEY else 8)
            width = max(base, label_width + 2)
        columns.append(Column(key, label, kind, width))
    return columns


def money_width(total: Decimal | None) -> int:
    """A money column wide enough for a figure the size of `total` (the largest in the column)."""
    if total is None:
        return MONEY_MIN_WIDTH
    return max(MONEY_MIN_WIDTH, len(f"{abs(total):,.2f}") + 3)


@dataclass
class Sheet:
    """A table on one worksheet, written top to bottom:

        title (merged over all columns), optional subtitle, header row, rows …

    Panes are frozen below the header (and right of `freeze_columns` columns)."""

    workbook: xlsxwriter.Workbook
    name: str
    columns: list[Column]
    title: str | None = None
    subtitle: str | None = None
    freeze_columns: int = 0
    landscape: bool = True
    header_height: float = 30
    worksheet: Any = field(init=False)
    styles: Styles = field(init=False)
    header_row: int = field(init=False)
    row: int = field(init=False)   # the next row to write

    def __post_init__(self) -> None:
        self.styles = styles(self.workbook)
        ws = self.worksheet = self.workbook.add_worksheet(safe_sheet_name(self.name))
        last_col = len(self.columns) - 1
        for index, column in enumerate(self.columns):
            ws.set_column(index, index, column.width)
        row = 0
        if self.title:
            ws.set_row(row, 24)
            if last_col > 0:
                ws.merge_range(row, 0, row, last_col, self.title, self.styles.title)
            else:
                ws.write_string(row, 0, self.title, self.styles.title)
            row += 1
        if self.subtitle:
            ws.write_string(row, 0, self.subtitle, self.styles.subtitle)
            row += 1
        self.header_row = row
        ws.set_row(row, self.header_height)
        for index, column in enumerate(self.columns):
            ws.write_string(row, index, column.label, self.styles.header)
        self.row = row + 1
        ws.freeze_panes(self.row, self.freeze_columns)
        ws.repeat_rows(0, self.header_row)
        if self.landscape:
            ws.set_landscape()
        ws.set_paper(9)               # A4
        ws.fit_to_pages(1, 0)         # all columns on one page width

    @property
    def first_data_row(self) -> int:
        return self.header_row + 1

    def write_row(self, values: Sequence[Any], row_kind: str = "data") -> int:
        """Write one row (values in column order; None = blank). Returns its row index."""
        ws, row = self.worksheet, self.row
        for index, (column, value) in enumerate(zip(self.columns, values)):
            fmt = self.styles.for_kind(column.kind, row_kind)
            if value is None:
                if row_kind != "data":
                    ws.write_blank(row, index, None, fmt)
            elif column.kind == TEXT:
                ws.write_string(row, index, str(value), fmt)
            elif column.kind == MONEY:
                ws.write_number(row, index, money_number(value), fmt)
            else:
                ws.write_number(row, index, value, fmt)
        self.row += 1
        return row

    def block(self, data: Sequence[Any]) -> "Block":
        """Column-wise data rows (one list, numpy or Arrow array per column, in column order: str
        for text, float yuan for money as from `fen_to_number`, int for integers, None/null for
        blank) prepared once, then written in slices with `Block.write` (e.g. between subtotals)."""
        return Block(self, data)

    def write_columns(self, data: Sequence[Any], start: int = 0,
                      stop: int | None = None) -> None:
        """Write data rows start..stop-1 from column-wise lists (see `block`)."""
        self.block(data).write(start, stop)

    def _write_cells(self, data: Sequence[Sequence[Any]], start: int, stop: int) -> None:
        """xlsxwriter's per-cell path (the fallback of `Block`): formats and writers resolved once."""
        ws, st = self.worksheet, self.styles
        plan = []
        for index, (column, values) in enumerate(zip(self.columns, data)):
            if column.kind == TEXT:
                plan.append((index, values, ws.write_string, st.text))
            elif column.kind == MONEY:
                # an exact amount (Decimal) becomes its closest double, as in write_row
                plan.append((index, values, lambda r, c, v, f: ws.write_number(r, c, money_number(v), f), st.money))
            else:
                plan.append((index, values, ws.write_number, st.integer))
        row = self.row
        for i in range(start, stop):
            for index, values, write, fmt in plan:
                value = values[i]
                if value is not None:
                    write(row, index, value, fmt)
            row += 1
        self.row = row

    def write_sum_row(self, labels: dict[str, Any], sums: dict[str, Decimal | int],
                      first_row: int, last_row: int, row_kind: str = "subtotal") -> int:
        """A subtotal or total row: `labels` for text columns, and for each column in `sums` a
        =SUBTOTAL(9, range) formula over rows first_row..last_row (0-based, inclusive) whose cached
        value is the exact sum given. SUBTOTAL ignores nested SUBTOTAL cells, so a grand total over
        the whole block does not count the unit subtotals twice, and it follows Excel's filter."""
        if self._stream_sum_row(labels, sums, first_row, last_row, row_kind):
            self.row += 1
            return self.row - 1
        ws, row, st = self.worksheet, self.row, self.styles
        for index, column in enumerate(self.columns):
            fmt = st.for_kind(column.kind, row_kind)
            if column.key in sums:
                value = sums[column.key]
                number = money_number(value) if column.kind == MONEY else value
                if last_row >= first_row:
                    top = xl_rowcol_to_cell(first_row, index)
                    bottom = xl_rowcol_to_cell(last_row, index)
                    ws.write_formula(row, index, f"=SUBTOTAL(9,{top}:{bottom})", fmt, number)
                else:
                    ws.write_number(row, index, number, fmt)
            elif labels.get(column.key) is not None:
                ws.write_string(row, index, str(labels[column.key]), fmt)
            else:
                ws.write_blank(row, index, None, fmt)
        self.row += 1
        return row

    def _stream_sum_row(self, labels: dict[str, Any], sums: dict[str, Decimal | int], first_row: int,
                        last_row: int, row_kind: str) -> bool:
        """The sum row as xlsxwriter writes it (formula, cached value, labels, styled blanks),
        appended to the row stream: xlsxwriter's formula preparation costs about 0.1 ms a cell,
        which a register's unit subtotals repeat thousands of times. False: nothing written."""
        ws, row = self.worksheet, self.row
        if not (fast_blocks_enabled() and ws.constant_memory) or row in ws.row_info:
            return False
        texts = {key: constant_text_xml(str(value)) for key, value in labels.items()
                 if value is not None and key not in sums}
        if any(text is None for text in texts.values()):
            return False

        def xml():
            cells, number = [], str(row + 1)
            for index, column in enumerate(self.columns):
                ref = f'<c r="{xl_col_to_name(index)}{number}" s="{self.styles.for_kind(column.kind, row_kind)._get_xf_index()}"'
                if column.key in sums:
                    value = sums[column.key]
                    value = money_number(value) if column.kind == MONEY else value
                    if last_row >= first_row:
                        top, bottom = xl_rowcol_to_cell(first_row, index), xl_rowcol_to_cell(last_row, index)
                        cells.append(f"{ref}><f>SUBTOTAL(9,{top}:{bottom})</f><v>{value}</v></c>")
                    else:
                        cells.append(f"{ref}><v>{value:.16G}</v></c>")
                elif column.key in texts:
                    cells.append(f'{ref} t="inlineStr"><is><t>{texts[column.key]}</t></is></c>')
                else:
                    cells.append(f"{ref}/>")
            yield f'<row r="{number}">{"".join(cells)}</row>'.encode()

        return append_rows(ws, row, row, len(self.columns) - 1, xml())

    def finish(self, filter_last_row: int | None = None) -> None:
        """Autofilter over the header and rows up to filter_last_row (default: all rows written)."""
        last = self.row - 1 if filter_last_row is None else filter_last_row
        self.worksheet.autofilter(self.header_row, 0, max(last, self.header_row),
                                  len(self.columns) - 1)


# ------------------------------------------------------------------- the fast block writer

FAST_ENV = "PAYROLL_XLSX_FAST"           # "0": every cell through xlsxwriter (the fallback)
RENDER_ROWS = 16_384                      # rows rendered per Arrow call (keeps each string array small)
# what the renderer does not reproduce as xlsxwriter would (it escapes, preserves or writes raw)
_NEEDS_XLSXWRITER = (r"[\x00-\x1f\x{85}\x{fffe}\x{ffff}]|_x|^<r>|"
                     r"^[\s\p{Z}]|[\s\p{Z}]$")


def fast_blocks_enabled() -> bool:
    return os.environ.get(FAST_ENV, "1") != "0"


def _as_arrow(values: Any) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        return values.combine_chunks()
    if isinstance(values, pa.Array):
        return values
    return pa.array(values, from_pandas=isinstance(values, np.ndarray))


def _as_list(values: Any) -> list:
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values.to_pylist()
    return values.tolist() if isinstance(values, np.ndarray) else list(values)


def text_xml(values: pa.Array) -> pa.Array | None:
    """Escaped cell text (None: something only xlsxwriter writes the same way)."""
    text = values if pa.types.is_string(values.type) else pc.cast(values, pa.string())
    if len(text) and pc.any(pc.match_substring_regex(text, _NEEDS_XLSXWRITER)).as_py():
        return None
    if len(text) and (pc.max(pc.utf8_length(text)).as_py() or 0) > 16_383:   # xlsxwriter may truncate
        return None
    for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
        text = pc.replace_substring(text, char, entity)
    return text


def number_text_xml(values: pa.Array) -> pa.Array | None:
    """A number's text that reads back as the same double (Arrow's shortest round trip; None when
    Arrow would print an exponent, or for NaN/infinity, which xlsxwriter handles itself)."""
    if pa.types.is_string(values.type):      # exact decimal text (as from DuckDB)
        if len(values) and not pc.all(pc.match_substring_regex(values, r"^-?[0-9]+(\.[0-9]+)?$")).as_py():
            return None
        return values
    if pa.types.is_integer(values.type) or pa.types.is_decimal(values.type):
        # exact decimal text: a reader takes the double closest to it, as float(Decimal) does
        return pc.cast(values, pa.string())
    if not pa.types.is_floating(values.type):
        return None
    if len(values) and not pc.all(pc.is_finite(values.fill_null(0.0))).as_py():
        return None
    text = pc.cast(values, pa.string())
    if len(text) and pc.any(pc.match_substring(text, "e")).as_py():
        return None
    return text


class Block:
    """Data rows of a `Sheet`, rendered column-wise once and written slice by slice at the sheet's
    next row. The cells are those `Sheet._write_cells` writes (the fallback, used when rendering is
    not possible); `tests/test_xlsx_fast.py` reads both back and compares them."""

    def __init__(self, sheet: Sheet, data: Sequence[Any]):
        self.sheet, self.data = sheet, list(data)
        self.length = len(self.data[0]) if self.data else 0
        self.cells = self._render_columns() if self._can_stream() else None
        if self.cells is None:
            self.data = [_as_list(values) for values in self.data]

    def _can_stream(self) -> bool:
        ws = self.sheet.worksheet
        return fast_blocks_enabled() and bool(ws.constant_memory) and self.length > 0

    def _render_columns(self) -> list[tuple[str, Any, str, pa.Array, str]] | None:
        """Per column: the cell's opening up to the row number, its format, the rest of its
        opening (the style index goes in when written), the escaped value (null: no cell) and
        its closing tag."""
        st, cells = self.sheet.styles, []
        for index, (column, values) in enumerate(zip(self.sheet.columns, self.data)):
            try:
                array = _as_arrow(values)
            except (pa.ArrowInvalid, pa.ArrowTypeError):    # mixed types: the per-cell path
                return None
            empty = pa.types.is_null(array.type) or array.null_count == len(array)
            if empty:                                   # an empty column: no cells
                array = pa.nulls(len(array), pa.string())
            if column.kind == TEXT:
                look, text = st.text, array if empty else text_xml(array)
                middle, end = '" s="{}" t="inlineStr"><is><t>', "</t></is></c>"
            else:
                look = st.money if column.kind == MONEY else st.integer
                text = array if empty else number_text_xml(array)
                middle, end = '" s="{}"><v>', "</v></c>"
            if text is None:
                return None
            cells.append((f'<c r="{xl_col_to_name(index)}', look, middle, text, end))
        return cells

    def write(self, start: int = 0, stop: int | None = None) -> None:
        stop = self.length if stop is None else stop
        if stop <= start:
            return
        if self.cells is None or not self._stream(start, stop):
            self.sheet._write_cells(self.data, start, stop)

    def _stream(self, start: int, stop: int) -> bool:
        """Append rows start..stop-1 at the sheet's next row (False: nothing written, see
        `append_rows`)."""
        sheet = self.sheet
        first = sheet.row
        last = first + (stop - start) - 1
        chunks = (self._xml(row_number_text(first + chunk - start, min(chunk + RENDER_ROWS, stop) - chunk),
                            chunk, min(chunk + RENDER_ROWS, stop))
                  for chunk in range(start, stop, RENDER_ROWS))
        if not append_rows(sheet.worksheet, first, last, len(sheet.columns) - 1, chunks):
            return False
        sheet.row = last + 1
        return True

    def _xml(self, row_numbers: pa.Array, start: int, stop: int) -> memoryview:
        pieces: list[Any] = ['<row r="', row_numbers, '">']
        for opening, look, middle, text, end in self.cells:
            values = text.slice(start, stop - start)
            # the style index is taken only now, after the rows above were written: xlsxwriter
            # numbers formats in the order cells reach the file, so the styles part is the same
            # (taken for a column left empty too, as before, so that the order stays the same)
            middle = middle.format(look._get_xf_index())
            if values.null_count == len(values):        # no cells
                continue
            if values.null_count:        # joined apart: a null would blank the whole row
                cell = pc.binary_join_element_wise(opening, row_numbers, middle, values, end, "")
                pieces.append(cell.fill_null(""))
            else:
                pieces += [opening, row_numbers, middle, values, end]
        pieces.append("</row>")
        return joined_bytes(pieces)


def row_number_text(first_row: int, count: int) -> pa.Array:
    """The 1-based row numbers of `count` sheet rows from 0-based `first_row`, as text."""
    return pc.cast(pa.array(np.arange(first_row + 1, first_row + 1 + count)), pa.string())


def constant_text_xml(text: str) -> str | None:
    """A fixed text (a label) escaped as in `text_xml`; None if only xlsxwriter writes it right."""
    if len(text) > 16_383 or re.search(r"[\x00-\x1f\x85\ufffe\uffff]|_x|^<r>|^\s|\s$", text):
        return None
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cell_pieces(index: int, look: Any, kind: str, row_numbers: pa.Array, value: Any) -> list[Any]:
    """The pieces of a cell in column `index` on the rows `row_numbers`, with the format `look`:
    `value` is escaped text or number text (an Arrow array, one per row, or one str for all)."""
    ref = f'<c r="{xl_col_to_name(index)}'
    if kind == TEXT:
        return [ref, row_numbers, f'" s="{look._get_xf_index()}" t="inlineStr"><is><t>', value, "</t></is></c>"]
    return [ref, row_numbers, f'" s="{look._get_xf_index()}"><v>', value, "</v></c>"]


def joined_bytes(pieces: list[Any]) -> memoryview:
    """The element-wise join of `pieces` (arrays and constants), concatenated over all rows."""
    rows = pc.binary_join_element_wise(*pieces, "")
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int32)[rows.offset:rows.offset + len(rows) + 1]
    return memoryview(rows.buffers()[2])[offsets[0]:offsets[-1]]


def append_rows(ws: Any, first: int, last: int, last_col: int, chunks: Iterable[Any]) -> bool:
    """Append the XML of sheet rows first..last (0-based, ascending, from `chunks`) to a
    constant-memory worksheet's row file, after the row xlsxwriter still holds, as xlsxwriter would
    write them. False, with nothing written, when a cell is already pending on row `first` or later
    or the rows are outside the sheet."""
    if not ws.constant_memory:
        return False
    if ws.previous_row > first or (ws.previous_row == first and ws.table.get(first)):
        return False
    if ws._check_dimensions(first, 0) or ws._check_dimensions(last, last_col):
        return False
    if ws.previous_row < first:
        ws._write_single_row(first)       # the row before the block, as xlsxwriter writes it
    if ws.row_data_fh_closed:
        ws._opt_reopen()
    handle = ws.row_data_fh
    handle.flush()
    for chunk in chunks:
        handle.buffer.write(chunk)
    ws.previous_row = last + 1          # the next cell written goes on the row after the block
    return True


def write_simple_sheet(workbook: xlsxwriter.Workbook, name: str, columns: list[Column],
                       rows: Iterable[Sequence[Any]], *, title: str | None = None,
                       subtitle: str | None = None, total: dict[str, Any] | None = None,
                       total_labels: dict[str, Any] | None = None) -> Sheet:
    """A small table (summary sheets): rows, then an optional total row with exact sums."""
    sheet = Sheet(workbook, name, columns, title=title, subtitle=subtitle)
    first = sheet.row
    for values in rows:
        sheet.write_row(values)
    last = sheet.row - 1
    if total is not None:
        sheet.finish(last)
        sheet.write_sum_row(total_labels or {}, total, first, last, row_kind="total")
    else:
        sheet.finish()
    return sheet
