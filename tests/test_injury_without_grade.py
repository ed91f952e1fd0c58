"""An injury with no disability grade assessed (events.disability_grade NULL): 工伤保险条例 art. 33
pays the 停工留薪期 at full wage; with no grade there is no 伤残津贴 (art. 35–37), so after the
stoppage months the person is simply back at work on regular pay. Tables: the simple test tables
(tests/test_leave_probation_death.py's), city 100200, civilian level 3 DESK: 7,275.00 a month."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from conftest import policy_for
from test_leave_probation_death import employee, simple_tables

from payroll.db import connect
from payroll.engine.run import run_months

COLUMNS = ("employee_id", "name", "region_code", "unit", "category", "level", "post", "hire_date", "leave_date",
           "service_start", "special_deduction", "contribution_base")


def test_after_the_stoppage_an_ungraded_injury_leaves_regular_pay_running():
    # injured 2025-01-15, two months' stoppage (January–February), no grade: March and April are
    # ordinary months, pay not stopped and no disability allowance
    con = connect(":memory:")
    person = employee("J1", "100200", "civilian", 3, "DESK", date(2010, 1, 1))
    con.execute(f"INSERT INTO employees ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
                [person[c] for c in COLUMNS])
    con.execute("INSERT INTO events (employee_id, event_date, kind, disability_grade, stoppage_months) "
                "VALUES ('J1', DATE '2025-01-15', 'injury', NULL, 2)")
    run_months(con, policy_for(str(simple_tables())), "2025-01", "2025-04")
    rows = con.execute("SELECT month, injury_stoppage, injury_regular_pay_stopped, base_pay, gross_pay, "
                       "injury_disability_allowance FROM payslips ORDER BY month").fetchall()
    pay = (Decimal("6124.50"), Decimal("7275.00"), Decimal("0.00"))
    assert rows == [("2025-01", True, False, *pay), ("2025-02", True, False, *pay),
                    ("2025-03", False, False, *pay), ("2025-04", False, False, *pay)]
