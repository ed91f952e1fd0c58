"""`payroll history`: the run ledger (engine.ledger) as tables finance and auditors read."""
from __future__ import annotations

import duckdb
from rich.table import Table
from rich.text import Text

from ..db import table_exists
from ..engine.closing import closed_months
from ..engine.ledger import run_history


def history_tables(con: duckdb.DuckDBPyConnection, with_imports: bool = False) -> list[Table | Text]:
    runs = Table(title="运行记录 Runs")
    for header in ("运行 Run", "开始 Started (UTC)", "月份 Months", "工资单 Payslips", "补发行 Arrears lines",
                   "政策表 Tables digest", "输入 Inputs digest", "导入文件 Files imported since", "版本 Engine"):
        runs.add_column(header)
    for run in run_history(con):
        months = run.first_month if run.first_month == run.last_month else f"{run.first_month}–{run.last_month}"
        files = "\n".join(f"{f['kind']}: {f['file']} sha256 {f['sha256'][:12]}" for f in run.input_files) or "—"
        runs.add_row(run.run_id, f"{run.started_at:%Y-%m-%d %H:%M:%S}", months, f"{run.payslips:,}",
                     f"{run.arrears_lines:,}", f"{run.tables_digest}\n{run.tables_dir}", run.inputs_digest, files,
                     run.engine_version)
    tables = [runs]
    closed = closed_months(con)
    if closed:
        tables.append(Text(f"已结账 Closed months: {closed[0]} … {closed[-1]} ({len(closed)})"))
    if with_imports and table_exists(con, "imports"):
        imported = Table(title="导入记录 Imports")
        for header in ("时间 Imported (UTC)", "类型 Kind", "文件 File", "SHA-256", "字节 Bytes", "行 Rows"):
            imported.add_column(header)
        for at, kind, name, sha, size, rows in con.execute(
                "SELECT imported_at, kind, file_name, sha256, bytes, rows FROM imports ORDER BY imported_at").fetchall():
            imported.add_row(f"{at:%Y-%m-%d %H:%M:%S}", kind, name, sha, f"{size:,}", f"{rows:,}")
        tables.append(imported)
    return tables
