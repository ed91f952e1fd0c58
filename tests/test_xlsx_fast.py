"""The fast XLSX block writer (payroll/reports/xlsx.py `Block`, payslips' `_stream_blocks`) writes
the cells xlsxwriter's per-cell path writes (PAYROLL_XLSX_FAST=0, the fallback): the same values
read back by calamine and openpyxl, the same number formats and styles, and the same styles part of
the package. Awkward text (escapes, control characters, white space, rich-string markup) and
numbers Arrow would print with an exponent take the fallback and still match."""
from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from python_calamine import CalamineWorkbook

from conftest import examples
from payroll.reports import xlsx
from payroll.reports.contributions import export_contributions
from payroll.reports.payslips import export_payslips
from payroll.reports.register import export_register

MONTH = "2025-01"


@pytest.fixture(scope="module")
def con():
    """A small synthetic roster run through the engine (every stored column filled)."""
    from benchmarks.common import run_month, synth_database
    from payroll.db import connect
    from payroll.policy import load_policy
    db = connect(":memory:")
    synth_database(db, 40, (MONTH,))
    run_month(db, load_policy(), MONTH)
    return db


def _values(path: Path) -> dict[str, list[list]]:
    book = CalamineWorkbook.from_path(str(path))
    return {name: book.get_sheet_by_name(name).to_python() for name in book.sheet_names}


def _looks(path: Path) -> list[tuple]:
    """Every cell's coordinate, value, number format, font, fill and border, as openpyxl reads them."""
    book = openpyxl.load_workbook(path)
    return [(ws.title, cell.coordinate, cell.value, cell.number_format, cell.font.b, cell.font.name,
             cell.fill.fgColor.rgb, cell.border.top.style, cell.alignment.horizontal)
            for ws in book.worksheets for row in ws.iter_rows() for cell in row]


def _styles_part(path: Path) -> bytes:
    with zipfile.ZipFile(path) as package:
        return package.read("xl/styles.xml")


def _both(tmp_path: Path, monkeypatch, write) -> tuple[Path, Path]:
    """The file written by the fast path (which must not fall back) and by the fallback."""
    fast, slow = tmp_path / "fast.xlsx", tmp_path / "slow.xlsx"

    def no_fallback(*args, **kwargs):
        raise AssertionError("the fast path fell back to per-cell writing")

    with monkeypatch.context() as patch:
        patch.setattr(xlsx.Sheet, "_write_cells", no_fallback)
        write(fast)
    monkeypatch.setenv(xlsx.FAST_ENV, "0")
    write(slow)
    return fast, slow


@pytest.mark.parametrize("export", ["register", "payslips", "contributions"])
def test_fast_and_fallback_write_the_same_cells(con, tmp_path, monkeypatch, export):
    writers = {
        "register": lambda out: export_register(con, MONTH, "xlsx", out),
        "payslips": lambda out: export_payslips(con, MONTH, out),
        "contributions": lambda out: export_contributions(con, MONTH, out),
    }
    fast, slow = _both(tmp_path, monkeypatch, writers[export])
    assert _values(fast) == _values(slow)
    assert _looks(fast) == _looks(slow)
    assert _styles_part(fast) == _styles_part(slow)
    # the data rows are there (not an empty sheet on both sides): the first person's ID
    first = con.execute("SELECT min(employee_id) FROM payslips").fetchone()[0]
    assert any(first in row for rows in _values(fast).values() for row in rows)


def test_payslips_fast_path_is_taken(con, tmp_path, monkeypatch):
    import payroll.reports.payslips as payslips

    def no_fallback(*args, **kwargs):
        raise AssertionError("payslips fell back to per-cell writing")

    monkeypatch.setattr(payslips, "_write_block", no_fallback)
    export_payslips(con, MONTH, tmp_path / "p.xlsx")
    # per person: title, header and values rows, a blank line between blocks
    people = con.execute("SELECT count(*) FROM payslips WHERE month = ?", [MONTH]).fetchone()[0]
    assert len(_values(tmp_path / "p.xlsx")[f"工资条 {MONTH}"]) == people * 4 - 1


AWKWARD_TEXT = ["a&b<c>d", " leading", "trailing ", "\u3000全角空格", "tab\tin", "ctl\x01x", "_x0041_",
                "<r>rich</r>", "line\nbreak", "引号\"'", "", "普通文字"]


