"""What the rules see: one row per person paid in the month, with inputs, calendar, table values
in force and the person's history. Built in DuckDB from small per-month parameter tables.

Table values are resolved once per month for every region (most specific region on the chain,
then the latest effective_from on or before the first day of the month) and then joined to the
roster, so a month of a million people reads each policy row once.
"""
from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, timedelta

import duckdb
import pyarrow as pa

from ..db import scalar, table_exists
from ..errors import PayrollError, PolicyError
from ..policy import FUND_ZH, FUNDS, Policy, create_temp_table, rows_in_force_sql
from ..rules import (accident_insurance, arrears, death, deductions, injury_pay, leave, medical_levy, one_off, pay,
                     performance_pay, probation)
from .rule import ContextColumn

# national_parameters the month needs, with the unit the engine keeps them in
NATIONAL_PARAMETERS = {
    "pay_days_per_month": "ppm", "hours_per_day": "ppm",
    "overtime_workday_rate": "ppm", "overtime_restday_rate": "ppm", "overtime_holiday_rate": "ppm",
    "iit_basic_deduction_monthly": "fen", "iit_no19_annual_deduction": "fen", "iit_no19_income_limit": "fen",
    # issue 13: bonus method allowed (1/0), severance exemption multiple, art. 16 deduction share
    "annual_bonus_separate_allowed": "ppm", "severance_exempt_average_wage_multiple": "ppm",
    "deduction_limited_share": "ppm",
}
SCALE = {"fen": 100, "ppm": 1_000_000, "centi": 100}
MONTH_YEARS = (1900, 2999)          # the years a month may name (a sanity range, not policy)


@dataclass(frozen=True)
class Month:
    label: str          # YYYY-MM
    start: date
    end: date

    @classmethod
    def parse(cls, text: str) -> "Month":
        try:
            year, month = (int(part) for part in text.split("-"))
            start = date(year, month, 1)
        except ValueError:
            raise PayrollError(f"{text!r} is not a month YYYY-MM") from None
        if len(text) != 7:
            raise PayrollError(f"{text!r} is not a month YYYY-MM")
        if not MONTH_YEARS[0] <= year <= MONTH_YEARS[1]:
            # 9999-12 would overflow the date type one month later: refuse it as input, not a traceback
            raise PayrollError(f"{text!r} is out of range: months from {MONTH_YEARS[0]} to {MONTH_YEARS[1]}")
        following = date(year + (month == 12), month % 12 + 1, 1)
        return cls(text, start, following - timedelta(days=1))

    @property
    def year(self) -> int:
        return self.start.year

    def previous(self) -> "Month":
        return Month.parse((self.start - timedelta(days=1)).strftime("%Y-%m"))

    def next(self) -> "Month":
        return Month.parse((self.end + timedelta(days=1)).strftime("%Y-%m"))


def _c(name, unit, zh, en, source, reads=(), stored=True):
    return ContextColumn(name, unit, zh, en, source, tuple(reads), stored and unit != "rows")


def _table_value(name, unit, zh, en, source, reads):
    """A rate, floor or national figure: the same for many people, found again through its row."""
    return _c(name, unit, zh, en, source, reads, stored=False)


def _fund_columns(fund: str) -> list[ContextColumn]:
    zh, reads = FUND_ZH[fund], [f"{fund}_row"]
    return [
        _table_value(f"{fund}_employer_rate", "ppm", f"单位{zh}费率", f"{fund} employer rate", "social_insurance", reads),
        _table_value(f"{fund}_employee_rate", "ppm", f"个人{zh}费率", f"{fund} employee rate", "social_insurance", reads),
        _table_value(f"{fund}_base_floor", "fen", f"{zh}缴费基数下限", f"{fund} base floor", "social_insurance", reads),
        _table_value(f"{fund}_base_ceiling", "fen", f"{zh}缴费基数上限", f"{fund} base ceiling", "social_insurance", reads),
        _c(f"{fund}_row", "int", f"{zh}保险表行", f"social_insurance row for {fund}", "social_insurance"),
    ]


def _base_year_columns(prefix: str) -> list[ContextColumn]:
    """The base year in force and the pay that derives a base from it (contribution_years_sql)."""
    zh, table = {"contribution": ("社保", "social_insurance"), "housing_fund": ("公积金", "housing_fund")}[prefix]
    return [
        _c(f"{prefix}_year_start", "date", f"{zh}缴费年度起始", f"Start of the {prefix} base year", table),
        _c(f"{prefix}_year_months", "int", f"{zh}缴费年度前12个月发薪月数",
           f"Months paid in the 12 months before the {prefix} base year", "payslips"),
        _c(f"{prefix}_year_gross", "fen", f"{zh}缴费年度前12个月应发合计（不含生育津贴）",
           f"Gross pay less maternity allowance, 12 months before the {prefix} base year", "payslips"),
        _c(f"{prefix}_year_first_full_gross", "fen", f"本{zh}缴费年度首个整月应发",
           f"Gross of the {prefix} base year's first whole month", "payslips"),
    ]


