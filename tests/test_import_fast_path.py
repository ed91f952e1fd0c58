"""Issue 17, target 4: the fast import path stores, notes and refuses exactly what the full
column-wise checks do (the import before this change).

The fast path: attendance rows proven clean in DuckDB go into the table from the file's own
table, deductions below every contract pay among them (payroll/io/clean_rows.py); an INSERT OR
REPLACE whose table holds none of the file's keys runs as a plain INSERT; the plausibility checks
look up only the people their rows name; a merge with nothing stored asks no row. The reference
is the full way on every row with the OR REPLACE statements as written. Each situation is imported
both ways into fresh databases and every stored table, the summary and every message compared."""
from __future__ import annotations

import contextlib
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

PEOPLE = 150
# what an import writes: every table compared row by row (the ledger without its id and time)
TABLES = {
    "employees": "SELECT * FROM employees ORDER BY employee_id",
    "employee_finance": "SELECT * FROM employee_finance ORDER BY employee_id",
    "employee_terms": "SELECT * FROM employee_terms ORDER BY employee_id",
    "employee_history": "SELECT * FROM employee_history ORDER BY employee_id, valid_from",
    "attendance": "SELECT * FROM attendance ORDER BY employee_id, month",
    "imports": "SELECT kind, file_name, sha256, bytes, rows FROM imports ORDER BY kind, file_name",
}


@pytest.fixture(scope="module")
def policy():
    return load_policy()


@pytest.fixture(scope="module")
def roster():
    return synth_roster(PEOPLE, seed=9)


