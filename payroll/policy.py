"""Policy tables: read `tables/` (or `--tables DIR`), validate every cell, install them in DuckDB.

Each file becomes a temporary table `policy_<name>` with the file's columns plus `row_no` (the line
in the file, header = line 1), so every figure the engine uses can be traced back to a row with its
`effective_from` and `source`. Numbers are kept exact: rates as DECIMAL(18,6), money as
DECIMAL(18,2); a cell with more places than that is an error, not a silent rounding.
"""
from __future__ import annotations

import hashlib
import json
import os
import pickle
import tempfile
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Callable

import duckdb
import pandas as pd
import pyarrow as pa

from .db import table_exists
from .errors import CellProblem, InputError, PolicyError
from .policy_checks import UNIQUE_KEYS, check_tables

# a wheel carries the tables inside the package (setup.py copies them); a source checkout has them
# at the top of the repository
_PACKAGED_TABLES = Path(__file__).resolve().parent / "tables"
SHIPPED_TABLES = (_PACKAGED_TABLES if _PACKAGED_TABLES.is_dir()
                  else Path(__file__).resolve().parent.parent / "tables")
FUNDS = ("pension", "medical", "unemployment", "injury", "maternity")
FUND_ZH = {"pension": "养老", "medical": "医疗", "unemployment": "失业", "injury": "工伤", "maternity": "生育"}


@dataclass(frozen=True)
class Column:
    name: str
    kind: str                  # code | text | date | money | rate | int | enum | bool
    required: bool = True
    choices: tuple[str, ...] = ()
    in_header: bool = True     # False: a column a table may leave out of its header (read as empty)

    @property
    def sql_type(self) -> str:
        return {
            "money": "DECIMAL(18,2)", "rate": "DECIMAL(18,6)", "int": "INTEGER",
            "date": "DATE", "bool": "BOOLEAN",
        }.get(self.kind, "VARCHAR")


# How far a row's figure can be trusted, in a column of its own (not in the `source` sentence) so
# `payroll tables status` can list it: official (read in the notice or rule text), secondary (a
# reprint or third-party code quoting the notice), unverified (cited, but no source confirmed it),
# sample (a stand-in to replace), disputed (sources disagree; `source` gives both).
STATUSES = ("official", "secondary", "unverified", "sample", "disputed")
# statuses `tables status` lists: the figures finance must still replace or settle
NEEDS_ATTENTION = ("sample", "disputed")


def rows_in_force_sql(table: str, keys: tuple[str, ...], day) -> str:
    """The rows of policy_<table> in force on a day, per region (for_region) and key: the most
    specific region on the chain first, then the latest effective_from on or before the day, a row
    whose valid_until has passed left out. The one way a regional row is read: the monthly engine
    (on the first of the month) and the benefits of events (on the event's day) both use it."""
    partition = ", ".join(("c.region_code",) + tuple(f"t.{k}" for k in keys))
    return f"""
        SELECT c.region_code AS for_region, t.*
        FROM region_chain c JOIN policy_{table} t ON t.region_code = c.ancestor_code
        WHERE t.effective_from <= DATE '{day}'
          AND (t.valid_until IS NULL OR t.valid_until >= DATE '{day}')   -- its source has lapsed
        QUALIFY row_number() OVER (PARTITION BY {partition} ORDER BY c.depth, t.effective_from DESC) = 1"""


def _cols(*specs: Column) -> tuple[Column, ...]:
    """The table's own columns, then source, status and (for dated tables) valid_until: the last
    day the row's source is in force (e.g. 南通实施办法 art. 20: to 2027-12-31); after it the row is
    no longer in force. status and valid_until may be absent from a user's own directory."""
    meta = (Column("source", "text"), Column("status", "enum", required=False, choices=STATUSES, in_header=False))
    if any(c.name == "effective_from" for c in specs):
        meta += (Column("valid_until", "date", required=False, in_header=False),)
    return specs + meta


SCOPE = ("all", "duty", "civilian", "high_risk")
# annual appraisal results (考核等次), best first
RESULTS = ("excellent", "competent", "basic", "incompetent")
# how a provincial leaving grant is figured: months × the average monthly wage of the row's own
# region (Zhejiang: 全省), months × the person's 统筹地区 average, or a fixed amount (Jiangsu)
# issue 15: share_of_medical_grant: the occupational-disease uplift, a share of the medical grant
LEAVING_GRANT_BASES = ("months_of_row_region_average_wage", "months_of_person_region_average_wage", "amount",
                       "share_of_medical_grant")
# the grants: medical (fund), employment (employer), and the occupational-disease uplift of the
# medical grant (fund), which only an occupational disease receives
LEAVING_GRANTS = ("medical", "employment", "medical_occupational_uplift")