CONTEXT_COLUMNS: list[ContextColumn] = [
    _c("employee_id", "text", "工号", "Employee ID", "employees"),
    _c("month", "text", "月份", "Month", "run"),
    _c("month_start", "date", "月初", "First day of the month", "run"),
    _c("region_code", "text", "地区代码", "Region", "employees"),
    _c("unit", "text", "单位", "Unit", "employees"),
    _c("category", "text", "类别", "Category", "employees"),
    _c("level", "int", "层级", "Level", "employees"),
    _c("post", "text", "岗位", "Post", "employees"),
    _c("risk_class", "text", "岗位风险", "Risk class of the post", "posts", ["posts_row"]),
    _c("posts_row", "int", "岗位表行", "posts row", "posts"),
    _c("hire_date", "date", "入职日期", "Hire date", "employees"),
    _c("leave_date", "date", "离职日期", "Leave date", "employees"),
    _c("service_start", "date", "工龄起算日期", "Service start", "employees"),
    _c("special_deduction", "fen", "专项附加扣除", "Special additional deduction", "employees"),
    _c("declared_base", "fen", "申报缴费基数", "Declared contribution base", "employees"),
    _c("unpaid_leave_days", "centi", "无薪假天数", "Unpaid leave days", "attendance"),
    _c("overtime_workday_hours", "centi", "工作日加班小时", "Workday overtime hours", "attendance"),
    _c("overtime_restday_hours", "centi", "休息日加班小时", "Rest-day overtime hours", "attendance"),
    _c("overtime_holiday_hours", "centi", "节假日加班小时", "Holiday overtime hours", "attendance"),
    _c("night_shifts", "int", "夜班次数", "Night shifts", "attendance"),
    _c("bonus", "fen", "奖金", "Bonus", "attendance"),
    _c("paid_days_in_month", "int", "当月计薪日", "Paid days in the month", "calendar"),
    _c("paid_days_employed", "int", "在职计薪日", "Paid days employed", "calendar"),
    _c("base_pay_full", "fen", "层级工资标准", "Base pay, full month", "pay_scale", ["pay_scale_row"]),
    _c("pay_scale_row", "int", "薪级表行", "pay_scale row", "pay_scale"),
    _c("minimum_wage", "fen", "月最低工资标准", "Monthly minimum wage", "minimum_wage", ["minimum_wage_row"]),
    _c("minimum_wage_row", "int", "最低工资表行", "minimum_wage row", "minimum_wage"),
    _table_value("average_wage_monthly", "fen", "当地上年职工月平均工资", "Local average monthly wage",
                 "average_wage", ["average_wage_row"]),
    _c("average_wage_row", "int", "平均工资表行", "average_wage row", "average_wage"),
    _c("seniority_rate_per_year", "fen", "工龄工资标准（每年）", "Seniority pay per year", "allowances", ["allowances_rows"]),
    _c("allowances_full", "fen", "津贴补贴标准", "Allowances, full month", "allowances", ["allowances_rows"]),
    _c("high_risk_allowance_full", "fen", "高危津贴标准", "High-risk allowance, full month", "allowances", ["allowances_rows"]),
    _c("night_shift_rate", "fen", "夜班费标准（每班）", "Pay per night shift", "allowances", ["allowances_rows"]),
    _c("allowances_rows", "rows", "津贴表行", "allowances rows", "allowances"),
    _c("accident_premium_monthly", "fen", "意外险月保费", "Accident premium a month", "accident_insurance", ["accident_insurance_rows"]),
    _c("accident_insurance_rows", "rows", "意外险表行", "accident_insurance rows", "accident_insurance"),
    *[col for fund in FUNDS for col in _fund_columns(fund)],
    _table_value("housing_fund_employer_rate", "ppm", "单位公积金比例", "Housing fund employer rate", "housing_fund", ["housing_fund_row"]),
    _table_value("housing_fund_employee_rate", "ppm", "个人公积金比例", "Housing fund employee rate", "housing_fund", ["housing_fund_row"]),
    _table_value("housing_fund_base_floor", "fen", "公积金基数下限", "Housing fund base floor", "housing_fund", ["housing_fund_row"]),
    _table_value("housing_fund_base_ceiling", "fen", "公积金基数上限", "Housing fund base ceiling", "housing_fund", ["housing_fund_row"]),
    _c("housing_fund_row", "int", "公积金表行", "housing_fund row", "housing_fund"),
    *[_table_value(name, unit, name, name.replace("_", " "), "national_parameters", [f"{name}_row"])
      for name, unit in NATIONAL_PARAMETERS.items()],
    *[_c(f"{name}_row", "int", "全国参数表行", f"national_parameters row {name}", "national_parameters")
      for name in NATIONAL_PARAMETERS],
    _c("iit_thresholds", "rows", "预扣率表级距", "Bracket thresholds", "iit_brackets", ["iit_brackets_rows"]),
    _c("iit_rates", "rows", "预扣率", "Bracket rates", "iit_brackets", ["iit_brackets_rows"]),
    _c("iit_quick_deductions", "rows", "速算扣除数", "Quick deductions", "iit_brackets", ["iit_brackets_rows"]),
    _c("iit_brackets_rows", "rows", "税率表行", "iit_brackets rows", "iit_brackets"),
    _c("iit_bonus_thresholds", "rows", "按月换算税率表级距", "Bonus table thresholds (monthly)", "iit_bonus_brackets",
       ["iit_bonus_brackets_rows"]),
    _c("iit_bonus_rates", "rows", "按月换算税率", "Bonus table rates", "iit_bonus_brackets", ["iit_bonus_brackets_rows"]),
    _c("iit_bonus_quick_deductions", "rows", "按月换算速算扣除数", "Bonus table quick deductions", "iit_bonus_brackets",
       ["iit_bonus_brackets_rows"]),
    _c("iit_bonus_brackets_rows", "rows", "按月换算税率表行", "iit_bonus_brackets rows", "iit_bonus_brackets"),
    _c("prev_income_ytd", "fen", "上月累计收入", "Income YTD before this month", "payslips"),
    _c("prev_contributions_ytd", "fen", "上月累计专项扣除", "Contributions YTD before", "payslips"),
    _c("prev_special_deduction_ytd", "fen", "上月累计专项附加扣除", "Special deductions YTD before", "payslips"),
    _c("prev_iit_ytd", "fen", "上月累计已扣个税", "Income tax YTD before", "payslips"),
    _c("prev_months_employed_ytd", "int", "上月累计受雇月份", "Months employed YTD before", "payslips"),
    _c("prior_year_months", "int", "上年发薪月数", "Months paid last year", "payslips"),
    _c("prior_year_gross", "fen", "上年应发合计", "Gross pay last year", "payslips"),
    _c("first_full_month_gross", "fen", "本年首个整月应发", "Gross of this year's first whole month", "payslips"),
    # issue 14: the base year of the insurances and of the housing fund (base_year_start of their rows)
    *[col for prefix in ("contribution", "housing_fund") for col in _base_year_columns(prefix)],
    # work injury (payroll/rules/injury_pay.py builds injury_month_status from the events)
    _c("injury_stoppage", "bool", "停工留薪期", "Work-stoppage period (工伤)", "events"),
    _c("injury_regular_pay_stopped", "bool", "伤残评定后停发原工资", "Regular pay stopped after grading", "events"),
    _c("injury_allowance_share", "fen", "伤残津贴（补差前）", "Disability allowance before the top-up", "events"),
    *arrears.CONTEXT,      # issue 7: arrears of closed months paid this month (rules/arrears.py)
    *probation.CONTEXT,    # issue 14: probation pay ratio (rules/probation.py)
    *leave.CONTEXT,        # issue 14: leave days, sick pay, maternity, untaken annual leave (rules/leave.py)
    *performance_pay.CONTEXT,   # issue 16: the appraisal result and its performance_pay rows
    *one_off.CONTEXT,      # issue 13: one-off payments of the run (rules/one_off.py)
    *deductions.CONTEXT,   # issue 13: deduction kind and the balance owed (rules/deductions.py)
    *medical_levy.CONTEXT,  # issue 15: the fixed medical levies (rules/medical_levy.py)
]
CONTEXT_BY_NAME = {column.name: column for column in CONTEXT_COLUMNS}


def _to_int(expr: str, unit: str) -> str:
    """A policy-table figure (small tables only) as an integer in the engine's unit."""
    return f"CAST({expr} * {SCALE[unit]} AS BIGINT)"


