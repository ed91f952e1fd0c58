"""Accident insurance premiums, an employer cost: a twelfth of each cover's annual premium a month.

内蒙古条例 art. 25 and 南通实施办法 art. 13 (personal accident insurance for high-risk posts);
杭州规定 art. 22 (public-transport accident insurance for all, personal accident insurance for more
dangerous posts); 云南条例 art. 34 (by the danger of the post).
"""
from ..engine.rule import Rule
from .arrears import plus_arrears

BASIS = "accident_insurance table (the cover the region's regulation requires)"   # + rules/citations.py
MONTHS_PER_YEAR = 12   # the annual premium is spread evenly over the months, not a policy figure


def premium_groups_sql(resolved_covers: str) -> str:
    """Monthly premium per region and risk class: Σ round(annual ÷ 12) over the covers that apply."""
    return f"""
    SELECT g.region_code, g.risk_class,
        coalesce(sum(round_div(a.annual_premium_fen, {MONTHS_PER_YEAR})), 0) AS accident_premium_monthly,
        coalesce(list(a.row_no ORDER BY a.row_no) FILTER (a.row_no IS NOT NULL), []) AS accident_insurance_rows
    FROM (SELECT DISTINCT region_code FROM region_chain) r
    CROSS JOIN (VALUES ('normal'), ('high')) k(risk_class)
    CROSS JOIN LATERAL (SELECT r.region_code, k.risk_class) g
    LEFT JOIN {resolved_covers} a
        ON a.region_code = g.region_code
       AND (a.applies_to = 'all' OR (a.applies_to = 'high_risk' AND g.risk_class = 'high'))
    GROUP BY ALL
    """


RULES = [
    Rule(
        name="accident_insurance_employer",
        sql="accident_premium_monthly" + plus_arrears("accident_insurance_employer")[0],
        label_zh="意外伤害保险", label_en="Accident insurance premium",
        formula="Σ annual premium ÷ 12 over the covers for this post: {accident_premium_monthly}"
                + plus_arrears("accident_insurance_employer")[1],
        basis=BASIS, reads=("accident_insurance_rows", "posts_row"), regional_basis="accident_insurance",
    ),
]
