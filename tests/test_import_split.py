"""Issue 17: attendance rows proven clean in DuckDB are loaded directly, the rest go through the
column-wise checks (payroll/io/clean_rows.py). Whatever the split, an import stores the same rows,
says the same notes and refuses the same cells (file, row, column) as the full checks on every row."""
from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

import payroll.io.importer as importer
from payroll.db import connect
from payroll.errors import InputError
from payroll.io.importer import import_files
from payroll.policy import load_policy
from payroll.synth import synth_roster, write_roster_files

PEOPLE = 200


@pytest.fixture(scope="module")
def policy():
    return load_policy()


@pytest.fixture(scope="module")
def roster():
    employees, attendance = synth_roster(PEOPLE, seed=5)
    return employees, attendance


def write_rows(path: Path, frame: pd.DataFrame, extra_lines: list[list[str]] = ()) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(list(frame.columns))
        writer.writerows(frame.astype(str).values.tolist())
        writer.writerows(extra_lines)
    return path


def odd_but_valid(attendance: pd.DataFrame) -> pd.DataFrame:
    """Cells every check accepts but the clean test leaves to the full checks."""
    frame = attendance.astype(str).copy()
    frame["deduction_kind"] = ""
    edits = {
        0: {"unpaid_leave_days": " 1 "},                         # spaces the reader strips
        1: {"deduction": "100", "deduction_kind": "Court"},      # a kind in another case
        2: {"bonus": "1.500"},                                   # trailing zeros past two places
        3: {"deduction": "-0"},                                  # a signed zero
        4: {"overtime_workday_hours": "36", "overtime_restday_hours": "0", "overtime_holiday_hours": "0"},
        5: {"deduction": "20000"},                               # above the contract pay: a note
        6: {"overtime_workday_hours": "30", "overtime_restday_hours": "10"},   # above the legal cap: a note
        7: {"night_shifts": "031"},                              # a leading zero
    }
    for position, cells in edits.items():
        for column, value in cells.items():
            frame.iloc[position * 7, frame.columns.get_loc(column)] = value
    return frame


def import_both_ways(tmp_path, policy, employees_file, attendance_file, monkeypatch):
    """(stored attendance, summary or error text) through the split and through the full checks."""
    results = []
    splits = []
    real_split = importer.split_attendance

    def spied(*args, **kwargs):
        splits.append(real_split(*args, **kwargs))
        return splits[-1]

    for way in ("split", "full"):
        monkeypatch.setattr(importer, "split_attendance", spied if way == "split" else lambda *a, **k: None)
        con = connect(tmp_path / f"{way}.duckdb")
        try:
            outcome = str(import_files(con, policy, employees=employees_file, attendance=attendance_file))
        except InputError as error:
            outcome = "\n".join(str(p) for p in error.problems)
        stored = con.execute("SELECT * FROM attendance ORDER BY employee_id, month").df()
        con.close()
        results.append((stored, outcome))
    # the split took most rows and left some to the full checks (else this compares nothing)
    assert splits[0] is not None and splits[0].clean.rows > len(results[1][0]) // 2
    return results


def test_a_clean_roster_stores_what_the_full_checks_store(tmp_path, policy, roster, monkeypatch):
    employees_file, attendance_file = write_roster_files(*roster, tmp_path)
    (split_rows, split_text), (full_rows, full_text) = import_both_ways(
        tmp_path, policy, employees_file, attendance_file, monkeypatch)
    assert len(split_rows) == len(roster[1])
    pd.testing.assert_frame_equal(split_rows, full_rows)
    assert split_text == full_text


def test_odd_cells_and_blank_rows_store_and_note_what_the_full_checks_do(tmp_path, policy, roster, monkeypatch):
    employees, attendance = roster
    employees_file, _ = write_roster_files(employees, attendance, tmp_path)
    frame = odd_but_valid(attendance)
    attendance_file = write_rows(tmp_path / "odd.csv", frame, extra_lines=[[""] * len(frame.columns)])
    (split_rows, split_text), (full_rows, full_text) = import_both_ways(
        tmp_path, policy, employees_file, attendance_file, monkeypatch)
    pd.testing.assert_frame_equal(split_rows, full_rows)
    assert split_text == full_text
    assert "contract pay for a full month" in split_text and "above the legal cap" in split_text
    assert set(split_rows["deduction_kind"].dropna()) == {"court"}


def test_bad_cells_among_clean_rows_are_named_as_the_full_checks_name_them(tmp_path, policy, roster, monkeypatch):
    employees, attendance = roster
    employees_file, _ = write_roster_files(employees, attendance, tmp_path)
    frame = attendance.astype(str).copy()
    frame.iloc[10, frame.columns.get_loc("employee_id")] = "NOBODY"
    frame.iloc[20, frame.columns.get_loc("month")] = "2025-13"
    frame.iloc[30, frame.columns.get_loc("night_shifts")] = "40"
    frame.iloc[40, frame.columns.get_loc("overtime_holiday_hours")] = "700"
    repeated = frame.iloc[[50]]                                  # the same key again at the end
    attendance_file = write_rows(tmp_path / "bad.csv", pd.concat([frame, repeated]))
    (split_rows, split_text), (full_rows, full_text) = import_both_ways(
        tmp_path, policy, employees_file, attendance_file, monkeypatch)
    assert split_text == full_text
    assert "bad.csv, row 12, column employee_id" in split_text       # file row = data row + 2
    assert f"row {len(frame) + 2}, column month: repeats employee_id and month" in split_text
    assert len(split_rows) == len(full_rows) == 0                     # nothing written


def test_row_numbers_hold_past_duckdbs_first_row_group(tmp_path, policy, roster):
    """132,000 rows (DuckDB reads them in parallel, in row groups of 122,880): a bad cell near the
    end is named by its line in the file."""
    employees = roster[0].copy()
    employees[["hire_date", "leave_date", "service_start"]] = ["2000-01-01", "", ""]
    employees_file, _ = write_roster_files(employees, roster[1].iloc[:0], tmp_path)
    months = [f"{year}-{month:02d}" for year in range(2000, 2055) for month in range(1, 13)]
    rows = pd.DataFrame({"employee_id": employees["employee_id"].repeat(len(months)).to_numpy(),
                         "month": months * len(employees)})
    for column in ("unpaid_leave_days", "overtime_workday_hours", "night_shifts", "bonus"):
        rows[column] = "0"
    bad_line = 130_001
    rows.iloc[bad_line - 2, rows.columns.get_loc("night_shifts")] = "40"
    path = write_rows(tmp_path / "long.csv", rows)
    con = connect(tmp_path / "long.duckdb")
    with pytest.raises(InputError) as refused:
        import_files(con, policy, employees=employees_file, attendance=path)
    assert [str(p) for p in refused.value.problems] == \
        [f"long.csv, row {bad_line}, column night_shifts: '40' is not between 0 and 31"]
    good = rows.copy()
    good.iloc[bad_line - 2, good.columns.get_loc("night_shifts")] = "3"
    summary = import_files(con, policy, employees=employees_file, attendance=write_rows(tmp_path / "ok.csv", good))
    assert summary.attendance.rows == len(good)
    stored = con.execute("SELECT night_shifts FROM attendance WHERE employee_id = ? AND month = ?",
                         list(good.iloc[bad_line - 2][["employee_id", "month"]])).fetchall()
    assert stored == [(3,)]