def _scaled(expr: str, unit: str = "fen") -> str:
    """A DECIMAL(≤15, 2) column of the input or payslips tables as integer fen (or hundredths).

    Exact and cheap: x × 100 in DECIMAL(15,2) × DECIMAL(3,0) stays within 18 digits, so DuckDB
    multiplies 64-bit integers (x × 100 with a plain INTEGER literal widens to a 128-bit DECIMAL,
    about 15 times slower; at a million payslips that was over a second of CPU)."""
    assert SCALE[unit] == 100, unit
    return f"CAST(CAST({expr} AS DECIMAL(15,2)) * CAST(100 AS DECIMAL(3,0)) AS BIGINT)"


def _resolve_sql(table: str, keys: tuple[str, ...], month: Month) -> str:
    """Rows in force on the first day of the month, per region and key: most specific region first."""
    return rows_in_force_sql(table, keys, month.start)


# figures the same for everyone in the month: DuckDB variables, which the query binds as constants
# (no join, no per-row work); name -> SQL type
MONTH_CONSTANTS = {
    **{name: "BIGINT" for name in NATIONAL_PARAMETERS},
    **{f"{name}_row": "INTEGER" for name in NATIONAL_PARAMETERS},
    "iit_thresholds": "BIGINT[]", "iit_rates": "BIGINT[]", "iit_quick_deductions": "BIGINT[]",
    "iit_brackets_rows": "INTEGER[]",
    "iit_bonus_thresholds": "BIGINT[]", "iit_bonus_rates": "BIGINT[]", "iit_bonus_quick_deductions": "BIGINT[]",
    "iit_bonus_brackets_rows": "INTEGER[]",
    "paid_days_in_month": "INTEGER", "month_paid_cum": "INTEGER[]", "month_paid": "INTEGER[]",
    "older_payslips": "BOOLEAN",
}


def _constant(name: str) -> str:
    return f"getvariable('month_constants').{name}"


# the policy tables each parameter table reads (region_chain comes from regions); install_month
# rebuilds only the parameter tables whose policy tables changed since the month installed
REGION_TABLES = ("regions", "minimum_wage", "housing_fund", "average_wage", "medical_levies", "social_insurance")
PARAMETER_SOURCES = {
    "resolved_pay_scale": ("regions", "pay_scale"),
    "resolved_allowances": ("regions", "allowances"), "params_allowance_groups": ("regions", "allowances"),
    "resolved_accident": ("regions", "accident_insurance"),
    "params_accident_groups": ("regions", "accident_insurance"),
    **{f"resolved_{table}": ("regions", table)
       for table in ("minimum_wage", "housing_fund", "average_wage", "pay_floor", "social_insurance",
                     "medical_levies")},
    "params_region": REGION_TABLES,
    "params_group": (*REGION_TABLES, "pay_scale", "posts", "allowances", "accident_insurance"),
    "params_national": ("national_parameters",),
    "iit_brackets_in_force": ("iit_brackets",), "iit_bonus_brackets_in_force": ("iit_bonus_brackets",),
}


def install_month_parameters(con: duckdb.DuckDBPyConnection, month: Month,
                             changed: frozenset[str] | None = None) -> None:
    """Create the small per-month parameter tables the context joins, and the month's constants.
    changed: the policy tables whose rows in force changed since the tables were last installed
    (install_month); only the parameter tables reading them are made again. None: all of them."""
    _install_opening_balances(con)

    def temp(name: str, sql: str) -> None:
        if changed is None or changed & set(PARAMETER_SOURCES[name]):
            con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}")

    temp("resolved_pay_scale", _resolve_sql("pay_scale", ("category", "level"), month))
    temp("resolved_allowances", f"""
        SELECT for_region AS region_code, item, applies_to, per, row_no,
               {_to_int('amount', 'fen')} AS amount_fen
        FROM ({_resolve_sql('allowances', ('item',), month)})""")
    temp("resolved_accident", f"""
        SELECT for_region AS region_code, cover, applies_to, row_no,
               {_to_int('annual_premium', 'fen')} AS annual_premium_fen
        FROM ({_resolve_sql('accident_insurance', ('cover',), month)})""")
    temp("params_allowance_groups", pay.allowance_groups_sql("resolved_allowances"))
    temp("params_accident_groups", accident_insurance.premium_groups_sql("resolved_accident"))
    for table in ("minimum_wage", "housing_fund", "average_wage", "pay_floor"):
        temp(f"resolved_{table}", _resolve_sql(table, (), month))
    temp("resolved_social_insurance", _resolve_sql("social_insurance", ("fund",), month))
    temp("resolved_medical_levies", _resolve_sql("medical_levies", (), month))   # issue 15: none, no levy

    fund_columns = ",\n".join(
        f"""max({_to_int('employer_rate', 'ppm')}) FILTER (fund = '{f}') AS {f}_employer_rate,
            max({_to_int('employee_rate', 'ppm')}) FILTER (fund = '{f}') AS {f}_employee_rate,
            max({_to_int('base_floor', 'fen')}) FILTER (fund = '{f}') AS {f}_base_floor,
            max({_to_int('base_ceiling', 'fen')}) FILTER (fund = '{f}') AS {f}_base_ceiling,
            max(row_no) FILTER (fund = '{f}') AS {f}_row""" for f in FUNDS)
    # issue 14: the month the base year (缴费年度) starts, one for the five insurances, one for the
    # housing fund; two different starts among the insurances are refused (check_month_parameters)
    start_month = "CAST(substr(coalesce({}base_year_start, '01-01'), 1, 2) AS INTEGER)"
    temp("params_region", f"""
        WITH regions AS (SELECT DISTINCT region_code FROM region_chain),
        si AS (SELECT for_region, {fund_columns},
                   max({start_month.format('')}) AS contribution_year_month,
                   count(DISTINCT {start_month.format('')}) AS contribution_year_starts
               FROM resolved_social_insurance GROUP BY for_region)
        SELECT r.region_code,
            {_to_int('mw.monthly_minimum_wage', 'fen')} AS minimum_wage, mw.row_no AS minimum_wage_row,
            {_to_int('hf.employer_rate', 'ppm')} AS housing_fund_employer_rate,
            {_to_int('hf.employee_rate', 'ppm')} AS housing_fund_employee_rate,
            {_to_int('hf.base_floor', 'fen')} AS housing_fund_base_floor,
            {_to_int('hf.base_ceiling', 'fen')} AS housing_fund_base_ceiling,
            hf.row_no AS housing_fund_row, {start_month.format('hf.')} AS housing_fund_year_month,
            {_to_int('aw.monthly_average_wage', 'fen')} AS average_wage_monthly, aw.row_no AS average_wage_row,
            coalesce({_to_int('ml.employee_amount', 'fen')}, 0) AS medical_levy_employee_amount,
            coalesce(ml.employee_period, 'month') AS medical_levy_employee_period,
            coalesce({_to_int('ml.employer_amount', 'fen')}, 0) AS medical_levy_employer_amount,
            ml.row_no AS medical_levies_row,
            si.* EXCLUDE (for_region)
        FROM regions r
        LEFT JOIN resolved_minimum_wage mw ON mw.for_region = r.region_code
        LEFT JOIN resolved_housing_fund hf ON hf.for_region = r.region_code
        LEFT JOIN resolved_average_wage aw ON aw.for_region = r.region_code
        LEFT JOIN resolved_medical_levies ml ON ml.for_region = r.region_code
        LEFT JOIN si ON si.for_region = r.region_code""")
    # everything that depends on the person's region, category, level and post, in one row per
    # combination (a few hundred rows), so the roster needs one join for all its table values;
    # sums come back as BIGINT (a HUGEINT sum would make every rule after it 128-bit arithmetic)
    temp("params_group", f"""
        SELECT ps.for_region AS region_code, ps.category, ps.level, po.post,
            po.risk_class, po.row_no AS posts_row,
            {_to_int('ps.base_pay', 'fen')} AS base_pay_full, ps.row_no AS pay_scale_row,
            pr.* EXCLUDE (region_code),
            CAST(ag.seniority_rate_per_year AS BIGINT) AS seniority_rate_per_year,
            CAST(ag.allowances_full AS BIGINT) AS allowances_full,
            CAST(ag.high_risk_allowance_full AS BIGINT) AS high_risk_allowance_full,
            CAST(ag.night_shift_rate AS BIGINT) AS night_shift_rate, ag.allowances_rows,
            CAST(acc.accident_premium_monthly AS BIGINT) AS accident_premium_monthly,
            acc.accident_insurance_rows
        FROM resolved_pay_scale ps
        CROSS JOIN policy_posts po
        JOIN params_region pr ON pr.region_code = ps.for_region
        JOIN params_allowance_groups ag ON ag.region_code = ps.for_region AND ag.category = ps.category
             AND ag.risk_class = po.risk_class
        JOIN params_accident_groups acc ON acc.region_code = ps.for_region AND acc.risk_class = po.risk_class""")

    national = ",\n".join(
        f"max({_to_int('value', unit)}) FILTER (name = '{name}') AS {name}, "
        f"max(row_no) FILTER (name = '{name}') AS {name}_row"
        for name, unit in NATIONAL_PARAMETERS.items())
    temp("params_national", f"""
        SELECT {national} FROM (
            SELECT * FROM policy_national_parameters WHERE effective_from <= DATE '{month.start}'
            QUALIFY row_number() OVER (PARTITION BY name ORDER BY effective_from DESC) = 1)""")
    temp("iit_brackets_in_force", f"""
        SELECT list({_to_int('threshold', 'fen')} ORDER BY threshold) AS iit_thresholds,
               list({_to_int('rate', 'ppm')} ORDER BY threshold) AS iit_rates,
               list({_to_int('quick_deduction', 'fen')} ORDER BY threshold) AS iit_quick_deductions,
               list(row_no ORDER BY threshold) AS iit_brackets_rows
        FROM policy_iit_brackets
        WHERE effective_from = (SELECT max(effective_from) FROM policy_iit_brackets
                                WHERE effective_from <= DATE '{month.start}')""")
    temp("iit_bonus_brackets_in_force", f"""
        SELECT list({_to_int('threshold', 'fen')} ORDER BY threshold) AS iit_bonus_thresholds,
               list({_to_int('rate', 'ppm')} ORDER BY threshold) AS iit_bonus_rates,
               list({_to_int('quick_deduction', 'fen')} ORDER BY threshold) AS iit_bonus_quick_deductions,
               list(row_no ORDER BY threshold) AS iit_bonus_brackets_rows
        FROM policy_iit_bonus_brackets
        WHERE effective_from = (SELECT max(effective_from) FROM policy_iit_bonus_brackets
                                WHERE effective_from <= DATE '{month.start}')""")
    install_month_people(con, month)