# issue 14: the leave kinds whose days a region sets, and how a non-work death item is figured
LEAVE_DAY_KINDS = ("maternity", "paternity", "marriage", "bereavement")
NON_WORK_DEATH_ITEMS = ("funeral_grant", "survivors_pension", "condolence")
NON_WORK_DEATH_BASES = ("amount", "months_of_average_wage", "months_of_own_wage",
                        "times_urban_income")

# issue 14: the month-day a fund's base year (缴费年度) starts, e.g. 07-01 for a July–June year; the
# base derived from pay uses the twelve months before it (docs/rules.md). Empty: 01-01, the calendar
# year. Always the first of a month: the engine resolves tables by month.
BASE_YEAR_STARTS = tuple(f"{month:02d}-01" for month in range(1, 13))
BASE_YEAR_START = Column("base_year_start", "enum", required=False, choices=BASE_YEAR_STARTS, in_header=False)

TABLES: dict[str, tuple[Column, ...]] = {
    "regions": _cols(Column("region_code", "code"), Column("name", "text"),
                     Column("parent_code", "code", required=False)),
    "average_wage": _cols(Column("region_code", "code"), Column("effective_from", "date"),
                          Column("monthly_average_wage", "money"), Column("basis", "text")),
    "minimum_wage": _cols(Column("region_code", "code"), Column("effective_from", "date"),
                          Column("monthly_minimum_wage", "money")),
    "social_insurance": _cols(Column("region_code", "code"), Column("effective_from", "date"),
                              Column("fund", "enum", choices=FUNDS),
                              Column("employer_rate", "rate"), Column("employee_rate", "rate"),
                              Column("base_floor", "money"), Column("base_ceiling", "money"),
                              BASE_YEAR_START),
    "housing_fund": _cols(Column("region_code", "code"), Column("effective_from", "date"),
                          Column("employer_rate", "rate"), Column("employee_rate", "rate"),
                          Column("base_floor", "money"), Column("base_ceiling", "money"), BASE_YEAR_START),
    "pay_scale": _cols(Column("region_code", "code"), Column("effective_from", "date"),
                       Column("category", "enum", choices=("duty", "civilian")),
                       Column("level", "int"), Column("base_pay", "money")),
    "allowances": _cols(Column("region_code", "code"), Column("effective_from", "date"),
                        Column("item", "code"), Column("applies_to", "enum", choices=SCOPE),
                        Column("amount", "money"),
                        Column("per", "enum", choices=("month", "service_year", "night_shift"))),
    "posts": _cols(Column("post", "code"), Column("name", "text"),
                   Column("category", "enum", choices=("duty", "civilian", "all")),
                   Column("risk_class", "enum", choices=("normal", "high"))),
    "accident_insurance": _cols(Column("region_code", "code"), Column("effective_from", "date"),
                                Column("cover", "code"),
                                Column("applies_to", "enum", choices=("all", "high_risk")),
                                Column("annual_premium", "money"),
                                Column("sum_insured", "money", required=False)),
    "pay_floor": _cols(Column("region_code", "code"), Column("effective_from", "date"),
                       Column("rule", "enum", choices=("average_not_below_average_wage", "none")),
                       Column("ratio", "rate", required=False)),
    "iit_brackets": _cols(Column("effective_from", "date"), Column("threshold", "money"),
                          Column("rate", "rate"), Column("quick_deduction", "money")),
    # the monthly-converted table (按月换算后的综合所得税率表) of the separately taxed annual bonus
    # (财税〔2018〕164号 art. 1(一); 公告2023年第30号): bonus ÷ 12 picks the row (issue 13)
    "iit_bonus_brackets": _cols(Column("effective_from", "date"), Column("threshold", "money"),
                                Column("rate", "rate"), Column("quick_deduction", "money")),
    "national_parameters": _cols(Column("name", "code"), Column("effective_from", "date"),
                                 Column("value", "rate")),
    "national_statistics": _cols(Column("year", "int"),
                                 Column("urban_disposable_income_per_capita", "money"),
                                 Column("disposable_income_per_capita", "money", required=False)),
    "injury_grades": _cols(Column("disability_grade", "int"), Column("one_off_months", "rate"),
                           Column("allowance_rate", "rate"),
                           Column("allowance_payer", "text", required=False)),
    # benefits (payroll/benefits.py): provincial one-off grants on leaving the job (工伤保险条例
    # arts. 36–37 leave them to the provinces) and where a regional regulation lets 辅警 reference
    # the police pension for heroic events
    "injury_leaving_grants": _cols(Column("region_code", "code"), Column("effective_from", "date"),
                                   Column("grant", "enum", choices=LEAVING_GRANTS),
                                   Column("disability_grade", "int"),
                                   Column("basis", "enum", choices=LEAVING_GRANT_BASES),
                                   Column("value", "rate")),
    "police_reference": _cols(Column("region_code", "code"), Column("effective_from", "date"),
                              Column("provision", "enum", choices=("police_reference", "none")),
                              Column("article", "text", required=False)),
    # the police (军人抚恤优待条例) 残疾抚恤金 by grade and cause, national amounts per year; a heroic
    # 辅警 disabled where police_reference applies is compared with it (cause `duty` = 因公)
    "police_disability_pension": _cols(Column("region_code", "code"), Column("effective_from", "date"),
                                       Column("disability_grade", "int"),
                                       Column("cause", "enum", choices=("battle", "duty", "illness")),
                                       Column("annual_amount", "money")),
    # the official calendar where it differs from, or goes beyond, the `holidays` package
    # (payroll/calendar.py): holiday = statutory holiday, day_off = weekday rest by 调休/补休,
    # makeup_workday = weekend working day
    "calendar": _cols(Column("date", "date"),
                      Column("kind", "enum", choices=("holiday", "day_off", "makeup_workday"))),
    # issue 15: fixed medical levies (大额医疗 / 大病) a region charges per head on top of the medical
    # rate (payroll/rules/medical_levy.py); a region without a row charges none
    "medical_levies": _cols(Column("region_code", "code"), Column("effective_from", "date"),
                            Column("employee_amount", "money"),
                            Column("employee_period", "enum", choices=("month", "year")),
                            Column("employer_amount", "money")),
    # issue 14: leave, probation and non-work death (payroll/rules/leave.py, probation.py,
    # payroll/benefits/non_work_death.py); optional, so a directory made before them still loads
    "leave_days": _cols(Column("region_code", "code"), Column("effective_from", "date"),
                        Column("kind", "enum", choices=LEAVE_DAY_KINDS), Column("days", "int")),
    "sick_pay": _cols(Column("region_code", "code"), Column("effective_from", "date"),
                      Column("min_service_years", "int"), Column("min_sick_days", "int"),
                      Column("share", "rate"), Column("minimum_wage_floor_ratio", "rate")),
    "maternity": _cols(Column("region_code", "code"), Column("effective_from", "date"),
                       Column("allowance_day_divisor", "int"), Column("employer_topup", "bool")),
    "probation": _cols(Column("region_code", "code"), Column("effective_from", "date"),
                       Column("ratio", "rate")),
    "annual_leave_entitlement": _cols(Column("effective_from", "date"), Column("min_service_years", "int"),
                                      Column("days", "int")),
    "annual_leave_policy": _cols(Column("region_code", "code"), Column("effective_from", "date"),
                                 Column("untaken", "enum", choices=("pay", "carry_over")),
                                 Column("extra_rate", "rate"), Column("payout_month", "int")),
    "non_work_death": _cols(Column("region_code", "code"), Column("effective_from", "date"),
                            Column("item", "enum", choices=NON_WORK_DEATH_ITEMS),
                            Column("basis", "enum", choices=NON_WORK_DEATH_BASES), Column("value", "rate"),
                            Column("payer", "code")),
    # issue 16: appraisal, levels and pay structure (payroll/levels/, payroll/rules/performance_pay.py,
    # payroll/pay_structure.py); `status` says whether a row is official, secondary or a sample
    "performance_pay": _cols(Column("region_code", "code"), Column("effective_from", "date"),
                             Column("category", "enum", choices=("all", "duty", "civilian")),
                             Column("level", "code"),          # `all` or a level number
                             Column("result", "enum", choices=RESULTS),
                             Column("paid", "enum", choices=("monthly", "annual")),
                             Column("amount", "money", required=False),
                             Column("multiple", "rate", required=False),   # × the month's grade pay
                             Column("pay_month", "int", required=False),   # annual: month of the next year
                             # annual: the 全年一次性奖金 tax method, separate | merged | empty = the cheaper
                             Column("tax_method", "enum", required=False, choices=("separate", "merged"),
                                    in_header=False)),
    "level_rules": _cols(Column("region_code", "code"), Column("effective_from", "date"),
                         Column("category", "enum", choices=("duty", "civilian")),
                         Column("level", "int"),                # the level left by a promotion (to level − 1)
                         Column("years_required", "int"), Column("excellent_shortens", "int"),
                         Column("min_result", "enum", choices=("excellent", "competent", "basic")),
                         Column("demote_result", "enum", choices=("incompetent", "basic", "none")),
                         Column("demote_levels", "int"), Column("top_level_without_selection", "int"),
                         Column("effective_month", "int")),
    "selection_quotas": _cols(Column("region_code", "code"), Column("effective_from", "date"),
                              Column("level", "int"), Column("quota", "int")),
    "pay_scale_ratios": _cols(Column("region_code", "code"), Column("effective_from", "date"),
                              Column("category", "enum", choices=("duty", "civilian")),
                              Column("level", "int"), Column("ratio", "rate")),
    "pay_structure": _cols(Column("region_code", "code"), Column("effective_from", "date"),
                           Column("min_level_gap", "money")),
    "appraisal_distribution": _cols(Column("region_code", "code"), Column("effective_from", "date"),
                                    Column("excellent_share", "rate"), Column("basic_share", "rate"),
                                    Column("incompetent_share", "rate")),
    # a region's own words for the results (accepted on import for its staff)
    "appraisal_labels": _cols(Column("region_code", "code"), Column("result", "enum", choices=RESULTS),
                              Column("label", "text")),
}
LEVEL_TABLES = ("appraisal_labels", "performance_pay", "level_rules", "selection_quotas", "pay_scale_ratios", "pay_structure",
                "appraisal_distribution")
