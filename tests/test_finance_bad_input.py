"""Issue 19, bad input: an unknown header, a wrong ID checksum, a name that does not match the ID, a
person not on the roster (in the deductions file and in the client's feedback), a negative budget, a
duplicate unit. Each exits 2 naming the file, row and column, and nothing is written (the database's
content digest is unchanged)."""
from __future__ import annotations

import csv
import sys
from pathlib import Path

import duckdb
import pytest
from handover_data import PEOPLE, build, full_id

from payroll.engine.ledger import database_digest

PERSON = {p[0]: p for p in PEOPLE}


def payroll(capsys, monkeypatch, *args) -> tuple[int, str]:
    """`payroll ARGS` in this process (a new interpreter costs a second of start-up): exit code, stderr."""
    from payroll.cli import main
    monkeypatch.setattr(sys, "argv", ["payroll", *map(str, args)])
    capsys.readouterr()
    try:
        main()
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    return code, capsys.readouterr().err


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    directory = tmp_path_factory.mktemp("finance_bad")
    db, _ = build(directory)
    return directory, db


def write(path: Path, rows: list[list]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path


def wrong_checksum(id_number: str) -> str:
    last = "0" if id_number[-1] != "0" else "1"
    return id_number[:-1] + last


DEDUCTION_HEADER = ["*姓名", "*证件类型", "*证件号码", "子女教育"]
FEEDBACK_HEADER = ["姓名", "证件号码", "所得期间", "本期收入", "本期应预扣预缴税额"]
BUDGET_HEADER = ["年度", "单位", "核定员额", "30101 基本工资", "30102"]
CASES = {
    "unknown header": ("--deductions", [["*姓名", "*证件类型", "*证件号码", "子女教肓"],
                                        [PERSON["H1"][1], "居民身份证", PERSON["H1"][2], "1000"]],
                       (1, "子女教肓", "is not a column")),
    "wrong ID checksum": ("--deductions", [DEDUCTION_HEADER,
                                           [PERSON["H1"][1], "居民身份证", PERSON["H1"][2], "1000"],
                                           [PERSON["Z1"][1], "居民身份证", wrong_checksum(PERSON["Z1"][2]), "1000"]],
                          (3, "*证件号码", "check")),
    # the deductions file matches people the same way: ID, then the name on the roster
    "deductions: name does not match the ID": ("--deductions", [DEDUCTION_HEADER,
                                                                [PERSON["H1"][1], "居民身份证", PERSON["H1"][2], "1000"],
                                                                ["钱四", "居民身份证", PERSON["Z1"][2], "1000"]],
                                                (3, "*姓名", "does not match the ID number")),
    "deductions: person not on the roster": ("--deductions", [DEDUCTION_HEADER,
                                                              ["路人", "居民身份证", full_id("11010119900101123"), "500"]],
                                             (2, "*证件号码", "no one on the roster")),
    "name does not match the ID": ("--tax-feedback", [FEEDBACK_HEADER,
                                                     ["包三", PERSON["H1"][2], "2025-01", "100", "0"]],
                                   (2, "姓名", "does not match the ID number")),
    "person not on the roster": ("--tax-feedback", [FEEDBACK_HEADER,
                                                   ["路人", full_id("11010119900101123"), "2025-01", "100", "0"]],
                                 (2, "证件号码", "no one on the roster")),
    "negative budget": ("--budget", [BUDGET_HEADER, ["2025", "新城分局", "3", "-5", "100"]],
                        (2, "30101 基本工资", "negative")),
    "duplicate unit": ("--budget", [BUDGET_HEADER, ["2025", "新城分局", "3", "5", "100"],
                                    ["2025", "新城分局", "4", "5", "100"]],
                       (3, "单位", "repeats")),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_finance_file_exits_2_naming_file_row_and_column_and_writes_nothing(city, case, tmp_path, capsys,
                                                                                 monkeypatch):
    directory, db = city
    option, rows, (row, column, reason) = CASES[case]
    path = write(tmp_path / "input.csv", rows)
    with duckdb.connect(str(db), read_only=True) as con:
        before = database_digest(con)
    code, stderr = payroll(capsys, monkeypatch, "import", option, path, "--db", db)
    assert code == 2, stderr
    message = " ".join(stderr.split())
    assert f"input.csv, row {row}, column {column}" in message and reason in message, message
    with duckdb.connect(str(db), read_only=True) as con:
        assert database_digest(con) == before
    for id_number in (p[2] for p in PEOPLE):
        assert id_number not in stderr                          # messages mask ID numbers


def test_an_unknown_header_suggests_the_closest(city, tmp_path, capsys, monkeypatch):
    directory, db = city
    path = write(tmp_path / "feedback.csv", [["姓名", "证件号码", "所得期间", "本期应预扣预缴税额x"],
                                            [PERSON["H1"][1], PERSON["H1"][2], "2025-01", "0"]])
    code, stderr = payroll(capsys, monkeypatch, "import", "--tax-feedback", path, "--db", db)
    assert code == 2 and "did you mean" in stderr


def test_finance_files_are_imported_one_per_command(city, tmp_path, capsys, monkeypatch):
    directory, db = city
    path = write(tmp_path / "b.csv", [BUDGET_HEADER, ["2025", "新城分局", "3", "5", "100"]])
    code, stderr = payroll(capsys, monkeypatch, "import", "--budget", path, "--deductions", path, "--db", db)
    assert code == 2 and "on its own" in stderr
