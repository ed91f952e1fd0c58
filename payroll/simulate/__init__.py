"""Budget scenarios: `payroll simulate` (issue 5).

- scenario.py: the TOML scenario file, validated with pydantic (errors name file and key path);
- apply.py: table changes applied copy-on-write to the policy frames (only touched tables copied);
- project.py: a projection (baseline or scenario) with the monthly engine in its own in-memory DuckDB;
- runner.py: baseline against scenario, months before the first change reused; results assembled;
- results.py: cost by year, dimension, component and month; floor per region; net-pay changes;
- solver.py: the smallest uniform raise meeting the average-wage floor, and its cost;
- report.py (XLSX), summary.py (console tables), cli.py (the command's body).
"""
