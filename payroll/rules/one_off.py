"""One-off payments (`payroll import --payments`): the year-end bonus, severance and other payments.

- `other`: a taxable payment of the month, merged with the wage (国家税务总局公告2018年第61号 art. 6).
- `annual_bonus` (全年一次性奖金): until 2027-12-31 it may be taxed apart (财税〔2018〕164号 art. 1(一),
  extended by 财政部 税务总局公告2023年第30号): bonus ÷ 12 picks the row of the monthly-converted table
  (按月换算后的综合所得税率表, tables/iit_bonus_brackets.csv); tax = bonus × rate − quick deduction, and
  the bonus stays out of the cumulative income. Once per person and tax year (国税发〔2005〕9号 art. 3).
  Or it is merged into the month's income. With no method given the engine takes the one with less
  tax for the year, projecting the rest of the year at this month's regular pay, and keeps both
  figures. A bonus just above a row boundary (36,000.01 … 38,566.67 and the like) leaves less net
  than the boundary itself: `annual_bonus_in_cliff` flags it.
- `severance` (解除劳动合同一次性补偿金): the part up to 3 × the local previous-year average wage is
  exempt; the excess is taxed apart with the annual comprehensive-income table (财税〔2018〕164号
  art. 5(一)); neither part enters the cumulative income.

Per person the month's payments come from the temp table `month_payments`, built each run by
install_month_payments: the payments in the month's state (run_payments_filter; engine/offcycle.py).

Issue 16: the annual appraisal bonus (年度考核奖, rules/performance_pay.py) is paid as the month's
全年一次性奖金 too: the bonus taxed is `annual_bonus_total` = the imported annual_bonus + appraisal_bonus,
with the imported bonus's method when one is paid that month, else the performance_pay row's.
"""
from __future__ import annotations

import duckdb

from ..db import scalar, table_exists
from ..engine.rule import ContextColumn, Rule
from ..errors import PayrollError, PolicyError

BONUS_BASIS = ("财税〔2018〕164号 art. 1(一); 财政部 税务总局公告2023年第30号 (全年一次性奖金 单独计税 to 2027-12-31); "
               "国税发〔2005〕9号 art. 3 (once a year)")
SEVERANCE_BASIS = "财税〔2018〕164号 art. 5(一) (解除劳动关系一次性补偿收入: 3 × 当地上年职工平均工资 exempt, excess taxed apart)"
OTHER_BASIS = "国家税务总局公告2018年第61号 art. 6 (taxed with the month's wage)"
KINDS = {"annual_bonus": "全年一次性奖金", "severance": "解除劳动合同一次性补偿金", "other": "其他一次性收入"}
METHODS = ("separate", "merged")

CONTEXT = [
    ContextColumn("other_payments", "fen", "其他一次性收入", "Other one-off payments", "payments"),
    ContextColumn("annual_bonus", "fen", "全年一次性奖金", "Annual one-off bonus", "payments"),
    ContextColumn("annual_bonus_method_requested", "text", "全年一次性奖金计税方式（申报）",
                  "Bonus tax method asked for (separate, merged, empty = the cheaper)", "payments"),
    ContextColumn("severance_pay", "fen", "解除劳动合同一次性补偿金", "Severance pay", "payments"),
    ContextColumn("separate_bonus_earlier", "bool", "本年已单独计税", "A bonus taxed apart earlier this year",
                  "payslips"),
]


def context_select(alias: str) -> str:
    return (f"coalesce({alias}.other_payments, 0) AS other_payments, "
            f"coalesce({alias}.annual_bonus, 0) AS annual_bonus, "
            f"coalesce({alias}.annual_bonus_method_requested, '') AS annual_bonus_method_requested, "
            f"coalesce({alias}.severance_pay, 0) AS severance_pay, "
            f"coalesce({alias}.separate_bonus_earlier, false) AS separate_bonus_earlier")


EMPTY_PAYMENTS = """
CREATE OR REPLACE TEMP TABLE month_payments (
    employee_id VARCHAR, other_payments BIGINT, annual_bonus BIGINT,
    annual_bonus_method_requested VARCHAR, severance_pay BIGINT, separate_bonus_earlier BOOLEAN)"""