# tables a directory may leave out (a missing file reads as empty: "none"), so a user's own
# directory made before the benefits tables existed still loads
OPTIONAL_TABLES = {"injury_leaving_grants", "medical_levies", "police_reference", "police_disability_pension", "calendar", *LEVEL_TABLES,
                   "iit_bonus_brackets",
                   # issue 14
                   "leave_days", "sick_pay", "maternity", "probation", "annual_leave_entitlement",
                   "annual_leave_policy", "non_work_death"}

PLACES = {"money": 2, "rate": 6}


def resolve_tables_dir(tables: str | os.PathLike | None) -> Path:
    return Path(tables or os.environ.get("PAYROLL_TABLES") or SHIPPED_TABLES)


def _parse_cell(col: Column, raw: str, file: str, row: int, problems: list[CellProblem]):
    text = raw.strip()
    if text == "":
        if col.required:
            problems.append(CellProblem(file, row, col.name, "is empty"))
        return None
    try:
        if col.kind in ("money", "rate"):
            value = Decimal(text)
            if not value.is_finite():
                raise InvalidOperation
            if -value.as_tuple().exponent > PLACES[col.kind]:
                problems.append(CellProblem(file, row, col.name,
                                            f"{text!r} has more than {PLACES[col.kind]} decimal places"))
                return None
            if value < 0:
                problems.append(CellProblem(file, row, col.name, f"{text!r} is negative"))
                return None
            return value
        if col.kind == "int":
            return int(text)
        if col.kind == "date":
            return date.fromisoformat(text)
        if col.kind == "enum" and text not in col.choices:
            problems.append(CellProblem(file, row, col.name,
                                        f"{text!r} is not one of {', '.join(col.choices)}"))
            return None
    except (ValueError, InvalidOperation):
        expected = {"money": "an amount in yuan", "rate": "a decimal number", "int": "a whole number",
                    "date": "a date YYYY-MM-DD"}[col.kind]
        problems.append(CellProblem(file, row, col.name, f"{text!r} is not {expected}"))
        return None
    return text