def _sheet_file(path: Path, columns, data, rows_after: int = 1) -> None:
    workbook = xlsx.new_workbook(path)
    sheet = xlsx.Sheet(workbook, "表", columns, title="标题", subtitle="副标题")
    first = sheet.row
    block = sheet.block(data)
    half = block.length // 2
    block.write(0, half)
    if rows_after:       # a sum row between two slices, as the register's unit subtotals
        sheet.write_sum_row({"t": "小计"}, {"m": 0}, first, sheet.row - 1)
    block.write(half)
    sheet.finish()
    workbook.close()


def _fast_and_slow(tmp_path: Path, monkeypatch, columns, data) -> tuple[Path, Path]:
    fast, slow = tmp_path / "fast.xlsx", tmp_path / "slow.xlsx"
    monkeypatch.delenv(xlsx.FAST_ENV, raising=False)
    _sheet_file(fast, columns, data)
    monkeypatch.setenv(xlsx.FAST_ENV, "0")
    _sheet_file(slow, columns, data)
    monkeypatch.delenv(xlsx.FAST_ENV)
    return fast, slow


COLUMNS = xlsx.make_columns(["t", "m", "n"], labels={"t": "文字", "m": "金额", "n": "件数"},
                            kinds={"t": xlsx.TEXT, "m": xlsx.MONEY, "n": xlsx.INTEGER})


def test_plain_block_streams_and_awkward_text_falls_back_to_the_same_cells(tmp_path, monkeypatch):
    plain = [["甲", "乙", "丙", "丁"], [1.5, -0.01, None, 123456.78], [1, 2, None, 4]]
    fast, slow = _fast_and_slow(tmp_path, monkeypatch, COLUMNS, plain)
    assert _values(fast) == _values(slow)
    assert _looks(fast) == _looks(slow)
    # hand check: the title, subtitle and header take rows 1-3, two data rows, the 小计, two more
    rows = _values(fast)["表"]
    assert rows[3] == ["甲", 1.5, 1.0] and rows[5][0] == "小计" and rows[7] == ["丁", 123456.78, 4.0]
    assert rows[6][1:] == ["", ""]          # the blank cells of 丙 stay blank

    awkward = [AWKWARD_TEXT, [0.01 * i for i in range(len(AWKWARD_TEXT))], list(range(len(AWKWARD_TEXT)))]
    fast, slow = _fast_and_slow(tmp_path, monkeypatch, COLUMNS, awkward)
    assert _values(fast) == _values(slow)
    assert _looks(fast) == _looks(slow)


@settings(max_examples=examples(15), deadline=None)
@given(st.lists(st.tuples(st.one_of(st.none(), st.text(max_size=8)),
                          st.one_of(st.none(), st.integers(-10**14, 10**14)),
                          st.one_of(st.none(), st.integers(-10**6, 10**6))), min_size=1, max_size=12))
def test_any_block_reads_back_the_same_either_way(tmp_path_factory, rows):
    # money as written by the exports: the double closest to integer fen / 100 (large ones print
    # with an exponent in Arrow, which sends the block to the fallback)
    data = [[r[0] for r in rows], [xlsx.fen_to_number(r[1]) for r in rows], [r[2] for r in rows]]
    folder = tmp_path_factory.mktemp("block")
    with pytest.MonkeyPatch.context() as patch:
        fast, slow = _fast_and_slow(folder, patch, COLUMNS, data)
    assert _values(fast) == _values(slow)


def test_an_empty_column_streams_and_writes_no_cells(tmp_path, monkeypatch):
    # the tax declaration's template has columns nobody fills: they must not send the block to
    # the per-cell path, and they stay blank
    data = [["甲", "乙"], [None, None], [None, None]]

    def no_fallback(*args, **kwargs):
        raise AssertionError("an empty column sent the block to per-cell writing")

    with monkeypatch.context() as patch:
        patch.setattr(xlsx.Sheet, "_write_cells", no_fallback)
        _sheet_file(tmp_path / "fast.xlsx", COLUMNS, data)
    monkeypatch.setenv(xlsx.FAST_ENV, "0")
    _sheet_file(tmp_path / "slow.xlsx", COLUMNS, data)
    assert _values(tmp_path / "fast.xlsx") == _values(tmp_path / "slow.xlsx")
    assert _looks(tmp_path / "fast.xlsx") == _looks(tmp_path / "slow.xlsx")