def run_payments_filter(con: duckdb.DuckDBPyConnection, month_label: str, extra: str = "") -> str:
    """The payments in the month's state (engine/offcycle.py): the regular run's, those of the
    off-cycle runs done (per person and run kind), and `extra` (an off-cycle run being computed).
    The regular run pays the regular ones; it counts the others so the month's tax is cumulative."""
    done = ""
    if table_exists(con, "offcycle_payslips"):
        done = (f" OR (employee_id, run_kind) IN (SELECT employee_id, offcycle_kind FROM offcycle_payslips "
                f"WHERE month = '{month_label}')")
    return f"(run_kind IS NULL OR run_kind = 'regular'{done}{extra})"


def install_month_payments(con: duckdb.DuckDBPyConnection, month, payments_filter: str | None = None) -> None:
    """month_payments: per person the run's payments in fen, and whether a bonus was taxed apart
    earlier in the year (a second one is refused: 国税发〔2005〕9号 art. 3)."""
    con.execute(EMPTY_PAYMENTS)
    # issue 16: people whose appraisal bonus (paid as the annual bonus) falls in this month
    appraisal = (table_exists(con, "performance_month") and
                 scalar(con, "SELECT count(*) FROM performance_month WHERE appraisal_bonus_row IS NOT NULL") > 0)
    if not appraisal and (not table_exists(con, "payments") or not scalar(
            con, "SELECT count(*) FROM payments WHERE month = ?", [month.label])):
        return
    earlier = "false"
    if table_exists(con, "payslips"):
        earlier = (f"e.employee_id IN (SELECT employee_id FROM payslips WHERE month >= '{month.year}-01' "
                   f"AND month < '{month.label}' AND annual_bonus_separate > 0)")
        if table_exists(con, "offcycle_payslips"):
            # earlier months' off-cycle runs; this month's are in the month's state (engine/offcycle.py)
            earlier += (f" OR e.employee_id IN (SELECT employee_id FROM offcycle_payslips WHERE month >= "
                        f"'{month.year}-01' AND month < '{month.label}' AND annual_bonus_separate > 0)")
    if table_exists(con, "payments"):
        _insert_payments(con, month, payments_filter or run_payments_filter(con, month.label))
    if appraisal:
        # a row for each (zero payments) so the earlier-bonus flag below covers them too
        con.execute("""INSERT INTO month_payments
            SELECT employee_id, 0, 0, '', 0, false FROM performance_month
            WHERE appraisal_bonus_row IS NOT NULL
              AND employee_id NOT IN (SELECT employee_id FROM month_payments)""")
    if earlier != "false":
        con.execute(f"UPDATE month_payments e SET separate_bonus_earlier = ({earlier})")
    twice = con.execute("SELECT employee_id FROM month_payments WHERE separate_bonus_earlier "
                        "AND annual_bonus_method_requested = 'separate' ORDER BY 1").fetchall()
    if twice:
        raise PayrollError(f"{month.label}: a second annual bonus taxed separately in {month.year} for "
                           f"{', '.join(e for (e,) in twice[:10])}: the separate method is allowed once a "
                           f"year (国税发〔2005〕9号 art. 3); set its tax_method to merged or leave it empty")
    _check_tables(con, month)


def _insert_payments(con: duckdb.DuckDBPyConnection, month, payments_filter: str) -> None:
    con.execute(f"""
    INSERT INTO month_payments
    SELECT employee_id,
           CAST(coalesce(sum(amount) FILTER (kind = 'other'), 0) * 100 AS BIGINT),
           CAST(coalesce(sum(amount) FILTER (kind = 'annual_bonus'), 0) * 100 AS BIGINT),
           coalesce(max(tax_method) FILTER (kind = 'annual_bonus'), ''),
           CAST(coalesce(sum(amount) FILTER (kind = 'severance'), 0) * 100 AS BIGINT),
           false
    FROM payments WHERE month = '{month.label}' AND {payments_filter}
    GROUP BY employee_id""")


def _check_tables(con: duckdb.DuckDBPyConnection, month) -> None:
    """A bonus or severance paid needs its table figures: name the table, region and month."""
    appraisal = (" OR employee_id IN (SELECT employee_id FROM performance_month WHERE appraisal_bonus_row IS NOT NULL)"
                 if table_exists(con, "performance_month") else "")
    if scalar(con, f"SELECT count(*) FROM month_payments WHERE annual_bonus > 0{appraisal}") and not scalar(
            con, "SELECT count(*) FROM iit_bonus_brackets_in_force WHERE iit_bonus_thresholds[1] = 0"):
        raise PolicyError(f"iit_bonus_brackets: no monthly-converted table with a row from 0 in force in "
                          f"{month.label} (an annual bonus is paid)")
    missing = [code for (code,) in con.execute("""
        SELECT DISTINCT e.region_code FROM month_payments m JOIN employees e USING (employee_id)
        LEFT JOIN params_region p USING (region_code)
        WHERE m.severance_pay > 0 AND p.average_wage_monthly IS NULL ORDER BY 1""").fetchall()]
    if missing:
        raise PolicyError(f"average_wage: no row in force for region {', '.join(missing)} in {month.label} "
                          f"(severance is paid: its exempt part is 3 × the local average wage)")


