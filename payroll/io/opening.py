"""`payroll import --opening F`: year-to-date figures brought from a former payroll system.

A unit that moves to this system in July has withheld tax since January. Cumulative withholding
(国家税务总局公告2018年第61号 art. 6) counts the whole tax year with this payer, so its first run
must start from those figures: 累计收入, 累计专项扣除, 累计专项附加扣除, 累计已预扣预缴税额 and the
months employed, through `month` (the last month the former system paid). The first month run
after it continues from them (payroll/engine/context.py `opening_sql`); a month with payslips of
the same year before it carries its own year to date instead.

Columns: employee_id, year, month, income_ytd, contributions_ytd, special_deduction_ytd, iit_ytd,
months_employed. One row per person and year; a re-import replaces the person's row of that year.
"""
from __future__ import annotations

import duckdb
import pandas as pd

from ..engine.context import MONTH_YEARS
from .checks import ProblemLog, check_unique, parse_amounts, parse_whole_numbers, require_known_employee
from .readers import Layout, RawTable

AMOUNTS = ("income_ytd", "contributions_ytd", "special_deduction_ytd", "iit_ytd")
OPENING = Layout("opening", required=("employee_id", "year", "month", *AMOUNTS, "months_employed"))
COLUMNS = OPENING.required
INSERT_OPENING = f"""
INSERT OR REPLACE INTO opening_balances ({", ".join(COLUMNS)})
SELECT employee_id, CAST(year AS INTEGER), CAST(month AS INTEGER),
       {", ".join(f"CAST({c} AS DECIMAL(15,2))" for c in AMOUNTS)}, CAST(months_employed AS INTEGER)
FROM _import_opening"""


def validate_opening(table: RawTable, known_ids: pd.Index | None) -> tuple[pd.DataFrame, list]:
    log = ProblemLog(table)
    cells = table.frame
    require_known_employee(log, cells["employee_id"], known_ids)
    parse_whole_numbers(log, cells["year"], "year", required=True, minimum=MONTH_YEARS[0], maximum=MONTH_YEARS[1])
    # December's figures close the year: an opening is for a first run inside the year (through 1–11)
    month = parse_whole_numbers(log, cells["month"], "month", required=True, minimum=1, maximum=11)
    check_unique(log, cells[["employee_id", "year"]], "year", "employee_id and year")
    for column in AMOUNTS:
        log.flag(cells[column] == "", column, "is empty")
        parse_amounts(log, cells[column], column)
    employed = parse_whole_numbers(log, cells["months_employed"], "months_employed", required=True,
                                   minimum=0, maximum=11)
    log.flag((employed > month).fillna(False), "months_employed", "{} months employed through month {}",
             cells["months_employed"], cells["month"])
    return cells[list(COLUMNS)], log.problems()


def write_opening(con: duckdb.DuckDBPyConnection, rows: pd.DataFrame) -> int:
    con.register("_import_opening", rows)
    try:
        con.execute(INSERT_OPENING)
    finally:
        con.unregister("_import_opening")
    return len(rows)