def _install_opening_balances(con: duckdb.DuckDBPyConnection) -> None:
    if not table_exists(con, "opening_balances"):   # a connection made without payroll.db.connect
        from ..db import OPENING_BALANCES_DDL
        con.execute(OPENING_BALANCES_DDL.replace("CREATE TABLE", "CREATE TEMP TABLE"))


def tables_changed(policy: Policy, installed: Month | None, month: Month) -> frozenset[str] | None:
    """The policy tables with a row taking effect or lapsing in (installed, month]; None when
    nothing is installed or the month is earlier (every parameter table is made again)."""
    if installed is None or month.start < installed.start:
        return None
    return frozenset(name for name, days in policy.change_days_by_table().items()
                     if any(installed.start < day <= month.start for day in days))


def parameters_unchanged(policy: Policy, installed: Month | None, month: Month) -> bool:
    """Whether the parameter tables installed for `installed` serve `month` too: they depend only on
    the rows in force on the month's first day, so with no row taking effect or lapsing in
    (installed, month] (Policy.change_dates) they are the same tables. install_month_people is still
    the month's own (its calendar, people and constants)."""
    return installed is not None and installed.start <= month.start and \
        not any(installed.start < day <= month.start for day in policy.change_dates())


def install_all_month_parameters(con: duckdb.DuckDBPyConnection, policy: Policy, month: Month) -> None:
    """install_month_parameters with every table made: the first month on a connection, or a month
    explained, traced or paid off-cycle. The tables depend only on the policy rows in force on the
    month's first day, so they are made once per Policy and stretch of days with the same rows
    (Policy.month_parameters) and copied from Arrow after that (issue 17: a quarter of the cost of
    making them)."""
    stretch = bisect_right(policy.change_dates(), month.start)
    saved = policy.month_parameters.get(stretch)
    if saved is None:
        install_month_parameters(con, month)
        policy.month_parameters[stretch] = {name: _saved_table(con, name) for name in PARAMETER_SOURCES}
        _keep_leave_status_columns(con)
        return
    _install_opening_balances(con)
    for name, (table, select) in saved.items():
        create_temp_table(con, name, table, select)
    _install_empty_leave_status(con)
    install_month_people(con, month)


# leave_month_status's columns as its whole query makes them (name, SQL type; the same on every
# connection: they are cast or read from policy tables of fixed types)
_LEAVE_STATUS_COLUMNS: list[tuple[str, str]] = []


def _keep_leave_status_columns(con: duckdb.DuckDBPyConnection) -> None:
    columns = con.execute("SELECT column_name, column_type FROM (DESCRIBE leave_month_status)").fetchall()
    if not _LEAVE_STATUS_COLUMNS and ("sick_row_missing", "BOOLEAN") in columns:   # the whole query's
        _LEAVE_STATUS_COLUMNS[:] = columns          # one assignment: two threads cannot add twice


def _install_empty_leave_status(con: duckdb.DuckDBPyConnection) -> None:
    """The table the leave query makes, with no rows: a month without leave on a fresh connection
    then takes leave.install_month_status's shortcut (empty it) instead of the whole query (issue
    17: most of a first month's leave cost); a month with leave still runs the query."""
    if _LEAVE_STATUS_COLUMNS:
        columns = ", ".join(f'"{name}" {sql_type}' for name, sql_type in _LEAVE_STATUS_COLUMNS)
        con.execute(f"CREATE OR REPLACE TEMP TABLE leave_month_status ({columns})")