def _read_table(path: Path, columns: tuple[Column, ...], problems: list[CellProblem]) -> pd.DataFrame:
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig").fillna("")
    except UnicodeDecodeError as error:
        # SPEC: policy tables are UTF-8; a table saved from Excel as GBK must not end in a traceback
        problems.append(CellProblem(path.name, None, None, f"is not UTF-8 text (byte {error.start}): "
                                                           f"save it as CSV UTF-8"))
        return pd.DataFrame()
    for col in columns:
        if not col.in_header and col.name not in raw.columns:
            raw[col.name] = ""
    missing = [c.name for c in columns if c.name not in raw.columns]
    for name in missing:
        problems.append(CellProblem(path.name, 1, name, "column is missing from the header"))
    if missing:
        return pd.DataFrame()
    records = []
    for index, values in enumerate(raw.to_dict("records")):
        line = index + 2
        record = {"row_no": line}
        for col in columns:
            record[col.name] = _parse_cell(col, values[col.name], path.name, line, problems)
        records.append(record)
    frame = pd.DataFrame.from_records(records, columns=["row_no"] + [c.name for c in columns])
    if "status" in frame.columns:
        frame["status"] = _default_status(frame)
    return frame


def _default_status(frame: pd.DataFrame) -> pd.Series:
    """A row without a status: `sample` where its source starts with "sample:" (the convention of
    tables made before the status column), else `official` (a user's own figures)."""
    derived = frame.source.fillna("").str.startswith("sample:").map({True: "sample", False: "official"})
    return frame.status.where(frame.status.notna(), derived)


