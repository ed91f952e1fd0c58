"""The one command of README "Performance" (`python3 -m benchmarks.report`) at the smallest size, in
the full tier (tests/tiers.py): each step in its own process, the database copied into memory as
the report measures it, the sample checked against the scalar reference. A table made by a later
issue (its keys copied with it: month_reads) once broke the command while every benchmark's check
passed."""
from __future__ import annotations

from benchmarks import report


def test_the_report_measures_the_smallest_month(tmp_path, capsys):
    report.main(["--sizes", "300", "--storage", "memory", "--only-months",
                 "--rounds", "1", "--no-peers", "--sample", "30", "--work", str(tmp_path)])
    printed = capsys.readouterr().out
    rows = [line for line in printed.splitlines() if line.startswith("| 300 |")]
    assert [row.split("|")[2].strip() for row in rows] == ["memory"], printed
    assert "correctness 300 people (memory): " in printed and "differing by a fen: 0\n" in printed, printed
    assert "payslips differing from the engine's by a fen: 0." in printed
