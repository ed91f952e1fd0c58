"""`payroll import --deductions F`: the special additional deductions (专项附加扣除) the withholding
client (自然人电子税务局扣缴端) downloaded, per person and item.

Layout: one row per person, the client's identification columns (工号 optional, *姓名, *证件类型,
*证件号码) and one column per item, either the monthly amount (子女教育, 继续教育, 住房贷款利息,
住房租金, 赡养老人, 3岁以下婴幼儿照护, 个人养老金) or the cumulative amount of the year with the
period it runs to (累计子女教育 …, with 所得期间/税款所属期): the columns of the client's 正常工资薪金
import and its "预填专项附加扣除" download (research/filing-formats.md). A cumulative amount is turned
into the monthly one by dividing by the months this payer pays the person this year up to that
period; when that does not divide to the fen the row is refused (the client then claimed different
amounts in different months, which one monthly figure cannot hold).

The items replace the person's monthly total: employees.special_deduction becomes their sum (what
the tax engine uses, 国家税务总局公告2018年第61号 art. 6) and employee_finance keeps the items, so the
tax file carries every item and the client computes the payslip's tax. As for the employees file,
the change applies from `effective_from` (生效日期) when given, else from the first open month; the
record it replaces is kept in employee_history, so a closed month is never rewritten.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from ..db import transaction
from ..engine.closing import first_open_month
from ..engine.employee_history import record_versions
from ..engine.ledger import record_import
from ..errors import InputError
from .checks import ProblemLog, check_unique, parse_dates
from .employee_extras import DEDUCTION_ITEMS
from .finance_files import fen_text, match_people, parse_fen, parse_period, read_strict, roster
from .readers import Layout

YTD = {f"{item}_ytd": item for item in DEDUCTION_ITEMS}
DEDUCTIONS = Layout(
    "deductions",
    required=("name", "id_number"),
    optional=("employee_id", "id_type", "month", "period_start", "row_no", "note", "effective_from",
              *DEDUCTION_ITEMS, *YTD),
)
ALIASES = {
    **{ytd: (cumulative,) for ytd, item in YTD.items() for cumulative in (DEDUCTION_ITEMS[item][1],)},
    **{item: (f"本期{zh}", f"{zh}（月）", f"每月{zh}") for item, (zh, _) in DEDUCTION_ITEMS.items()},
}


@dataclass(frozen=True)
class DeductionsImport:
    people: int
    changed: int
    total_fen: int

    def __str__(self) -> str:
        return (f"special deductions: {self.people:,} people ({self.changed:,} with a changed monthly total), "
                f"monthly total {fen_text(self.total_fen)} yuan; the tax file now carries every item")


def validate_deductions(con: duckdb.DuckDBPyConnection, path: str | Path) -> pd.DataFrame:
    """One row per person: employee_id, row_number, effective_from, the monthly items in fen."""
    table = read_strict(path, DEDUCTIONS, ALIASES)
    cells, log = table.frame, ProblemLog(table)
    people = roster(con)
    employee_id = match_people(log, cells, people)
    check_unique(log, pd.DataFrame({"employee_id": employee_id.fillna(cells["id_number"])}), "id_number",
                 "person")
    period = parse_period(log, cells["month"], "month", required=False)
    parse_dates(log, cells["effective_from"], "effective_from", required=False)
    monthly = {item: parse_fen(log, cells[item], item) for item in DEDUCTION_ITEMS}
    cumulative = {item: parse_fen(log, cells[ytd], ytd) for ytd, item in YTD.items()}
    any_cumulative = pd.concat([(cells[ytd] != "") for ytd in YTD], axis=1).any(axis=1)
    log.flag(any_cumulative & period.isna() & (cells["month"] == ""), "month",
             "is empty: cumulative (累计) amounts need the period they run to (所得期间)")
    months = _payer_months(employee_id, period, people)
    for ytd, item in YTD.items():
        both = (cells[item] != "") & (cells[ytd] != "")
        log.flag(both, ytd, "gives both the monthly and the cumulative amount of the same item")
        given = cumulative[item].notna() & months.notna() & ~both
        uneven = given & (cumulative[item].where(given, 0) % months.where(given, 1) != 0)
        log.flag(uneven, ytd, "'{}' over {} month(s) is not a whole number of fen a month: the client "
                 "claimed different amounts in different months", cells[ytd], months)
        from_cumulative = (cumulative[item].where(given & ~uneven) // months.where(given & ~uneven)).astype("object")
        monthly[item] = monthly[item].where(monthly[item].notna(), from_cumulative)
    if log:
        raise InputError(log.problems())
    rows = pd.DataFrame({"employee_id": employee_id, "row_number": table.row_numbers,
                         "effective_from": cells["effective_from"]})
    for item in DEDUCTION_ITEMS:
        rows[item] = monthly[item]
    return rows


def _payer_months(employee_id: pd.Series, period: pd.Series, people: pd.DataFrame) -> pd.Series:
    """Months this payer pays the person in the period's year up to the period (the client's
    cumulative amounts count these months)."""
    hired = employee_id.map(people.set_index("employee_id")["hire_date"])
    year = period.str[:4].astype("float")
    last = period.str[5:7].astype("float")
    hired_year = pd.to_datetime(hired).dt.year
    first = pd.to_datetime(hired).dt.month.where(hired_year == year, 1).where(hired_year <= year)
    count = last - first + 1
    return count.where(count >= 1).astype("Int64").astype("object")


def import_deductions(con: duckdb.DuckDBPyConnection, path: str | Path) -> DeductionsImport:
    rows = validate_deductions(con, path)
    staged = rows.assign(**{item: rows[item].map(lambda f: None if f is None or pd.isna(f) else fen_text(int(f)))
                            for item in DEDUCTION_ITEMS})
    staged["special_deduction"] = [fen_text(int(sum(int(v) for v in r if v is not None and not pd.isna(v))))
                                   for r in rows[list(DEDUCTION_ITEMS)].itertuples(index=False)]
    opens = first_open_month(con)
    items = ", ".join(DEDUCTION_ITEMS)
    with transaction(con):
        con.register("_import_deductions", staged)
        try:
            changed = con.execute("SELECT count(*) FROM _import_deductions d JOIN employees e USING (employee_id) "
                                  "WHERE e.special_deduction <> CAST(d.special_deduction AS DECIMAL(18,2))"
                                  ).fetchone()[0]
            con.execute("""CREATE OR REPLACE TEMP TABLE _new_employee_records AS
                SELECT e.* REPLACE (CAST(d.special_deduction AS DECIMAL(18,2)) AS special_deduction)
                FROM employees e JOIN _import_deductions d USING (employee_id)""")
            record_versions(con, "_import_deductions", opens.start if opens else None, Path(path).name)
            con.execute("""UPDATE employees SET special_deduction = CAST(d.special_deduction AS DECIMAL(18,2))
                FROM _import_deductions d WHERE employees.employee_id = d.employee_id""")
            casts = ", ".join(f"CAST({i} AS DECIMAL(18,2))" for i in DEDUCTION_ITEMS)
            con.execute(f"""INSERT INTO employee_finance (employee_id, {items})
                SELECT employee_id, {casts} FROM _import_deductions
                ON CONFLICT (employee_id) DO UPDATE SET {", ".join(f"{i} = excluded.{i}" for i in DEDUCTION_ITEMS)}""")
        finally:
            con.unregister("_import_deductions")
        record_import(con, "deductions", Path(path), len(rows))
    total = sum(int(v) for item in DEDUCTION_ITEMS for v in rows[item] if v is not None and not pd.isna(v))
    return DeductionsImport(len(rows), int(changed), total)
