"""What the demo adds for a real year (issue 13): year-end bonuses in December with a mix of tax
methods, one severance, and synthetic bank accounts so every month exports a bank file.

Deterministic from the roster (no random draws, so the roster and attendance of a seed do not move):
- every fifth person employed on 1 December gets a 全年一次性奖金 in December: the amounts cycle
  through 12,000, 36,000, 36,001 (just above a boundary: the cliff is warned), 60,000 and 16,000;
  the methods cycle through separate, merged and empty (the cheaper); issue 16: someone whose
  January appraisal bonus (年度考核奖, paid as the 全年一次性奖金) was taxed apart gets empty instead of
  separate (once a year: a second bonus asked to be taxed apart is refused), see once_a_year;
- the first person (by ID) who leaves from February to November gets a severance of 3 × 10,000
  in the month of leaving (解除劳动合同一次性补偿金: within 3 × the average wage, so exempt), paid by
  the person's final settlement (an off-cycle run before that month's regular run: the last days,
  the untaken annual leave and the severance; settlement_of below);
- every person gets a made-up account number (62 + 17 digits from the ID; not a real card).
"""
from __future__ import annotations

import duckdb

BONUS_AMOUNTS = ("12000", "36000", "36001", "60000")
METHODS = ("'separate'", "'merged'", "NULL")


def add_demo_year_end(con: duckdb.DuckDBPyConnection, year: int) -> dict[str, int]:
    december = f"{year}-12-01"
    amounts = ", ".join(BONUS_AMOUNTS)
    methods = ", ".join(METHODS)
    con.execute("DELETE FROM payments")
    con.execute(f"""
        INSERT INTO payments (employee_id, month, line_no, kind, amount, tax_method, note)
        SELECT employee_id, '{year}-12', 1 + row_number() OVER (ORDER BY employee_id), 'annual_bonus',
               CAST([{amounts}, 0][(n // 5) % 5 + 1] AS DECIMAL(18,2)),
               [{methods}][(n // 5) % 3 + 1], 'demo: 年终考核奖'
        FROM (SELECT employee_id, row_number() OVER (ORDER BY employee_id) - 1 AS n FROM employees
              WHERE hire_date <= DATE '{december}' AND (leave_date IS NULL OR leave_date >= DATE '{december}'))
        WHERE n % 5 = 0""")
    con.execute(f"UPDATE payments SET amount = 16000 WHERE amount = 0 AND month = '{year}-12'")
    con.execute(f"""
        INSERT INTO payments (employee_id, month, line_no, kind, amount, tax_method, note, run_kind)
        SELECT employee_id, strftime(leave_date, '%Y-%m'), 1, 'severance', 30000, NULL, 'demo: 经济补偿', 'settlement'
        FROM employees WHERE leave_date BETWEEN DATE '{year}-02-01' AND DATE '{year}-11-30'
        ORDER BY employee_id LIMIT 1""")
    con.execute("DELETE FROM employee_finance")
    con.execute("""
        INSERT INTO employee_finance (employee_id, bank_account)
        SELECT employee_id, '62' || lpad(CAST(hash(employee_id) % 100000000000000000 AS VARCHAR), 17, '0')
        FROM employees""")
    counts = dict(con.execute("SELECT kind, count(*) FROM payments GROUP BY kind").fetchall())
    return counts


def once_a_year(con: duckdb.DuckDBPyConnection, year: int) -> int:
    """After the months before December are run: a December bonus asked to be taxed apart for
    someone whose bonus (the appraisal bonus) was taxed apart earlier in the year asks for nothing
    (the cheaper, which is then merged: 国税发〔2005〕9号 art. 3). Returns how many changed."""
    changed = con.execute(f"""
        UPDATE payments SET tax_method = NULL
        WHERE kind = 'annual_bonus' AND tax_method = 'separate' AND month = '{year}-12'
          AND employee_id IN (SELECT employee_id FROM payslips WHERE month BETWEEN '{year}-01' AND '{year}-11'
                              AND annual_bonus_separate > 0)""").fetchall()
    return int(changed[0][0]) if changed else 0


def settlement_of(con: duckdb.DuckDBPyConnection) -> tuple[str, str] | None:
    """(employee_id, month) of the demo's final settlement: the severance's leaver and month."""
    found = con.execute("SELECT employee_id, month FROM payments WHERE run_kind = 'settlement' "
                        "ORDER BY month, employee_id LIMIT 1").fetchall()
    return tuple(found[0]) if found else None
