"""`payroll import --payments F`: one-off payments (issue 13; SPEC "Second round").

Columns: employee_id, month, kind (`annual_bonus` 全年一次性奖金 | `severance` 解除劳动合同一次性补偿金 |
`other`), amount (> 0, yuan), tax_method (`separate` | `merged` | empty: the cheaper; only for an
annual bonus), note, and optional run (issue 13 part 4: empty or `regular` = the month's regular run,
`bonus` = the month's bonus run, `settlement` = the person's final settlement; engine/offcycle.py). The file replaces every stored payment of the (employee, month) pairs it holds,
so importing a corrected file twice gives the same payments. Refused, naming file, row and column:
a bad kind or method, an amount ≤ 0, an unknown person, a month already closed, a method on a
severance or `other` row (severance is always taxed apart,财税〔2018〕164号 art. 5(一); `other` is
always merged), and a second annual bonus taxed separately in one tax year (国税发〔2005〕9号 art. 3),
counting the ones stored for other months.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from ..db import table_exists, transaction
from ..engine.closing import last_closed
from ..engine.ledger import record_import
from ..errors import CellProblem, InputError
from .checks import ProblemLog, check_month, parse_amounts, parse_choice, require_known_employee
from .readers import Layout, RawTable, read_table

PAYMENTS = Layout("payments", required=("employee_id", "month", "kind", "amount"),
                  optional=("tax_method", "note", "run"), month_columns=("month",))
KINDS = {"annual_bonus": "annual_bonus", "全年一次性奖金": "annual_bonus", "年终奖": "annual_bonus",
         "severance": "severance", "解除劳动合同一次性补偿金": "severance", "经济补偿金": "severance",
         "补偿金": "severance", "other": "other", "其他": "other"}
METHODS = {"separate": "separate", "单独计税": "separate", "merged": "merged", "并入综合所得": "merged",
           "并入": "merged"}
# issue 13 part 4: the run that pays the row (engine/offcycle.py); empty = the month's regular run
RUNS = {"regular": "regular", "常规": "regular", "bonus": "bonus", "奖金": "bonus",
        "settlement": "settlement", "离职结算": "settlement", "结算": "settlement"}
COLUMNS = ("employee_id", "month", "line_no", "kind", "amount", "tax_method", "note", "run_kind")


@dataclass(frozen=True)
class PaymentsImport:
    file: str
    rows: int
    by_kind: dict[str, int]

    def __str__(self) -> str:
        kinds = ", ".join(f"{kind} {count:,}" for kind, count in sorted(self.by_kind.items()))
        return f"payments: {self.rows:,} row(s) from {self.file} ({kinds or 'none'})"


def validate_payments(table: RawTable, known_ids: pd.Index, con: duckdb.DuckDBPyConnection
                      ) -> tuple[pd.DataFrame, list[CellProblem]]:
    log = ProblemLog(table)
    cells = table.frame
    require_known_employee(log, cells["employee_id"], known_ids)
    months_ok = check_month(log, cells["month"], "month")
    closed = last_closed(con)
    if closed:
        log.flag(months_ok & (cells["month"] <= closed), "month",
                 f"'{{}}' is closed (months are closed through {closed}): pay it in an open month", cells["month"])
    kind = parse_choice(log, cells["kind"], "kind", KINDS, required=True)
    parse_amounts(log, cells["amount"], "amount", positive=True)
    method = parse_choice(log, cells["tax_method"], "tax_method", METHODS, required=False)
    log.flag(method.notna() & (kind != "annual_bonus") & kind.notna(), "tax_method",
             "'{}' is only for an annual_bonus row: severance is always taxed apart (财税〔2018〕164号 art. 5(一)), "
             "other payments always with the month's pay; leave it empty", cells["tax_method"])
    run = parse_choice(log, cells["run"], "run", RUNS, required=False)
    if table_exists(con, "offcycle_payslips"):        # the file replaces the pair's payments: not once paid apart
        paid = set(con.execute("SELECT DISTINCT employee_id, month FROM offcycle_payslips").fetchall())
        log.flag(pd.Series([(e, m) in paid for e, m in zip(cells["employee_id"], cells["month"])], index=cells.index),
                 "month", "'{}' of this person was paid by an off-cycle run: its payments are settled and can no "
                 "longer be replaced", cells["month"])
    rows = pd.DataFrame({
        "employee_id": cells["employee_id"], "month": cells["month"], "run_kind": run.where(run != "regular", None),
        "line_no": table.row_numbers.astype(int), "kind": kind, "amount": cells["amount"],
        "tax_method": method, "note": cells["note"].where(cells["note"] != "", None)})
    _second_separate_bonus(log, rows, months_ok, con)
    return rows, log.problems()


def _second_separate_bonus(log: ProblemLog, rows: pd.DataFrame, months_ok: pd.Series,
                           con: duckdb.DuckDBPyConnection) -> None:
    """At most one annual bonus taxed separately per person and tax year, with the stored ones of
    months this file does not replace."""
    separate = (rows["kind"] == "annual_bonus") & (rows["tax_method"] == "separate") & months_ok
    if not separate.any():
        return
    pairs = set(zip(rows["employee_id"], rows["month"]))
    stored = con.execute("SELECT employee_id, month FROM payments WHERE kind = 'annual_bonus' "
                         "AND tax_method = 'separate'").fetchall()
    taken = {(e, m[:4]): m for e, m in stored if (e, m) not in pairs}
    for index in rows.index[separate]:
        key = (rows.at[index, "employee_id"], rows.at[index, "month"][:4])
        if key in taken:
            flagged = pd.Series(False, index=rows.index)
            flagged[index] = True
            log.flag(flagged, "tax_method",
                     f"a second annual bonus taxed separately in {key[1]} (the first: {taken[key]}); the "
                     "separate method is allowed once a year (国税发〔2005〕9号 art. 3): use merged or leave it empty")
        else:
            taken[key] = rows.at[index, "month"]


def import_payments(con: duckdb.DuckDBPyConnection, path: Path) -> PaymentsImport:
    """Validate the whole file, then replace the payments of its (employee, month) pairs in one
    transaction; InputError (exit 2, nothing written) if any cell is bad."""
    try:
        table = read_table(Path(path), PAYMENTS)
    except InputError:
        raise
    known = pd.Index(con.execute("SELECT employee_id FROM employees").df()["employee_id"].astype(str))
    rows, problems = validate_payments(table, known, con)
    if problems:
        raise InputError(problems)
    with transaction(con):
        con.register("_import_payments", rows)
        con.execute("DELETE FROM payments WHERE (employee_id, month) IN "
                    "(SELECT DISTINCT employee_id, month FROM _import_payments)")
        con.execute("INSERT INTO payments (employee_id, month, line_no, kind, amount, tax_method, note, run_kind) "
                    "SELECT employee_id, month, line_no, kind, CAST(amount AS DECIMAL(18,2)), tax_method, note, "
                    "CAST(run_kind AS VARCHAR) "
                    "FROM _import_payments")
        con.unregister("_import_payments")
        record_import(con, "payments", path, len(rows))
    return PaymentsImport(table.file, len(rows), rows["kind"].value_counts().to_dict())
