"""The five social insurances: base, clamped base per fund, employee and employer contributions.

社会保险法 arts. 12 (pension), 23 (medical), 33 (injury), 44 (unemployment), 53 (maternity);
内蒙古条例 art. 25, 杭州规定 art. 22, 云南条例 art. 34, 南通实施办法 art. 13 oblige the police to
insure 辅警. The base is the declared one or derived (SPEC), clamped to the floor and ceiling in
force (60–300 % of the provincial average wage, set by the provincial notices in the table).
"""
from ..engine.rule import Rule
from ..policy import FUND_ZH, FUNDS
from .arrears import plus_arrears

BASIS = "社会保险法 arts. 12, 23, 33, 44, 53"     # + the region's article: rules/citations.py
EMPLOYEE_FUNDS = ("pension", "medical", "unemployment")   # injury and maternity: employer only

def base_rules(prefix: str, wage: str, label_zh: str, label_en: str, basis: str) -> list[Rule]:
    """Where a base comes from and the wage it gives, from the pay of the twelve months before the
    base year's start ({prefix}_year_*: the table row's base_year_start; issue 14), for the
    insurances (contribution_wage) and the housing fund (housing_fund_wage)."""
    months, gross, first_full = (f"{prefix}_year_months", f"{prefix}_year_gross", f"{prefix}_year_first_full_gross")
    source = f"{wage}_source" if prefix != "contribution" else "contribution_base_source"
    source_zh, source_en = ((f"{label_zh}来源", f"Where the {label_en.lower()} comes from") if prefix != "contribution"
                            else ("缴费基数来源", "Where the contribution base comes from"))
    return [Rule(
        name=source,
        sql=f"CASE WHEN declared_base IS NOT NULL THEN 'declared'"
            f" WHEN {months} > 0 THEN 'previous_year'"
            f" WHEN {first_full} IS NOT NULL OR paid_days_employed = paid_days_in_month"
            f" THEN 'first_full_month' ELSE 'contract_month' END",
        label_zh=source_zh, label_en=source_en,
        formula=f"declared {{declared_base}}, else the payslips of the 12 months before the base year "
                f"{{{prefix}_year_start}} ({{{months}}}), else the base year's first whole month "
                f"({{{first_full}}}; this month: {{paid_days_employed}} of {{paid_days_in_month}} paid days), "
                f"else the contract month",
        basis="SPEC contribution-base rule", unit="text",
    ), Rule(
        name=wage,
        sql=f"CASE {source}"
            " WHEN 'declared' THEN declared_base"
            f" WHEN 'previous_year' THEN round_div({gross}, {months})"
            f" WHEN 'first_full_month' THEN coalesce({first_full}, gross_pay)"
            " ELSE base_pay_full + seniority_pay_full + allowances_full + high_risk_allowance_full END",
        label_zh=label_zh, label_en=label_en,
        formula=f"by {{{source}}}: declared {{declared_base}}; the 12 months before the base year "
                f"{{{gross}}} ÷ {{{months}}}; first full month {{{first_full}}} (else this month {{gross_pay}}); "
                "else the contract month {base_pay_full} + {seniority_pay_full} + {allowances_full} + "
                "{high_risk_allowance_full}",
        basis=basis,
    )]


BASE_SOURCE, CONTRIBUTION_WAGE = base_rules("contribution", "contribution_wage", "缴费工资", "Contribution wage",
                                            "SPEC contribution-base rule; 社会保险法 art. 12")


def _fund_rules(fund: str) -> list[Rule]:
    zh = FUND_ZH[fund]
    rules = [Rule(
        name=f"{fund}_base",
        sql=f"least(greatest(contribution_wage, {fund}_base_floor), {fund}_base_ceiling)",
        label_zh=f"{zh}保险缴费基数", label_en=f"{fund.capitalize()} contribution base",
        formula=f"min(max({{contribution_wage}}, {{{fund}_base_floor}}), {{{fund}_base_ceiling}})",
        basis=BASIS, reads=(f"{fund}_row",), regional_basis="social_insurance",
    )]
    sides = (("employer", "单位"), ("employee", "个人")) if fund in EMPLOYEE_FUNDS else (("employer", "单位"),)
    for side, side_zh in sides:
        arrears_sql, arrears_formula = plus_arrears(f"{fund}_{side}")   # closed months' difference
        rules.append(Rule(
            name=f"{fund}_{side}",
            sql=f"round_div({fund}_base * {fund}_{side}_rate, 1000000){arrears_sql}",
            label_zh=f"{side_zh}{zh}保险", label_en=f"{fund.capitalize()} ({side})",
            formula=f"{{{fund}_base}} × {{{fund}_{side}_rate}}{arrears_formula}",
            basis=BASIS, reads=(f"{fund}_row",), regional_basis="social_insurance",
        ))
    return rules


RULES = [BASE_SOURCE, CONTRIBUTION_WAGE] + [rule for fund in FUNDS for rule in _fund_rules(fund)]
