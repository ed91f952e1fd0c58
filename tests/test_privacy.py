"""No full resident ID number leaves the program: a user's whole session through the command line
(import with full ID numbers, a refused file, run, close, a back-dated change, retro run, exports,
history) is scanned: every line printed, every file written, every text cell of every table, and the
raw bytes of the database file. (tests/test_demo.py scans the demo the same way.)
"""
from __future__ import annotations

import csv
import os
import zipfile
from pathlib import Path

from conftest import run_payroll

from payroll.db import connect
from payroll.io.idnumber import contains_full_id_number, find_full_id_numbers
from payroll.synth import synth_roster

HEADER = ["employee_id", "name", "id_number", "region_code", "unit", "category", "level", "post", "hire_date",
          "leave_date", "service_start", "special_deduction", "contribution_base"]


def text_of_every_table(db: Path) -> str:
    """Every cell of every table that could hold an ID number (18 characters of digits, or a masked
    one with '*'), as text: DuckDB picks them out, Python then checks them."""
    con = connect(db, read_only=True)
    try:
        tables = [t for (t,) in con.execute("SELECT table_name FROM information_schema.tables "
                                            "WHERE table_schema = 'main'").fetchall()]
        parts = []
        for table in tables:
            columns = [c for (c,) in con.execute(f'SELECT column_name FROM (DESCRIBE "{table}")').fetchall()]
            cells = " UNION ALL ".join(f'SELECT CAST("{c}" AS VARCHAR) AS v FROM "{table}"' for c in columns)
            parts += [v for (v,) in con.execute(
                f"SELECT DISTINCT v FROM ({cells}) WHERE regexp_matches(v, '[0-9]{{17}}|[*]')").fetchall()]
        return "\n".join(parts)
    finally:
        con.close()


def text_of_file(path: Path) -> str:
    if path.suffix == ".xlsx":
        with zipfile.ZipFile(path) as book:
            return " ".join(book.read(n).decode("utf-8") for n in book.namelist() if n.endswith(".xml"))
    return path.read_bytes().decode("utf-8", errors="replace")


def test_a_session_never_shows_a_full_id_number(tmp_path):
    employees, _ = synth_roster(8, seed=5, year=2025)
    rows = [["" if r[c] is None else str(r[c]) for c in HEADER] for r in employees.to_dict("records")]
    full_ids = [r[2] for r in rows]
    assert all(contains_full_id_number(i) for i in full_ids)
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    work = tmp_path / "work"
    work.mkdir()

    def write(name, header, body):
        path = inputs / name
        with open(path, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(body)
        return str(path)

    bad = [list(r) for r in rows]
    bad[0][3] = "999999"                                   # refused: the message quotes the row
    bad[1][0] = bad[1][2]                                  # an ID number typed into the employee_id column
    bad[2][7] = bad[2][2]                                  # … and into the post column
    promoted = [list(rows[0])]
    promoted[0][6] = str(max(1, int(promoted[0][6]) - 1))
    db = str(work / "p.duckdb")
    env = {k: v for k, v in os.environ.items() if k not in ("PAYROLL_DB", "PAYROLL_TABLES")}
    commands = [
        ["import", "--employees", write("bad.csv", HEADER, bad)],
        ["import", "--employees", write("staff.csv", HEADER, rows)],
        ["run", "--month", "2025-01", "--through", "2025-03"],
        ["close", "--month", "2025-02"],
        ["import", "--employees", write("promotion.csv", HEADER + ["effective_from"],
                                        [promoted[0] + ["2025-01-01"]])],
        ["run", "--month", "2025-03"],
        ["export", "--month", "2025-03", "--format", "csv", "--out", str(work / "register.csv")],
        ["export", "--month", "2025-03", "--format", "xlsx", "--out", str(work / "register.xlsx")],
        ["history", "--imports"],
    ]
    printed = []
    for command in commands:
        result = run_payroll(*command, "--db", db, env=env, cwd=work)
        printed.append(result.stdout + result.stderr)
        expected = 2 if command[-1].endswith("bad.csv") else 0
        assert result.returncode == expected, (command, result.stderr[-2000:])
    assert "999999" in printed[0] and "problem" in printed[0]
    assert "arrears" in printed[5]

    everything = {"output": "\n".join(printed), "tables": text_of_every_table(Path(db))}
    everything.update({path.name: text_of_file(path) for path in work.iterdir() if path.is_file()})
    for where, text in everything.items():
        if not where.endswith(".duckdb"):
            # the raw database pages pack codes side by side (150100330100320600 passes the checksum
            # by chance): there, look for the roster's own numbers only
            assert not find_full_id_numbers(text), where
        assert not any(i in text for i in full_ids), where      # not even with a wrong checksum
    assert "*" in everything["tables"]                            # the masked form is what is kept