@dataclass
class Policy:
    """The validated policy tables of one directory."""

    directory: Path
    frames: dict[str, pd.DataFrame]
    digest: str
    chain: pd.DataFrame = field(default_factory=pd.DataFrame)   # region_code, ancestor_code, depth
    warnings: list[str] = field(default_factory=list)          # pay-structure gaps below the minimum
    # what is derived from the frames, computed once per Policy object (its tables never change
    # once loaded): month_digest by month and the rows as JSON it hashes, change_dates, and the
    # lookups other modules memoise on it (levels.rules)
    _month_digests: dict = field(default_factory=dict, repr=False, compare=False)
    _rows_as_json: dict = field(default_factory=dict, repr=False, compare=False)
    _change_dates: list | None = field(default=None, repr=False, compare=False)
    _change_days_by_table: dict | None = field(default=None, repr=False, compare=False)
    lookups: dict = field(default_factory=dict, repr=False, compare=False)
    # what a run on a fresh connection installs, made once per Policy (issue 17: most runs, and
    # every test, start on a new connection): the tables as the connection holds them (Arrow, cast
    # to their SQL types), the snapshot rows by digest, and the month's parameter tables by stretch
    # of days with the same rows in force (engine/context.py)
    _installed_forms: dict = field(default_factory=dict, repr=False, compare=False)
    _snapshot_rows: dict = field(default_factory=dict, repr=False, compare=False)
    month_parameters: dict = field(default_factory=dict, repr=False, compare=False)
    # values derived from the tables alone, by key (the tables cast for installing, each month's
    # digest, the run's sample-figure warnings): shared by the copies load_policy hands out and kept
    # in a file beside the on-disk cache, so the next command reads them instead of making them
    # again (issue 17). A Policy made otherwise (with_frames, tests) keeps them for its life only.
    _derived: "DerivedValues" = field(default_factory=lambda: DerivedValues(None), repr=False, compare=False)

    def region_codes(self) -> set[str]:
        return set(self.frames["regions"].region_code)

    def region_names(self) -> dict[str, str]:
        return dict(zip(self.frames["regions"].region_code, self.frames["regions"].name))

    def posts(self) -> pd.DataFrame:
        return self.frames["posts"]

    def levels(self, region_code: str, category: str) -> set[int]:
        """Levels on the pay scale for this region (through its chain) and category, any date."""
        ancestors = set(self.chain[self.chain.region_code == region_code].ancestor_code)
        scale = self.frames["pay_scale"]
        rows = scale[scale.region_code.isin(ancestors) & (scale.category == category)]
        return set(int(v) for v in rows.level)

    def change_dates(self) -> list:
        """Every day on which the rows in force change: a row's effective_from, and the day after a
        row's valid_until. Between two such days the month's parameter tables are the same."""
        if self._change_dates is None:
            self._change_dates = sorted(set().union(*self.change_days_by_table().values()))
        return self._change_dates

    def change_days_by_table(self) -> dict[str, list[date]]:
        """change_dates table by table (engine/context.py rebuilds what reads a changed table)."""
        if self._change_days_by_table is None:
            self._change_days_by_table = change_days_by_table(self.frames)
        return self._change_days_by_table

    def month_digest(self, month_start: date) -> str:
        """Digest of the rows a month starting on `month_start` can read (issue 17): retro pay
        recomputes a closed month only when this changes, so editing a 2026 row leaves 2025 alone.

        A superset of what the engine reads, never less: per table and key (the unique key less
        effective_from), the latest row on or before the 1st with any later rows whose source has
        lapsed above it (rows_in_force_sql skips a lapsed row, the leave rules' lookup does not);
        the annual-leave tables up to 31 December (the payout day and the carry read the year's
        end); the calendar through the month's year; undated tables whole."""
        if month_start not in self._month_digests:
            # every row as JSON costs ~0.2 s a process: an earlier command's digest is read instead
            self._month_digests[month_start] = self.derived(("month digest", month_start),
                                                            lambda: self._rows_in_force_digest(month_start))
        return self._month_digests[month_start]

    def _rows_in_force_digest(self, month_start: date) -> str:
        sha = hashlib.sha256(b"rows in force v1")
        if not self._rows_as_json:
            self._rows_as_json.update({name: _rows_as_json(frame) for name, frame in self.frames.items()})
        for name in sorted(self.frames):
            sha.update(f"\x00{name}\x00".encode())
            for record in _rows_month_reads(name, self.frames[name].columns, self._rows_as_json[name],
                                            month_start):
                sha.update(record["_json"].encode())
        return sha.hexdigest()[:16]

    def derived(self, key: tuple, compute: Callable[[], Any]) -> Any:
        """compute(), for a value that depends on these tables and `key` alone (never on a
        database), made once: an earlier command's value is read from beside the on-disk cache."""
        return self._derived.get(key, compute)

    def use_calendar(self) -> None:
        """Make this directory's calendar.csv the one the calendar functions read."""
        from .calendar import use_calendar_table
        use_calendar_table(self.frames.get("calendar"), str(self.directory / "calendar.csv"))

    def with_frames(self, replaced: dict[str, pd.DataFrame], label: str) -> "Policy":
        """A Policy with some tables replaced (budget scenarios): the other frames are shared, not
        copied; the digest covers the original digest, the label and the replaced tables."""
        sha = hashlib.sha256(f"{self.digest}:{label}".encode())
        for name in sorted(replaced):
            sha.update(name.encode())
            sha.update(replaced[name].to_csv(index=False).encode())
        return Policy(self.directory, {**self.frames, **replaced}, sha.hexdigest()[:16], self.chain,
                      list(self.warnings))

    def install(self, con: duckdb.DuckDBPyConnection) -> None:
        """Create the temporary tables policy_<name> and region_chain in this connection, unless
        these very tables (same digest) are installed already: a connection that runs month after
        month (retro pay, tests, the web office) installs them once."""
        # (asked, not tried: a failed query would abort the caller's transaction)
        if table_exists(con, "policy_installed") and \
                con.execute("SELECT digest FROM policy_installed").fetchall() == [(self.digest,)]:
            return
        for name, table in self._installed_tables(con).items():
            create_temp_table(con, name, table)
        con.execute("CREATE OR REPLACE TEMP TABLE policy_installed AS SELECT ? AS digest", [self.digest])

    def _installed_tables(self, con: duckdb.DuckDBPyConnection) -> dict[str, pa.Table]:
        """policy_<name> and region_chain as a connection holds them, cast once per Policy: an
        install then copies typed Arrow columns instead of casting Python Decimal and date objects
        (a quarter of the cost)."""
        if not self._installed_forms:
            # the casts read the tables, and DuckDB's and Arrow's versions: made once, kept on disk
            self._installed_forms.update(self.derived(("installed tables", duckdb.__version__, pa.__version__),
                                                      lambda: self._cast_tables(con)))
        return self._installed_forms

    def _cast_tables(self, con: duckdb.DuckDBPyConnection) -> dict[str, pa.Table]:
        casts = {f"policy_{name}": _cast_select(TABLES[name]) for name in self.frames}
        casts["region_chain"] = "SELECT region_code, ancestor_code, CAST(depth AS INTEGER) AS depth"
        frames = {f"policy_{name}": frame for name, frame in self.frames.items()}
        frames["region_chain"] = self.chain
        forms = {}
        for name, select in casts.items():
            con.register("_policy_frame", frames[name])
            forms[name] = con.sql(f"{select} FROM _policy_frame").to_arrow_table()
            con.unregister("_policy_frame")
        return forms

    def snapshot_rows(self) -> pa.Table:
        """Every row as JSON, for the persistent policy_snapshots table (explain reads it later):
        tables_digest, table_name, row_no, row_json. Made once per Policy (Arrow: shared, never
        changed)."""
        if self.digest not in self._snapshot_rows:
            self._snapshot_rows[self.digest] = self._make_snapshot_rows()
        return self._snapshot_rows[self.digest]

    def _make_snapshot_rows(self) -> pa.Table:
        names, row_numbers, texts = [], [], []
        for name, frame in self.frames.items():
            for record in frame.to_dict("records"):
                names.append(name)
                row_numbers.append(int(record["row_no"]))
                texts.append(json.dumps({k: _jsonable(v) for k, v in record.items() if k != "row_no"},
                                        ensure_ascii=False))
        return pa.table({"tables_digest": pa.array([self.digest] * len(names), pa.string()),
                         "table_name": pa.array(names, pa.string()), "row_no": pa.array(row_numbers, pa.int32()),
                         "row_json": pa.array(texts, pa.string())})


