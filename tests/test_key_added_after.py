"""The first import into an empty keyed table builds the primary key after the rows
(`db.key_added_after`): the table ends as the schema makes it (same DDL, same constraints, the key
enforced), a repeated key still fails, and a failure anywhere in the transaction leaves the table
as it was."""
from __future__ import annotations

import duckdb
import pytest

from payroll.db import connect, key_added_after, transaction


def _shape(con, table: str):
    ddl = con.execute("SELECT sql FROM duckdb_tables() WHERE table_name = ?", [table]).fetchall()
    constraints = con.execute("SELECT constraint_type, constraint_text, constraint_column_names FROM "
                              "duckdb_constraints() WHERE table_name = ? ORDER BY ALL", [table]).fetchall()
    return ddl, constraints


@pytest.fixture(params=["memory", "file"])
def con(request, tmp_path):
    connection = connect(":memory:" if request.param == "memory" else tmp_path / "db.duckdb")
    yield connection
    connection.close()


ROWS = "SELECT 'E' || i AS employee_id, '2025-01' AS month FROM range(5000) t(i)"


def test_the_table_ends_as_the_schema_made_it(con):
    made = _shape(con, "attendance")
    assert "PRIMARY KEY" in made[0][0][0]
    with transaction(con), key_added_after(con, "attendance"):
        assert "PRIMARY KEY" not in _shape(con, "attendance")[0][0][0]       # built after the rows
        con.execute(f"INSERT INTO attendance (employee_id, month) {ROWS}")
    assert _shape(con, "attendance") == made
    assert con.execute("SELECT count(*) FROM attendance").fetchall() == [(5000,)]
    with pytest.raises(duckdb.ConstraintException):
        con.execute("INSERT INTO attendance (employee_id, month) VALUES ('E7', '2025-01')")


def test_a_repeated_key_fails_and_the_table_is_rolled_back(con):
    made = _shape(con, "attendance")
    # DuckDB checks the added key when the transaction commits: the commit fails, nothing is kept
    with pytest.raises((duckdb.ConstraintException, duckdb.TransactionException), match="duplicate key"):
        with transaction(con), key_added_after(con, "attendance"):
            con.execute(f"INSERT INTO attendance (employee_id, month) {ROWS} UNION ALL SELECT 'E7', '2025-01'")
    assert _shape(con, "attendance") == made
    assert con.execute("SELECT count(*) FROM attendance").fetchall() == [(0,)]


def test_a_failure_later_in_the_transaction_leaves_the_table_as_it_was(con):
    made = _shape(con, "attendance")
    with pytest.raises(RuntimeError):
        with transaction(con):
            with key_added_after(con, "attendance"):
                con.execute(f"INSERT INTO attendance (employee_id, month) {ROWS}")
            raise RuntimeError("a later file of the same import is refused")
    assert _shape(con, "attendance") == made
    assert con.execute("SELECT count(*) FROM attendance").fetchall() == [(0,)]


def test_a_table_holding_rows_is_written_as_it_is(con):
    con.execute("INSERT INTO attendance (employee_id, month) VALUES ('E1', '2024-12')")
    with transaction(con), key_added_after(con, "attendance"):
        assert "PRIMARY KEY" in _shape(con, "attendance")[0][0][0]
        with pytest.raises(duckdb.ConstraintException):
            con.execute("INSERT INTO attendance (employee_id, month) VALUES ('E1', '2024-12')")