def bracket_sql(thresholds: str, amount: str, scale: str = "") -> str:
    """The row whose threshold is the largest below the amount (a row applies above its threshold)."""
    return f"greatest(1, list_count(list_filter({thresholds}, lambda t: t{scale} < {amount})))"


def annual_tax_sql(amount: str) -> str:
    """Tax on an amount by the annual comprehensive-income table (综合所得税率表)."""
    bracket = bracket_sql("iit_thresholds", amount)
    return (f"(round_div(({amount}) * iit_rates[{bracket}], 1000000) - iit_quick_deductions[{bracket}])")


# issue 16: the year's bonus paid this month is the imported one plus the appraisal bonus
BONUS_SOURCE_RULES = [
    Rule(name="annual_bonus_total", sql="annual_bonus + appraisal_bonus",
         label_zh="全年一次性奖金合计（含年度考核奖）", label_en="Annual bonus paid this month, appraisal bonus included",
         formula="{annual_bonus} + {appraisal_bonus}", basis=BONUS_BASIS + " (年度考核奖: rules/performance_pay.py)"),
    Rule(name="annual_bonus_method_asked",
         sql="CASE WHEN annual_bonus > 0 THEN annual_bonus_method_requested ELSE appraisal_bonus_method_requested END",
         label_zh="全年一次性奖金计税方式（申报或表定）", label_en="Bonus tax method asked for (empty = the cheaper)",
         formula="{annual_bonus_method_requested} when a bonus is imported ({annual_bonus}), else the performance_pay "
                 "row's {appraisal_bonus_method_requested}",
         basis=BONUS_BASIS, unit="text", reads=("appraisal_bonus_row",)),
]

PROJECTION_RULES = [
    Rule(name="months_left_in_year", sql="12 - month(month_start)",
         label_zh="本年剩余月份", label_en="Months left in the year", formula="12 − month of {month_start}",
         basis=BONUS_BASIS + " (choice of method: the rest of the year projected)", unit="int"),
    Rule(name="recurring_income_month",
         sql="gross_pay - tax_exempt_income - severance_pay - annual_bonus_total - other_payments - bonus - arrears_pay",
         label_zh="本月经常性收入", label_en="This month's regular pay (for the projection)",
         formula="{gross_pay} − {tax_exempt_income} − {severance_pay} − {annual_bonus_total} − {other_payments} − "
                 "{bonus} − {arrears_pay}",
         basis=BONUS_BASIS + " (the rest of the year projected at this month's regular pay)"),
]

