"""An injury with no disability grade assessed (events.disability_grade NULL): 工伤保险条例 art. 33
pays the 停工留薪期 at full wage; with no grade there is no 伤残津贴 (art. 35–37), so after the
stoppage months the person is simply back at work on regular pay. Tables: the simple test tables
(tests/test_leave_probation_death.py's), city 100200, civilian level 3 DESK: 7,275.00 a month."""
from __future__ import annotations

from datetime import date

from test_leave_probation_death import D, employee, run, simple_tables


def test_after_the_stoppage_an_ungraded_injury_leaves_regular_pay_running():
    # injured 2025-01-15, two months' stoppage (January–February), no grade: March and April are
    # ordinary months, pay not stopped and no disability allowance
    person = employee("J1", "100200", "civilian", 3, "DESK", date(2010, 1, 1))
    slips, _ = run(simple_tables(), [person], "2025-01", "2025-04", injuries=[("J1", date(2025, 1, 15), None, 2)])
    got = [(m, s["injury_stoppage"], s["injury_regular_pay_stopped"], s["base_pay"], s["gross_pay"],
            s["injury_disability_allowance"]) for (_, m), s in sorted(slips.items())]
    pay = (D("6124.50"), D("7275.00"), D("0.00"))
    assert got == [("2025-01", True, False, *pay), ("2025-02", True, False, *pay),
                   ("2025-03", False, False, *pay), ("2025-04", False, False, *pay)]
