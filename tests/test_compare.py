"""--compare: the net-pay change between two months split by cause through the engine. The parts add
up to the fen, line by line; a table row that took effect, attendance and the cumulative tax
bracket are each named as the cause of their share."""
from __future__ import annotations

import shutil
from decimal import Decimal

import pytest

from conftest import SHIPPED_TABLES, examples, policy_for
from explain_demo import build_demo_database
from payroll.db import connect
from payroll.engine.run import run_months
from payroll.policy import load_policy
from payroll.reports.compare import compare_months, comparison_json, comparison_text
from payroll.reports.explain import PAYSLIP_LINES, Explainer


def _assert_adds_up(comparison):
    """Every payslip line's change is the sum of its causes' changes; net pay included."""
    assert comparison.exact
    for line in comparison.lines:
        parts = sum(cause.line_deltas.get(line["name"], 0) for cause in comparison.causes)
        assert parts == line["delta"], line["name"]
    assert sum(c.net_delta for c in comparison.causes) == comparison.net_b - comparison.net_a


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    path = build_demo_database(tmp_path_factory.mktemp("compare"))
    return Explainer(connect(path, read_only=True), load_policy())


@pytest.mark.slow     # CI: test_any_two_months_of_anyone_add_up draws people and months at random
def test_causes_add_up_for_a_sample_of_people(demo):
    people = [r[0] for r in demo.con.execute(
        "SELECT employee_id FROM payslips WHERE month = '2025-01' INTERSECT "
        "SELECT employee_id FROM payslips WHERE month = '2025-08' ORDER BY 1").fetchall()]
    for employee_id in people[::15]:
        comparison = compare_months(demo, employee_id, "2025-01", "2025-08")
        _assert_adds_up(comparison)
        stored = dict(demo.con.execute("SELECT month, net_pay FROM payslips WHERE employee_id = ? AND "
                                       "month IN ('2025-01', '2025-08')", [employee_id]).fetchall())
        assert Decimal(comparison.net_a) / 100 == stored["2025-01"]
        assert Decimal(comparison.net_b) / 100 == stored["2025-08"]


def test_why_did_my_tax_jump_in_august(demo):
    """Someone whose withholding rate rose from 3 % to 10 % in August: the tax note names the
    36,000 threshold of 预扣率表一 and the iit_brackets row, and a cause carries the bracket change."""
    found = demo.con.execute(
        "SELECT a.employee_id FROM payslips a JOIN payslips b USING (employee_id) WHERE a.month = '2025-07' "
        "AND b.month = '2025-08' AND a.iit_rate = 0.03 AND b.iit_rate = 0.1 ORDER BY 1 LIMIT 1").fetchall()
    assert found, "the demo roster should have someone crossing 36,000 in August"
    comparison = compare_months(demo, found[0][0], "2025-07", "2025-08")
    _assert_adds_up(comparison)
    assert "36,000.00" in comparison.tax_note and "iit_brackets row" in comparison.tax_note
    assert "tax bracket 1 (3 %) → 2 (10 %)" in comparison.tax_note      # rates as people write them
    assert any("Tax bracket: 1 → 2" in text for cause in comparison.causes for text in cause.intermediate)
    assert "Tax:" in comparison_text(comparison) and '"tax_note"' in comparison_json(comparison)


@pytest.fixture()
def raised_tables(tmp_path):
    """The shipped tables plus a raise for Hangzhou duty level 4 from March 2025."""
    tables = tmp_path / "tables"
    shutil.copytree(SHIPPED_TABLES, tables)
    with open(tables / "pay_scale.csv", "a", encoding="utf-8") as handle:
        handle.write('330100,2025-03-01,duty,4,11810,"test: level 4 raised by 100 from March"\n')
    return tables