BONUS_RULES = [
    Rule(name="annual_bonus_bracket",
         sql=bracket_sql("iit_bonus_thresholds", "annual_bonus_total", " * 12"),
         label_zh="全年一次性奖金适用税率档次", label_en="Bonus row (bonus ÷ 12 in the monthly table)",
         formula="row of {iit_bonus_thresholds} (按月换算) where {annual_bonus_total} ÷ 12 falls",
         basis=BONUS_BASIS, unit="int", reads=("iit_bonus_brackets_rows",)),
    Rule(name="annual_bonus_rate", sql="coalesce(iit_bonus_rates[annual_bonus_bracket], 0)",
         label_zh="全年一次性奖金税率", label_en="Bonus tax rate",
         formula="rate of row {annual_bonus_bracket} in {iit_bonus_rates}", basis=BONUS_BASIS, unit="ppm",
         reads=("iit_bonus_brackets_rows",)),
    Rule(name="annual_bonus_quick_deduction",
         sql="coalesce(iit_bonus_quick_deductions[annual_bonus_bracket], 0)",
         label_zh="全年一次性奖金速算扣除数", label_en="Bonus quick deduction",
         formula="quick deduction of row {annual_bonus_bracket} in {iit_bonus_quick_deductions}",
         basis=BONUS_BASIS, reads=("iit_bonus_brackets_rows",)),
    Rule(name="annual_bonus_separate_tax",
         sql="CASE WHEN annual_bonus_total > 0 THEN round_div(annual_bonus_total * annual_bonus_rate, 1000000)"
             " - annual_bonus_quick_deduction ELSE 0 END",
         label_zh="全年一次性奖金单独计税税额", label_en="Bonus tax if taxed apart",
         formula="{annual_bonus_total} × {annual_bonus_rate} − {annual_bonus_quick_deduction}", basis=BONUS_BASIS),
    Rule(name="annual_bonus_boundary_net",
         sql="CASE WHEN annual_bonus_bracket > 1 THEN iit_bonus_thresholds[annual_bonus_bracket] * 12"
             " - (round_div(iit_bonus_thresholds[annual_bonus_bracket] * 12"
             " * iit_bonus_rates[annual_bonus_bracket - 1], 1000000)"
             " - iit_bonus_quick_deductions[annual_bonus_bracket - 1]) END",
         label_zh="临界点税后奖金", label_en="Net of a bonus exactly at the row's lower boundary",
         formula="12 × threshold of row {annual_bonus_bracket} of {iit_bonus_thresholds}, less its tax at "
                 "{iit_bonus_rates} and {iit_bonus_quick_deductions} of the row below",
         basis=BONUS_BASIS + " (临界点)", reads=("iit_bonus_brackets_rows",)),
    Rule(name="projected_taxable_year",
         sql="(prev_income_ytd + gross_pay - tax_exempt_income - severance_pay - annual_bonus_total"
             " + recurring_income_month * months_left_in_year"
             " - CASE WHEN no19_applies THEN basic_deduction_ytd"
             " ELSE iit_basic_deduction_monthly * (months_employed_ytd + months_left_in_year) END"
             " - contributions_ytd - employee_contributions * months_left_in_year"
             " - special_deduction_ytd - special_deduction * months_left_in_year)",
         label_zh="预计全年应纳税所得额（不含奖金，可为负）",
         label_en="Projected taxable income of the year without the bonus (negative: deductions left unused)",
         formula="({prev_income_ytd} + {gross_pay} − {tax_exempt_income} − {severance_pay} − {annual_bonus_total}"
                 " + {recurring_income_month} × {months_left_in_year} − basic deduction ({basic_deduction_ytd} if"
                 " {no19_applies} else {iit_basic_deduction_monthly} × ({months_employed_ytd} + {months_left_in_year}))"
                 " − {contributions_ytd} − {employee_contributions} × {months_left_in_year} − {special_deduction_ytd}"
                 " − {special_deduction} × {months_left_in_year})",
         basis=BONUS_BASIS + " (the rest of the year at this month's regular pay)"),
    Rule(name="annual_bonus_year_tax_separate",
         sql=f"CASE WHEN annual_bonus_total > 0 THEN {annual_tax_sql('greatest(0, projected_taxable_year)')} + annual_bonus_separate_tax"
             " ELSE 0 END",
         label_zh="全年税额（奖金单独计税）", label_en="Tax of the year, bonus taxed apart",
         formula="annual tax of max(0, {projected_taxable_year}) by {iit_thresholds}, {iit_rates}, {iit_quick_deductions}"
                 " + {annual_bonus_separate_tax} (when {annual_bonus_total} > 0)",
         basis=BONUS_BASIS, reads=("iit_brackets_rows",)),
    Rule(name="annual_bonus_year_tax_merged",
         sql=f"CASE WHEN annual_bonus_total > 0 THEN {annual_tax_sql('greatest(0, projected_taxable_year + annual_bonus_total)')} ELSE 0 END",
         label_zh="全年税额（奖金并入综合所得）", label_en="Tax of the year, bonus merged",
         formula="annual tax of max(0, {projected_taxable_year} + {annual_bonus_total}) by {iit_thresholds}, {iit_rates}, "
                 "{iit_quick_deductions}",
         basis=BONUS_BASIS, reads=("iit_brackets_rows",)),
    Rule(name="annual_bonus_method",
         sql="CASE WHEN annual_bonus_total = 0 THEN ''"
             " WHEN annual_bonus_method_asked = 'merged' THEN 'merged'"
             " WHEN annual_bonus_separate_allowed = 0 OR separate_bonus_earlier THEN 'merged'"
             " WHEN annual_bonus_method_asked = 'separate' THEN 'separate'"
             " WHEN annual_bonus_year_tax_merged < annual_bonus_year_tax_separate THEN 'merged'"
             " ELSE 'separate' END",
         label_zh="全年一次性奖金计税方式", label_en="Bonus tax method used",
         formula="none without a bonus ({annual_bonus_total}); {annual_bonus_method_asked} if given; merged if separate is not allowed "
                 "({annual_bonus_separate_allowed}) or was used this year ({separate_bonus_earlier}); else the "
                 "cheaper of separate {annual_bonus_year_tax_separate} and merged {annual_bonus_year_tax_merged}",
         basis=BONUS_BASIS, unit="text", reads=("annual_bonus_separate_allowed_row",)),
    Rule(name="annual_bonus_separate",
         sql="CASE WHEN annual_bonus_method = 'separate' THEN annual_bonus_total ELSE 0 END",
         label_zh="单独计税的全年一次性奖金", label_en="Bonus taxed apart",
         formula="{annual_bonus_total} when {annual_bonus_method} is separate", basis=BONUS_BASIS),
    Rule(name="iit_annual_bonus",
         sql="CASE WHEN annual_bonus_method = 'separate' THEN annual_bonus_separate_tax ELSE 0 END",
         label_zh="全年一次性奖金个税", label_en="Income tax on the bonus taxed apart",
         formula="{annual_bonus_separate_tax} when {annual_bonus_method} is separate", basis=BONUS_BASIS),
    Rule(name="annual_bonus_in_cliff",
         sql="coalesce(annual_bonus_method = 'separate' AND annual_bonus_bracket > 1"
             " AND annual_bonus_total - annual_bonus_separate_tax < annual_bonus_boundary_net, false)",
         label_zh="奖金落入临界点盲区", label_en="Bonus in a cliff (less net than at the boundary)",
         formula="{annual_bonus_total} − {annual_bonus_separate_tax} < {annual_bonus_boundary_net} "
                 "(method {annual_bonus_method}, row {annual_bonus_bracket})",
         basis=BONUS_BASIS + " (临界点)", unit="bool"),
]

