"""Leave in the monthly payroll: unpaid days, sick pay, the maternity allowance and its top-up, and
pay for annual leave not taken (issue 14). Leave records come from `payroll import --leave`
(table `leave`; validated in payroll/io/leave.py); a record spanning months is split per month
with the official calendar (calendar_days): working days for annual, sick and unpaid leave
(职工带薪年休假条例 art. 4 counts working days), calendar days for maternity leave (女职工劳动保护
特别规定 art. 7 counts 天 as calendar days).

- Marriage, bereavement, paternity, annual and other paid leave are paid as normal days: no line.
- Unpaid leave (`unpaid`) deducts monthly amounts ÷ 21.75 a working day, like the attendance file's
  unpaid_leave_days (SPEC proration).
- Sick leave: the sick working days are deducted like unpaid days and paid as `sick_pay`: the
  share (sick_pay table, by completed service years and by how long the sick leave has lasted) of
  the fixed monthly pay ÷ 21.75 a day, and never below the table's floor ratio (80 %) of the
  minimum wage ÷ 21.75 a day (劳部发〔1995〕309号 art. 59).
- Maternity leave: the paid days in the leave are not paid as regular pay; the maternity allowance
  (生育津贴, 社会保险法 art. 56) is the unit's previous-year average monthly contribution wage
  ÷ 30 × the calendar days, and where the region's rule says so (maternity.employer_topup) the
  employer tops it up to the person's own pay for those days. The allowance is tax-exempt
  (财税〔2008〕8号 art. 2).
- Annual leave not taken (企业职工带薪年休假实施办法 arts. 10–12): in the payout month of the
  annual_leave_policy row (December), entitlement − days taken this year; in a leaver's last month
  (leave date or date of death), ⌊days of the year passed ÷ 365 × entitlement⌋ − taken (never below
  0); a hire of this year is entitled to ⌊calendar days from the hire to the payout day ÷ 365 ×
  entitlement⌋ (实施办法 art. 5: 按照在本单位剩余日历天数折算, part days not granted); paid at an extra 200 % of the daily wage = average monthly pay of the previous 12 months
  without overtime ÷ 21.75. `annual_leave_payout_days` is the one function a final-settlement run
  can reuse (the rule reads only the status columns).
- Carried over (annual_leave_policy untaken = carry_over; 条例 art. 5, one year only): the days a year
  leaves untaken enter the next year's balance only, used first, and count in that year's leaver and
  year-end payouts (`_install_carry`, docs/rules.md).
"""
from __future__ import annotations

from ..engine.rule import ContextColumn, Rule
from ..errors import PolicyError

SICK_BASIS = "劳部发〔1995〕309号 art. 59 (病假工资不低于最低工资标准的80%); sick_pay table (share by service and duration)"
MATERNITY_BASIS = ("社会保险法 art. 56 (生育津贴 = 用人单位上年度职工月平均工资 ÷ 30 × 天数); "
                   "女职工劳动保护特别规定 art. 7 (98 days) and the provincial extension (leave_days table)")
TOPUP_BASIS = "maternity table employer_topup (provincial rule: 生育津贴低于本人工资标准的，由用人单位补足)"
TAX_BASIS = "财税〔2008〕8号 art. 2 (生育津贴免征个人所得税)"
ANNUAL_BASIS = ("职工带薪年休假条例 arts. 3, 5 (a carry_over unit: untaken days into the next year only); "
                "企业职工带薪年休假实施办法 arts. 5 (a hire's first year, prorated), 10 (extra 200 %), "
                "11 (daily wage = 12-month average without overtime ÷ 21.75), 12 (leavers: ⌊days ÷ 365 × "
                "entitlement⌋ − taken)")
CONTRACT_MONTH = "base_pay_full + seniority_pay_full + allowances_full + high_risk_allowance_full"


def _ctx(name, unit, zh, en, source, reads=()):
    return ContextColumn(name, unit, zh, en, source, tuple(reads), True)


