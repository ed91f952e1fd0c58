"""Arrears (补发 / 补扣): corrections to closed months, paid in the open month.

When a closed month's inputs or tables change (a raise published in June effective from January, a
back-dated promotion, late overtime), engine.retro recomputes the closed month with that month's own
tables and inputs and records the difference per component in the `arrears` table. The open month's
payslip then carries them:

- pay components (base_pay, overtime_pay, …) add up to `arrears_pay`, a pay component of gross pay,
  so they are income of the month paid and taxed there under cumulative withholding
  (国家税务总局公告2018年第61号 art. 6: income is taxed when paid; 补发工资 joins the month paid);
- contributions are recomputed with the earned month's own base and rates (社会保险法 art. 12, 60:
  contributions are due for the month the wage was earned, at that month's rates and base limits) and
  the difference is added to the same fund's line of the month paid (`pension_employee` … and
  `accident_insurance_employer`), so every SPEC identity still holds, and the employee share reduces
  taxable income of the month paid as a 专项扣除.
"""
from __future__ import annotations

from ..columns import EMPLOYEE_CONTRIBUTIONS, EMPLOYER_CONTRIBUTIONS, LABELS, PAY_COMPONENTS
from ..engine.rule import ContextColumn

BASIS = "国家税务总局公告2018年第61号 art. 6 (taxed when paid); 社会保险法 arts. 12, 60 (contributions of the month earned)"
PAY_ARREARS = PAY_COMPONENTS
CONTRIBUTION_ARREARS = EMPLOYEE_CONTRIBUTIONS + EMPLOYER_CONTRIBUTIONS + ("accident_insurance_employer",)
COMPONENTS = PAY_ARREARS + CONTRIBUTION_ARREARS


def arrears_column(component: str) -> str:
    return f"arrears_{component}"


CONTEXT = [
    ContextColumn("arrears_pay", "fen", "补发工资", "Arrears of pay (closed months)", "arrears"),
    *[ContextColumn(arrears_column(c), "fen", f"补缴{LABELS.get(c, (c,))[0]}",
                   f"Arrears of {c.replace('_', ' ')}", "arrears")
      for c in CONTRIBUTION_ARREARS],
]


def plus_arrears(component: str) -> tuple[str, str]:
    """(sql suffix, formula suffix) that add a contribution's arrears to its line of the month paid."""
    column = arrears_column(component)
    return f" + {column}", f" + arrears {{{column}}}"


def arrears_in_month_sql(month_label: str) -> str:
    """Per person, the arrears paid in the month, in fen: the context joins this."""
    pay = ", ".join(f"'{c}'" for c in PAY_ARREARS)
    fen = "CAST(coalesce(sum(amount) FILTER ({}), 0) * 100 AS BIGINT) AS {}"
    columns = [fen.format(f"component IN ({pay})", "arrears_pay")]
    columns += [fen.format(f"component = '{c}'", arrears_column(c)) for c in CONTRIBUTION_ARREARS]
    return (f"SELECT employee_id, {', '.join(columns)} FROM arrears "
            f"WHERE month_paid = '{month_label}' GROUP BY employee_id")


def arrears_select(alias: str) -> str:
    return ", ".join(f"coalesce({alias}.{c.name}, 0) AS {c.name}" for c in CONTEXT)
