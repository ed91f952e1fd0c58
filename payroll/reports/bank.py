"""`payroll export --what bank`: the payroll transfer file (代发工资) of a month.

No one layout: every bank's corporate online banking has its own batch template
(research/filing-formats.md). The columns common to all are account, name, amount and purpose, so
the layout is a small configuration (`BankLayout`: which fields, in which order, under which
headers) with a generic default; a bank that wants 开户行 or another order gets its own layout.

One line per person with net pay > 0, sorted by employee; the file ends with a 合计 line holding
the count of transfers and their total, which equals the register's net pay to the fen (people
with net pay 0 get no line and add nothing). Issue 13: net pay is never below 0 (rules/deductions.py);
the people paid 0 are listed with the reason on a second sheet 未发放 (XLSX) or in a companion file
`<name>-unpaid.csv` (CSV), never in the transfer lines. Net pay below 0 (a database from before
issue 13) is still refused, and so is a person owed
money without a `bank_account` in the employees file: an error that lists them (at most
MAX_LISTED ids, never the roster), nothing written. A separate exceptions list was the other
choice; it was not taken because the transfer total would then no longer equal the register, and
a person left unpaid should stop the run, not hide in a side file.

The bank account is personal data: it appears in this file and in no other output.
"""
from __future__ import annotations

import csv
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb

from ..db import table_exists
from ..errors import PayrollError
from ..io.output import escape_formula, escape_formula_sql, safe_output
from . import xlsx
from .handover import check_month, month_title, target_path

MAX_LISTED = 20
FIELDS = ("account", "name", "amount", "purpose", "employee_id", "unit")


@dataclass(frozen=True)
class BankLayout:
    """Which fields the bank's batch template has, in its order, with its headers."""
    columns: tuple[tuple[str, str], ...] = (("account", "账号"), ("name", "户名"),
                                            ("amount", "金额"), ("purpose", "用途"))
    purpose: str = "{year}年{month}月工资"

    def __post_init__(self):
        unknown = [f for f, _ in self.columns if f not in FIELDS]
        if unknown or "amount" not in dict(self.columns):
            raise PayrollError(f"bank layout: unknown field(s) {unknown}; fields are {', '.join(FIELDS)} "
                               f"and amount is required")


GENERIC = BankLayout()


@dataclass(frozen=True)
class BankExport:
    path: Path
    month: str
    transfers: int
    total: Decimal
    zero_pay: int
    unpaid_path: Path | None = None

    def __str__(self) -> str:
        zero = f" ({self.zero_pay:,} with net pay 0 left out, listed with the reason)" if self.zero_pay else ""
        return (f"bank transfers {self.month}: {self.transfers:,} transfers, total "
                f"{self.total:,.2f} yuan{zero} -> {self.path}")


def _sources(con: duckdb.DuckDBPyConnection) -> tuple[dict[str, str], str]:
    """SQL for the name and account of a payslip p, and the joins they need."""
    has_accounts = table_exists(con, "employee_finance")
    account = "f.bank_account" if has_accounts else "NULL"
    name = "e.name" if table_exists(con, "employees") else "NULL"
    join = "LEFT JOIN employees e USING (employee_id)" if name != "NULL" else ""
    if has_accounts:
        join += " LEFT JOIN employee_finance f USING (employee_id)"
    return {"name": f"CAST({name} AS VARCHAR)", "account": f"CAST({account} AS VARCHAR)"}, join


def transfer_rows(con: duckdb.DuckDBPyConnection, month: str, where: str = "true") -> list[dict]:
    """One dict per payslip: employee_id, name, unit, account (or None), amount (Decimal).
    `where`: a condition on the payslip p alone (default: every payslip), so that DuckDB picks the
    few rows before joining names and accounts (a condition on the account joined the whole roster
    first: ~40 ms at 100,000, issue 17)."""
    sources, join = _sources(con)
    rows = con.execute(
        f"SELECT p.employee_id, {sources['name']}, p.unit, {sources['account']}, "
        f"CAST(p.net_pay AS VARCHAR), CAST(p.gross_pay AS VARCHAR), CAST(p.shortfall_carried AS VARCHAR), "
        f"CAST(p.balance_owed AS VARCHAR) FROM payslips p {join} WHERE p.month = ? AND ({where}) "
        f"ORDER BY p.employee_id", [month]).fetchall()
    settled = {}
    if table_exists(con, "offcycle_payslips"):       # issue 13: paid in the month's final settlement
        settled = dict(con.execute("SELECT employee_id, min(offcycle_run_id) FROM offcycle_payslips WHERE month = ? "
                                   "AND offcycle_kind = 'settlement' GROUP BY 1", [month]).fetchall())
    return [dict(employee_id=e, name=n, unit=u, account=a, amount=Decimal(v),
                 reason=(f"已在离职结算 {settled[e]} 中发放" if e in settled and Decimal(g) == 0
                         else _zero_reason(g, sf, bo)))
            for e, n, u, a, v, g, sf, bo in rows]