CONTEXT = [
    _ctx("leave_unpaid_days", "centi", "无薪假天数（请假记录）", "Unpaid leave days (leave file)", "leave"),
    _ctx("paid_leave_days", "centi", "带薪假天数（年休、婚丧、陪产等）", "Paid leave days (annual, marriage, …)", "leave"),
    _ctx("sick_leave_days", "centi", "病假天数（工作日）", "Sick leave working days", "leave"),
    _ctx("sick_pay_share", "ppm", "病假工资比例", "Sick pay share", "sick_pay", ("sick_pay_row",)),
    _ctx("sick_pay_floor_ratio", "ppm", "病假工资最低工资比例", "Sick pay floor (share of the minimum wage)",
         "sick_pay", ("sick_pay_row",)),
    _ctx("sick_pay_row", "int", "病假工资表行", "sick_pay row", "sick_pay"),
    _ctx("maternity_leave_days", "int", "产假天数（日历日）", "Maternity leave calendar days", "leave"),
    _ctx("maternity_paid_days", "int", "产假中的计薪日", "Paid days within maternity leave", "leave"),
    _ctx("maternity_unit_average_wage", "fen", "单位上年度职工月平均缴费工资",
         "Unit's previous-year average monthly contribution wage", "payslips"),
    _ctx("maternity_day_divisor", "int", "生育津贴日折算天数", "Allowance days a month (÷ 30)", "maternity",
         ("maternity_allowance_row",)),
    _ctx("maternity_employer_topup", "bool", "单位补足生育津贴差额", "Employer tops up the allowance", "maternity",
         ("maternity_allowance_row",)),
    _ctx("maternity_allowance_row", "int", "生育津贴表行", "maternity row", "maternity"),
    _ctx("annual_leave_entitlement", "int", "年休假天数", "Annual leave entitlement (days)",
         "annual_leave_entitlement"),
    _ctx("annual_leave_taken_ytd", "centi", "本年已休年休假", "Annual leave taken this year", "leave"),
    _ctx("annual_leave_payout_days", "int", "应休未休年休假天数", "Untaken annual leave days paid this month",
         "leave", ("annual_leave_policy_row",)),
    _ctx("annual_leave_wage_base", "fen", "前12个月月平均工资（剔除加班）",
         "Average monthly pay of the previous 12 months without overtime", "payslips"),
    _ctx("annual_leave_extra_rate", "ppm", "未休年休假额外支付比例", "Extra rate for untaken days",
         "annual_leave_policy", ("annual_leave_policy_row",)),
    _ctx("annual_leave_policy_row", "int", "年休假政策表行", "annual_leave_policy row", "annual_leave_policy"),
]

ROW_TABLES = {"sick_pay_row": "sick_pay", "maternity_allowance_row": "maternity",
              "annual_leave_policy_row": "annual_leave_policy", "probation_row": "probation"}

DEFAULTS = {"leave_unpaid_days": "0", "paid_leave_days": "0", "sick_leave_days": "0", "sick_pay_share": "0",
            "sick_pay_floor_ratio": "0", "maternity_leave_days": "0", "maternity_paid_days": "0",
            "maternity_day_divisor": "30", "maternity_employer_topup": "false", "annual_leave_entitlement": "0",
            "annual_leave_taken_ytd": "0", "annual_leave_payout_days": "0", "annual_leave_extra_rate": "0"}


def select_sql(alias: str) -> str:
    return ", ".join(f"coalesce({alias}.{c.name}, {DEFAULTS[c.name]}) AS {c.name}" if c.name in DEFAULTS
                     else f"{alias}.{c.name}" for c in CONTEXT)


def _resolved(table: str, keys: str, day: str) -> str:
    partition = ", ".join(["c.region_code"] + [f"t.{k}" for k in keys.split(",") if k])
    return f"""SELECT c.region_code AS for_region, t.* FROM region_chain c
        JOIN policy_{table} t ON t.region_code = c.ancestor_code WHERE t.effective_from <= {day}
        QUALIFY row_number() OVER (PARTITION BY {partition} ORDER BY c.depth, t.effective_from DESC) = 1"""


