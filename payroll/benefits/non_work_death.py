"""Death outside work (issue 14): 社会保险法 art. 17.

因病或者非因工死亡的，其遗属可以领取丧葬补助金和抚恤金 from the basic pension fund. The amounts are
provincial (人社部发〔2021〕18号 leaves them to the provinces): the `non_work_death` table gives each
item for a region, with its source; an item the table lacks is an explicit "figure missing" error,
never a guess. An employer condolence payment (`condolence`) is paid where the region's row gives
one. The work-injury items (funeral grant, survivors' pensions and the one-off death grant of
工伤保险条例 art. 39) are not paid.
"""
from __future__ import annotations

from datetime import date

import pandas as pd

from ..errors import PolicyError
from ..rules.work_injury import ITEMS, PACKAGES, PAYERS, Item

SI_LAW = "社会保险法 (2018) art. 17"
NON_WORK_ITEMS = {
    "non_work_funeral_grant": Item("non_work_funeral_grant", "丧葬补助金（养老保险基金）",
                                   "Funeral grant (pension fund)",
                                   f"{SI_LAW} (因病或者非因工死亡: 丧葬补助金); 人社部发〔2021〕18号; non_work_death table"),
    "non_work_survivors_pension": Item("non_work_survivors_pension", "抚恤金（养老保险基金）",
                                       "Survivors' pension (pension fund)",
                                       f"{SI_LAW} (抚恤金); 人社部发〔2021〕18号; non_work_death table"),
    "non_work_condolence": Item("non_work_condolence", "单位慰问金", "Employer condolence payment",
                                "regional rule in the non_work_death table (condolence row)"),
}
TABLE_ITEMS = {"funeral_grant": "non_work_funeral_grant", "survivors_pension": "non_work_survivors_pension",
               "condolence": "non_work_condolence"}
REQUIRED = ("funeral_grant", "survivors_pension")

ITEMS.update(NON_WORK_ITEMS)
PAYERS.setdefault("pension_fund", "基本养老保险基金")
PACKAGES.setdefault("non_work_death", "非因工死亡待遇")


def non_work_death(calculator, r, person: pd.Series) -> None:
    """Add the pension-fund items (and a condolence payment, if the region has one) to r.lines."""
    from .calculator import Line, _months, number, yuan

    day: date = r.event_date
    look = calculator.look
    province = calculator._province(person.region_code)
    for item in ("funeral_grant", "survivors_pension", "condolence"):
        missing = None
        if item in REQUIRED:
            missing = (f"figure missing for this province: non_work_death has no {item} "
                       f"({NON_WORK_ITEMS[TABLE_ITEMS[item]].label_zh}) in force for region {person.region_code} "
                       f"(province {province}) on {day}, needed for the non-work death of {r.employee_id} "
                       f"({SI_LAW}); add the provincial figure with its source to non_work_death.csv")
        row = look.regional("non_work_death", person.region_code, day, missing=missing, item=item)
        if row is None:
            continue
        value = row.value
        if row.basis == "amount":
            amount, formula = int(value * 100), f"{number(value)} yuan"
        elif row.basis == "months_of_average_wage":
            average = look.regional("average_wage", person.region_code, day,
                                    missing=f"average_wage: no row in force for region {person.region_code} on {day}")
            wage = int(average.monthly_average_wage * 100)
            amount, formula = _months(wage, value), f"{number(value)} months × {yuan(wage)} (regional average wage)"
        elif row.basis == "months_of_own_wage":
            if not r.benefit_wage:
                raise PolicyError(f"employee {r.employee_id}: no 本人工资 (no payslips and no declared base) "
                                  f"for the {item} of the non-work death on {day}")
            amount, formula = _months(r.benefit_wage, value), f"{number(value)} months × {yuan(r.benefit_wage)} (本人工资)"
        else:
            urban = look.urban_income(day)
            income = int(urban.value * 100)
            amount = _months(income, value)
            formula = f"{number(value)} × {yuan(income)} ({day.year - 1} national urban per-capita disposable income)"
        r.lines.append(Line("non_work_death", TABLE_ITEMS[item], amount, "once", row.payer, formula,
                            basis_extra=f"non_work_death row {int(row.row_no)}: {row.source}"))
    r.notes.append(f"non-work death ({SI_LAW}): the pension fund's funeral grant and survivors' pension; "
                   "no work-injury grants")