def _saved_table(con: duckdb.DuckDBPyConnection, name: str) -> tuple[pa.Table, str]:
    """A parameter table as Arrow, and the SELECT that gives its columns their SQL types back where
    Arrow does not keep them (a HUGEINT sum comes back as DECIMAL(38,0))."""
    _saved_parameter_table = con.sql(f"FROM {name}").to_arrow_table()
    types = con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {name})").fetchall()
    read = dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE FROM _saved_parameter_table)").fetchall())
    columns = [f'"{column}"' if read[column] == sql_type else f'CAST("{column}" AS {sql_type}) AS "{column}"'
               for column, sql_type in types]
    return _saved_parameter_table, "SELECT " + ", ".join(columns)


def install_month(con: duckdb.DuckDBPyConnection, policy: Policy, month: Month,
                  installed: Month | None) -> Month:
    """Everything the month's query joins, checked: the parameter tables rebuilt only when a policy
    row changes since `installed` (parameters_unchanged), the month's people always. Returns the
    month whose parameter tables are now installed (the next call's `installed`)."""
    if parameters_unchanged(policy, installed, month):
        install_month_people(con, month)
        if not _groups_not_checked(con, month):
            return installed            # the same tables, checked already for every group paid now
    else:
        install_month_parameters_after(con, policy, month, installed)
        installed = month
        con.execute("CREATE OR REPLACE TEMP TABLE checked_groups (region_code VARCHAR, category VARCHAR, "
                    "level INTEGER, post VARCHAR)")
    check_month_parameters(con, month)
    con.execute("INSERT INTO checked_groups SELECT * FROM month_groups EXCEPT SELECT * FROM checked_groups")
    return installed


def install_month_parameters_after(con: duckdb.DuckDBPyConnection, policy: Policy, month: Month,
                                   installed: Month | None) -> None:
    """The month's parameter tables where those of `installed` are on the connection: every table
    (the Policy's copies) when nothing is installed, else only the tables reading a policy table
    with a row taking effect or lapsing since (issue 17)."""
    changed = tables_changed(policy, installed, month)
    if changed is None:
        install_all_month_parameters(con, policy, month)
    else:
        install_month_parameters(con, month, changed)


def _groups_not_checked(con: duckdb.DuckDBPyConnection, month: Month) -> bool:
    """Whether someone paid this month has a (region, category, level, post) that no check of the
    installed parameter tables has seen (a hire, a promotion): check_month_parameters's checks read
    only these groups and the parameter tables."""
    return bool(scalar(con, f"SELECT count(*) > 0 FROM (SELECT DISTINCT region_code, category, level, post "
                            f"FROM ({_active_roster_sql(month)}) EXCEPT SELECT * FROM checked_groups)"))


def install_month_people(con: duckdb.DuckDBPyConnection, month: Month) -> None:
    """What depends on the month and the people, not on which policy rows are in force: injury,
    probation and leave status, performance pay, the month's constants and one-off payments. A
    caller that skips install_month_parameters (the tables in force unchanged) still calls this."""
    injury_pay.install_month_status(con, month)
    probation.install_month_status(con, month)
    leave.install_month_status(con, month, _active_roster_sql(month))
    performance_pay.install_month_performance(con, month)
    install_month_constants(con, month)
    one_off.install_month_payments(con, month)        # issue 13: the run's one-off payments


def install_month_constants(con: duckdb.DuckDBPyConnection, month: Month) -> None:
    """National figures, the tax table and the month's calendar as variables of the connection."""
    days = con.execute("SELECT paid, paid_cum FROM calendar_days WHERE day BETWEEN ? AND ? ORDER BY day",
                       [month.start, month.end]).fetchall()
    if len(days) != month.end.day:
        raise PayrollError(f"the calendar of {month.label} is not installed")
    # the one-row tables joined once, not a subquery per figure (a third of the cost); a table
    # without its row gives NULLs as a subquery would
    sources = {name: f"n.{name}" for name in NATIONAL_PARAMETERS}
    sources.update({f"{name}_row": f"n.{name}_row" for name in NATIONAL_PARAMETERS})
    sources.update({name: f"i.{name}"
                    for name in ("iit_thresholds", "iit_rates", "iit_quick_deductions", "iit_brackets_rows")})
    sources.update({name: f"b.{name}"
                    for name in ("iit_bonus_thresholds", "iit_bonus_rates", "iit_bonus_quick_deductions",
                                 "iit_bonus_brackets_rows")})
    sources["paid_days_in_month"] = str(days[-1][1])
    # paid days of the month by day of the month (1-based lists): paid and paid from the 1st through it
    sources["month_paid"] = "[" + ", ".join(str(paid) for paid, _ in days) + "]"
    sources["month_paid_cum"] = "[" + ", ".join(str(cum) for _, cum in days) + "]"
    # payslips before last month in this or last year: only then can someone without a payslip
    # last month have a year to date (history_sql); false skips that lookup entirely
    sources["older_payslips"] = "false"
    if table_exists(con, "payslips"):
        sources["older_payslips"] = (f"EXISTS (SELECT 1 FROM payslips WHERE month >= '{month.year - 1}-01' "
                                     f"AND month < '{month.previous().label}')")
    fields = ", ".join(f"'{name}': CAST({sources[name]} AS {sql_type})" for name, sql_type in MONTH_CONSTANTS.items())
    con.execute(f"SET VARIABLE month_constants = (SELECT {{{fields}}} FROM (SELECT 1) LEFT JOIN params_national n "
                f"ON true LEFT JOIN iit_brackets_in_force i ON true LEFT JOIN iit_bonus_brackets_in_force b ON true)")


def _active_roster_sql(month: Month) -> str:
    # issue 7: the employee records in force in the month (engine/employee_history.py)
    from .employee_history import employees_as_of_sql
    # issue 14: a death ends employment on the day (rules/death.py)
    records = death.roster_with_deaths_sql(employees_as_of_sql(month))
    return (f"SELECT * FROM ({records}) WHERE hire_date <= DATE '{month.end}' "
            f"AND (leave_date IS NULL OR leave_date >= DATE '{month.start}')")


def check_month_parameters(con: duckdb.DuckDBPyConnection, month: Month) -> None:
    """Every figure the month needs must come from a row: name the table, region and month if not."""
    # one pass over the roster: the few hundred combinations of region, category, level and post
    con.execute(f"CREATE OR REPLACE TEMP TABLE month_groups AS SELECT DISTINCT region_code, category, "
                f"level, post FROM ({_active_roster_sql(month)})")
    # every check in one query (issue 17: one statement, not seven): a row per gap, in the order
    # the messages are listed
    missing = [_missing_message(gap, month) for gap in con.execute(_GAPS_SQL).fetchall()]
    if missing:
        shown = "\n  ".join(missing[:30])
        raise PolicyError(f"the policy tables lack figures {month.label} needs:\n  {shown}")


