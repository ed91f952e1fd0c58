"""What both peers share: the scope check, the policy rows in force (read from the `tables/` CSVs
with the csv module), the official calendar, loading the month from DuckDB into arrays and writing
payslip columns back. Nothing here imports `payroll`: the peers are written from docs/rules.md.

Money is int64 fen throughout; days and hours are int64 hundredths (the input columns are
DECIMAL(8,2)); rates are exact `Fraction`s from the CSV text.
"""
from __future__ import annotations

import csv
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
TABLES = ROOT / "tables"
NATION = "000000"
FUNDS = ("pension", "medical", "unemployment", "injury", "maternity")
EPOCH = date(1970, 1, 1)
NO_DATE = np.iinfo(np.int32).max          # an empty leave_date: employed to the end of time


class OutOfScope(Exception):
    """The database holds something a peer does not compute (see the peers' module docstrings)."""


class MissingFigure(Exception):
    """A number the month needs and no table row provides (docs/rules.md: table, region, month)."""


def frac(text: str) -> Fraction:
    return Fraction(Decimal(text.strip()))


def fen(text: str) -> int:
    """Yuan text to whole fen; refuses a figure that is not a whole number of fen."""
    value = frac(text) * 100
    if value.denominator != 1:
        raise ValueError(f"{text} is not a whole number of fen")
    return int(value)


def round_div(numerator: np.ndarray, denominator) -> np.ndarray:
    """numerator ÷ denominator rounded half-up (away from zero) to an integer: docs/rules.md
    "Units and rounding". denominator > 0 (scalar or array); int64 throughout."""
    numerator = np.asarray(numerator, dtype=np.int64)
    magnitude = (2 * np.abs(numerator) + denominator) // (2 * np.asarray(denominator, dtype=np.int64))
    return np.where(numerator < 0, -magnitude, magnitude)


def times(amount: np.ndarray, rate: Fraction) -> np.ndarray:
    """round(amount × rate), amount in fen, the rate an exact fraction."""
    return round_div(np.asarray(amount, dtype=np.int64) * rate.numerator, rate.denominator)


# ------------------------------------------------------------------------------ policy tables

