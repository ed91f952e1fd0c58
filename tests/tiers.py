"""Which tests the CI tier leaves to the full tier (DEVELOPERS.md: CI within 6 minutes on 2 cores).

The CI tier (`python3 -m pytest`, what `.ci/run` runs) keeps every test that checks money against
the regulations, the hand cases or the scalar reference: every reference comparison and the branch
tally, every test that killed a mutant and every test the mutation tool names
(tests/test_mutate_tool.py checks both), the situations of every rule family, and the quick checks
of every other part (imports and their refusals, exports, the web's permissions and security, exit
codes, the peers' benchmark check). The full tier (`PAYROLL_FULL=1 python3 -m pytest`, README "Two
commands") adds what is named here and the other benchmarks' checks: the demo year, walks through
the web site, real processes, fast paths run against the long way, random files, and situations of
several months whose rules the CI tier checks in parts.

Keys: a module (`tests/x.py`, every test in it) or a test (`tests/x.py::test_name`, every
parameter of it); values: why it is in the full tier, and what the CI tier keeps of it."""
from __future__ import annotations

DEMO = "the 5,000-person demo year (~45 s); CI: the identities and the reference on fixed rosters"
FAST_PATH = "a fast path equal to the long way, run both ways; CI: the fast path's own results"
PROCESS = "real processes; CI: the same commands in the test's process"
RANDOM_FILES = "random files (hypothesis); CI: test_import's and test_finance_bad_input's bad files"
LONG = "several months for one situation; CI: its rules in the hand cases and reference comparisons"
WALK = "a walk through the web site; CI: test_web_permissions, test_web_security, test_web_workflow"

