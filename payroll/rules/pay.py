"""Pay for normal hours: grade pay, seniority, allowances, high-risk allowance, night shifts, bonus.

Pay by grade level (层级化管理): 内蒙古条例 art. 33, 鄂尔多斯指导意见 三(三)2, 杭州规定 arts. 13, 21,
云南条例 arts. 26, 33, 南通实施办法 art. 7 para. 2 and art. 11; the other parts follow the local pay
standard (内蒙古条例 art. 24, 云南条例 art. 33, …). Each payslip cites its own region's article
(rules/citations.py). The amounts are the pay_scale and allowances tables.
"""
from ..engine.rule import Rule
from .probation import BASIS as PROBATION_BASIS, FULL_RATIO_PPM

GRADE_BASIS = "pay_scale table: the level's monthly pay set by the paying authority"
ALLOWANCE_BASIS = "allowances table: the local pay standard"


def allowance_groups_sql(resolved_allowances: str) -> str:
    """Sum the allowance rows in force per region, category and risk class.

    A row applies to everyone (`all`), to its category, or (`high_risk`) to high-risk posts (the
    post's risk class; 云南条例 art. 33 weighs 危险性 in pay). Every combination gets a row, zero when
    nothing applies.
    """
    return f"""
    SELECT g.region_code, g.category, g.risk_class,
        coalesce(sum(a.amount_fen) FILTER (a.per = 'service_year'), 0) AS seniority_rate_per_year,
        coalesce(sum(a.amount_fen) FILTER (a.per = 'month' AND a.applies_to <> 'high_risk'), 0) AS allowances_full,
        coalesce(sum(a.amount_fen) FILTER (a.per = 'month' AND a.applies_to = 'high_risk'), 0) AS high_risk_allowance_full,
        coalesce(sum(a.amount_fen) FILTER (a.per = 'night_shift'), 0) AS night_shift_rate,
        coalesce(list(a.row_no ORDER BY a.row_no) FILTER (a.row_no IS NOT NULL), []) AS allowances_rows
    FROM (SELECT DISTINCT region_code FROM region_chain) r
    CROSS JOIN (VALUES ('duty'), ('civilian')) c(category)
    CROSS JOIN (VALUES ('normal'), ('high')) k(risk_class)
    CROSS JOIN LATERAL (SELECT r.region_code, c.category, k.risk_class) g
    LEFT JOIN {resolved_allowances} a
        ON a.region_code = g.region_code
       AND (a.applies_to = 'all' OR a.applies_to = g.category
            OR (a.applies_to = 'high_risk' AND g.risk_class = 'high'))
    GROUP BY ALL
    """


def _prorated(name: str, full: str, zh: str, en: str, basis: str, reads: tuple[str, ...],
              regional: str = "pay_standard") -> Rule:
    # issue 14: in probation × the probation ratio (rules/probation.py), still rounded once; the
    # product needs 128 bits there, so only probation months pay for the wider arithmetic
    return Rule(
        name=name,
        sql=f"CASE WHEN probation_ratio = {FULL_RATIO_PPM} THEN round_div({full} * proration_numerator, "
            f"proration_denominator) ELSE round_div(CAST({full} AS HUGEINT) * proration_numerator * probation_ratio, "
            f"CAST(proration_denominator AS HUGEINT) * {FULL_RATIO_PPM}) END",
        label_zh=zh, label_en=en,
        formula=f"{{{full}}} × {{proration_numerator}} ÷ {{proration_denominator}} × {{probation_ratio}}",
        basis=f"{basis}; in probation: {PROBATION_BASIS}", reads=reads + ("probation_row",),
        regional_basis=regional,
    )


RULES = [
    Rule(
        name="seniority_pay_full", sql="seniority_rate_per_year * service_years",
        label_zh="工龄工资（整月）", label_en="Seniority pay, full month",
        formula="{seniority_rate_per_year} × {service_years}",
        basis=ALLOWANCE_BASIS + " (per = service_year)", reads=("allowances_rows",), regional_basis="pay_standard",
    ),
    _prorated("base_pay", "base_pay_full", "层级工资", "Base pay", GRADE_BASIS, ("pay_scale_row",), "level_pay"),
    _prorated("allowances", "allowances_full", "津贴补贴", "Allowances", ALLOWANCE_BASIS, ("allowances_rows",)),
    _prorated("high_risk_allowance", "high_risk_allowance_full", "高危岗位津贴", "High-risk allowance",
              ALLOWANCE_BASIS + " (applies_to = high_risk: the post's risk class)", ("allowances_rows", "posts_row")),
    Rule(
        name="night_shift_pay", sql="night_shift_rate * night_shifts",
        label_zh="夜班费", label_en="Night-shift pay",
        formula="{night_shift_rate} × {night_shifts}",
        basis=ALLOWANCE_BASIS + " (per = night_shift)", reads=("allowances_rows",), regional_basis="pay_standard",
    ),
    Rule(
        name="gross_pay",
        sql="base_pay + seniority_pay + allowances + high_risk_allowance + night_shift_pay"
            " + overtime_pay + floor_topup + bonus + injury_disability_allowance + arrears_pay"
            " + performance_pay + appraisal_bonus + sick_pay + maternity_allowance + maternity_topup"
            " + annual_leave_payout + annual_bonus + severance_pay + other_payments",
        label_zh="应发工资", label_en="Gross pay",
        formula="{base_pay} + {seniority_pay} + {allowances} + {high_risk_allowance} + {night_shift_pay}"
                " + {overtime_pay} + {floor_topup} + {bonus} + {injury_disability_allowance} + arrears {arrears_pay}"
                " + {performance_pay} + {appraisal_bonus}"
                " + {sick_pay} + {maternity_allowance} + {maternity_topup} + {annual_leave_payout}"
                " + {annual_bonus} + {severance_pay} + {other_payments}",
        basis="SPEC identity: gross_pay = sum of the pay components; arrears: rules/arrears.py; "
              "performance pay: rules/performance_pay.py; leave: rules/leave.py; one-off payments: rules/one_off.py",
    ),
]
# seniority_pay is prorated like the other monthly amounts; it needs seniority_pay_full first
RULES.insert(1, _prorated("seniority_pay", "seniority_pay_full", "工龄工资", "Seniority pay",
                          ALLOWANCE_BASIS + " (per = service_year)", ("allowances_rows",)))