def _read(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return [{k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(handle)]


class PolicyRows:
    """The tables/ CSVs as text rows, resolved per docs/rules.md "Looking up a table row": the
    region chain, rows in force on the first day of the month (`valid_until` not passed), the most
    specific region first, then the latest effective_from."""

    def __init__(self, directory: Path = TABLES):
        self.directory = Path(directory)
        self.rows = {path.stem: _read(path) for path in sorted(self.directory.glob("*.csv"))}
        self.parent = {r["region_code"]: r["parent_code"] for r in self.rows["regions"]}
        self.risk = {r["post"]: r["risk_class"] for r in self.rows["posts"]}

    def chain(self, region: str) -> list[str]:
        out, current = [], region
        while current:
            if current not in self.parent or current in out:
                raise MissingFigure(f"regions.csv: region {region} is not on a chain to {NATION}")
            out.append(current)
            current = self.parent[current]
        return out

    def resolve(self, table: str, region: str, day: date, key=lambda row: ()) -> dict:
        chain = self.chain(region)
        best: dict = {}
        for row in self.rows.get(table, []):
            if row["region_code"] not in chain:
                continue
            start = date.fromisoformat(row["effective_from"])
            if start > day or (row.get("valid_until") and date.fromisoformat(row["valid_until"]) < day):
                continue
            rank = (chain.index(row["region_code"]), -start.toordinal())
            k = key(row)
            if k not in best or rank < best[k][0]:
                best[k] = (rank, row)
        return {k: row for k, (_, row) in best.items()}

    def one(self, table: str, region: str, day: date, required: bool = True) -> dict | None:
        row = self.resolve(table, region, day).get(())
        if row is None and required:
            raise MissingFigure(f"{table}.csv: no row for region {region} in {day:%Y-%m}")
        return row

    def national(self, name: str, day: date) -> Fraction:
        rows = [r for r in self.rows["national_parameters"]
                if r["name"] == name and date.fromisoformat(r["effective_from"]) <= day]
        if not rows:
            raise MissingFigure(f"national_parameters.csv: no {name} in {day:%Y-%m}")
        return frac(max(rows, key=lambda r: r["effective_from"])["value"])

    def dated(self, table: str, day: date) -> list[dict]:
        """The whole table with the latest effective_from on or before the day (iit_brackets)."""
        dates = [r["effective_from"] for r in self.rows[table] if date.fromisoformat(r["effective_from"]) <= day]
        if not dates:
            raise MissingFigure(f"{table}.csv: none in force in {day:%Y-%m}")
        return sorted((r for r in self.rows[table] if r["effective_from"] == max(dates)),
                      key=lambda r: frac(r["threshold"]))


# ---------------------------------------------------------------------------------- calendar

TABLE_KINDS = {"holiday": "statutory", "day_off": "rest", "makeup_workday": "work"}


def day_kinds(first: date, last: date, calendar_rows: list[dict]) -> list[str]:
    """'work' | 'rest' | 'statutory' for each day (docs/rules.md "Calendar and proration"): the
    `holidays` package's China calendar, overridden day by day by tables/calendar.csv; a year with
    neither the package's 调休 data nor table rows is refused."""
    import holidays
    table = {date.fromisoformat(r["date"]): TABLE_KINDS[r["kind"]] for r in calendar_rows}
    package = holidays.China(years=first.year, language="en_US")
    makeup = {d for d in package.weekend_workdays if d.year == first.year}
    if not makeup and not any(d.year == first.year for d in table):
        raise MissingFigure(f"calendar.csv: no official calendar for {first.year}")
    kinds, day = [], first
    while day <= last:
        names = package.get_list(day) if makeup else []
        if names and any("(observed)" not in n and not n.startswith("Day off") for n in names):
            kind = "statutory"
        elif day in makeup:
            kind = "work"
        elif names or day.weekday() >= 5:
            kind = "rest"
        else:
            kind = "work"
        kinds.append(table.get(day, kind))
        day += timedelta(days=1)
    return kinds


# ------------------------------------------------------------------------------- the month

@dataclass
class Month:
    label: str
    first: date
    last: date

    @classmethod
    def parse(cls, label: str) -> "Month":
        year, month = int(label[:4]), int(label[5:7])
        first = date(year, month, 1)
        last = date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)
        return cls(label, first, last)

    def days(self, day: date) -> int:
        return (day - EPOCH).days


# What a synthetic February holds, and the tables whose rows the peers do not compute. Each check is
# (what, SQL counting the rows that matter for month ? / year ?).
SCOPE_CHECKS = (
    ("work-injury or death events", "SELECT count(*) FROM events"),
    ("leave records", "SELECT count(*) FROM leave"),
    ("one-off payments of the month", "SELECT count(*) FROM payments WHERE month = $month"),
    ("appraisal results", "SELECT count(*) FROM assessments"),
    ("probation", "SELECT count(*) FROM employee_terms WHERE probation_end IS NOT NULL"),
    ("opening balances", "SELECT count(*) FROM opening_balances"),
    ("effective-dated employee records", "SELECT count(*) FROM employee_history"),
    ("closed months (retro pay)", "SELECT count(*) FROM closed_months"),
    ("arrears", "SELECT count(*) FROM arrears"),
    ("off-cycle runs", "SELECT count(*) FROM offcycle_payslips"),
)
SCOPE_TABLES = (
    ("pay_scale_ratios", lambda rows: rows, "an indexed pay scale (pay_scale_ratios.csv)"),
    ("annual_leave_policy", lambda rows: [r for r in rows if r["untaken"] != "pay"],
     "annual leave carried over (annual_leave_policy.csv untaken = carry_over)"),
)


def refuse_out_of_scope(con, month: Month, policy: PolicyRows) -> None:
    """Raise OutOfScope naming the first thing the database or the tables hold that the peers do
    not compute, rather than compute it wrong."""
    present = {name for (name,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    for what, sql in SCOPE_CHECKS:
        table = sql.split(" FROM ")[1].split()[0]
        if table not in present:
            continue
        found = con.execute(sql.replace("$month", "?"), [month.label] if "$month" in sql else []).fetchall()[0][0]
        if found:
            raise OutOfScope(f"{what}: {found} row(s) in table {table}; the peers do not compute them")
    for table, pick, what in SCOPE_TABLES:
        if pick(policy.rows.get(table, [])):
            raise OutOfScope(f"{what}: the peers do not compute it")
    before = month.first - timedelta(days=1)
    previous = con.execute("SELECT count(*) FROM payslips WHERE month = ?", [f"{before:%Y-%m}"]).fetchall()[0][0]
    later = con.execute("SELECT count(*) FROM payslips WHERE month > ?", [month.label]).fetchall()[0][0]
    if later:
        raise OutOfScope(f"payslips after {month.label} exist: their year to date would go stale")
    if month.first.month > 1 and not previous:
        # a first month after January needs opening balances (import --opening), which are out of scope
        raise OutOfScope(f"no payslips of {before:%Y-%m}: run the months before {month.label} first")


@dataclass
class MonthInputs:
    """The people paid in the month, one array element each, ordered by employee_id."""
    month: Month
    employee_id: object                   # pyarrow string array, written back as is
    region_code: object                   # pyarrow string array (dictionary-encoded on load)
    columns: dict[str, np.ndarray] = field(default_factory=dict)
    history: dict[str, np.ndarray] = field(default_factory=dict)
    regions: list[str] = field(default_factory=list)
    region_index: np.ndarray | None = None

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    def __len__(self) -> int:
        return len(self.employee_id)


PAID = "e.hire_date <= $last AND (e.leave_date IS NULL OR e.leave_date >= $first)"

# Earlier payslips per person: this tax year's sums (docs/rules.md "Income tax"), the last payslip's
# balance owed (this or last year), last year's months and gross (公告2020年第19号).
HISTORY = {
    "months_this_year": "count(*) FILTER (WHERE p.month >= $year_start)",
    "income_ytd_before": "sum(p.gross_pay - p.injury_disability_allowance - p.maternity_allowance"
                         " - p.income_taxed_apart) FILTER (WHERE p.month >= $year_start)",
    "contributions_ytd_before": "sum(p.pension_employee + p.medical_employee + p.unemployment_employee"
                                " + p.housing_fund_employee) FILTER (WHERE p.month >= $year_start)",
    "special_deduction_ytd_before": "sum(p.special_deduction) FILTER (WHERE p.month >= $year_start)",
    "iit_ytd_before": "arg_max(p.iit_ytd, p.month) FILTER (WHERE p.month >= $year_start)",
    "balance_owed_before": "arg_max(p.balance_owed, p.month)",
    "months_last_year": "count(DISTINCT p.month) FILTER (WHERE p.month < $year_start)",
    "gross_last_year": "sum(p.gross_pay - p.maternity_allowance) FILTER (WHERE p.month < $year_start)",
}
COUNTS = {"months_this_year", "months_last_year"}

PEOPLE_SQL = f"""
SELECT e.employee_id, e.region_code, e.category = 'duty' AS duty, e.level, e.post,
       e.hire_date - DATE '1970-01-01' AS hire_day,
       COALESCE(e.leave_date - DATE '1970-01-01', {NO_DATE}) AS leave_day,
       year(COALESCE(e.service_start, e.hire_date)) AS service_year,
       month(COALESCE(e.service_start, e.hire_date)) AS service_month,
       day(COALESCE(e.service_start, e.hire_date)) AS service_day,
       CAST(e.special_deduction * 100 AS BIGINT) AS special_deduction,
       COALESCE(CAST(e.contribution_base * 100 AS BIGINT), -1) AS declared_base,
       CAST(COALESCE(a.unpaid_leave_days, 0) * 100 AS BIGINT) AS unpaid_leave_days,
       CAST(COALESCE(a.overtime_workday_hours, 0) * 100 AS BIGINT) AS overtime_workday_hours,
       CAST(COALESCE(a.overtime_restday_hours, 0) * 100 AS BIGINT) AS overtime_restday_hours,
       CAST(COALESCE(a.overtime_holiday_hours, 0) * 100 AS BIGINT) AS overtime_holiday_hours,
       COALESCE(a.night_shifts, 0) AS night_shifts,
       CAST(COALESCE(a.bonus, 0) * 100 AS BIGINT) AS bonus,
       CAST(COALESCE(a.deduction, 0) * 100 AS BIGINT) AS deduction,
       CASE COALESCE(a.deduction_kind, 'other') WHEN 'court' THEN 1 WHEN 'damages' THEN 2
            WHEN 'recovery' THEN 2 ELSE 0 END AS deduction_kind,
       {", ".join(f"COALESCE(h.{name}, 0) AS {name}" for name in HISTORY)}
FROM employees e
LEFT JOIN attendance a ON a.employee_id = e.employee_id AND a.month = $month
LEFT JOIN (SELECT p.employee_id,
                  {", ".join(f"{expr} AS {name}" if name in COUNTS else f"CAST(({expr}) * 100 AS BIGINT) AS {name}"
                             for name, expr in HISTORY.items())}
           FROM payslips p WHERE p.month < $month AND p.month >= $last_year_start
           GROUP BY p.employee_id) h ON h.employee_id = e.employee_id
WHERE {PAID}
ORDER BY e.employee_id
"""

# Per earlier payslip of the last twelve months and this base year: what the contribution base and
# the untaken-leave wage read; `person` is the position in PEOPLE_SQL's order. Ordered by month.
HISTORY_MONTHS_SQL = f"""
WITH paid AS (SELECT e.employee_id, row_number() OVER (ORDER BY e.employee_id) - 1 AS person
              FROM employees e WHERE {PAID})
SELECT paid.person,
       CAST(substr(p.month, 1, 4) AS INTEGER) * 12 + CAST(substr(p.month, 6, 2) AS INTEGER) - 1 AS month_index,
       CAST(p.gross_pay * 100 AS BIGINT) AS gross_pay,
       CAST((p.gross_pay - p.maternity_allowance) * 100 AS BIGINT) AS wage,
       CAST((p.gross_pay - p.overtime_pay - p.annual_leave_payout) * 100 AS BIGINT) AS leave_wage,
       p.paid_days_employed = p.paid_days_in_month AS whole_month,
       CAST((p.gross_pay - p.injury_disability_allowance - p.maternity_allowance - p.income_taxed_apart) * 100
            AS BIGINT) AS income,
       CAST((p.pension_employee + p.medical_employee + p.unemployment_employee + p.housing_fund_employee) * 100
            AS BIGINT) AS contributions,
       CAST(p.special_deduction * 100 AS BIGINT) AS special_deduction,
       CAST(p.iit * 100 AS BIGINT) AS iit,
       CAST(p.balance_owed * 100 AS BIGINT) AS balance_owed
FROM payslips p JOIN paid ON paid.employee_id = p.employee_id
WHERE p.month < $month AND p.month >= $window_start
ORDER BY p.month, paid.person
"""


def load_month(con, label: str, policy: PolicyRows) -> MonthInputs:
    """The people paid in the month with their attendance and their earlier payslips' sums, in one
    query, ordered by employee_id; then the earlier payslips one row each, as arrays."""
    month = Month.parse(label)
    refuse_out_of_scope(con, month, policy)
    year = month.first.year
    params = {"month": label, "first": month.first, "last": month.last, "year_start": f"{year}-01",
              "last_year_start": f"{year - 1}-01"}
    people = con.sql(PEOPLE_SQL, params=params).to_arrow_table()
    inputs = MonthInputs(month=month, employee_id=people.column("employee_id").combine_chunks(),
                         region_code=people.column("region_code").combine_chunks())
    for name in people.column_names[2:]:
        if name in ("post",):
            continue
        target = inputs.history if name in HISTORY else inputs.columns
        target[name] = people.column(name).to_numpy()
    posts = people.column("post").combine_chunks().dictionary_encode()
    names = posts.dictionary.to_pylist()
    unknown = [p for p in names if p not in policy.risk]
    if unknown:
        raise MissingFigure(f"posts.csv: no post {unknown[0]}")
    risk = np.array([policy.risk[p] == "high" for p in names] or [False], dtype=bool)
    inputs.columns["high_risk"] = risk[posts.indices.to_numpy(zero_copy_only=False)]
    regions = inputs.region_code.dictionary_encode()
    inputs.regions = regions.dictionary.to_pylist()
    inputs.region_index = regions.indices.to_numpy(zero_copy_only=False).astype(np.int64)

    window = {"month": label, "first": month.first, "last": month.last,
              "window_start": f"{year - 1}-{month.first.month:02d}"}
    months = con.sql(HISTORY_MONTHS_SQL, params=window).to_arrow_table()
    inputs.history["rows_person"] = months.column("person").to_numpy().astype(np.int64)
    inputs.history["rows_month"] = months.column("month_index").to_numpy().astype(np.int64)
    for name in months.column_names[2:]:
        inputs.history[f"rows_{name}"] = months.column(name).to_numpy(zero_copy_only=False)
    return inputs


def write_payslips(con, table: str, inputs: MonthInputs, columns: dict[str, np.ndarray]) -> None:
    """Replace `table` with the month's payslip columns: money as DECIMAL(18,2) built from the fen
    without a copy (Arrow decimal128 buffers), counts as BIGINT."""
    import pyarrow as pa
    arrays, names = [inputs.employee_id, pa.array(np.full(len(inputs), inputs.month.label))], ["employee_id", "month"]
    for name, values in columns.items():
        names.append(name)
        if values.dtype == np.bool_:
            arrays.append(pa.array(values))
        elif name in COUNT_COLUMNS:
            arrays.append(pa.array(values.astype(np.int64, copy=False)))
        else:
            arrays.append(decimal_from_fen(values))
    frame = pa.Table.from_arrays(arrays, names=names)
    con.register("_peer_payslips", frame)
    try:
        con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM _peer_payslips")
    finally:
        con.unregister("_peer_payslips")


COUNT_COLUMNS = {"paid_days_in_month", "paid_days_employed", "service_years", "months_employed_ytd",
                 "annual_leave_payout_days"}


def decimal_from_fen(values: np.ndarray):
    """An Arrow decimal128(18, 2) array over int64 fen: each value sign-extended to 128 bits."""
    import pyarrow as pa
    values = np.ascontiguousarray(values, dtype=np.int64)
    wide = np.empty((len(values), 2), dtype=np.int64)
    wide[:, 0] = values
    wide[:, 1] = values >> 63
    return pa.Array.from_buffers(pa.decimal128(18, 2), len(values), [None, pa.py_buffer(wide)])


def run_db_to_db(con, month: str, policy: PolicyRows, compute, table: str) -> dict:
    """A peer's month database to database: load, compute(inputs) -> columns, write back; the
    seconds of each phase and the rows written."""
    clock = time.perf_counter()
    inputs = load_month(con, month, policy)
    loaded = time.perf_counter()
    columns = compute(inputs)
    computed = time.perf_counter()
    write_payslips(con, table, inputs, columns)
    written = time.perf_counter()
    return {"rows": len(inputs), "load_s": loaded - clock, "compute_s": computed - loaded,
            "write_s": written - computed, "total_s": written - clock, "columns": len(columns) + 2}


def main(run, description: str) -> None:
    """The peer as a command: `python -m benchmarks.peers.<peer> DB [--month M]`."""
    import argparse

    import duckdb
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("db")
    parser.add_argument("--month", default="2025-02")
    args = parser.parse_args()
    print(run(duckdb.connect(args.db), args.month))