FULL_TIER: dict[str, str] = {
    # the demo year and what reads it
    "tests/test_demo.py": DEMO,
    "tests/test_finance_accounts.py": DEMO + "; the voucher, budget and certificate on a 120-person year",
    "tests/test_tax_export.py::test_demo_never_writes_the_tax_file": DEMO,
    "tests/test_synth.py": "the demo's roster generator; CI: the rosters the tests build by hand",
    # the browser and the served site
    "tests/test_serve.py": WALK + " (the browser: chromium and chromedriver)",
    "tests/test_privacy.py": WALK + "; test_idnumber and each export's masking",
    "tests/test_web_cli_month.py": WALK,
    "tests/test_web_month_files.py::test_each_file_is_the_exports_and_each_download_is_audited": WALK,
    "tests/test_web_workflow.py::test_a_rerun_that_changes_the_month_and_an_import_send_it_back_to_draft": WALK,
    "tests/test_web_workflow.py::test_cli_commands_are_audited_and_audit_person_answers_who_looked": WALK,
    # real processes: kills, locks, a process against the test's own
    "tests/test_run.py::test_commands_run_in_this_process_leave_the_database_closed": PROCESS,
    "tests/test_table_status.py::test_the_command_prints_the_same_in_this_process_as_in_its_own": PROCESS,
    "tests/test_nothing_lost.py::test_the_wheel_carries_the_policy_tables": "builds and installs the wheel",
    "tests/test_atomicity.py": "runs killed and locks held by real processes; CI: a refused run or import "
                               "writes nothing (test_import, test_offcycle, test_year_end_files)",
    "tests/test_mutate_tool.py::test_a_mutant_that_stops_its_module_importing_is_killed":
        "runs the mutation tool on a mutant; CI: the tool's checks of its verdicts and tiers",
    # fast paths compared with the long way
    "tests/test_bank_tax_xlsx_fast.py": FAST_PATH + " (the bank and tax files against the row-wise writer)",
    "tests/test_cli_run_cache.py": FAST_PATH,
    "tests/test_connection_fixed_cost.py": FAST_PATH,
    "tests/test_lean_planning.py::test_the_lean_plan_pays_what_every_pass_pays":
        FAST_PATH + " (the rule query planned with every optimiser pass)",
    "tests/test_import_fast_path.py": FAST_PATH + " (the import's checks)",
    "tests/test_import_split.py": FAST_PATH + " (the import's checks)",
    "tests/test_web_traces.py": FAST_PATH + " (the month's packed traces against the per-person trace)",
    "tests/test_xlsx_fast.py": FAST_PATH + " (the XLSX writer against xlsxwriter)",
    "tests/test_trace.py::test_trace_amounts_equal_the_payslips_table": FAST_PATH + "; test_explain's cases",
    "tests/test_engine_fixed_cost.py::test_a_leave_record_in_the_month_runs_the_whole_query_after_an_empty_month":
        FAST_PATH,
    "tests/test_engine_fixed_cost.py::test_each_policy_table_changing_alone_makes_again_what_reads_it": FAST_PATH,
    "tests/test_engine_fixed_cost.py::test_parameter_tables_made_again_only_where_a_table_changed_equal_a_whole_install":
        FAST_PATH,
    "tests/test_policy_cache.py::test_a_damaged_cache_file_is_ignored_and_off_writes_nothing": FAST_PATH,
    "tests/test_register_header_months.py::test_the_header_of_every_month_equals_the_one_computed_afresh": FAST_PATH,
    # random files
    "tests/test_bad_input_property.py": RANDOM_FILES,
    "tests/test_nothing_lost.py::test_reimporting_any_subset_of_columns_changes_no_value_outside_the_file":
        RANDOM_FILES,
    "tests/test_compare.py::test_any_two_months_of_anyone_add_up": "random people and months; CI: the why cases",
    # several months for one situation
    "tests/test_benefits.py::test_cli_import_validation_benefits_and_statement": LONG,
    "tests/test_benefits.py::test_fewer_than_twelve_months_of_payslips_and_grade_5_without_work": LONG,
    "tests/test_benefits.py::test_missing_police_disability_figure_is_a_clear_error": LONG,
    "tests/test_benefits.py::test_monthly_payroll_allowance_line_reconciles": LONG,
    "tests/test_calendar_table.py::test_a_2027_run_through_the_cli_once_rows_are_added": LONG,
    "tests/test_calendar_table.py::test_a_2027_run_works_once_the_notice_is_entered": LONG,
    "tests/test_calendar_table.py::test_the_reference_reads_the_table_too_and_agrees_with_the_engine": LONG,
    "tests/test_compare.py::test_a_level_change_is_named_and_old_months_explained_as_run": LONG,
    "tests/test_compare.py::test_a_table_row_that_took_effect_is_named": LONG,
    "tests/test_compare.py::test_attendance_is_the_cause_of_overtime_pay": LONG,
    "tests/test_contribution_year.py::test_a_july_base_switch_in_nantong": LONG,
    "tests/test_contribution_year.py::test_a_july_year_matches_the_reference_on_a_fixed_roster": LONG,
    "tests/test_end_to_end.py::test_import_keeps_every_row_and_masks_ids": LONG,
    "tests/test_explain.py::test_command_line_formats_agree": LONG,
    "tests/test_explain.py::test_explain_equals_the_payslips_table_for_everyone": FAST_PATH + "; test_trace's amounts",
    "tests/test_ledger.py::test_imports_and_runs_are_recorded": LONG,
    "tests/test_levels.py::test_applying_levels_pays_the_same_as_importing_them_by_hand": LONG,
    "tests/test_levels.py::test_indexed_scale_moves_with_a_new_average_wage": LONG,
    "tests/test_levels.py::test_simulate_follows_the_level_rules_and_reports_a_pay_structure_breach": LONG,
    "tests/test_levels.py::test_the_rows_in_force_are_the_pandas_ranking_of_every_region_category_level_and_day":
        FAST_PATH,
    "tests/test_nothing_lost.py::test_a_first_run_continues_from_the_opening_balances": LONG,
    "tests/test_nothing_lost.py::test_compare_with_a_month_never_run_says_so": LONG,
    "tests/test_offcycle.py::test_arrears_owed_to_a_leaver_are_paid_by_a_later_settlement_once": LONG,
    "tests/test_offcycle.py::test_command_line_runs_exports_and_explains_an_off_cycle_run": LONG,
    "tests/test_register_export.py::test_synthetic_roster_through_the_engine_to_the_register": LONG,
    "tests/test_retro.py": LONG + "; test_reference_reach's fixed and random arrears against the reference",
    "tests/test_retro_changed_months.py": LONG,
    "tests/test_tax_round_trip.py": LONG + "; test_tax_export",
    "tests/test_si_changes_and_base.py": LONG + "; test_bases_at_floor_and_ceiling",
    "tests/test_simulate_cli.py::test_simulate_on_the_database_roster_writes_the_report": LONG,
    "tests/test_simulate_projection.py": "the projection against the monthly run over two years; "
                                         "CI: test_simulate_cli's scenarios and reports",
    "tests/test_table_status.py::test_a_row_past_its_valid_until_is_no_longer_charged": LONG,
    "tests/test_table_status.py::test_run_warns_once_per_region_and_the_register_header_says_so": LONG,
    "tests/test_tax_export.py::test_items_that_changed_during_the_year_stop_the_export": LONG,
}


# The benchmarks only checked (small sizes, `--benchmark-disable`) are the full tier's, but for the
# peers equal to the engine to the fen (~2 s; issue 17: "CI runs the smallest sizes only"). The
# report's one command at 300 people (benchmarks/test_report.py, two processes) is the full tier's.
# Measuring (`--benchmark-enable`) runs any of them.
CI_BENCHMARKS = ("benchmarks/test_peers.py",)


def in_full_tier(nodeid: str) -> bool:
    """A test's node id (`tests/x.py::test_name[param]`, `benchmarks/…`) is in the full tier."""
    path, _, name = nodeid.partition("::")
    if path.startswith("benchmarks/"):
        return path not in CI_BENCHMARKS
    return path in FULL_TIER or f"{path}::{name.split('[')[0]}" in FULL_TIER
