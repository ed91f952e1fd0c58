"""Work-injury, death and martyr benefit items: what each is, who pays it, and the article.

The amounts are figured in payroll/benefits.py from the tables (injury_grades, national_parameters,
national_statistics, average_wage, minimum_wage, pay_scale, injury_leaving_grants,
police_reference, police_disability_pension); this module only names the items and their legal
basis, so the statement, the `benefits` table and the rule book say the same thing.
"""
from __future__ import annotations

from dataclasses import dataclass

INJURY_ACT = "工伤保险条例 (2010)"
MARTYR_ACT_2024 = "烈士褒扬条例 (2024)"


@dataclass(frozen=True)
class Item:
    name: str
    label_zh: str
    label_en: str
    basis: str


ITEMS = {item.name: item for item in (
    Item("stoppage_pay", "停工留薪期工资", "Pay during the work-stoppage period",
         f"{INJURY_ACT} art. 33 (原工资福利待遇不变，由所在单位按月支付)"),
    Item("disability_one_off", "一次性伤残补助金", "One-off disability grant",
         f"{INJURY_ACT} arts. 35(一), 36(一), 37(一) (months of 本人工资 by grade, from the fund)"),
    Item("disability_allowance", "伤残津贴", "Monthly disability allowance",
         f"{INJURY_ACT} arts. 35(二) (grades 1–4, fund), 36(二) (grades 5–6 when no work is arranged, "
         "employer); topped up to the local minimum wage"),
    Item("nursing_allowance", "生活护理费", "Nursing allowance",
         f"{INJURY_ACT} art. 34 (50/40/30 % of the 统筹地区上年度职工月平均工资, from the fund)"),
    Item("leaving_medical_grant", "一次性工伤医疗补助金", "One-off medical grant on leaving the job",
         f"{INJURY_ACT} arts. 36, 37 (fund; the province sets the amount)"),
    Item("leaving_medical_occupational_uplift", "职业病一次性工伤医疗补助金加发",
         "Occupational-disease uplift of the medical grant",
         f"{INJURY_ACT} arts. 36, 37 (fund); the province's 实施办法 raises the medical grant for an occupational "
         "disease (injury_leaving_grants.csv: 云南 +30 %, 内蒙古 +20 %)"),
    Item("leaving_employment_grant", "一次性伤残就业补助金", "One-off employment grant on leaving the job",
         f"{INJURY_ACT} arts. 36, 37 (employer; the province sets the amount)"),
    Item("funeral_grant", "丧葬补助金", "Funeral grant",
         f"{INJURY_ACT} art. 39(一) (6 months of the 统筹地区上年度职工月平均工资, from the fund)"),
    Item("survivor_pension", "供养亲属抚恤金", "Dependant's pension",
         f"{INJURY_ACT} art. 39(二) (spouse 40 %, each other dependant 30 %, +10 % orphan or lone elderly; "
         "the total not above the person's wage)"),
    Item("death_grant", "一次性工亡补助金", "One-off death grant",
         f"{INJURY_ACT} art. 39(三) (20 × the previous year's national urban per-capita disposable income)"),
    Item("martyr_commendation", "烈士褒扬金", "Martyr commendation",
         f"{MARTYR_ACT_2024} art. 15 (30 × the previous year's national urban per-capita disposable income, "
         "paid by the county 退役军人工作主管部门)"),
    Item("martyr_special_grant", "烈士遗属特别补助金", "Martyr survivors' special grant",
         f"{MARTYR_ACT_2024} art. 16 (40 months of the martyr's basic wage, paid by the county "
         "退役军人工作主管部门; 2019 text art. 15: 40 months of the wage)"),
    Item("police_death_one_off", "参照因公牺牲人民警察一次性抚恤金", "Police reference: one-off death pension",
         "regional regulation (police_reference.csv); 人民警察抚恤优待办法 (2014): 20 × urban disposable income "
         "+ 40 months of the wage"),
    Item("work_injury_comparable", "工伤（烈士）一次性待遇（对比）", "Work-injury one-off package (compared)",
         "the one-off death grant (and the martyr special grant) of the same event"),
    Item("police_disability_pension", "参照因公致残人民警察残疾抚恤金（按月）",
         "Police reference: disability pension (monthly)",
         "regional regulation (police_reference.csv); 人民警察抚恤优待办法 refers to 军人抚恤优待条例 (2024) "
         "art. 31: the annual 残疾抚恤金 by grade (因公) of police_disability_pension.csv, ÷ 12"),
    Item("work_injury_allowance_comparable", "工伤伤残津贴（对比）", "Work-injury monthly allowance (compared)",
         "the monthly disability allowance of the same event (工伤保险条例 arts. 35–36; none for grades 7–10 "
         "or when suitable work is arranged)"),
    Item("police_reference_topup", "参照人民警察抚恤差额", "Police-reference top-up",
         "regional regulation (police_reference.csv): the police package above the work-injury items serving "
         "the same purpose (death: the one-off amounts; disability: the monthly allowance), paid by the "
         "employing public-security authority"),
)}

PAYERS = {
    "injury_fund": "工伤保险基金",
    "employer": "用人单位（公安机关）",
    "county_veterans_affairs": "县级退役军人工作主管部门",
    "not_paid": "不支付（仅供对比）",
}
PERIODS = {"once": "一次性", "monthly": "按月"}
PACKAGES = {"work_injury": "工伤保险待遇", "martyr": "烈士褒扬", "police_reference": "参照人民警察（对比）",
            "police_topup": "参照人民警察差额"}

# 工伤保险条例 arts. 35–36: who pays the monthly disability allowance (injury_grades.allowance_payer)
ALLOWANCE_PAYER_EMPLOYER = "employer"
NURSING_PARAMETERS = {"full": "injury_nursing_rate_full", "most": "injury_nursing_rate_most",
                      "partial": "injury_nursing_rate_partial"}
LEAVING_GRANT_ITEMS = {"medical": ("leaving_medical_grant", "injury_fund"),
                       "employment": ("leaving_employment_grant", "employer")}
