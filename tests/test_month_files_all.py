"""`payroll export --what all`: the month's files for finance written side by side into one folder
are the files the exports write one by one, and a refusal leaves the folder as it was."""
from __future__ import annotations

import zipfile
from pathlib import Path

import duckdb
import pytest
from conftest import run_payroll
from handover_data import PEOPLE, build, write_employees

from payroll.db import connect
from payroll.errors import PayrollError
from payroll.io.importer import import_files
from payroll.policy import load_policy
from payroll.reports.month_files import MONTH_FILES, write_all_month_files, write_month_file

MONTH = "2025-02"


def _parts(path: Path) -> dict[str, bytes]:
    """An XLSX package's parts but docProps/core.xml (it holds the time of writing); a CSV's bytes."""
    if path.suffix == ".csv":
        return {"": path.read_bytes()}
    with zipfile.ZipFile(path) as package:
        return {name: package.read(name) for name in package.namelist() if name != "docProps/core.xml"}


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    return build(tmp_path_factory.mktemp("all-files"))


def test_the_files_side_by_side_are_the_files_one_by_one(city, tmp_path):
    db, employees = city
    con = duckdb.connect(str(db), read_only=True)
    results = write_all_month_files(con, MONTH, tmp_path / "together", employees)
    for name, what in [*MONTH_FILES.items(), ("tax.xlsx", "tax")]:
        fmt = name.rsplit(".", 1)[1]
        write_month_file(con, what, MONTH, fmt, tmp_path / "alone" / f"{what}-{MONTH}.{fmt}",
                         employees if what == "tax" else None)
    con.close()
    together = sorted(p.name for p in (tmp_path / "together").iterdir())
    assert together == sorted(p.name for p in (tmp_path / "alone").iterdir())
    expected = {f"{what}-{MONTH}.{name.rsplit('.', 1)[1]}" for name, what in [*MONTH_FILES.items(), ("tax.xlsx", "tax")]}
    assert set(together) - expected <= {f"bank-{MONTH}-unpaid.csv"} and expected <= set(together)
    for name in together:
        assert _parts(tmp_path / "together" / name) == _parts(tmp_path / "alone" / name), name
    # each result names its file where it ended up, in the order of MONTH_FILES, the tax file last
    assert [r.path for r in results] == [tmp_path / "together" / f"{what}-{MONTH}.{name.rsplit('.', 1)[1]}"
                                         for name, what in [*MONTH_FILES.items(), ("tax.xlsx", "tax")]]
    assert oct((tmp_path / "together" / f"tax-{MONTH}.xlsx").stat().st_mode & 0o777) == "0o600"


def test_a_refusal_leaves_the_folder_as_it_was(tmp_path):
    """O1 and Z1 are owed pay without a bank account: the bank files refuse, so no file is written,
    an older file of the same name is kept, and no staging folder is left behind."""
    people = [p[:11] + ("",) + p[12:] if p[0] in ("O1", "Z1") else p for p in PEOPLE]
    policy = load_policy()
    con = connect(tmp_path / "db.duckdb")
    import_files(con, policy, employees=write_employees(tmp_path / "e.csv", people))
    from payroll.engine.run import run_months
    run_months(con, policy, "2025-01", "2025-01")
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "register-2025-01.xlsx").write_bytes(b"last month's copy")
    with pytest.raises(PayrollError, match="2 person\\(s\\) with net pay in 2025-01 have no bank account: O1, Z1"):
        write_all_month_files(con, "2025-01", folder)
    con.close()
    assert [p.name for p in folder.iterdir()] == ["register-2025-01.xlsx"]
    assert (folder / "register-2025-01.xlsx").read_bytes() == b"last month's copy"


def test_the_command_writes_the_folder_and_refuses_what_it_does_not_read(city, tmp_path):
    db, employees = city
    done = run_payroll("export", "--db", db, "--month", MONTH, "--what", "all", "--out", tmp_path / "files")
    assert done.returncode == 0, done.stderr
    written = {p.name for p in (tmp_path / "files").iterdir()}
    expected = {f"{what}-{MONTH}.{name.rsplit('.', 1)[1]}" for name, what in MONTH_FILES.items()}
    assert expected <= written and written - expected <= {f"bank-{MONTH}-unpaid.csv"}
    assert done.stdout.count(" -> ") == len(MONTH_FILES) and "FULL ID" not in done.stderr
    with_tax = run_payroll("export", "--db", db, "--month", MONTH, "--what", "all", "--out", tmp_path / "tax",
                           "--employees", employees)
    assert with_tax.returncode == 0 and (tmp_path / "tax" / f"tax-{MONTH}.xlsx").exists()
    assert "FULL ID numbers" in with_tax.stderr
    (tmp_path / "a-file").write_text("x")
    for extra, message in ((["--unit", "新城分局"], "--unit"), (["--run", "OC1"], "--run"),
                           (["--out", tmp_path / "a-file"], "a folder")):
        refused = run_payroll("export", "--db", db, "--month", MONTH, "--what", "all", *extra)
        assert refused.returncode == 2 and message in refused.stderr, refused.stderr
