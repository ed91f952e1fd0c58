"""Probation pay (试用期工资).

劳动合同法 art. 20: pay in probation is not below 80 % of the lowest pay of the same post or of the
agreed pay, and not below the local minimum wage. The ratio is the `probation` table's (the law's
80 % nationally; a unit that pays more sets its own row). It scales the monthly pay lines (grade
pay, seniority, allowances, high-risk allowance: rules/pay.py) in every month that ends on or
before `probation_end` (employees file, table employee_terms); the month in which probation ends
is paid in full (our reading: the favourable side for a part month). The minimum-wage top-up
(rules/floors.py) then keeps normal pay at or above the minimum wage.
"""
from __future__ import annotations

from ..engine.rule import ContextColumn

BASIS = "劳动合同法 arts. 19–20 (试用期工资不低于约定工资的80%，不低于最低工资标准)"
FULL_RATIO_PPM = 1_000_000

CONTEXT = [
    ContextColumn("probation_end", "date", "试用期截止日期", "Probation ends", "employees (employee_terms)"),
    ContextColumn("probation_ratio", "ppm", "试用期工资比例", "Probation pay ratio (1 outside probation)",
                  "probation", ("probation_row",), stored=True),
    ContextColumn("probation_row", "int", "试用期表行", "probation row", "probation"),
]


def install_month_status(con, month) -> None:
    """probation_month_status: the people in probation for the whole month, with the ratio in force."""
    from ..db import table_exists
    if not (table_exists(con, "employee_terms") and table_exists(con, "employees")):   # parameters only
        con.execute("CREATE OR REPLACE TEMP TABLE probation_month_status AS SELECT NULL::VARCHAR AS employee_id, "
                    "NULL::DATE AS probation_end, NULL::VARCHAR AS region_code, NULL::BIGINT AS probation_ratio, "
                    "NULL::INTEGER AS probation_row WHERE false")
        return
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE probation_month_status AS
    WITH ratio AS (
        SELECT c.region_code, CAST(p.ratio * {FULL_RATIO_PPM} AS BIGINT) AS probation_ratio, p.row_no
        FROM region_chain c JOIN policy_probation p ON p.region_code = c.ancestor_code
        WHERE p.effective_from <= DATE '{month.start}'
        QUALIFY row_number() OVER (PARTITION BY c.region_code ORDER BY c.depth, p.effective_from DESC) = 1)
    SELECT t.employee_id, t.probation_end, e.region_code, r.probation_ratio, r.row_no AS probation_row
    FROM employee_terms t JOIN employees e USING (employee_id)
    LEFT JOIN ratio r ON r.region_code = e.region_code
    WHERE t.probation_end IS NOT NULL AND t.probation_end >= DATE '{month.end}'""")
    missing = con.execute("SELECT DISTINCT region_code FROM probation_month_status WHERE probation_ratio IS NULL"
                          ).fetchall()
    if missing:
        from ..errors import PolicyError
        raise PolicyError(f"probation: no row in force for region(s) {', '.join(m[0] for m in missing)} in "
                          f"{month.label}, needed for people in probation (劳动合同法 art. 20)")


def select_sql(alias: str) -> str:
    return (f"{alias}.probation_end, coalesce({alias}.probation_ratio, {FULL_RATIO_PPM}) AS probation_ratio, "
            f"{alias}.probation_row")