def _zero_reason(gross: str, shortfall: str, owed: str) -> str:
    """Why a person gets no transfer (read only when net pay is 0)."""
    if Decimal(shortfall) > 0:
        return (f"个税及个人社保公积金超过应发工资 {Decimal(gross):,.2f} 元，不足部分 {Decimal(shortfall):,.2f} 元"
                f"计入应收个人款（余额 {Decimal(owed):,.2f} 元）")
    if Decimal(gross) == 0:
        return "本月无应发工资"
    return "应发工资已全部用于代扣款项"


def _refuse_negative(rows: list[dict], month: str) -> None:
    negative = [r["employee_id"] for r in rows if r["amount"] < 0]
    if negative:
        raise PayrollError(f"{len(negative)} payslip(s) of {month} have net pay below 0, which no "
                           f"transfer can pay: {_listed(negative)}")


# the lines' query stops at the first person owed pay without an account (DuckDB's error()), so
# the common case needs no second pass over the roster's accounts; the refusal then lists them all
MISSING_ACCOUNT = "payroll: a transfer line without a bank account"


def _guarded_amount(sources: dict[str, str], amount: str) -> str:
    return f"CASE WHEN coalesce({sources['account']}, '') = '' THEN error('{MISSING_ACCOUNT}') ELSE {amount} END"


@contextmanager
def _refusing_missing_accounts(con: duckdb.DuckDBPyConnection, month: str, sources: dict[str, str], join: str):
    """Turn the guard's error into the refusal naming everyone owed pay without an account."""
    try:
        yield
    except duckdb.Error as error:
        if MISSING_ACCOUNT not in str(error):
            raise
        missing = [employee_id for (employee_id,) in con.execute(
            f"SELECT p.employee_id FROM payslips p {join} WHERE p.month = ? AND p.net_pay > 0 "
            f"AND coalesce({sources['account']}, '') = '' ORDER BY p.employee_id", [month]).fetchall()]
        raise PayrollError(
            f"{len(missing)} person(s) with net pay in {month} have no bank account: {_listed(missing)}; "
            f"add a bank_account (银行账号) column to the employees file and import it again. "
            f"Nothing was written.") from None


def _listed(ids: list[str]) -> str:
    shown = ", ".join(ids[:MAX_LISTED])
    return shown + (f" … and {len(ids) - MAX_LISTED} more" if len(ids) > MAX_LISTED else "")


def export_bank(con: duckdb.DuckDBPyConnection, month: str, fmt: str = "xlsx",
                out: str | Path | None = None, layout: BankLayout = GENERIC) -> BankExport:
    fmt = check_month(con, month, fmt, formats=("xlsx", "csv"), what="bank")
    target = target_path(out, "bank", month, fmt)
    sources, join = _sources(con)
    count, total, exceptions = _checked_totals(con, month)
    year, mon = month.split("-")
    purpose = layout.purpose.format(year=year, month=int(mon))
    fields = [f for f, _ in layout.columns]
    footer = {fields[0]: xlsx.TOTAL_LABEL, **({fields[1]: f"共{count}笔"} if len(fields) > 1 else {})}
    unpaid = [[r["employee_id"], r["name"], r["unit"], r["amount"], r["reason"]]
              for r in exceptions if r["amount"] == 0]
    if fmt == "csv":
        return _export_csv(con, month, target, layout, sources, join, count, total, purpose, footer, unpaid)
    cells = _cell_sql(sources, purpose, amount=_guarded_amount(sources, "p.net_pay"))
    select = ", ".join(f"{cells[field]} AS {_ident(field)}" for field in fields)
    # the transfer lines column-wise as Arrow (issue 17: a dict and a Decimal per person took
    # 2-3 × the writer's time); the amounts stay DECIMAL, written as their exact text
    with _refusing_missing_accounts(con, month, sources, join):
        lines = con.sql(f"SELECT {select} FROM payslips p {join} WHERE p.month = {_literal(month)} "
                        f"AND p.net_pay > 0 ORDER BY p.employee_id").to_arrow_table()
    footer["amount"] = total
    _write_xlsx(target, layout, lines.columns, footer, month, count, total, unpaid)
    return BankExport(target, month, count, total, len(unpaid))


def _checked_totals(con: duckdb.DuckDBPyConnection, month: str) -> tuple[int, Decimal, list[dict]]:
    """The count and total of the transfers, counted in DuckDB from the payslips alone, and the few
    payslips with net pay 0 or below, read only when there are any: the refusal of a negative
    amount and the people paid 0. A missing account is refused by the lines' own query."""
    count, total, exceptional = con.execute(
        "SELECT count(*) FILTER (p.net_pay > 0), CAST(coalesce(sum(p.net_pay) FILTER (p.net_pay > 0), 0) AS VARCHAR), "
        "count(*) FILTER (p.net_pay <= 0) FROM payslips p WHERE p.month = ?", [month]).fetchall()[0]
    exceptions = transfer_rows(con, month, "p.net_pay <= 0") if exceptional else []
    _refuse_negative(exceptions, month)
    return int(count), Decimal(total).quantize(Decimal("0.01")), exceptions


