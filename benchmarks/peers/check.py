"""A peer's payslip columns against the engine's `payslips` of the same month, to the fen, on every
row: for each column the peer wrote, the number of rows that differ (a person on one side only
counts as differing in every column). Every count must be 0.

    python3 -m benchmarks.peers.check DB [--month 2025-02] [--table peer_numpy_payslips]
"""
from __future__ import annotations


def differing_rows(con, table: str, month: str = "2025-02") -> dict[str, int]:
    """{column: rows where the peer's value is not the engine's} over the month's payslips;
    `_rows` counts the people on one side only."""
    engine = {name for (name, *_) in con.execute("DESCRIBE payslips").fetchall()}
    columns = [name for (name, *_) in con.execute(f"DESCRIBE {table}").fetchall()
               if name not in ("employee_id", "month")]
    missing = [c for c in columns if c not in engine]
    if missing:
        raise ValueError(f"{table} has columns the engine's payslips do not: {', '.join(missing)}")
    counts = ", ".join(f"count(*) FILTER (WHERE e.{c} IS DISTINCT FROM p.{c}) AS {c}" for c in columns)
    sql = (f"SELECT count(*) FILTER (WHERE e.employee_id IS NULL OR p.employee_id IS NULL) AS _rows, {counts} "
           f"FROM (SELECT * FROM payslips WHERE month = ?) e "
           f"FULL JOIN (SELECT * FROM {table} WHERE month = ?) p ON e.employee_id = p.employee_id")
    cursor = con.execute(sql, [month, month])
    names = [d[0] for d in cursor.description]
    return dict(zip(names, cursor.fetchall()[0]))


def total_differing(counts: dict[str, int]) -> int:
    return sum(counts.values())


if __name__ == "__main__":
    import argparse

    import duckdb
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("db")
    parser.add_argument("--month", default="2025-02")
    parser.add_argument("--table", default="peer_numpy_payslips")
    args = parser.parse_args()
    found = differing_rows(duckdb.connect(args.db), args.table, args.month)
    for column, count in found.items():
        print(f"{column:32} {count}")
    raise SystemExit(1 if total_differing(found) else 0)