def write_rows(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def as_text(frame: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    return list(frame.columns), frame.astype(str).values.tolist()


def the_full_way(monkeypatch) -> None:
    """The import as it was: every attendance row through the column-wise checks, the OR REPLACE
    statements as written into the keyed table, the plausibility checks over the whole roster."""
    monkeypatch.setattr(importer, "split_attendance", lambda *args, **kwargs: None)
    monkeypatch.setattr(importer, "_plain_insert_when_new", lambda con, statement, view, key: statement)
    monkeypatch.setattr(importer, "key_added_after", lambda con, table: contextlib.nullcontext())
    monkeypatch.setattr(importer, "_people_named", lambda people, rows: people)


def import_into(con, policy, files: list[dict[str, Path]]) -> list[str]:
    """Each import in turn: its summary, or every problem it names."""
    outcomes = []
    for given in files:
        try:
            outcomes.append(str(import_files(con, policy, **given)))
        except InputError as error:
            outcomes.append("\n".join(str(p) for p in error.problems))
    return outcomes


def both_ways(tmp_path, policy, monkeypatch, files: list[dict[str, Path]]):
    """(stored tables, outcomes) of the fast way and of the full way, each in a fresh database."""
    results = {}
    for way in ("fast", "full"):
        with monkeypatch.context() as patch:
            if way == "full":
                the_full_way(patch)
            con = connect(tmp_path / f"{way}.duckdb")
            outcomes = import_into(con, policy, files)
            stored = {name: con.execute(sql).df() for name, sql in TABLES.items()}
            con.close()
        results[way] = (stored, outcomes)
    return results["fast"], results["full"]


def assert_same(fast, full) -> None:
    for name in TABLES:
        pd.testing.assert_frame_equal(fast[0][name], full[0][name], obj=name)
    assert fast[1] == full[1]


def edge_case_attendance(attendance: pd.DataFrame, lowest_pay: float) -> pd.DataFrame:
    """Deductions on both sides of the lowest contract pay and at the import limit, Chinese kinds,
    cells with spaces, a whole month of overtime at the legal cap."""
    frame = attendance.astype(str).copy()
    frame["deduction_kind"] = ""
    edits = {
        0: {"deduction": f"{lowest_pay - 0.01:.2f}", "deduction_kind": "法院判决"},   # below every pay: clean
        1: {"deduction": f"{lowest_pay:.2f}"},                      # at the lowest pay: the full checks
        2: {"deduction": "20000", "deduction_kind": "赔偿"},        # above the contract pay: a note
        3: {"deduction": "0.5", "deduction_kind": "追回多发"},
        4: {"deduction": " 12 ", "deduction_kind": " 其他 "},       # spaces the reader strips
        5: {"bonus": "1.500", "deduction": "99.90"},
        6: {"overtime_workday_hours": "36", "overtime_restday_hours": "0", "overtime_holiday_hours": "0"},
        7: {"deduction": "1", "deduction_kind": "Court"},           # a kind in another case
    }
    for position, cells in edits.items():
        for column, value in cells.items():
            frame.iloc[position * 5, frame.columns.get_loc(column)] = value
    return frame


def lowest_base_pay(policy) -> float:
    return float(policy.frames["pay_scale"]["base_pay"].min())


def test_a_roster_with_edge_cases_stores_and_notes_what_the_full_checks_do(tmp_path, policy, roster,
                                                                           monkeypatch):
    employees, attendance = roster
    employees_file, _ = write_roster_files(employees, attendance, tmp_path)
    header, rows = as_text(edge_case_attendance(attendance, lowest_base_pay(policy)))
    attendance_file = write_rows(tmp_path / "考勤.csv", header, rows + [[""] * len(header)])   # a blank row
    fast, full = both_ways(tmp_path, policy, monkeypatch,
                           [{"employees": employees_file, "attendance": attendance_file}])
    assert_same(fast, full)
    assert len(fast[0]["attendance"]) == len(attendance)
    assert "contract pay for a full month" in fast[1][0] and "above the legal cap" in fast[1][0]
    assert set(fast[0]["attendance"]["deduction_kind"].dropna()) == {"court", "damages", "recovery", "other"}
    assert fast[0]["employees"]["name"].str.contains("[\u4e00-\u9fff]").all()     # Chinese text kept


def test_a_deduction_below_every_contract_pay_is_loaded_by_duckdb(tmp_path, policy, roster, monkeypatch):
    """The deduction rows now taken by the clean test, and the one at the bound left to the checks."""
    employees, attendance = roster
    employees_file, _ = write_roster_files(employees, attendance, tmp_path)
    frame = edge_case_attendance(attendance, lowest_base_pay(policy))
    attendance_file = write_rows(tmp_path / "a.csv", *as_text(frame))
    splits = []
    real_split = importer.split_attendance
    monkeypatch.setattr(importer, "split_attendance", lambda *a, **k: splits.append(real_split(*a, **k)) or splits[-1])
    con = connect(":memory:")
    import_files(con, policy, employees=employees_file, attendance=attendance_file)
    others = splits[0].others.frame
    assert f"{lowest_base_pay(policy):.2f}" in set(others["deduction"])          # at the bound: checked
    assert f"{lowest_base_pay(policy) - 0.01:.2f}" not in set(others["deduction"])   # below it: clean
    assert splits[0].clean.rows > len(attendance) * 0.9


def test_bad_rows_are_refused_with_the_messages_of_the_full_checks(tmp_path, policy, roster, monkeypatch):
    employees, attendance = roster
    frame = attendance.astype(str).copy()
    frame.iloc[3, frame.columns.get_loc("employee_id")] = "无此人"
    frame.iloc[8, frame.columns.get_loc("month")] = "2025-13"
    frame.iloc[12, frame.columns.get_loc("deduction")] = "600000"                # above the import limit
    frame.iloc[15, frame.columns.get_loc("bonus")] = "-5"
    frame.iloc[20, frame.columns.get_loc("unpaid_leave_days")] = "32"
    frame = pd.concat([frame, frame.iloc[[30]]])                                  # a repeated key
    people = employees.astype(str).copy()
    people.iloc[2, people.columns.get_loc("category")] = "勤务辅警"               # an alias: accepted
    people.iloc[4, people.columns.get_loc("id_number")] = "110105194912310021"   # a bad check digit
    people = pd.concat([people, people.iloc[[6]]])                                # a repeated employee
    employees_file = write_rows(tmp_path / "人员.csv", *as_text(people))
    attendance_file = write_rows(tmp_path / "考勤.csv", *as_text(frame))
    good_employees, _ = write_roster_files(employees, attendance, tmp_path)
    fast, full = both_ways(tmp_path, policy, monkeypatch,
                           [{"employees": employees_file, "attendance": attendance_file},
                            {"employees": good_employees, "attendance": attendance_file}])
    assert_same(fast, full)
    refused = fast[1][1]
    for expected in ("考勤.csv, row 5, column employee_id: '无此人' is not in the employees file",
                     "考勤.csv, row 10, column month: '2025-13' is not a month YYYY-MM",
                     "考勤.csv, row 17, column bonus: '-5' is negative",
                     f"考勤.csv, row {len(frame) + 1}, column month: repeats employee_id and month"):
        assert expected in refused
    assert f"人员.csv, row {len(people) + 1}, column employee_id: repeats employee_id" in fast[1][0]
    assert all(len(table) == 0 for name, table in fast[0].items())             # nothing written


def test_a_second_import_over_stored_rows_replaces_what_the_full_way_replaces(tmp_path, policy, roster,
                                                                               monkeypatch):
    """The OR REPLACE statements where keys are stored, and the merge with stored values."""
    employees, attendance = roster
    first_employees, first_attendance = write_roster_files(employees, attendance, tmp_path / "first")
    changed = employees.copy()
    changed.loc[changed.index[:10], "unit"] = "福州市公安局鼓楼分局"
    changed["effective_from"] = ""
    changed.loc[changed.index[:5], "effective_from"] = "2025-06-01"
    more = attendance.astype(str).copy()
    more.loc[more.index[:40], "bonus"] = "123.45"
    second_employees = write_rows(tmp_path / "employees2.csv", *as_text(changed))
    second_attendance = write_rows(tmp_path / "attendance2.csv", *as_text(more.iloc[:60]))
    fast, full = both_ways(tmp_path, policy, monkeypatch,
                           [{"employees": first_employees, "attendance": first_attendance},
                            {"employees": second_employees, "attendance": second_attendance}])
    assert_same(fast, full)
    assert "updated" in fast[1][1] and len(fast[0]["employee_history"]) == 5
    assert (fast[0]["attendance"]["bonus"].astype(str) == "123.45").sum() == 40