def _cell_sql(sources: dict[str, str], purpose: str, amount: str) -> dict[str, str]:
    """SQL of each field's cell on a payslip p."""
    return {"account": sources["account"], "name": sources["name"], "purpose": _literal(purpose),
            "employee_id": "CAST(p.employee_id AS VARCHAR)", "unit": "CAST(p.unit AS VARCHAR)", "amount": amount}


def _export_csv(con: duckdb.DuckDBPyConnection, month: str, target: Path, layout: BankLayout,
                sources: dict[str, str], join: str, count: int, total: Decimal, purpose: str,
                footer: dict, unpaid: list[list]) -> BankExport:
    """The CSV file written by DuckDB's COPY (issue 17: a Python row loop took 8 × as long): the
    same checks and lines as the XLSX, every text cell escaped in SQL, the 合计 line appended."""
    cells = _cell_sql(sources, purpose, amount=_guarded_amount(
        sources, "CAST(CAST(p.net_pay AS DECIMAL(18,2)) AS VARCHAR)"))
    select = []
    for index, (field, header) in enumerate(layout.columns):
        expression = cells[field]
        if field != "amount":      # empty as NULL: COPY writes an empty text as "", csv.writer as nothing
            expression = f"NULLIF({escape_formula_sql(expression)}, '')"
        # the BOM at the very start of the file: the first header's first character
        select.append(f"{expression} AS {_ident(chr(0xFEFF) * (index == 0) + escape_formula(header))}")
    query = (f"SELECT {', '.join(select)} FROM payslips p {join} WHERE p.month = {_literal(month)} "
             f"AND p.net_pay > 0 ORDER BY p.employee_id")
    fields = [f for f, _ in layout.columns]
    footer = {**footer, "amount": f"{total:.2f}"}
    with safe_output(target) as temporary, _refusing_missing_accounts(con, month, sources, join):
        con.execute(f"COPY ({query}) TO {_literal(str(temporary))} (FORMAT csv, HEADER true, DELIMITER ',', "
                    f"QUOTE '\"')")
        with open(temporary, "a", newline="", encoding="utf-8") as handle:
            csv.writer(handle, lineterminator="\n").writerow([escape_formula(footer.get(f, "")) for f in fields])
    unpaid_path = None
    if unpaid:
        unpaid_path = target.with_name(target.stem + "-unpaid.csv")
        _write_unpaid_csv(unpaid_path, unpaid)
    return BankExport(target, month, count, total, len(unpaid), unpaid_path)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


UNPAID_HEADERS = ("工号", "姓名", "单位", "实发工资", "未发放原因")


def _write_unpaid_csv(target: Path, unpaid: list[list]) -> None:
    with xlsx.atomic_output(target) as temporary:
        with open(temporary, "w", newline="", encoding="utf-8-sig") as handle:
            writer = csv.writer(handle)
            writer.writerow(UNPAID_HEADERS)
            for line in unpaid:
                writer.writerow(["" if v is None else f"{v:.2f}" if isinstance(v, Decimal) else v for v in line])


def _write_xlsx(target: Path, layout: BankLayout, lines: list, footer: dict, month: str,
                count: int, total: Decimal, unpaid: list[list] | None = None) -> None:
    """`lines`: the layout's columns, one Arrow array each (text, and the amount as DECIMAL)."""
    kinds = {f: (xlsx.MONEY if f == "amount" else xlsx.TEXT) for f, _ in layout.columns}
    columns = xlsx.make_columns([f for f, _ in layout.columns], labels=dict(layout.columns),
                                kinds=kinds, widths={"account": 26, "name": 12, "purpose": 18,
                                                     "amount": xlsx.money_width(total)})
    with xlsx.atomic_output(target) as temporary:
        workbook = xlsx.new_workbook(temporary)
        sheet = xlsx.Sheet(workbook, f"代发工资 {month}", columns,
                           title=f"辅警工资代发清单（{month_title(month)}）",
                           subtitle=f"笔数：{count:,}　　金额合计：{total:,.2f} 元")
        first = sheet.row
        if count:
            sheet.write_columns(lines)
        last = sheet.row - 1
        sheet.finish(last)
        labels = {k: v for k, v in footer.items() if k != "amount"}
        sheet.write_sum_row(labels, {"amount": total}, first, last, row_kind="total")
        if unpaid:
            fields = ("employee_id", "name", "unit", "net_pay", "reason")
            columns = xlsx.make_columns(fields, labels=dict(zip(fields, UNPAID_HEADERS)),
                                        kinds={"net_pay": xlsx.MONEY, "employee_id": xlsx.TEXT, "name": xlsx.TEXT,
                                               "unit": xlsx.TEXT, "reason": xlsx.TEXT},
                                        widths={"reason": 70, "unit": 16})
            xlsx.write_simple_sheet(workbook, "未发放", columns, unpaid,
                                    title=f"实发为零人员（{month_title(month)}）",
                                    subtitle=f"{len(unpaid):,} 人，不列入代发清单")
        workbook.close()