# the figures of params_region each region paid must have: (table named in the message, column)
_REGION_FIGURES = (("minimum_wage", "minimum_wage_row"), ("housing_fund", "housing_fund_row"),
                   *((f"social_insurance ({fund})", f"{fund}_row") for fund in FUNDS))


def _gaps_sql() -> str:
    """Rows (check, item, region_code, category, level, post), one per figure missing for the
    groups paid (month_groups), in the order of check_month_parameters's messages."""
    region_figures = " UNION ALL ".join(
        f"SELECT 3, {item}, region_code, NULL, NULL, NULL FROM paid_regions WHERE {column} IS NULL"
        for item, (_, column) in enumerate(_REGION_FIGURES))
    national = " UNION ALL ".join(
        f"SELECT 6, {item}, NULL, NULL, NULL, NULL FROM params_national HAVING count({name}) = 0"
        for item, name in enumerate(NATIONAL_PARAMETERS))
    return f"""
    WITH paid_regions AS (SELECT DISTINCT p.* FROM month_groups e JOIN params_region p USING (region_code))
    SELECT DISTINCT 1 AS check_no, 0 AS item, e.region_code, NULL, NULL, NULL FROM month_groups e
        LEFT JOIN policy_regions r USING (region_code) WHERE r.region_code IS NULL
    UNION ALL SELECT DISTINCT 2, 0, NULL, NULL, NULL, e.post FROM month_groups e
        LEFT JOIN policy_posts p USING (post) WHERE p.post IS NULL
    UNION ALL {region_figures}
    UNION ALL SELECT 4, 0, region_code, NULL, NULL, NULL FROM paid_regions WHERE contribution_year_starts > 1
    UNION ALL SELECT DISTINCT 5, 0, e.region_code, e.category, e.level, NULL FROM month_groups e
        LEFT JOIN resolved_pay_scale s ON s.for_region = e.region_code AND s.category = e.category
             AND s.level = e.level
        WHERE s.row_no IS NULL
    UNION ALL {national}
    UNION ALL SELECT 7, 0, NULL, NULL, NULL, NULL FROM iit_brackets_in_force
        HAVING count(*) FILTER (iit_thresholds[1] = 0) = 0
    ORDER BY ALL"""


def _missing_message(gap: tuple, month: Month) -> str:
    check, item, code, category, level, post = gap
    if check == 1:
        return f"regions: region {code} is not in the regions table"
    if check == 2:
        return f"posts: post {post!r} is not in the posts table"
    if check == 3:
        return f"{_REGION_FIGURES[item][0]}: no row in force for region {code} in {month.label}"
    if check == 4:
        return (f"social_insurance: the funds in force for region {code} in {month.label} start their "
                f"base year (base_year_start) on different days; the five insurances share one")
    if check == 5:
        return f"pay_scale: no row in force for region {code}, {category} level {level} in {month.label}"
    if check == 6:
        return f"national_parameters: no {list(NATIONAL_PARAMETERS)[item]} in force in {month.label}"
    return f"iit_brackets: no table with a bracket from 0 in force in {month.label}"


_GAPS_SQL = _gaps_sql()


# whom a query computes: everyone (None), one person (explain, the web) or a few (a settlement)
People = str | tuple[str, ...] | None


def _only(people: People, column: str = "employee_id") -> str:
    if not people:
        return ""
    ids = (people,) if isinstance(people, str) else people
    return f" AND {column} IN ({', '.join(chr(39) + i.replace(chr(39), chr(39) * 2) + chr(39) for i in ids)})"


def history_sql(month: Month, payslips_exist: bool, employee_id: People = None,
                offcycle_overlay: bool = False) -> str:
    """Year to date before this month, last year's totals, and this year's first whole month.

    Read from last month's payslip, which carries them forward (its own year to date, and the
    previous-year figures and first whole month it was computed with), so a month reads one month
    of history however long the history is. In January last month's year to date is last year's
    total. People with no payslip last month (new hires, people rehired after a gap) are looked up
    in the older payslips of this and last year, as a full aggregate: the same figures either way.
    Reads context_sql's `roster`. With employee_id (explain), only that person's payslips are read.
    offcycle_overlay (issue 13): an off-cycle run of last month came after its regular run, so its
    year to date is the month's last (engine/offcycle.py); False keeps the regular query as it was.
    """
    if not payslips_exist:
        return """SELECT NULL::VARCHAR AS employee_id, 0::BIGINT AS prev_income_ytd,
                  0::BIGINT AS prev_contributions_ytd, 0::BIGINT AS prev_special_deduction_ytd,
                  0::BIGINT AS prev_iit_ytd, 0::BIGINT AS prev_months_employed_ytd,
                  0::BIGINT AS prior_year_months, NULL::BIGINT AS prior_year_gross,
                  NULL::BIGINT AS first_full_month_gross, 0::BIGINT AS balance_owed_before WHERE false"""
    previous = month.previous()
    year_start, last_year = f"{month.year}-01", month.year - 1
    only = _only(employee_id)
    fen = _scaled
    balance = f"coalesce({fen('balance_owed')}, 0)"      # issue 13: owed across years until recovered
    last_month = "payslips"
    if offcycle_overlay:
        from .offcycle import last_month_overlay_sql
        last_month = last_month_overlay_sql(previous)
    if previous.year == month.year:
        carried = f"""
        SELECT employee_id, {fen('income_ytd')} AS prev_income_ytd,
               {fen('contributions_ytd')} AS prev_contributions_ytd,
               {fen('special_deduction_ytd')} AS prev_special_deduction_ytd,
               {fen('iit_ytd')} AS prev_iit_ytd, months_employed_ytd AS prev_months_employed_ytd,
               prior_year_months, {fen('prior_year_gross')} AS prior_year_gross,
               coalesce({fen('first_full_month_gross')},
                        CASE WHEN paid_days_employed = paid_days_in_month THEN {fen('gross_pay')} END)
                   AS first_full_month_gross, {balance} AS balance_owed_before
        FROM {last_month} WHERE month = '{previous.label}'{only}"""
    else:
        # January: December's count of payslips is last year's; last year's gross is Σ gross_pay less
        # the maternity allowance, a fund benefit and not wage (docs/rules.md), not December's income_ytd, which leaves out tax-exempt income such as the
        # employer disability allowance (财税〔2012〕40号) and so understated the previous-year base
        # and let 公告2020年第19号 apply above its limit. One scan of last year, once a year.
        carried = f"""
        SELECT d.employee_id, 0::BIGINT AS prev_income_ytd, 0::BIGINT AS prev_contributions_ytd,
               0::BIGINT AS prev_special_deduction_ytd, 0::BIGINT AS prev_iit_ytd,
               0::BIGINT AS prev_months_employed_ytd,
               d.months_employed_ytd AS prior_year_months, y.prior_year_gross,
               NULL::BIGINT AS first_full_month_gross, {balance} AS balance_owed_before
        FROM {last_month} d LEFT JOIN (
            SELECT employee_id, CAST(sum({fen('gross_pay')} - coalesce({fen('maternity_allowance')}, 0)) AS BIGINT) AS prior_year_gross FROM payslips
            WHERE month BETWEEN '{last_year}-01' AND '{last_year}-12'{only} GROUP BY employee_id) y
          ON y.employee_id = d.employee_id
        WHERE d.month = '{previous.label}'{_only(employee_id, 'd.employee_id')}"""
    # last month is scanned twice rather than shared: a shared CTE would be materialised whole
    return f"""
    WITH carried AS ({carried}),
    without_last_month AS (
        SELECT employee_id FROM roster      -- context_sql's roster: the records in force this month
        EXCEPT SELECT employee_id FROM payslips WHERE month = '{previous.label}'{only}),
    older AS (
        SELECT * FROM payslips
        WHERE {_constant('older_payslips')} AND month >= '{last_year}-01' AND month < '{previous.label}'{only}
          AND employee_id IN (SELECT employee_id FROM without_last_month)),
    latest AS (
        SELECT employee_id, {fen('income_ytd')} AS prev_income_ytd,
               {fen('contributions_ytd')} AS prev_contributions_ytd,
               {fen('special_deduction_ytd')} AS prev_special_deduction_ytd,
               {fen('iit_ytd')} AS prev_iit_ytd, months_employed_ytd AS prev_months_employed_ytd
        FROM older WHERE month >= '{year_start}'
        QUALIFY row_number() OVER (PARTITION BY employee_id ORDER BY month DESC) = 1),
    prior AS (
        SELECT employee_id, count(*) AS prior_year_months,
               CAST(sum({fen('gross_pay')} - coalesce({fen('maternity_allowance')}, 0)) AS BIGINT) AS prior_year_gross
        FROM older WHERE month BETWEEN '{last_year}-01' AND '{last_year}-12' GROUP BY employee_id),
    owed AS (
        SELECT employee_id, {balance} AS balance_owed_before FROM older
        QUALIFY row_number() OVER (PARTITION BY employee_id ORDER BY month DESC) = 1),
    first_full AS (
        SELECT employee_id, arg_min({fen('gross_pay')}, month) AS first_full_month_gross
        FROM older WHERE month >= '{year_start}' AND paid_days_employed = paid_days_in_month
        GROUP BY employee_id)
    SELECT * FROM carried
    UNION ALL BY NAME
    SELECT employee_id, l.* EXCLUDE (employee_id), p.* EXCLUDE (employee_id), f.* EXCLUDE (employee_id),
           b.balance_owed_before
    FROM latest l FULL JOIN prior p USING (employee_id) FULL JOIN first_full f USING (employee_id)
    FULL JOIN owed b USING (employee_id)"""