def change_days_by_table(frames: dict[str, pd.DataFrame]) -> dict[str, list[date]]:
    """Per table, the days its rows in force change: each row's effective_from and the day after
    its valid_until (the policy's frames, or the frames rebuilt from a run's snapshot)."""
    days = {}
    for name, frame in frames.items():
        found = set()
        if "effective_from" in frame:
            found.update(pd.Timestamp(d).date() for d in frame.effective_from if not pd.isna(d))
        if "valid_until" in frame:
            found.update(pd.Timestamp(d).date() + timedelta(days=1) for d in frame.valid_until if not pd.isna(d))
        days[name] = sorted(found)
    return days


def _cast_select(columns: tuple[Column, ...]) -> str:
    return "SELECT " + ", ".join(["CAST(row_no AS INTEGER) AS row_no"] +
                                 [f"CAST({c.name} AS {c.sql_type}) AS {c.name}" for c in columns])


def create_temp_table(con: duckdb.DuckDBPyConnection, name: str, table: pa.Table, select: str = "SELECT *") -> None:
    """CREATE OR REPLACE TEMP TABLE name AS `select` FROM an Arrow table. DuckDB reads the local
    variable by its name (a replacement scan), half the cost of registering and unregistering it;
    the name is one no database table has (a table of that name would be read instead)."""
    _arrow_table_to_install = table  # noqa: F841 (DuckDB reads it by its name)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {select} FROM _arrow_table_to_install")


# tables read on days after the 1st of the month: the annual-leave payout day (up to 31 December)
# and the carry of earlier years (rules/leave.py)
_READ_TO_YEAR_END = ("annual_leave_entitlement", "annual_leave_policy")


