"""The CI tier runs the benchmarks as checks only (`--benchmark-disable` in pyproject's addopts): each
still computes, compares with the reference and asserts what it asserts, but on small rosters, so
the suite fits its CI time. Measuring (`--benchmark-enable`) or the thorough tier keeps each
benchmark's own default size; a size given in the environment always wins."""
from __future__ import annotations

import os

# the size each benchmark reads from the environment -> its size when only checked
CHECK_SIZES = {
    "BENCH_PEOPLE": 500,
    "BENCH_YEAR_PEOPLE": 300,
    "BENCH_IO_ROWS": 1000,
    "BENCH_REFERENCE": 100,
    "BENCH_SIMULATE_PEOPLE": 150,
    "BENCH_WEB_PEOPLE": 300,
    "BENCH_WEB_IDLE_SECONDS": 2,       # the no-run baseline's length, in seconds
    "BENCH_WEB_SETTLE_SECONDS": 1,     # the wait before it
    # months, where the engine's fixed cost per month is the time (not the roster's size)
    "BENCH_YEAR_MONTHS": 3,            # test_monthly_run.test_twelve_months: October–December
    "BENCH_SMALL_MONTHS": 3,           # test_small_month: January–March
    "BENCH_EXPLAIN_MONTHS": 2,         # test_explain_latency: January–February, February explained
    "BENCH_SIMULATE_MONTHS": 7,        # test_simulate: January–July (the mid-year case's change is July's)
}


def pytest_configure(config):
    measuring = config.getoption("benchmark_enable", False) or not config.getoption("benchmark_disable", False)
    if measuring or os.environ.get("PAYROLL_THOROUGH") == "1":
        return
    for name, people in CHECK_SIZES.items():
        os.environ.setdefault(name, str(people))
    # the web benchmark's users log in with argon2's least work when only checked (as in tests/conftest.py);
    # measuring keeps the defaults
    from argon2 import PasswordHasher

    from payroll.office import users
    users.HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