def _year_start_sql(month: Month, start_month: str) -> str:
    """The first day of the base year that holds this month, for a year starting in start_month."""
    start_month = f"coalesce({start_month}, 1)"
    return (f"make_date(CASE WHEN {month.start.month} >= {start_month} THEN {month.year} "
            f"ELSE {month.year - 1} END, {start_month}, 1)")


def base_years_sql(month: Month, payslips_exist: bool) -> str:
    """Issue 14: the pay that derives a base in a base year not starting on 1 January (a July
    housing-fund year): the payslips of the twelve months before its start (count, and Σ gross less
    the maternity allowance, as for the calendar year) and the gross of its first whole month so
    far. A year starting 1 January reads history_sql's previous-year figures instead (the same
    figures), so this scan only reads the payslips of people in such regions. Reads `roster`."""
    columns = [f"{prefix}_year_{part}" for prefix in ("contribution", "housing_fund")
               for part in ("months", "gross", "first_full_gross")]
    if not payslips_exist:
        return ("SELECT NULL::VARCHAR AS employee_id, "
                + ", ".join(f"NULL::BIGINT AS {name}" for name in columns) + " WHERE false")
    fen = _scaled
    starts = " UNION ALL ".join(
        f"SELECT region_code, '{prefix}' AS kind, {_year_start_sql(month, f'{prefix}_year_month')} AS year_start "
        f"FROM params_region WHERE coalesce({prefix}_year_month, 1) <> 1" for prefix in ("contribution", "housing_fund"))
    before = "p.month < strftime(b.year_start, '%Y-%m')"
    pivot = ", ".join(f"max({part}) FILTER (kind = '{prefix}') AS {prefix}_year_{part}"
                      for prefix in ("contribution", "housing_fund") for part in ("months", "gross", "first_full_gross"))
    return f"""
    WITH year_starts AS (SELECT e.employee_id, y.kind, y.year_start FROM roster e JOIN ({starts}) y USING (region_code)),
    sums AS (
        SELECT b.employee_id, b.kind, count(*) FILTER ({before}) AS months,
               CAST(sum({fen('p.gross_pay')} - coalesce({fen('p.maternity_allowance')}, 0))
                    FILTER ({before}) AS BIGINT) AS gross,
               arg_min({fen('p.gross_pay')}, p.month) FILTER (NOT {before}
                   AND p.paid_days_employed = p.paid_days_in_month) AS first_full_gross
        FROM year_starts b JOIN payslips p ON p.employee_id = b.employee_id
         AND p.month >= strftime(b.year_start - INTERVAL 12 MONTH, '%Y-%m') AND p.month < '{month.label}'
        GROUP BY b.employee_id, b.kind)
    SELECT employee_id, {pivot} FROM sums GROUP BY employee_id"""


def _base_year_select(month: Month) -> str:
    """The base-year columns: history_sql's calendar-year figures for a year starting 1 January,
    base_years_sql's otherwise."""
    out = []
    calendar = {"months": "coalesce(h.prior_year_months, 0)", "gross": "h.prior_year_gross",
                "first_full_gross": "h.first_full_month_gross"}
    for prefix in ("contribution", "housing_fund"):
        january = f"coalesce(g.{prefix}_year_month, 1) = 1"
        out.append(f"{_year_start_sql(month, f'g.{prefix}_year_month')} AS {prefix}_year_start")
        for part, from_calendar in calendar.items():
            other = f"byr.{prefix}_year_{part}"
            other = f"coalesce({other}, 0)" if part == "months" else other
            out.append(f"CASE WHEN {january} THEN {from_calendar} ELSE {other} END AS {prefix}_year_{part}")
    return ",\n        ".join(out)