def _rows_as_json(frame: pd.DataFrame) -> list[dict]:
    """The table's rows in file order, each with its content as JSON under `_json`."""
    records = sorted(frame.to_dict("records"), key=lambda r: r["row_no"])
    for record in records:
        record["_json"] = json.dumps({k: _jsonable(v) for k, v in record.items()}, ensure_ascii=False,
                                     sort_keys=True) + "\n"
    return records


def _rows_month_reads(name: str, columns, records: list[dict], month_start: date) -> list[dict]:
    """The rows of one table a month can read, in file order (Policy.month_digest)."""
    if name == "calendar":
        year_end = date(month_start.year, 12, 31)
        records = [r for r in records if r["date"] is None or r["date"] <= year_end]
    elif "effective_from" in columns:
        records = _dated_rows_read(name, records, month_start)
    elif name == "national_statistics":
        records = [r for r in records if r["year"] is None or r["year"] <= month_start.year]
    return sorted(records, key=lambda r: r["row_no"])


def _dated_rows_read(name: str, records: list[dict], month_start: date) -> list[dict]:
    if name in _READ_TO_YEAR_END:
        year_end = date(month_start.year, 12, 31)
        return [r for r in records if r["effective_from"] <= year_end]
    key = [k for k in UNIQUE_KEYS.get(name, ("region_code",)) if k != "effective_from"]
    groups: dict[tuple, list[dict]] = {}
    for record in records:
        if record["effective_from"] <= month_start:
            groups.setdefault(tuple(str(record.get(k)) for k in key), []).append(record)
    read = []
    for rows in groups.values():
        for record in sorted(rows, key=lambda r: r["effective_from"], reverse=True):
            read.append(record)
            lapsed = not _missing(record.get("valid_until")) and record["valid_until"] < month_start
            if not lapsed:
                break
    return read


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NaT


def _jsonable(value):
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, (Decimal, date)):
        return str(value)
    return value


def _region_chain(regions: pd.DataFrame, file: str, problems: list[CellProblem]) -> pd.DataFrame:
    parent = {code: (None if pd.isna(up) else up) for code, up in zip(regions.region_code, regions.parent_code)}
    line = dict(zip(regions.region_code, regions.row_no))
    rows = []
    for code in parent:
        seen, current, depth = [], code, 0
        while current:
            if current in seen:
                problems.append(CellProblem(file, int(line[code]), "parent_code", "regions form a cycle"))
                break
            if current not in parent:
                problems.append(CellProblem(file, int(line[code]), "parent_code",
                                            f"parent {current!r} is not a region in the file"))
                break
            seen.append(current)
            rows.append((code, current, depth))
            current, depth = parent[current], depth + 1
    return pd.DataFrame(rows, columns=["region_code", "ancestor_code", "depth"])


def _digest(directory: Path) -> str:
    sha = hashlib.sha256()
    for path in sorted(directory.glob("*.csv")):
        sha.update(path.name.encode())
        sha.update(path.read_bytes())
    return sha.hexdigest()[:16]


# (directory, digest) -> a validated Policy: the digest hashes every table file's bytes, so a
# directory read and checked once needs no second reading while its files are unchanged (one
# process that runs, simulates and explains loads the same tables several times)
_LOADED: dict[tuple[str, str], Policy] = {}


def load_policy(tables: str | os.PathLike | None = None) -> Policy:
    """Read and validate every policy table; raise InputError listing every bad cell."""
    directory = resolve_tables_dir(tables)
    if not directory.is_dir():
        raise PolicyError(f"policy tables directory {directory} does not exist")
    key = (str(directory.resolve()), _digest(directory))
    if key not in _LOADED:
        if len(_LOADED) >= 8:
            _LOADED.pop(next(iter(_LOADED)))
        cache = _cache_file(*key)
        _LOADED[key] = _read_cached(cache) or _cached(_read_policy(directory, key[1]), cache)
        _LOADED[key]._derived = DerivedValues(_derived_path(cache))
    loaded = _LOADED[key]
    # a copy (its frames dict and warnings list are its own), sharing what is derived from the same
    # tables, so each load does not make it again: a changed table goes through with_frames, a new
    # Policy with nothing derived yet, never through an edit of these frames
    policy = Policy(loaded.directory, dict(loaded.frames), loaded.digest, loaded.chain, list(loaded.warnings),
                    _installed_forms=loaded._installed_forms, _snapshot_rows=loaded._snapshot_rows,
                    month_parameters=loaded.month_parameters, _derived=loaded._derived)
    policy.use_calendar()
    return policy


# Every command is a new process: reading and checking the tables cost ~0.3 s of CPU each time. A
# validated Policy is kept on disk, named by the hash of its directory, the digest of its files and
# engine_version() (the package's sources), so an edited table or a new version of the code is
# read and checked anew. PAYROLL_CACHE_DIR moves the cache (default: ~/.cache/fujing-payroll);
# PAYROLL_CACHE_DIR=off turns it off. It holds only what the tables say, never personal data.
CACHE_FILES_KEPT = 32