SEVERANCE_RULES = [
    Rule(name="severance_exempt_limit",
         sql="coalesce(round_div(average_wage_monthly * 12 * severance_exempt_average_wage_multiple, 1000000), 0)",
         label_zh="补偿金免税限额", label_en="Severance exempt up to",
         formula="{average_wage_monthly} × 12 × {severance_exempt_average_wage_multiple}",
         basis=SEVERANCE_BASIS, reads=("average_wage_row", "severance_exempt_average_wage_multiple_row")),
    Rule(name="severance_exempt", sql="least(severance_pay, severance_exempt_limit)",
         label_zh="补偿金免税部分", label_en="Severance, exempt part",
         formula="min({severance_pay}, {severance_exempt_limit})", basis=SEVERANCE_BASIS),
    Rule(name="severance_taxable", sql="severance_pay - severance_exempt",
         label_zh="补偿金应税部分", label_en="Severance, taxed part",
         formula="{severance_pay} − {severance_exempt}", basis=SEVERANCE_BASIS),
    Rule(name="severance_bracket", sql=bracket_sql("iit_thresholds", "severance_taxable"),
         label_zh="补偿金适用税率档次", label_en="Severance row (annual table)",
         formula="row of {iit_thresholds} (综合所得税率表) where {severance_taxable} falls",
         basis=SEVERANCE_BASIS, unit="int", reads=("iit_brackets_rows",)),
    Rule(name="iit_severance",
         sql="CASE WHEN severance_taxable > 0 THEN round_div(severance_taxable * iit_rates[severance_bracket],"
             " 1000000) - iit_quick_deductions[severance_bracket] ELSE 0 END",
         label_zh="补偿金个税", label_en="Income tax on severance",
         formula="{severance_taxable} × rate of row {severance_bracket} of {iit_rates} − its quick deduction "
                 "in {iit_quick_deductions}",
         basis=SEVERANCE_BASIS, reads=("iit_brackets_rows",)),
    Rule(name="income_taxed_apart", sql="severance_pay + annual_bonus_separate",
         label_zh="单独计税收入（不并入累计收入）", label_en="Income taxed apart (not in the cumulative income)",
         formula="{severance_pay} + {annual_bonus_separate}", basis=SEVERANCE_BASIS + "; " + BONUS_BASIS),
]

RULES = BONUS_SOURCE_RULES + PROJECTION_RULES + BONUS_RULES + SEVERANCE_RULES
