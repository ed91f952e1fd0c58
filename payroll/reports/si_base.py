"""`payroll export --what si-base --year Y`: the annual contribution-base declaration (缴费基数申报).

Each person's base for year Y is derived from last year's pay as the engine derives it (SPEC
contribution-base rule; rules/social_insurance.py CONTRIBUTION_WAGE): the declared base when the
employees file gives one, else the average monthly gross of Y−1 (total gross ÷ months paid, half-up
to the fen, from the person's latest payslip of Y−1, which carries the year's total), then clamped per
fund to the floor and ceiling in force on 1 January of Y (social_insurance.csv, housing_fund.csv).
The list shows the wage before the clamp, the floor and ceiling, which bound applied, the base
now (the latest payslip of Y−1) and flags every base that changes. People paid in Y−1 and not gone
before Y are listed; a person with no pay last year gets the base from the first full month and is
not on this list. One row per person and fund (the agencies declare 社保 and 公积金 separately).
A fund whose base year does not start on 1 January (base_year_start, e.g. a July housing-fund year;
issue 14) is not declared here: its base changes at its own start, from the twelve months before it.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd

from ..db import scalar, table_exists
from ..engine.context import Month, _resolve_sql
from ..errors import PayrollError, PolicyError
from ..io.idnumber import mask_id_sql
from ..money import round_div
from ..policy import Policy
from .contributions import FUNDS
from .finance_output import Table, columns, write_tables

CLAMP_ZH = {"floor": "按下限", "ceiling": "按上限", "": ""}
COLUMNS = [("employee_id", "工号", "text"), ("name", "姓名", "text"), ("id_number_masked", "身份证号", "text"),
           ("unit", "单位", "text"), ("fund", "险种", "text"), ("source", "基数来源", "text"),
           ("prior_year_gross", "上年应发合计", "money"), ("prior_year_months", "上年月数", "integer"),
           ("wage", "缴费工资（上年月平均）", "money"), ("floor", "基数下限", "money"), ("ceiling", "基数上限", "money"),
           ("clamp", "限额", "text"), ("base", "申报基数", "money"), ("current_base", "现缴费基数", "money"),
           ("changed", "基数变动", "text")]


@dataclass(frozen=True)
class SiBaseExport:
    path: Path
    year: int
    people: int
    changed: int
    clamped: int

    def __str__(self) -> str:
        return (f"si base {self.year}: {self.people:,} people, {self.changed:,} with a changed base, "
                f"{self.clamped:,} person-funds clamped to a floor or ceiling -> {self.path}")


def fund_bounds(policy: Policy, year: int, regions: list[str]) -> dict[tuple[str, str], tuple[int, int]]:
    """(region, fund) -> (floor, ceiling) in fen, in force on 1 January of the year, for the funds
    whose base year starts then (calendar_funds)."""
    con = duckdb.connect(":memory:")
    try:
        policy.install(con)
        month = Month.parse(f"{year}-01")
        rows = con.execute(f"""
            SELECT for_region, fund, CAST(base_floor * 100 AS BIGINT), CAST(base_ceiling * 100 AS BIGINT),
                   coalesce(base_year_start, '01-01')
            FROM ({_resolve_sql('social_insurance', ('fund',), month)})
            UNION ALL
            SELECT for_region, 'housing_fund', CAST(base_floor * 100 AS BIGINT), CAST(base_ceiling * 100 AS BIGINT),
                   coalesce(base_year_start, '01-01')
            FROM ({_resolve_sql('housing_fund', (), month)})""").fetchall()
    finally:
        con.close()
    bounds = {(region, fund): (floor, ceiling) for region, fund, floor, ceiling, _start in rows}
    later = {(region, fund) for region, fund, _floor, _ceiling, start in rows if start != "01-01"}
    for region in regions:
        for fund in FUNDS:
            if (region, fund) not in bounds:
                raise PolicyError(f"{'housing_fund.csv' if fund == 'housing_fund' else 'social_insurance.csv'}: "
                                  f"no {fund} row for region {region} in force on {year}-01-01")
    return {key: value for key, value in bounds.items() if key not in later}


def base_declaration(con: duckdb.DuckDBPyConnection, policy: Policy, year: int) -> list[dict]:
    if not table_exists(con, "payslips") or not scalar(
            con, "SELECT count(*) FROM payslips WHERE month BETWEEN ? AND ?", [f"{year - 1}-01", f"{year - 1}-12"]):
        raise PayrollError(f"no payslips in {year - 1}: the {year} bases are derived from last year's pay; run "
                           f"{year - 1} first")
    people = con.execute(f"""
        SELECT p.employee_id, e.name, {mask_id_sql('e.id_number_masked')} AS id_number_masked, e.unit, e.region_code,
               CAST(round(p.income_ytd * 100) AS BIGINT) AS gross_fen, p.months_employed_ytd AS months,
               CAST(round(e.contribution_base * 100) AS BIGINT) AS declared_fen,
               {", ".join(f"CAST(round(p.{fund}_base * 100) AS BIGINT) AS {fund}_now" for fund in FUNDS)}
        FROM payslips p JOIN employees e USING (employee_id)
        WHERE p.month BETWEEN $first AND $last
          AND (e.leave_date IS NULL OR e.leave_date >= $start)
        QUALIFY row_number() OVER (PARTITION BY p.employee_id ORDER BY p.month DESC) = 1
        ORDER BY e.unit, p.employee_id""",
                         {"first": f"{year - 1}-01", "last": f"{year - 1}-12", "start": f"{year}-01-01"}).df()
    bounds = fund_bounds(policy, year, sorted(set(people["region_code"])))
    rows = []
    for person in people.to_dict("records"):
        declared = person["declared_fen"]
        if declared is not None and not pd.isna(declared):
            wage, source = int(declared), "申报基数 declared"
        else:
            wage, source = round_div(int(person["gross_fen"]), int(person["months"])), "上年月平均工资 previous year"
        for fund, (zh, *_rest) in FUNDS.items():
            if (person["region_code"], fund) not in bounds:     # its base year starts later (issue 14)
                continue
            floor, ceiling = bounds[(person["region_code"], fund)]
            base = min(max(wage, floor), ceiling)
            clamp = "floor" if wage < floor else "ceiling" if wage > ceiling else ""
            now = int(person[f"{fund}_now"])
            rows.append({**person, "fund_key": fund, "fund": zh, "source": source, "wage": wage, "floor": floor,
                         "ceiling": ceiling, "clamp": clamp, "base": base, "current_base": now,
                         "changed": "变动" if base != now else "",
                         "prior_year_gross": int(person["gross_fen"]), "prior_year_months": int(person["months"])})
    return rows


def export_si_base(con: duckdb.DuckDBPyConnection, policy: Policy, year: int, out: str | Path | None = None,
                   fmt: str = "xlsx") -> SiBaseExport:
    if fmt not in ("xlsx", "csv"):
        raise PayrollError(f"unknown export format {fmt!r}: use csv or xlsx")
    rows = base_declaration(con, policy, year)
    target = Path(out) if out else Path(f"si-base-{year}.{fmt}")
    if target.is_dir():
        target = target / f"si-base-{year}.{fmt}"
    money = {"prior_year_gross", "wage", "floor", "ceiling", "base", "current_base"}
    body = [[(Decimal(r[k]) / 100 if k in money else CLAMP_ZH[r[k]] if k == "clamp" else r[k])
             for k, _, _ in COLUMNS] for r in rows]
    write_tables(target, fmt, [Table("基数申报", columns(COLUMNS, {"source": 16}), body,
                                     title=f"{year}年度社会保险及住房公积金缴费基数申报",
                                     subtitle=f"缴费工资取{year - 1}年月平均应发工资（四舍五入到分），按{year}年1月1日"
                                              f"有效的上下限确定基数")])
    people = {r["employee_id"] for r in rows}
    return SiBaseExport(target, year, len(people), len({r["employee_id"] for r in rows if r["changed"]}),
                        sum(1 for r in rows if r["clamp"]))