def _cache_file(directory: str, digest: str) -> Path | None:
    root = os.environ.get("PAYROLL_CACHE_DIR") or \
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "fujing-payroll"
    if str(root) == "off":
        return None
    from .engine.ledger import engine_version
    name = hashlib.sha256(f"{directory}\0{digest}\0{engine_version()}".encode()).hexdigest()[:24]
    return Path(root) / f"policy-{name}.pickle"


def _read_cached(cache: Path | None) -> Policy | None:
    if cache is None or not cache.is_file():
        return None
    try:
        with open(cache, "rb") as handle:
            policy = pickle.load(handle)
        return policy if isinstance(policy, Policy) else None
    except Exception:           # a damaged or foreign file: read the tables instead
        return None


def _cached(policy: Policy, cache: Path | None) -> Policy:
    """Write the validated policy to the cache (atomically; a read-only home just skips it)."""
    if cache is None:
        return policy
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=cache.parent, prefix=".policy-", delete=False) as handle:
            pickle.dump(policy, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(handle.name, cache)
        kept = sorted(cache.parent.glob("policy-*.pickle"), key=lambda path: path.stat().st_mtime, reverse=True)
        for old in kept[CACHE_FILES_KEPT:]:
            old.unlink(missing_ok=True)
            _derived_path(old).unlink(missing_ok=True)
    except OSError:
        pass
    return policy


# Policy.derived's values, beside the policy they were derived from: derived-<same name>.pickle
DERIVED_KEPT = 256


class DerivedValues:
    """Policy.derived's values and their file (None: kept in memory only). The file is read at the
    first value asked, written again when a value is made."""

    def __init__(self, path: Path | None):
        self.path, self.values, self.read = path, {}, path is None

    def get(self, key: tuple, compute: Callable[[], Any]) -> Any:
        if key not in self.values and not self.read:
            self.values.update(_read_derived(self.path))
            self.read = True
        if key not in self.values:
            self.values[key] = compute()
            while len(self.values) > DERIVED_KEPT:
                self.values.pop(next(iter(self.values)))
            _write_derived(self.path, self.values)
        return self.values[key]


def _derived_path(cache: Path | None) -> Path | None:
    return None if cache is None else cache.with_name("derived-" + cache.name.removeprefix("policy-"))


def _read_derived(path: Path) -> dict:
    try:
        with open(path, "rb") as handle:
            values = pickle.load(handle)
        return values if isinstance(values, dict) else {}
    except Exception:           # none yet, damaged or foreign: compute the values again
        return {}


def _write_derived(path: Path | None, values: dict) -> None:
    """Atomically, as _cached; two commands writing at once lose at most a value, made again later."""
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".derived-", delete=False) as handle:
            pickle.dump(values, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(handle.name, path)
    except OSError:
        pass


def _read_policy(directory: Path, digest: str) -> Policy:
    problems: list[CellProblem] = []
    frames = {}
    for name, columns in TABLES.items():
        path = directory / f"{name}.csv"
        if not path.exists() and name in OPTIONAL_TABLES:
            frames[name] = pd.DataFrame(columns=["row_no"] + [c.name for c in columns])
            continue
        if not path.exists():
            problems.append(CellProblem(str(path), None, None, "file is missing"))
            continue
        frames[name] = _read_table(path, columns, problems)
    if problems:
        raise InputError(problems)
    chain = _region_chain(frames["regions"], "regions.csv", problems)
    _check_references(frames, problems)
    check_tables(frames, problems)
    if problems:
        raise InputError(problems)
    # issue 16: an indexed pay scale becomes pay_scale rows; then each level must pay at least the
    # one below it (payroll/pay_structure.py)
    from .pay_structure import check_level_tables, check_pay_structure, indexed_pay_scale
    frames["pay_scale"] = indexed_pay_scale(frames, chain, problems)
    check_level_tables(frames, problems)
    warnings = check_pay_structure(frames, chain, problems) if not problems else []
    if problems:
        raise InputError(problems)
    return Policy(directory, frames, digest, chain, warnings)


def _check_references(frames: dict[str, pd.DataFrame], problems: list[CellProblem]) -> None:
    known = set(frames["regions"].region_code)
    for name, frame in frames.items():
        if "region_code" in frame.columns and name != "regions":
            for _, row in frame[~frame.region_code.isin(known)].iterrows():
                problems.append(CellProblem(f"{name}.csv", int(row.row_no), "region_code",
                                            f"{row.region_code!r} is not in regions.csv"))
    si = frames["social_insurance"]
    for _, row in si[si.fund.isin(["injury", "maternity"]) & (si.employee_rate != 0)].iterrows():
        problems.append(CellProblem("social_insurance.csv", int(row.row_no), "employee_rate",
                                    f"{row.fund} has no employee share (社会保险法 arts. 33, 53); must be 0"))
