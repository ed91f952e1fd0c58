"""Work-injury, death and martyr benefits of the events table, figured to the fen and stored.

本人工资 (工伤保险条例 art. 64) is figured for every event in one SQL query (the monthly payroll
uses the same query for the grade 5–6 allowance): the average monthly contribution wage
(`injury_base` of our payslips) of the 12 months before the event month, or, with no payslip in
those months, the declared contribution base; clamped to 60–300 % of the regional average monthly
wage in force on the event date. The items are then figured per event in Python (events are few):
integer fen, each line rounded half-up once. Every multiple, rate and month count is a table row.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import duckdb
import pandas as pd

from ..db import table_exists, transaction
from ..errors import PayrollError, PolicyError
from ..money import ROUND_DIV_MACRO, round_div
from ..policy import Policy, rows_in_force_sql
from ..rules.work_injury import (ALLOWANCE_PAYER_EMPLOYER, ITEMS, LEAVING_GRANT_ITEMS,
                                NURSING_PARAMETERS)

PPM = 1_000_000
# the police disability pension a heroic 辅警 is compared with: 因公致残 (police_disability_pension.cause)
POLICE_DISABILITY_CAUSE = "duty"


def yuan(fen: int) -> str:
    return f"{Decimal(fen) / 100:,.2f}"


def ppm(value) -> int:
    return int(Decimal(str(value)) * PPM)


def number(value) -> str:
    text = f"{Decimal(str(value)).normalize():f}"
    return text


# ---------------------------------------------------------------- 本人工资, one query for all events

NATIONAL_AT_MACRO = """
CREATE OR REPLACE TEMP MACRO national_at(parameter, day) AS (
    SELECT value FROM policy_national_parameters
    WHERE name = parameter AND effective_from <= day ORDER BY effective_from DESC LIMIT 1)"""


def prepare(con: duckdb.DuckDBPyConnection, policy: Policy) -> None:
    """Macros and policy tables the benefit queries read."""
    con.execute(ROUND_DIV_MACRO)
    policy.install(con)
    con.execute(NATIONAL_AT_MACRO)


def benefit_wages_sql(payslips_exist: bool) -> str:
    """Per event: history months, 本人工资 before and after the art. 64 clamp, the average wage."""
    history = """
        SELECT ev.employee_id, ev.event_date, ev.kind, count(p.month) AS history_months,
               coalesce(sum(CAST(p.injury_base * 100 AS BIGINT)), 0) AS history_total
        FROM ev LEFT JOIN payslips p ON p.employee_id = ev.employee_id
             AND p.month >= ev.first_month AND p.month < ev.event_month
        GROUP BY ALL""" if payslips_exist else """
        SELECT employee_id, event_date, kind, 0 AS history_months, 0 AS history_total FROM ev"""
    return f"""
    WITH ev AS (
        SELECT v.employee_id, v.event_date, v.kind, e.region_code,
               CAST(e.contribution_base * 100 AS BIGINT) AS declared_base,
               strftime(v.event_date, '%Y-%m') AS event_month,
               strftime(date_trunc('month', v.event_date)
                        - to_months(CAST(national_at('injury_wage_history_months', v.event_date) AS INTEGER)),
                        '%Y-%m') AS first_month,
               CAST(national_at('injury_wage_floor_ratio', v.event_date) * {PPM} AS BIGINT) AS floor_ratio,
               CAST(national_at('injury_wage_ceiling_ratio', v.event_date) * {PPM} AS BIGINT) AS ceiling_ratio
        FROM events v JOIN employees e USING (employee_id)),
    history AS ({history}),
    average AS (
        SELECT ev.employee_id, ev.event_date, ev.kind,
               CAST(a.monthly_average_wage * 100 AS BIGINT) AS average_wage, a.row_no AS average_wage_row
        FROM ev JOIN region_chain c ON c.region_code = ev.region_code
        JOIN policy_average_wage a ON a.region_code = c.ancestor_code AND a.effective_from <= ev.event_date
        QUALIFY row_number() OVER (PARTITION BY ev.employee_id, ev.event_date, ev.kind
                                   ORDER BY c.depth, a.effective_from DESC) = 1),
    raw AS (
        SELECT ev.*, h.history_months, a.average_wage, a.average_wage_row,
               CASE WHEN h.history_months > 0 THEN round_div(h.history_total, h.history_months)
                    ELSE ev.declared_base END AS wage_before_clamp,
               round_div(a.average_wage * ev.floor_ratio, {PPM}) AS wage_floor,
               round_div(a.average_wage * ev.ceiling_ratio, {PPM}) AS wage_ceiling
        FROM ev JOIN history h USING (employee_id, event_date, kind)
        LEFT JOIN average a USING (employee_id, event_date, kind))
    -- greatest/least skip NULLs: without a wage (no payslips, no declared base) 本人工资 stays NULL,
    -- an error for its users, not the 60 % floor
    SELECT *, CASE WHEN wage_before_clamp IS NOT NULL
                   THEN least(greatest(wage_before_clamp, wage_floor), wage_ceiling) END AS benefit_wage
    FROM raw"""


def benefit_wages(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return con.execute(benefit_wages_sql(table_exists(con, "payslips"))).df()


# ---------------------------------------------------------------- table lookups at a date


@dataclass(frozen=True)
class Figure:
    value: Decimal
    table: str
    row_no: int
    source: str


class Lookup:
    """Rows in force on a date, read as the monthly engine reads them (policy.rows_in_force_sql:
    most specific region on the chain, latest effective_from, lapsed rows left out), on the event's
    day instead of the month's first. con: a connection with the policy installed (prepare); a
    private in-memory one otherwise."""

    def __init__(self, policy: Policy, con: duckdb.DuckDBPyConnection | None = None):
        self.policy = policy
        self._con = con
        self._found: dict[tuple, pd.Series | None] = {}

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            self._con = duckdb.connect(":memory:")
            self.policy.install(self._con)
        return self._con

    def regional(self, table: str, region: str, day: date, missing: str | None = None, **keys) -> pd.Series | None:
        key = (table, region, day, tuple(sorted(keys.items())))
        if key not in self._found:
            where = "".join(f" AND {column} = ?" for column in keys)
            cursor = self.con.execute(
                f"SELECT * EXCLUDE (for_region) FROM ({rows_in_force_sql(table, tuple(keys), day)}) "
                f"WHERE for_region = ?{where}", [region, *keys.values()])
            found = cursor.fetchone()
            names = [d[0] for d in cursor.description]
            self._found[key] = None if found is None else pd.Series(dict(zip(names, found)), dtype=object)
        found = self._found[key]
        if found is None and missing:
            raise PolicyError(missing)
        return found

    def national(self, name: str, day: date) -> Figure:
        # as the monthly engine's params_national and the national_at macro: the latest on or before
        found = self.con.execute("SELECT value, row_no, source FROM policy_national_parameters WHERE name = ? "
                                 "AND effective_from <= ? ORDER BY effective_from DESC LIMIT 1", [name, day]).fetchone()
        if found is None:
            raise PolicyError(f"national_parameters: no {name} in force on {day}")
        value, row_no, source = found
        return Figure(value, "national_parameters", int(row_no), source)

    def urban_income(self, day: date) -> Figure:
        """上一年度全国城镇居民人均可支配收入: the statistics year before the event (art. 39(三))."""
        frame = self.policy.frames["national_statistics"]
        rows = frame[frame.year == day.year - 1]
        if rows.empty:
            raise PolicyError(f"national_statistics: no {day.year - 1} urban per-capita disposable income "
                              f"(needed for an event on {day})")
        row = rows.iloc[0]
        return Figure(row.urban_disposable_income_per_capita, "national_statistics", int(row.row_no), row.source)


# ---------------------------------------------------------------- lines


@dataclass
class Line:
    package: str
    item: str
    amount: int                      # fen
    period: str
    payer: str
    formula: str
    recipient: str | None = None
    paid: bool = True
    basis_extra: str = ""

    @property
    def basis(self) -> str:
        basis = ITEMS[self.item].basis
        return f"{basis}; {self.basis_extra}" if self.basis_extra else basis


@dataclass
class EventBenefits:
    employee_id: str
    event_date: date
    kind: str
    region_code: str
    benefit_wage: int
    wage_before_clamp: int
    wage_source: str
    history_months: int
    average_wage: int
    wage_formula: str
    lines: list[Line] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    cause: str | None = None          # issue 14: work | non_work (deaths)

    def paid_total(self, period: str) -> int:
        return sum(line.amount for line in self.lines if line.paid and line.period == period)


def _months(wage: int, months: Decimal) -> int:
    return round_div(wage * ppm(months), PPM)


def _share(base: int, rate: Decimal) -> int:
    return round_div(base * ppm(rate), PPM)


def _add_months(day: date, months: int) -> str:
    index = day.year * 12 + day.month - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


class Calculator:
    def __init__(self, con: duckdb.DuckDBPyConnection, policy: Policy):
        self.con, self.policy, self.look = con, policy, Lookup(policy, con)

    # -- the person

    def basic_wage(self, person: pd.Series, day: date) -> int:
        """基本工资: the grade-level base pay (pay_scale) in force on the event date (our reading)."""
        row = self.look.regional("pay_scale", person.region_code, day,
                                 missing=f"pay_scale: no base pay for region {person.region_code}, "
                                         f"{person.category} level {person.level} on {day}",
                                 category=person.category, level=int(person.level))
        return int(row.base_pay * 100)

    def minimum_wage(self, region: str, day: date) -> int:
        row = self.look.regional("minimum_wage", region, day,
                                 missing=f"minimum_wage: no row in force for region {region} on {day}")
        return int(row.monthly_minimum_wage * 100)

    # -- one event

    def event(self, event: pd.Series, person: pd.Series, wage: pd.Series,
              dependants: pd.DataFrame) -> EventBenefits:
        day = event.event_date
        cause = getattr(event, "cause", None)
        if event.kind == "death" and not isinstance(cause, str):
            # issue 14: the cause decides the package (work: 工伤保险条例 art. 39; non_work: 社会保险法
            # art. 17); a guess would pay the wrong one
            raise PayrollError(f"employee {event.employee_id}: the death of {day} has no cause: give cause work "
                               "(工亡) or non_work in the events file")
        if event.kind == "death" and cause == "non_work":
            return self.non_work(event, person, wage)
        if pd.isna(wage.average_wage):
            raise PolicyError(f"average_wage: no row in force for region {person.region_code} on {day} "
                              f"(工伤保险条例 art. 64 clamps 本人工资 to it)")
        if pd.isna(wage.wage_before_clamp):
            raise PayrollError(f"employee {event.employee_id}: no payslip in the 12 months before {day} and no "
                               f"declared contribution_base: 本人工资 (工伤保险条例 art. 64) cannot be figured")
        source = "payslips" if wage.history_months > 0 else "declared_base"
        before, floor, ceiling = int(wage.wage_before_clamp), int(wage.wage_floor), int(wage.wage_ceiling)
        how = (f"average injury contribution base of {int(wage.history_months)} payslip month(s) before "
               f"{wage.event_month}" if source == "payslips" else "declared contribution_base (no payslips)")
        average = yuan(int(wage.average_wage))
        low, high = (number(Decimal(int(ratio)) / PPM) for ratio in (wage.floor_ratio, wage.ceiling_ratio))
        formula = (f"min(max({yuan(before)} ({how}), {yuan(floor)} = {low} × {average}), "
                   f"{yuan(ceiling)} = {high} × {average})")
        result = EventBenefits(event.employee_id, day, event.kind, person.region_code, int(wage.benefit_wage),
                               before, source, int(wage.history_months), int(wage.average_wage), formula)
        if event.kind == "injury":
            self.injury(result, event, person)
        else:
            self.death(result, event, person, dependants)
        return result

    def non_work(self, event: pd.Series, person: pd.Series, wage: pd.Series) -> EventBenefits:
        """A death outside work: pension-fund items only (benefits/non_work_death.py)."""
        from .non_work_death import non_work_death
        known = not pd.isna(wage.wage_before_clamp) and not pd.isna(wage.average_wage)
        result = EventBenefits(event.employee_id, event.event_date, event.kind, person.region_code,
                               int(wage.benefit_wage) if known else 0,
                               int(wage.wage_before_clamp) if known else 0,
                               "payslips" if wage.history_months > 0 else "declared_base", int(wage.history_months),
                               int(wage.average_wage) if not pd.isna(wage.average_wage) else 0, "")
        result.cause = "non_work"
        non_work_death(self, result, person)
        return result

    def injury(self, r: EventBenefits, event: pd.Series, person: pd.Series) -> None:
        day, wage, look = r.event_date, r.benefit_wage, self.look
        stoppage = int(event.stoppage_months or 0)
        if stoppage:
            r.lines.append(Line("work_injury", "stoppage_pay", r.wage_before_clamp, "monthly", "employer",
                                f"usual pay kept in the monthly payroll, {_add_months(day, 0)} … "
                                f"{_add_months(day, stoppage - 1)} ({stoppage} months); shown at the average "
                                f"monthly wage before the injury {yuan(r.wage_before_clamp)}"))
        if pd.isna(event.disability_grade):
            return
        grade = int(event.disability_grade)
        grades = self.policy.frames["injury_grades"]
        row = grades[grades.disability_grade == grade]
        if row.empty:
            raise PolicyError(f"injury_grades: no row for disability grade {grade}")
        row = row.iloc[0]
        r.lines.append(Line("work_injury", "disability_one_off", _months(wage, row.one_off_months), "once",
                            "injury_fund", f"{number(row.one_off_months)} months × {yuan(wage)} (grade {grade})"))
        if row.allowance_rate > 0:
            self.allowance(r, event, person, grade, row, stoppage)
        if isinstance(event.nursing_level, str) and event.nursing_level:
            rate = look.national(NURSING_PARAMETERS[event.nursing_level], day)
            r.lines.append(Line("work_injury", "nursing_allowance", _share(r.average_wage, rate.value), "monthly",
                                "injury_fund", f"{number(rate.value)} × {yuan(r.average_wage)} "
                                f"({event.nursing_level}; regional average monthly wage)"))
        if event.left_job:
            self.leaving_grants(r, event, person, grade)
        if event.heroic:
            self.police_disability(r, person, grade, stoppage)

    def allowance(self, r: EventBenefits, event: pd.Series, person: pd.Series, grade: int, row: pd.Series,
                  stoppage: int) -> None:
        employer_paid = row.allowance_payer == ALLOWANCE_PAYER_EMPLOYER
        if employer_paid and event.work_arranged:
            r.notes.append(f"grade {grade}: the employer arranged suitable work, so no disability allowance "
                           "(工伤保险条例 art. 36(二)); the person is paid as usual")
            return
        start = _add_months(r.event_date, stoppage)
        minimum = self.minimum_wage(person.region_code, r.event_date)
        share = _share(r.benefit_wage, row.allowance_rate)
        amount = max(share, minimum)
        payer = "employer" if employer_paid else "injury_fund"
        where = "its own line in the monthly payroll" if employer_paid else "paid by the fund"
        r.lines.append(Line("work_injury", "disability_allowance", amount, "monthly", payer,
                            f"max({number(row.allowance_rate)} × {yuan(r.benefit_wage)} = {yuan(share)}, "
                            f"minimum wage {yuan(minimum)}) from {start}; {where}"))

    def leaving_grants(self, r: EventBenefits, event: pd.Series, person: pd.Series, grade: int) -> None:
        left = event.leave_date if not pd.isna(event.leave_date) else person.leave_date
        if pd.isna(left):
            raise PayrollError(f"employee {r.employee_id}: left_job is true for the event of {r.event_date} "
                               "but neither the event nor the employee has a leave_date")
        left = pd.Timestamp(left).date()
        province = self._province(person.region_code)
        amounts = {}
        for grant, (item, payer) in LEAVING_GRANT_ITEMS.items():
            row = self.look.regional(
                "injury_leaving_grants", person.region_code, left, grant=grant, disability_grade=grade,
                missing=(f"figure missing for this province: injury_leaving_grants has no {grant} grant "
                         f"({ITEMS[item].label_zh}) for disability grade {grade} in force for region "
                         f"{person.region_code} (province {province}) on {left}; the research "
                         "(china-rules.md A) has no official figure for it: add the provincial figure "
                         "with its source to injury_leaving_grants.csv"))
            if row.basis == "amount":
                amount, formula = int(row.value * 100), f"{number(row.value)} yuan (grade {grade})"
            else:
                region = row.region_code if row.basis == "months_of_row_region_average_wage" else person.region_code
                average = self.look.regional("average_wage", region, left,
                                             missing=f"average_wage: no row in force for region {region} on {left} "
                                                     f"(needed for the {grant} grant)")
                average_fen = int(average.monthly_average_wage * 100)
                amount = _months(average_fen, row.value)
                formula = f"{number(row.value)} months × {yuan(average_fen)} (average wage of {region}, grade {grade})"
            amounts[grant] = amount
            r.lines.append(Line("work_injury", item, amount, "once", payer, f"{formula}; job ended {left}",
                                basis_extra=f"{row.source.split(':')[0]} (injury_leaving_grants row {int(row.row_no)})"))
        if event.get("occupational_disease", False) == True:    # noqa: E712 (numpy bool; NULL or absent: no)
            self.occupational_uplift(r, person, grade, left, amounts["medical"])

    def occupational_uplift(self, r: EventBenefits, person: pd.Series, grade: int, left: date, medical: int) -> None:
        """An occupational disease raises the medical grant by the province's share (云南 +30 %,
        内蒙古 +20 %: injury_leaving_grants.csv); a province without the row gets a note, not a silent 0."""
        row = self.look.regional("injury_leaving_grants", person.region_code, left,
                                 grant="medical_occupational_uplift", disability_grade=grade)
        if row is None:
            r.notes.append(f"occupational disease: injury_leaving_grants has no medical_occupational_uplift row "
                           f"for grade {grade} in force for region {person.region_code} on {left}; the medical "
                           "grant is not raised (add the province's figure with its source if it has one)")
            return
        if row.basis != "share_of_medical_grant":
            raise PolicyError(f"injury_leaving_grants row {int(row.row_no)}: the occupational-disease uplift is "
                              f"figured as share_of_medical_grant, not {row.basis}")
        r.lines.append(Line("work_injury", "leaving_medical_occupational_uplift", _share(medical, row.value), "once",
                            "injury_fund", f"{number(row.value)} × the medical grant {yuan(medical)} (occupational "
                            f"disease, grade {grade}); job ended {left}",
                            basis_extra=f"{row.source.split(':')[0]} (injury_leaving_grants row {int(row.row_no)})"))

    def death(self, r: EventBenefits, event: pd.Series, person: pd.Series, dependants: pd.DataFrame) -> None:
        day, wage, look = r.event_date, r.benefit_wage, self.look
        funeral = look.national("injury_funeral_months", day)
        r.lines.append(Line("work_injury", "funeral_grant", _months(r.average_wage, funeral.value), "once",
                            "injury_fund", f"{number(funeral.value)} × {yuan(r.average_wage)} (regional average monthly wage)"))
        self.survivors(r, dependants)
        urban = look.urban_income(day)
        urban_fen = int(urban.value * 100)
        multiple = look.national("injury_death_lump_sum_multiple", day)
        death_grant = _months(urban_fen, multiple.value)
        r.lines.append(Line("work_injury", "death_grant", death_grant, "once", "injury_fund",
                            f"{number(multiple.value)} × {yuan(urban_fen)} ({day.year - 1} national urban "
                            "per-capita disposable income)"))
        comparable = death_grant
        basic = self.basic_wage(person, day)
        if event.martyr:
            commendation = look.national("martyr_commendation_multiple", day)
            r.lines.append(Line("martyr", "martyr_commendation", _months(urban_fen, commendation.value), "once",
                                "county_veterans_affairs",
                                f"{number(commendation.value)} × {yuan(urban_fen)} ({day.year - 1} national urban "
                                "per-capita disposable income)"))
            months = look.national("martyr_special_allowance_months", day)
            on_basic = look.national("martyr_special_allowance_on_basic_wage", day).value == 1
            base, what = (basic, "basic wage (grade-level base pay)") if on_basic else (wage, "本人工资")
            special = _months(base, months.value)
            r.lines.append(Line("martyr", "martyr_special_grant", special, "once", "county_veterans_affairs",
                                f"{number(months.value)} months × {yuan(base)} ({what})"))
            comparable += special
        if event.heroic:
            self.police_death(r, person, day, urban_fen, basic, comparable, bool(event.martyr))

    def survivors(self, r: EventBenefits, dependants: pd.DataFrame) -> None:
        """art. 39(二): a share of 本人工资 each; if the shares exceed the wage, the wage is split in
        proportion to the rates (largest remainder, so the total is exactly the wage)."""
        if dependants.empty:
            r.notes.append("no dependants on file: no dependants' pensions (art. 39(二))")
            return
        look, day, wage = self.look, r.event_date, r.benefit_wage
        spouse = look.national("injury_survivor_spouse_rate", day).value
        other = look.national("injury_survivor_other_rate", day).value
        extra = look.national("injury_survivor_orphan_lone_extra", day).value
        people = []
        for dep in dependants.itertuples():
            rate = (spouse if dep.relation == "spouse" else other) + (extra if dep.orphan_or_lone else 0)
            who = f"{dep.relation} {dep.dependent_no}" + (f" {dep.name}" if isinstance(dep.name, str) else "")
            people.append((who, rate, dep.orphan_or_lone))
        shares = [_share(wage, rate) for _, rate, _ in people]
        total_rate = sum(ppm(rate) for _, rate, _ in people)
        capped = sum(shares) > wage
        if capped:
            exact = [(wage * ppm(rate), total_rate) for _, rate, _ in people]
            shares = [n // d for n, d in exact]
            by_remainder = sorted(range(len(people)), key=lambda i: (-(exact[i][0] % total_rate), i))
            for i in by_remainder[:wage - sum(shares)]:
                shares[i] += 1
        for (who, rate, lone), amount in zip(people, shares):
            formula = f"{number(rate)} × {yuan(wage)}" + (" (+10 % orphan or lone elderly)" if lone else "")
            if capped:
                formula += (f"; rates total {number(Decimal(total_rate) / PPM)} > 1: capped at the wage, "
                            f"{yuan(wage)} × {number(rate)} ÷ {number(Decimal(total_rate) / PPM)}")
            r.lines.append(Line("work_injury", "survivor_pension", amount, "monthly", "injury_fund", formula,
                                recipient=who))

    # -- police reference (heroic events, where the region's regulation provides it)

    def police_provision(self, region: str, day: date) -> str | None:
        row = self.look.regional("police_reference", region, day)
        if row is None or row.provision != "police_reference":
            return None
        return f"{row.article} (police_reference row {int(row.row_no)})"

    def no_police_reference(self, what: str, region: str, day: date, paid: str) -> str:
        row = self.look.regional("police_reference", region, day)
        cited = f"{row.article or row.region_code}" if row is not None else "no police_reference row"
        return f"{what}, but the region's regulation provides no police reference ({cited}): {paid} only"

    def police_disability(self, r: EventBenefits, person: pd.Series, grade: int, stoppage: int) -> None:
        """Heroic disability where the region provides the police reference (内蒙古条例 art. 29 para. 2:
        参照因公致残人民警察享受抚恤待遇): the police 残疾抚恤金 (军人抚恤优待条例 art. 31, annual, 因公)
        as a monthly amount beside the work-injury monthly allowance; the employer pays the difference."""
        day = r.event_date
        provision = self.police_provision(person.region_code, day)
        if provision is None:
            r.notes.append(self.no_police_reference("heroic injury", person.region_code, day, "work-injury package"))
            return
        row = self.look.regional(
            "police_disability_pension", person.region_code, day, disability_grade=grade,
            cause=POLICE_DISABILITY_CAUSE,
            missing=(f"figure missing: police disability pension for grade {grade} (table "
                     f"police_disability_pension.csv): no {POLICE_DISABILITY_CAUSE} (因公) row in force for region "
                     f"{person.region_code} on {day}, needed for the heroic injury of {r.employee_id} under "
                     f"{provision}; the annual 残疾抚恤金 by grade is set by 退役军人事务部/财政部 notices "
                     "(军人抚恤优待条例 art. 31): add the official amount with its source"))
        annual = int(row.annual_amount * 100)
        police = round_div(annual, 12)
        start = _add_months(day, stoppage)
        r.lines.append(Line("police_reference", "police_disability_pension", police, "monthly", "not_paid",
                            f"{yuan(annual)} a year ÷ 12 (grade {grade}, 因公)", paid=False,
                            basis_extra=f"police_disability_pension row {int(row.row_no)}: {row.source}"))
        allowance = next((line for line in r.lines if line.item == "disability_allowance"), None)
        comparable = allowance.amount if allowance is not None else 0
        why = ("the monthly disability allowance of this event" if allowance is not None else
               f"no work-injury monthly allowance (grade {grade}"
               + (": suitable work arranged)" if grade <= 6 else ": grades 7–10 have none)"))
        r.lines.append(Line("police_reference", "work_injury_allowance_comparable", comparable, "monthly",
                            "not_paid", f"{why} = {yuan(comparable)}", paid=False))
        topup = max(0, police - comparable)
        r.lines.append(Line("police_topup", "police_reference_topup", topup, "monthly", "employer",
                            f"max(0, {yuan(police)} − {yuan(comparable)}) from {start}", basis_extra=provision))
        r.notes.append(
            f"police reference ({provision}): the person is paid the work-injury package in full; the police "
            "disability pension (人民警察抚恤优待办法 → 军人抚恤优待条例 art. 31: the annual 残疾抚恤金 for the "
            "grade, 因公, ÷ 12, rounded half-up to the fen) is compared with the work-injury monthly allowance "
            "that serves the same purpose (none for grades 7–10 or when suitable work is arranged), and the "
            "monthly difference above it is paid by the employing authority from the month after the "
            "work-stoppage period (when the allowance starts); the one-off disability grant, nursing allowance "
            "and leaving grants are paid under the work-injury rules and are not compared")

    def police_death(self, r: EventBenefits, person: pd.Series, day: date, urban_fen: int, basic: int,
                     comparable: int, martyr: bool) -> None:
        provision = self.police_provision(person.region_code, day)
        if provision is None:
            r.notes.append(self.no_police_reference("heroic death", person.region_code, day,
                                                    "work-injury (and martyr) package"))
            return
        multiple = self.look.national("police_death_lump_sum_multiple", day)
        months = self.look.national("police_death_wage_months", day)
        police = _months(urban_fen, multiple.value) + _months(basic, months.value)
        r.lines.append(Line("police_reference", "police_death_one_off", police, "once", "not_paid",
                            f"{number(multiple.value)} × {yuan(urban_fen)} + {number(months.value)} months × "
                            f"{yuan(basic)} (basic wage)", paid=False, basis_extra=provision))
        compared = "one-off death grant" + (" + martyr special grant" if martyr else "")
        r.lines.append(Line("police_reference", "work_injury_comparable", comparable, "once", "not_paid",
                            f"{compared} of this event = {yuan(comparable)}", paid=False))
        topup = max(0, police - comparable)
        r.lines.append(Line("police_topup", "police_reference_topup", topup, "once", "employer",
                            f"max(0, {yuan(police)} − {yuan(comparable)})", basis_extra=provision))
        r.notes.append(
            f"police reference ({provision}): the survivors are paid the work-injury package in full; the police "
            "one-off death pension (20 × urban income + 40 months of the basic wage, as 人民警察抚恤优待办法 "
            "counts 本人工资 = 基本工资 + 警衔津贴 and a 辅警 has no 警衔津贴) is compared with the one-off "
            f"work-injury {'and martyr ' if martyr else ''}amounts that serve the same purpose, and the "
            "difference above them is paid by the employing authority; funeral grant and monthly pensions "
            "are paid under the work-injury rules and are not compared")

    def _province(self, region: str) -> str:
        chain = self.policy.chain[self.policy.chain.region_code == region].sort_values("depth")
        names = self.policy.region_names()
        codes = list(chain.ancestor_code)
        province = codes[-2] if len(codes) >= 2 else region
        return f"{province} {names.get(province, '')}".strip()


# ---------------------------------------------------------------- compute and store


@dataclass(frozen=True)
class BenefitFailure:
    """An event whose benefits could not be figured, and why (a missing figure, a missing wage)."""
    employee_id: str
    event_date: date
    kind: str
    reason: str


def compute_benefits(con: duckdb.DuckDBPyConnection, policy: Policy,
                     employee_id: str | None = None) -> list[EventBenefits]:
    """Figure every event (or one person's); PayrollError/PolicyError if a figure is missing."""
    results, failures = compute_benefits_each(con, policy, employee_id)
    if failures:
        raise failures[0][1]
    return results


def compute_benefits_each(con: duckdb.DuckDBPyConnection, policy: Policy, employee_id: str | None = None
                          ) -> tuple[list[EventBenefits], list[tuple[BenefitFailure, PayrollError]]]:
    """Figure every event; an event whose figure is missing stops only that event (issue 14):
    (the figured events, [(failure, its error)])."""
    prepare(con, policy)
    events = con.execute("SELECT * FROM events" + (" WHERE employee_id = ?" if employee_id else "")
                         + " ORDER BY employee_id, event_date, kind", [employee_id] if employee_id else []).df()
    if events.empty:
        return [], []
    missing = con.execute("SELECT DISTINCT v.employee_id FROM events v ANTI JOIN employees e USING (employee_id)"
                          ).fetchall()
    if missing:
        raise PayrollError(f"events for employees not in the database: {', '.join(m[0] for m in missing[:10])}")
    people = con.execute("SELECT * FROM employees WHERE employee_id IN (SELECT employee_id FROM events)").df()
    people = people.set_index("employee_id", drop=False)
    wages = benefit_wages(con).set_index(["employee_id", "event_date", "kind"])
    dependants = con.execute("SELECT * FROM dependents ORDER BY employee_id, dependent_no").df()
    calculator = Calculator(con, policy)
    results, failures = [], []
    for event in events.itertuples(index=False):
        event = pd.Series(event._asdict())
        event["event_date"] = pd.Timestamp(event.event_date).date()
        wage = wages.loc[(event.employee_id, pd.Timestamp(event.event_date), event.kind)]
        mine = dependants[dependants.employee_id == event.employee_id]
        try:
            results.append(calculator.event(event, people.loc[event.employee_id], wage, mine))
        except PayrollError as error:      # PolicyError too: one person's missing figure
            failures.append((BenefitFailure(event.employee_id, event.event_date, event.kind, str(error)), error))
    return results, failures


def store_benefits(con: duckdb.DuckDBPyConnection, policy: Policy, results: list[EventBenefits],
                   employee_id: str | None = None) -> None:
    """Replace the stored benefits of these people (everyone if employee_id is None) in one transaction."""
    lines, events = [], []
    for r in results:
        for number_, line in enumerate(r.lines, start=1):
            lines.append({"employee_id": r.employee_id, "event_date": r.event_date, "kind": r.kind,
                          "line_no": number_, "package": line.package, "item": line.item,
                          "recipient": line.recipient, "amount": str(Decimal(line.amount) / 100),
                          "period": line.period, "payer": line.payer, "paid": line.paid,
                          "basis": line.basis, "formula": line.formula})
        events.append({"employee_id": r.employee_id, "event_date": r.event_date, "kind": r.kind,
                       "region_code": r.region_code, "benefit_wage": str(Decimal(r.benefit_wage) / 100),
                       "wage_before_clamp": str(Decimal(r.wage_before_clamp) / 100), "wage_source": r.wage_source,
                       "history_months": r.history_months, "average_wage": str(Decimal(r.average_wage) / 100),
                       "notes": "; ".join(r.notes) or None, "tables_digest": policy.digest})
    scope = " WHERE employee_id = ?" if employee_id else ""
    params = [employee_id] if employee_id else []
    with transaction(con):
        con.execute("DELETE FROM benefits" + scope, params)
        con.execute("DELETE FROM benefit_events" + scope, params)
        if lines:
            con.register("_benefit_lines", pd.DataFrame(lines))
            con.execute("INSERT INTO benefits BY NAME SELECT * REPLACE (CAST(amount AS DECIMAL(18,2)) AS amount) "
                        "FROM _benefit_lines")
            con.unregister("_benefit_lines")
        if events:
            con.register("_benefit_events", pd.DataFrame(events))
            con.execute("INSERT INTO benefit_events BY NAME SELECT * REPLACE ("
                        "CAST(benefit_wage AS DECIMAL(18,2)) AS benefit_wage, "
                        "CAST(wage_before_clamp AS DECIMAL(18,2)) AS wage_before_clamp, "
                        "CAST(average_wage AS DECIMAL(18,2)) AS average_wage) FROM _benefit_events")
            con.unregister("_benefit_events")