def test_a_table_row_that_took_effect_is_named(con, raised_tables):
    policy = policy_for(str(raised_tables))
    run_months(con, policy, "2025-01", "2025-03")
    comparison = compare_months(Explainer(con, policy), "Z1", "2025-02", "2025-03")
    _assert_adds_up(comparison)
    causes = {cause.key: cause for cause in comparison.causes}
    pay_scale = causes["table:pay_scale"]
    assert any("now in force: pay_scale row" in d and "effective_from 2025-03-01" in d for d in pay_scale.details)
    # Z1 works both whole months: base pay 11,710.00 → 11,810.00, +100.00; the contribution base is
    # declared (9,000), so contributions do not move; the cumulative taxable income rises by 100.00
    # in the 3 % bracket: tax +3.00. Net effect of the new row: 100.00 − 3.00 = 97.00.
    assert pay_scale.line_deltas["base_pay"] == 100_00
    assert pay_scale.line_deltas["gross_pay"] == 100_00
    assert pay_scale.line_deltas["iit"] == 3_00
    assert pay_scale.net_delta == 97_00
    assert "pension_employee" not in pay_scale.line_deltas


def test_attendance_is_the_cause_of_overtime_pay(con, policy):
    con.execute("INSERT INTO attendance (employee_id, month, unpaid_leave_days, overtime_workday_hours, overtime_restday_hours, overtime_holiday_hours, night_shifts, bonus, deduction) VALUES ('K1', '2025-02', 0, 0, 16, 0, 2, 0, 0)")
    run_months(con, policy, "2025-01", "2025-03")
    explainer = Explainer(con, policy)
    february = {line.name: line for line in explainer.trace("K1", "2025-02")}
    comparison = compare_months(explainer, "K1", "2025-02", "2025-03")
    _assert_adds_up(comparison)
    causes = {cause.key: cause for cause in comparison.causes}
    # March has no overtime and no night shift: the whole of February's overtime and night-shift
    # pay goes, each under its own cause
    assert causes["overtime"].line_deltas["overtime_pay"] == -february["overtime_pay"].raw
    assert causes["night_shifts"].line_deltas["night_shift_pay"] == -february["night_shift_pay"].raw
    assert february["night_shift_pay"].raw == 2 * february["night_shift_rate"].raw
    assert any("休息日加班小时" in d and "16 hours → 0 hours" in d for d in causes["overtime"].details)
    assert set(PAYSLIP_LINES) == {line["name"] for line in comparison.lines}


def test_a_level_change_is_named_and_old_months_explained_as_run(con, policy):
    """H1 is promoted from level 6 to level 5 after January's run. January is still explained with
    level 6 (the inputs its payslip recorded) and the comparison names the promotion and the new
    pay_scale row as the cause of the base-pay change."""
    run_months(con, policy, "2025-01")
    con.execute("UPDATE employees SET level = 5 WHERE employee_id = 'H1'")
    run_months(con, policy, "2025-02")
    explainer = Explainer(con, policy)
    january = explainer.explain("H1", "2025-01")
    assert january.mismatches == [] and january.by_name["level"].raw == 6
    comparison = compare_months(explainer, "H1", "2025-01", "2025-02")
    _assert_adds_up(comparison)
    position = {cause.key: cause for cause in comparison.causes}["position"]
    assert any("层级 Level: 6 → 5" in d for d in position.details)
    assert any("now in force: pay_scale row" in d and "level=5" in d for d in position.details)
    # Hohhot duty level 6 → 5 is 6,830.00 → 7,630.00 a month (tables/pay_scale.csv, 800 a level)
    full = {line.name: line for line in explainer.trace("H1", "2025-02")}["base_pay_full"].raw
    assert position.line_deltas["base_pay"] == full - january.by_name["base_pay_full"].raw == 800_00


MONTHS = [f"2025-{m:02d}" for m in range(1, 9)]


def test_any_two_months_of_anyone_add_up(demo):
    """Hypothesis: random people and month pairs (either order of the months is a valid question);
    the causes always add up to the fen and the ends equal the stored payslips."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    people = [r[0] for r in demo.con.execute("SELECT DISTINCT employee_id FROM payslips ORDER BY 1").fetchall()]

    @settings(max_examples=examples(4), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.sampled_from(people), st.sampled_from(MONTHS), st.sampled_from(MONTHS))
    def check(employee_id, first, second):
        paid = {r[0]: r[1] for r in demo.con.execute(
            "SELECT month, net_pay FROM payslips WHERE employee_id = ?", [employee_id]).fetchall()}
        if first not in paid or second not in paid:
            return
        comparison = compare_months(demo, employee_id, first, second)
        _assert_adds_up(comparison)
        assert Decimal(comparison.net_b - comparison.net_a) / 100 == paid[second] - paid[first]

    check()