def opening_sql(month: Month, employee_id: People = None) -> str:
    """Opening balances (`payroll import --opening`): the year to date a unit brings from its former
    system, through an earlier month of the same tax year (国家税务总局公告2018年第61号 art. 6:
    cumulative withholding counts the whole year with this payer)."""
    fen = _scaled
    return (f"SELECT employee_id, {fen('income_ytd')} AS income_ytd, {fen('contributions_ytd')} AS contributions_ytd, "
            f"{fen('special_deduction_ytd')} AS special_deduction_ytd, {fen('iit_ytd')} AS iit_ytd, "
            f"CAST(months_employed AS BIGINT) AS months_employed_ytd FROM opening_balances "
            f"WHERE year = {month.year} AND month < {month.start.month}{_only(employee_id)}")


def _paid_days_employed_sql(month: Month) -> str:
    """Paid days from max(hire, 1st) to min(leave, month end): the whole month's count for the
    people employed all month, else from the month's calendar by day of the month."""
    start, end = f"DATE '{month.start}'", f"DATE '{month.end}'"
    first = f"day(greatest(e.hire_date, {start}))"
    last = f"day(least(coalesce(e.leave_date, {end}), {end}))"
    cum, paid = _constant("month_paid_cum"), _constant("month_paid")
    return (f"CASE WHEN e.hire_date <= {start} AND (e.leave_date IS NULL OR e.leave_date >= {end}) "
            f"THEN {_constant('paid_days_in_month')} "
            f"ELSE {cum}[{last}] - {cum}[{first}] + {paid}[{first}] END")


def context_sql(month: Month, payslips_exist: bool, employee_id: People = None,
                offcycle_overlay: bool = False) -> str:
    """The SELECT that gives every column of CONTEXT_COLUMNS for the people paid in the month.
    Needs install_month_parameters(con, month) on the connection first."""
    only = _only(employee_id)
    fund_select = ", ".join(f"g.{f}_{part}" for f in FUNDS
                            for part in ("employer_rate", "employee_rate", "base_floor", "base_ceiling", "row"))
    national_select = ", ".join(f"{_constant(name)} AS {name}, {_constant(name + '_row')} AS {name}_row"
                                for name in NATIONAL_PARAMETERS)
    iit_select = ", ".join(f"{_constant(name)} AS {name}" for name in
                           ("iit_thresholds", "iit_rates", "iit_quick_deductions", "iit_brackets_rows",
                            "iit_bonus_thresholds", "iit_bonus_rates", "iit_bonus_quick_deductions",
                            "iit_bonus_brackets_rows"))
    zero = lambda col: f"coalesce(h.{col}, 0) AS {col}"  # noqa: E731
    # no payslip yet this year: the year to date starts from the opening balances, if loaded
    opened = lambda col: f"coalesce(h.prev_{col}, o.{col}, 0) AS prev_{col}"  # noqa: E731
    attendance = lambda col, unit: f"coalesce({_scaled('a.' + col, unit)}, 0) AS {col}"  # noqa: E731
    return f"""
    WITH roster AS ({_active_roster_sql(month)}{only}),
    month_attendance AS (SELECT * FROM attendance WHERE month = '{month.label}'{only}),
    history AS ({history_sql(month, payslips_exist, employee_id, offcycle_overlay)}),
    base_years AS ({base_years_sql(month, payslips_exist)}),
    opening AS ({opening_sql(month, employee_id)})
    SELECT
        e.employee_id, '{month.label}' AS month, DATE '{month.start}' AS month_start,
        e.region_code, e.unit, e.category, e.level, e.post, g.risk_class, g.posts_row,
        e.hire_date, e.leave_date, coalesce(e.service_start, e.hire_date) AS service_start,
        {_scaled('e.special_deduction')} AS special_deduction,
        {_scaled('e.contribution_base')} AS declared_base,
        {attendance('unpaid_leave_days', 'centi')},
        {attendance('overtime_workday_hours', 'centi')},
        {attendance('overtime_restday_hours', 'centi')},
        {attendance('overtime_holiday_hours', 'centi')},
        coalesce(a.night_shifts, 0) AS night_shifts,
        {attendance('bonus', 'fen')}, coalesce({_scaled('a.deduction')}, 0) AS deduction_requested,
        CASE WHEN a.deduction_kind IN ('court', 'damages', 'recovery') THEN a.deduction_kind ELSE 'other' END
            AS deduction_kind,
        {_constant('paid_days_in_month')} AS paid_days_in_month,
        {_paid_days_employed_sql(month)} AS paid_days_employed,
        g.base_pay_full, g.pay_scale_row, g.minimum_wage, g.minimum_wage_row,
        g.average_wage_monthly, g.average_wage_row,
        g.seniority_rate_per_year, g.allowances_full, g.high_risk_allowance_full, g.night_shift_rate,
        g.allowances_rows, g.accident_premium_monthly, g.accident_insurance_rows,
        {fund_select},
        g.housing_fund_employer_rate, g.housing_fund_employee_rate, g.housing_fund_base_floor,
        g.housing_fund_base_ceiling, g.housing_fund_row,
        g.medical_levy_employee_amount, g.medical_levy_employee_period, g.medical_levy_employer_amount,
        g.medical_levies_row,
        {national_select},
        {iit_select},
        {opened('income_ytd')}, {opened('contributions_ytd')}, {opened('special_deduction_ytd')},
        {opened('iit_ytd')}, {opened('months_employed_ytd')}, {zero('prior_year_months')},
        {zero('balance_owed_before')},
        h.prior_year_gross, h.first_full_month_gross,
        {_base_year_select(month)},
        coalesce(ims.injury_stoppage, false) AS injury_stoppage,
        coalesce(ims.injury_regular_pay_stopped, false) AS injury_regular_pay_stopped,
        coalesce(ims.injury_allowance_share, 0) AS injury_allowance_share,
        {arrears.arrears_select('ar')},
        {probation.select_sql('pms')}, {leave.select_sql('lms')},
        {performance_pay.context_select('pm')},
        {one_off.context_select('mp')}
    FROM roster e
    JOIN params_group g ON g.region_code = e.region_code AND g.category = e.category
         AND g.level = e.level AND g.post = e.post
    LEFT JOIN month_attendance a ON a.employee_id = e.employee_id
    LEFT JOIN history h ON h.employee_id = e.employee_id
    LEFT JOIN base_years byr ON byr.employee_id = e.employee_id
    LEFT JOIN opening o ON o.employee_id = e.employee_id
    LEFT JOIN injury_month_status ims ON ims.employee_id = e.employee_id
    LEFT JOIN performance_month pm ON pm.employee_id = e.employee_id
    LEFT JOIN ({arrears.arrears_in_month_sql(month.label)}) ar ON ar.employee_id = e.employee_id
    LEFT JOIN month_payments mp ON mp.employee_id = e.employee_id
    LEFT JOIN probation_month_status pms ON pms.employee_id = e.employee_id
    LEFT JOIN leave_month_status lms ON lms.employee_id = e.employee_id"""
