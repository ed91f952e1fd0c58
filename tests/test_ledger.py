"""The run ledger: imports with their file hashes, runs with their time, months, tables digest,
inputs digest, the files imported since the previous run and the engine version; `payroll history`."""
from __future__ import annotations

import csv
import hashlib
import os
from pathlib import Path

import pytest
from conftest import ROSTER, run_payroll

from payroll.db import connect, scalar
from payroll.engine.ledger import PACKAGE_DIR, database_digest, engine_version, run_history
from payroll.engine.run import run_months
from payroll.errors import PayrollError
from payroll.io.importer import import_files

HEADER = ["employee_id", "name", "region_code", "unit", "category", "level", "post", "hire_date", "leave_date",
          "special_deduction", "contribution_base"]


def _write(path: Path, header, rows) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows([["" if v is None else v for v in row] for row in rows])
    return path


def test_imports_and_runs_are_recorded(tmp_path, policy):
    con = connect(tmp_path / "p.duckdb")
    staff = _write(tmp_path / "staff.csv", HEADER, ROSTER)
    hours = _write(tmp_path / "hours.csv", ["employee_id", "month", "bonus"], [["H1", "2025-01", "100"]])
    import_files(con, policy, employees=staff, attendance=hours)
    imported = con.execute("SELECT kind, file_name, sha256, bytes, rows FROM imports ORDER BY kind").fetchall()
    assert imported == [
        ("attendance", "hours.csv", hashlib.sha256(hours.read_bytes()).hexdigest(), hours.stat().st_size, 1),
        ("employees", "staff.csv", hashlib.sha256(staff.read_bytes()).hexdigest(), staff.stat().st_size, 5),
    ]

    run_months(con, policy, "2025-01")
    run_months(con, policy, "2025-02", "2025-03")
    first, second = run_history(con)
    assert (first.first_month, first.last_month, first.payslips) == ("2025-01", "2025-01", 5)
    assert (second.first_month, second.last_month, second.payslips) == ("2025-02", "2025-03", 5 + 4)
    assert {f["file"] for f in first.input_files} == {"staff.csv", "hours.csv"}
    assert second.input_files == []                       # nothing imported between the two runs
    assert first.tables_digest == second.tables_digest == policy.digest
    assert first.tables_dir == str(policy.directory.resolve())
    assert first.inputs_digest == second.inputs_digest
    assert first.engine_version == engine_version()
    assert first.started_at <= first.finished_at <= second.started_at
    # every payslip points at the run that made it
    assert scalar(con, "SELECT count(*) FROM payslips p LEFT JOIN runs r USING (run_id) "
                       "WHERE r.run_id IS NULL") == 0

    # a changed input changes the next run's inputs digest and lists the file
    hours2 = _write(tmp_path / "hours2.csv", ["employee_id", "month", "bonus"], [["H1", "2025-03", "50"]])
    import_files(con, policy, attendance=hours2)
    run_months(con, policy, "2025-03")
    third = run_history(con)[-1]
    assert [f["file"] for f in third.input_files] == ["hours2.csv"]
    assert third.inputs_digest != second.inputs_digest


def test_a_refused_run_leaves_no_trace(con, policy):
    run_months(con, policy, "2025-01")
    before = database_digest(con)
    with pytest.raises(PayrollError):
        run_months(con, policy, "2025-03")                # February not run
    with pytest.raises(PayrollError):
        run_months(con, policy, "2028-01")                # no official calendar for 2028
    assert database_digest(con) == before
    assert len(run_history(con)) == 1


def test_engine_version_is_the_package_version_and_a_hash_of_the_sources():
    sha = hashlib.sha256()
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        sha.update(str(path.relative_to(PACKAGE_DIR)).encode() + path.read_bytes())
    version, source = engine_version().split("+src.")
    assert source == sha.hexdigest()[:12]
    assert version and version[0].isdigit()


def test_history_command_lists_the_runs(tmp_path, policy):
    db = tmp_path / "p.duckdb"
    con = connect(db)
    import_files(con, policy, employees=_write(tmp_path / "staff.csv", HEADER, ROSTER))
    run_months(con, policy, "2025-01")
    run_id = run_history(con)[0].run_id
    con.close()
    env = {k: v for k, v in os.environ.items() if k not in ("PAYROLL_DB", "PAYROLL_TABLES")}
    result = run_payroll("history", "--imports", "--db", db, env=env)
    assert result.returncode == 0, result.stderr
    assert run_id in result.stdout and "2025-01" in result.stdout
    assert hashlib.sha256((tmp_path / "staff.csv").read_bytes()).hexdigest() in result.stdout


def test_a_file_named_by_an_id_number_is_recorded_masked(tmp_path, policy):
    con = connect(tmp_path / "p.duckdb")
    named = _write(tmp_path / "110105194912310021.csv", HEADER, ROSTER)      # a valid resident ID as the name
    import_files(con, policy, employees=named)
    assert scalar(con, "SELECT file_name FROM imports") == "110105********0021.csv"