SQL_TYPES = {"centi": "BIGINT", "ppm": "BIGINT", "int": "BIGINT", "fen": "BIGINT", "bool": "BOOLEAN"}


def install_month_status(con, month, roster_sql: str) -> None:
    """leave_month_status: one row per person with leave in the month or a leave payout due.
    roster_sql: the month's employee records (with deaths applied)."""
    from ..db import table_exists
    if not (table_exists(con, "leave") and table_exists(con, "employees")):   # parameters only (tests)
        columns = ", ".join(f"NULL::{SQL_TYPES[c.unit]} AS {c.name}" for c in CONTEXT)
        con.execute(f"CREATE OR REPLACE TEMP TABLE leave_month_status AS SELECT NULL::VARCHAR AS employee_id, "
                    f"{columns} WHERE false")
        return
    if _status_empty(con, month, roster_sql) and _status_table_installed(con):
        # issue 17: most months nobody has leave, leaves or is paid out: the table of an earlier
        # month, emptied, is the same table (the same query's columns) at a fraction of the cost
        con.execute("DELETE FROM leave_month_status")
        return
    _install_carry(con, month.year, roster_sql)
    start, end = f"DATE '{month.start}'", f"DATE '{month.end}'"
    year_start = f"DATE '{month.year}-01-01'"
    year_end = f"DATE '{month.year}-12-31'"
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE leave_month_status AS
    WITH roster AS ({roster_sql}),
    people AS (
        SELECT employee_id, region_code, unit, leave_date, hire_date,
               coalesce(service_start, hire_date) AS service_start FROM roster),
    pieces AS (                           -- each leave record's days inside the month
        SELECT l.employee_id, l.kind, l.start_date,
               count(*) AS calendar_days, count(*) FILTER (d.kind = 'workday') AS working_days,
               CAST(sum(d.paid) AS BIGINT) AS paid_days, min(d.day) AS first_day
        FROM leave l JOIN calendar_days d ON d.day BETWEEN greatest(l.start_date, {start}) AND least(l.end_date, {end})
        WHERE l.start_date <= {end} AND l.end_date >= {start} AND l.employee_id IN (SELECT employee_id FROM people)
        GROUP BY ALL),
    sick AS (                             -- the month's longest sick piece gives the share
        SELECT p.employee_id, p.working_days, p.first_day - p.start_date AS sick_days_before,
               greatest(0, year(DATE '{month.start}') - year(e.service_start)
                   - CASE WHEN month(e.service_start) * 100 + day(e.service_start) > {month.start.month * 100 + 1}
                          THEN 1 ELSE 0 END) AS service_years, e.region_code
        FROM pieces p JOIN people e USING (employee_id) WHERE p.kind = 'sick'),
    sick_rows AS (SELECT * FROM ({_resolved('sick_pay', 'min_service_years,min_sick_days', start)})),
    sick_total AS (SELECT employee_id, sum(working_days) AS days FROM sick GROUP BY employee_id),
    sick_share AS (
        SELECT s.employee_id, t.days, CAST(r.share * 1000000 AS BIGINT) AS share,
               CAST(r.minimum_wage_floor_ratio * 1000000 AS BIGINT) AS floor_ratio, r.row_no
        FROM sick s JOIN sick_total t USING (employee_id)
        LEFT JOIN sick_rows r ON r.for_region = s.region_code
             AND r.min_service_years <= s.service_years AND r.min_sick_days <= s.sick_days_before
        QUALIFY row_number() OVER (PARTITION BY s.employee_id
                                   ORDER BY s.working_days DESC, s.sick_days_before DESC,
                                            r.min_sick_days DESC NULLS LAST, r.min_service_years DESC NULLS LAST) = 1),
    maternity_rows AS (SELECT * FROM ({_resolved('maternity', '', start)})),
    maternity AS (
        SELECT p.employee_id, sum(p.calendar_days) AS leave_days, sum(p.paid_days) AS paid_days,
               any_value(e.region_code) AS region_code, any_value(e.unit) AS unit
        FROM pieces p JOIN people e USING (employee_id) WHERE p.kind = 'maternity' GROUP BY p.employee_id),
    unit_average AS (                     -- 社会保险法 art. 56: the unit's previous-year average
        SELECT region_code, unit, round_div(sum(CAST(maternity_base * 100 AS BIGINT)), count(*)) AS average
        FROM payslips JOIN (SELECT DISTINCT region_code, unit FROM maternity) USING (region_code, unit)
        WHERE month BETWEEN '{month.year - 1}-01' AND '{month.year - 1}-12'
        GROUP BY ALL),
    policy AS (SELECT * FROM ({_resolved('annual_leave_policy', '', start)})),
    due AS (                              -- annual-leave payout due this month: leavers, and the payout month
        SELECT e.employee_id, e.region_code, e.service_start,
               e.leave_date IS NOT NULL AND e.leave_date <= {end} AS leaving,
               e.hire_date > {year_start} AS hired_this_year, greatest(e.hire_date, {year_start}) AS counted_from,
               coalesce(CASE WHEN e.leave_date <= {end} THEN e.leave_date END, {year_end}) AS payout_day,
               pol.extra_rate, pol.row_no AS policy_row
        FROM people e JOIN policy pol ON pol.for_region = e.region_code
        WHERE (e.leave_date IS NOT NULL AND e.leave_date <= {end})
           OR (pol.payout_month = {month.start.month} AND pol.untaken = 'pay')),
    taken AS (
        SELECT l.employee_id, count(*) FILTER (d.kind = 'workday') AS days
        FROM leave l JOIN calendar_days d ON d.day BETWEEN greatest(l.start_date, {year_start})
                                                     AND least(l.end_date, {end})
        WHERE l.kind = 'annual' AND l.start_date <= {end} AND l.end_date >= {year_start}
        GROUP BY l.employee_id),
    entitled AS (
        SELECT d.*, coalesce(t.days, 0) AS taken_days, coalesce(c.carried, 0) AS carried_days,
               {_service_years_sql('d.payout_day', 'd.service_start')} AS years
        FROM due d LEFT JOIN taken t USING (employee_id) LEFT JOIN annual_leave_carry c USING (employee_id)),
    entitlement AS (
        SELECT en.*, {_entitlement_sql('en.years', 'en.payout_day')} AS entitlement
        FROM entitled en),
    payout AS (
        SELECT employee_id, entitlement, taken_days, policy_row,
               CAST(extra_rate * 1000000 AS BIGINT) AS extra_rate,
               -- art. 12 (a leaver): ⌊days of the year passed ÷ 365 × entitlement⌋; art. 5 (hired this
               -- year): ⌊remaining calendar days in the unit ÷ 365 × entitlement⌋; both from the day
               -- counting starts (1 January or the hire) to the payout day
               greatest(0, CASE WHEN leaving OR hired_this_year
                                THEN CAST(((payout_day - counted_from) + 1) * entitlement // 365 AS BIGINT)
                                ELSE entitlement END + carried_days - taken_days) AS payout_days
        FROM entitlement),
    wage_base AS (                        -- art. 11: previous 12 months, overtime left out
        SELECT employee_id, round_div(sum(CAST((gross_pay - overtime_pay - annual_leave_payout) * 100 AS BIGINT)),
                                      count(*)) AS base
        FROM payslips WHERE month >= '{month.start.replace(year=month.year - 1).strftime('%Y-%m')}'
          AND month < '{month.label}' AND employee_id IN (SELECT employee_id FROM payout WHERE payout_days > 0)
        GROUP BY employee_id),
    kinds AS (
        SELECT employee_id,
               sum(working_days) FILTER (kind = 'unpaid') * 100 AS leave_unpaid_days,
               sum(working_days) FILTER (kind IN ('annual', 'marriage', 'bereavement', 'paternity', 'other_paid'))
                   * 100 AS paid_leave_days
        FROM pieces GROUP BY employee_id),
    everyone AS (
        SELECT employee_id FROM pieces UNION SELECT employee_id FROM payout)
    SELECT e.employee_id,
           CAST(k.leave_unpaid_days AS BIGINT) AS leave_unpaid_days, CAST(k.paid_leave_days AS BIGINT) AS paid_leave_days,
           CAST(s.days * 100 AS BIGINT) AS sick_leave_days, s.share AS sick_pay_share,
           s.floor_ratio AS sick_pay_floor_ratio, s.row_no AS sick_pay_row,
           CAST(m.leave_days AS BIGINT) AS maternity_leave_days, CAST(m.paid_days AS BIGINT) AS maternity_paid_days,
           ua.average AS maternity_unit_average_wage,
           mr.allowance_day_divisor AS maternity_day_divisor, mr.employer_topup AS maternity_employer_topup,
           mr.row_no AS maternity_allowance_row,
           p.entitlement AS annual_leave_entitlement, CAST(p.taken_days * 100 AS BIGINT) AS annual_leave_taken_ytd,
           CAST(p.payout_days AS BIGINT) AS annual_leave_payout_days,
           w.base AS annual_leave_wage_base, p.extra_rate AS annual_leave_extra_rate,
           p.policy_row AS annual_leave_policy_row,
           s.employee_id IS NOT NULL AND s.row_no IS NULL AS sick_row_missing,
           m.employee_id IS NOT NULL AND mr.row_no IS NULL AS maternity_row_missing
    FROM everyone e
    LEFT JOIN kinds k USING (employee_id)
    LEFT JOIN sick_share s USING (employee_id)
    LEFT JOIN maternity m USING (employee_id)
    LEFT JOIN maternity_rows mr ON mr.for_region = m.region_code
    LEFT JOIN unit_average ua ON ua.region_code = m.region_code AND ua.unit = m.unit
    LEFT JOIN payout p USING (employee_id)
    LEFT JOIN wage_base w USING (employee_id)""")
    missing = con.execute("SELECT employee_id, sick_row_missing FROM leave_month_status "
                          "WHERE sick_row_missing OR maternity_row_missing ORDER BY 1 LIMIT 10").fetchall()
    if missing:
        what = ", ".join(f"{e} ({'sick_pay' if sick else 'maternity'})" for e, sick in missing)
        raise PolicyError(f"{month.label}: the policy tables have no row in force for the leave of {what}")


def _status_empty(con, month, roster_sql: str) -> bool:
    """Whether leave_month_status would have no row: no leave record touches the month, nobody on
    the roster leaves by its end, and no annual_leave_policy row pays untaken leave in this month
    (a superset of the query's `pieces` and `due`, so empty here means empty there)."""
    start, end = f"DATE '{month.start}'", f"DATE '{month.end}'"
    return not con.execute(f"""
        SELECT EXISTS (SELECT 1 FROM leave WHERE start_date <= {end} AND end_date >= {start})
            OR EXISTS (SELECT 1 FROM policy_annual_leave_policy
                       WHERE payout_month = {month.start.month} AND untaken = 'pay')
            OR EXISTS (SELECT 1 FROM ({roster_sql}) WHERE leave_date <= {end})""").fetchone()[0]


def _status_table_installed(con) -> bool:
    """Whether leave_month_status exists as install_month_status's query made it (its check
    column), not as the parameters-only empty table."""
    return bool(con.execute("SELECT count(*) FROM duckdb_columns() WHERE table_name = 'leave_month_status' "
                            "AND column_name = 'sick_row_missing' AND database_name = 'temp'").fetchone()[0])


def _service_years_sql(day: str, service_start: str) -> str:
    """Whole years of service on `day` (职工带薪年休假条例 art. 3: 累计工作 years, by anniversary)."""
    return (f"greatest(0, year({day}) - year({service_start}) - CASE WHEN month({day}) * 100 + day({day}) "
            f"< month({service_start}) * 100 + day({service_start}) THEN 1 ELSE 0 END)")


def _entitlement_sql(years: str, day: str) -> str:
    """Annual-leave days for `years` of service on `day`: the entitlement row in force (art. 3)."""
    return (f"coalesce((SELECT a.days FROM policy_annual_leave_entitlement a WHERE a.min_service_years <= {years} "
            f"AND a.effective_from <= {day} ORDER BY a.effective_from DESC, a.min_service_years DESC LIMIT 1), 0)")


def _install_carry(con, year: int, roster_sql: str) -> None:
    """annual_leave_carry (employee_id, carried): the annual-leave days carried into `year` from
    year − 1 under a carry_over annual_leave_policy row (职工带薪年休假条例 art. 5: 跨1个年度安排,
    into the next year only). Carried days are used first and lapse at the end of the year they
    were carried into, so what year y carries on is its own entitlement (prorated for a hire of y,
    实施办法 art. 5) less the days of y not covered by the days carried into y."""
    con.execute("CREATE OR REPLACE TEMP TABLE annual_leave_carry (employee_id VARCHAR, carried BIGINT)")
    first = con.execute("SELECT min(year(effective_from)) FROM policy_annual_leave_policy "
                        "WHERE untaken = 'carry_over'").fetchone()[0]
    if first is None or first >= year:
        return
    hired = con.execute(f"SELECT min(year(hire_date)) FROM ({roster_sql})").fetchone()[0]
    leave_years = [r[0] for r in con.execute(
        "SELECT DISTINCT unnest(range(year(start_date), year(end_date) + 1)) FROM leave "
        f"WHERE kind = 'annual' AND start_date < DATE '{year}-01-01'").fetchall()]
    from ..calendar import calendar_frame
    counted = sorted({y for y in leave_years if first <= y < year})     # only the years a carry reads
    con.register("_carry_calendar", calendar_frame(counted) if counted else calendar_frame([year])[:0])
    for y in range(max(first, hired or year), year):
        year_start, year_end = f"DATE '{y}-01-01'", f"DATE '{y}-12-31'"
        con.execute(f"""
        CREATE OR REPLACE TEMP TABLE annual_leave_carry_next AS
        WITH people AS (
            SELECT r.employee_id, r.hire_date, coalesce(r.service_start, r.hire_date) AS service_start
            FROM ({roster_sql}) r JOIN ({_resolved('annual_leave_policy', '', year_end)}) pol
                 ON pol.for_region = r.region_code AND pol.untaken = 'carry_over'
            WHERE r.hire_date <= {year_end} AND (r.leave_date IS NULL OR r.leave_date > {year_end})),
        taken AS (
            SELECT l.employee_id, count(*) AS days
            FROM leave l JOIN _carry_calendar d ON CAST(d.day AS DATE) BETWEEN greatest(l.start_date, {year_start})
                                                                       AND least(l.end_date, {year_end})
            WHERE l.kind = 'annual' AND d.kind = 'workday' AND l.start_date <= {year_end} AND l.end_date >= {year_start}
            GROUP BY l.employee_id),
        years AS (
            SELECT p.*, {_service_years_sql(year_end, 'service_start')} AS years
            FROM people p),
        entitled AS (
            SELECT y.employee_id, y.hire_date,
                   {_entitlement_sql('y.years', year_end)} AS days
            FROM years y)
        SELECT e.employee_id,
               CAST(greatest(0, CASE WHEN e.hire_date > {year_start}
                                     THEN (({year_end} - e.hire_date) + 1) * e.days // 365 ELSE e.days END
                             - greatest(0, coalesce(t.days, 0) - coalesce(c.carried, 0))) AS BIGINT) AS carried
        FROM entitled e LEFT JOIN taken t USING (employee_id) LEFT JOIN annual_leave_carry c USING (employee_id)""")
        con.execute("CREATE OR REPLACE TEMP TABLE annual_leave_carry AS SELECT * FROM annual_leave_carry_next")
    con.unregister("_carry_calendar")


RULES = [
    Rule(
        name="sick_pay",
        sql="CASE WHEN sick_leave_days > 0 THEN round_div(greatest(("
            + CONTRACT_MONTH.replace("high_risk_allowance_full", "0") +
            ") * sick_pay_share, minimum_wage * sick_pay_floor_ratio) * sick_leave_days,"
            " pay_days_per_month * 100) ELSE 0 END",
        label_zh="病假工资", label_en="Sick pay",
        formula="max(({base_pay_full} + {seniority_pay_full} + {allowances_full}) × {sick_pay_share}, "
                "{minimum_wage} × {sick_pay_floor_ratio}) × {sick_leave_days} ÷ {pay_days_per_month}",
        basis=SICK_BASIS, reads=("sick_pay_row", "minimum_wage_row"),
    ),
    Rule(
        name="maternity_allowance_wage",
        sql=f"coalesce(maternity_unit_average_wage, {CONTRACT_MONTH})",
        label_zh="生育津贴计发基数", label_en="Maternity allowance wage",
        formula="{maternity_unit_average_wage}, or without last year's payslips of the unit the contract month "
                "{base_pay_full} + {seniority_pay_full} + {allowances_full} + {high_risk_allowance_full}",
        basis=MATERNITY_BASIS,
    ),
    Rule(
        name="maternity_allowance",
        sql="CASE WHEN maternity_leave_days > 0 THEN round_div(maternity_allowance_wage * maternity_leave_days,"
            " maternity_day_divisor) ELSE 0 END",
        label_zh="生育津贴", label_en="Maternity allowance",
        formula="{maternity_allowance_wage} × {maternity_leave_days} ÷ {maternity_day_divisor}",
        basis=MATERNITY_BASIS + "; " + TAX_BASIS, reads=("maternity_allowance_row",),
    ),
    Rule(
        name="maternity_own_pay",
        sql=f"round_div(({CONTRACT_MONTH}) * maternity_paid_days, paid_days_in_month)",
        label_zh="产假期间本人工资", label_en="Own pay for the maternity days",
        formula="({base_pay_full} + {seniority_pay_full} + {allowances_full} + {high_risk_allowance_full}) × "
                "{maternity_paid_days} ÷ {paid_days_in_month}",
        basis=TOPUP_BASIS,
    ),
    Rule(
        name="maternity_topup",
        sql="CASE WHEN maternity_employer_topup THEN greatest(0, maternity_own_pay - maternity_allowance) ELSE 0 END",
        label_zh="生育津贴补差", label_en="Maternity allowance top-up (employer)",
        formula="max(0, {maternity_own_pay} − {maternity_allowance}) if {maternity_employer_topup}",
        basis=TOPUP_BASIS, reads=("maternity_allowance_row",),
    ),
    Rule(
        name="annual_leave_wage",
        sql=f"coalesce(annual_leave_wage_base, {CONTRACT_MONTH})",
        label_zh="未休年休假月工资基数", label_en="Monthly wage for untaken leave",
        formula="{annual_leave_wage_base}, or without payslips in the previous 12 months the contract month "
                "{base_pay_full} + {seniority_pay_full} + {allowances_full} + {high_risk_allowance_full}",
        basis=ANNUAL_BASIS,
    ),
    Rule(
        name="annual_leave_payout",
        sql="CASE WHEN annual_leave_payout_days > 0 THEN round_div(annual_leave_wage * annual_leave_extra_rate"
            " * annual_leave_payout_days, pay_days_per_month) ELSE 0 END",
        label_zh="未休年休假工资报酬", label_en="Pay for untaken annual leave",
        formula="{annual_leave_wage} ÷ {pay_days_per_month} × {annual_leave_extra_rate} × {annual_leave_payout_days}"
                " (entitlement {annual_leave_entitlement}, taken {annual_leave_taken_ytd})",
        basis=ANNUAL_BASIS, reads=("annual_leave_policy_row",),
    ),
]
