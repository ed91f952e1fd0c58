"""The README performance table, measured: `python3 -m benchmarks.report`.

Each size runs in fresh processes: one builds the database file (synthetic roster seed 7,
attendance of January and February, January run), one measures February, so synthesis never
counts in the memory figure. February is the monthly run: database to database, its income tax
reading January's year to date. Reported per size (best of --rounds for times; CPU is all threads):

    run s        wall time of `run_months(con, policy, "2025-02")` (parameters, checks, compute, write)
    CPU s        CPU seconds of that run, all DuckDB threads together
    floor s      the I/O floor: CREATE TABLE AS SELECT of the same rows and stored columns, no rule
    ref ×        how many times faster per payslip the engine is than tests/reference.py (scalar,
                 exact fractions) timed on a sample of --sample people in the 10k process
    peak MiB     peak resident memory of the measuring process during the run (VmHWM); with
                 --storage memory the database itself lives in that process

The engine against its peers (issue 17, target 1): the same February database to database, by the
engine (`run_months`) and by the two peers of benchmarks/peers/ (plain numpy; OpenFisca 46, the
`bench` extra), each timed in a fresh process per size, storage and contender (best of --rounds;
setup outside the time: imports, the policy tables read, the OpenFisca system built). Every peer's
payslip columns are then compared with the engine's on every row (benchmarks/peers/check.py); the
report exits 1 if any differs by a fen. The ratio is engine ÷ the faster peer (target ≤ 0.5).

Storage `memory` is an in-memory DuckDB database (every table in RAM, like the pytest
benchmarks); `file` a database file on disk like `payroll.duckdb` (writes compressed blocks).
Other figures: twelve months in one run (--year-people), import of an employees CSV and XLSX and
the XLSX register export (--io-rows). Results also go to WORK/results.json.

    python3 -m benchmarks.report                                   # the README table
    python3 -m benchmarks.report --sizes 5000000 --storage file --only-months   # the 5M month
    python3 -m benchmarks.report --peers-only --sizes 100000                    # engine vs peers only
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


# ------------------------------------------------------------------ steps, each in a process

def prepare(people: int, path: str, months: str) -> dict:
    from benchmarks.common import FIRST, run_month, synth_database, timed
    from payroll.db import connect
    from payroll.policy import load_policy
    if os.path.exists(path):
        os.remove(path)
    con = connect(path)
    with timed() as synth:
        synth_database(con, people, tuple(months.split(",")))
    with timed() as january:
        run_month(con, load_policy(), FIRST)
    con.close()
    return {"synth_s": synth.wall, "january_s": january.wall}


def measure(people: int, path: str, storage: str, rounds: int, sample: int) -> dict:
    from benchmarks.common import (copy_database, io_floor_on_a_fresh_copy, peak_rss_mb, reference_inputs,
                                   reference_mismatches, reference_run, reset_peak_rss, run_month,
                                   timed)
    from payroll.db import connect
    from payroll.policy import load_policy
    policy = load_policy()
    if storage == "memory":
        con = copy_database(path)
    else:
        work = path + ".work"
        shutil.copy(path, work)
        con = connect(work)
    before = peak_rss_mb()
    reset_peak_rss()
    runs = []
    for index in range(rounds):
        with timed() as timing:
            payslips = run_month(con, policy)
        runs.append({"wall": timing.wall, "cpu": timing.cpu})
        if index == 0:
            peak = peak_rss_mb()
    # the floor on a fresh copy each round (research/test-audit.md §4: after the rounds' rewrites
    # it was about 16 % slower at 100k, which flattered run ÷ floor)
    floors = [io_floor_on_a_fresh_copy(path, policy, storage) for _ in range(rounds)]
    result = {"people": people, "storage": storage, "payslips": payslips, "runs": runs, "floors": floors,
              "peak_rss_mb": peak, "rss_before_run_mb": before}
    if sample:
        employees, attendance = _roster_frames(people)
        roster, marks = reference_inputs(employees, attendance, sample)
        timing, results = reference_run(roster, marks)
        result["reference"] = {"people": sample, "payslips": len(results), "wall": timing.wall,
                               "cpu": timing.cpu, "mismatches": reference_mismatches(con, results)}
    con.close()
    if storage == "file":
        os.remove(path + ".work")
    return result


def _roster_frames(people: int):
    from benchmarks.common import FIRST, MONTH, SEED, YEAR
    from payroll.synth import synth_roster
    employees, attendance = synth_roster(people, seed=SEED, year=YEAR)
    return employees, attendance[attendance["month"].astype(str).isin((FIRST, MONTH))]


def twelve_months(people: int, path: str) -> dict:
    from benchmarks.common import copy_database, peak_rss_mb, reset_peak_rss, timed
    from payroll.engine.run import run_months
    from payroll.policy import load_policy
    con = copy_database(path)
    con.execute("DELETE FROM payslips")
    reset_peak_rss()
    months = []
    with timed() as total:
        run_months(con, load_policy(), "2025-01", "2025-12",
                   progress=lambda result: months.append(result.people))
    return {"people": people, "wall": total.wall, "cpu": total.cpu, "payslips": sum(months),
            "peak_rss_mb": peak_rss_mb()}


def io_steps(rows: int) -> dict:
    from benchmarks.common import run_month, synth_database, timed
    from payroll.db import connect
    from payroll.io.importer import import_files
    from payroll.policy import load_policy
    from payroll.reports.register import export_register
    from payroll.synth import synth_roster, write_roster_files
    policy = load_policy()
    out = {}
    with tempfile.TemporaryDirectory() as folder:
        employees, attendance = synth_roster(rows, seed=11)
        csv_path, _ = write_roster_files(employees, attendance.iloc[:0], folder)
        xlsx_path = Path(folder) / "employees.xlsx"
        employees.to_excel(xlsx_path, index=False, engine="xlsxwriter")
        for kind, path in (("import_csv", csv_path), ("import_xlsx", xlsx_path)):
            con = connect(":memory:")
            with timed() as timing:
                import_files(con, policy, employees=path)
            out[kind] = {"rows": rows, "wall": timing.wall, "cpu": timing.cpu}
        con = connect(":memory:")
        synth_database(con, rows, ("2025-01",))
        payslips = run_month(con, policy, "2025-01")
        with timed() as timing:
            export_register(con, "2025-01", "xlsx", Path(folder) / "register.xlsx")
        out["export_xlsx"] = {"rows": payslips, "wall": timing.wall, "cpu": timing.cpu}
    return out


def _open_copy(path: str, storage: str):
    """A fresh copy of the prepared database: in memory, or a file beside it (removed by the caller)."""
    from benchmarks.common import copy_database
    if storage == "memory":
        return copy_database(path), None
    import duckdb
    work = f"{path}.{os.getpid()}.work"
    shutil.copy(path, work)
    return duckdb.connect(work), work


def peer_time(kind: str, path: str, storage: str, rounds: int) -> dict:
    """February database to database by one contender (engine, numpy, openfisca), best of `rounds`:
    the engine's `run_months`, or a peer's load, compute and write back."""
    from benchmarks.common import MONTH, run_month, timed
    from benchmarks.peers.inputs import PolicyRows
    con, work = _open_copy(path, storage)
    if kind == "engine":
        from payroll.policy import load_policy
        policy = load_policy()
        contender = lambda: {"rows": run_month(con, policy)}           # noqa: E731
    else:
        import holidays  # noqa: F401  (imported before the clock, as the engine's modules are)
        rows = PolicyRows()
        if kind == "numpy":
            from benchmarks.peers import numpy_peer
            contender = lambda: numpy_peer.run(con, MONTH, rows)      # noqa: E731
        else:
            from benchmarks.peers import openfisca_peer
            system = openfisca_peer.build_system(rows)
            contender = lambda: openfisca_peer.run(con, MONTH, rows, system)   # noqa: E731
    runs = []
    try:
        for _ in range(rounds):
            with timed() as timing:
                phases = contender()
            runs.append({"wall": timing.wall, "cpu": timing.cpu, **phases})
    finally:
        con.close()
        if work:
            os.remove(work)
    return {"kind": kind, "storage": storage, "runs": runs}


def peer_check(path: str) -> dict:
    """The engine's February and each peer's on one in-memory copy; differing rows per column."""
    from benchmarks.common import MONTH, run_month
    from benchmarks.peers import numpy_peer
    from benchmarks.peers.check import differing_rows
    from benchmarks.peers.inputs import PolicyRows
    from payroll.policy import load_policy
    con, _ = _open_copy(path, "memory")
    run_month(con, load_policy())
    rows = PolicyRows()
    numpy_peer.run(con, MONTH, rows)
    out = {"numpy": differing_rows(con, numpy_peer.TABLE, MONTH)}
    if _openfisca_installed():
        from benchmarks.peers import openfisca_peer
        openfisca_peer.run(con, MONTH, rows)
        out["openfisca"] = differing_rows(con, openfisca_peer.TABLE, MONTH)
    return out


def _openfisca_installed() -> bool:
    import importlib.util
    return importlib.util.find_spec("openfisca_core") is not None


STEPS = {"prepare": prepare, "measure": measure, "twelve": twelve_months, "io": io_steps,
         "peer_time": peer_time, "peer_check": peer_check}


def _child(step: str, *args) -> dict:
    """Run a step in a fresh Python process (its own memory), return its JSON result."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-m", "benchmarks.report", "--step", step, *map(str, args)],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"step {step} {args} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------ the report

def machine() -> str:
    import duckdb
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        memory = int(Path("/proc/meminfo").read_text().split()[1]) / 1024 / 1024
    except (OSError, ValueError):
        memory = 0
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{cpu}, {os.cpu_count()} cores, {memory:.0f} GiB; Python {platform.python_version()}, "
            f"DuckDB {duckdb.__version__}; load average {load:.1f} when the report ended")


def _best(runs: list[dict]) -> dict:
    return min(runs, key=lambda run: run["wall"])


def table(results: list[dict], reference: dict | None) -> str:
    lines = ["| people | storage | run s (wall) | CPU s | payslips/s | I/O floor s | run ÷ floor "
             "| × scalar reference | peak RSS MiB |",
             "|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    for result in results:
        run, floor = _best(result["runs"]), _best(result["floors"])
        per_payslip = run["wall"] / result["payslips"]
        versus = (f"{reference['wall'] / reference['payslips'] / per_payslip:,.0f} ×" if reference else "—")
        lines.append(
            f"| {result['people']:,} | {result['storage']} | {run['wall']:.2f} | {run['cpu']:.2f} "
            f"| {result['payslips'] / run['wall']:,.0f} | {floor['wall']:.2f} | {run['wall'] / floor['wall']:.1f} × "
            f"| {versus} | {result['peak_rss_mb']:,.0f} |")
    return "\n".join(lines)


PEER_NAMES = {"numpy": "numpy peer", "openfisca": "OpenFisca 46 peer"}


def peers_table(results: list[dict]) -> str:
    lines = ["| people | storage | this engine, DB→DB s | plain numpy peer, DB→DB s | OpenFisca 46 peer, DB→DB s "
             "| engine ÷ faster peer (target ≤ 0.5) | rows differing by a fen (numpy / OpenFisca) |",
             "|---:|---|---:|---:|---:|---:|---|"]
    for result in results:
        best = {kind: _best(timing["runs"])["wall"] for kind, timing in result["times"].items()}
        peers = [best[k] for k in PEER_NAMES if k in best]
        ratio = best["engine"] / min(peers)
        differing = " / ".join(str(sum(result["check"][k].values())) if k in result["check"] else "not run"
                               for k in PEER_NAMES)
        lines.append(f"| {result['people']:,} | {result['storage']} | {best['engine']:.2f} "
                     f"| {best.get('numpy', float('nan')):.2f} "
                     + (f"| {best['openfisca']:.2f} " if "openfisca" in best else "| not installed ")
                     + f"| {ratio:.2f} {'✓' if ratio <= 0.5 else '✗'} | {differing} |")
    return "\n".join(lines)


def peer_phases(results: list[dict]) -> list[str]:
    """Where each peer's time goes (best round): load, compute, write back."""
    out = []
    for result in results:
        for kind in PEER_NAMES:
            if kind in result["times"]:
                run = _best(result["times"][kind]["runs"])
                out.append(f"{PEER_NAMES[kind]}, {result['people']:,} people ({result['storage']}): "
                           f"load {run['load_s']:.2f} s, compute {run['compute_s']:.2f} s, write "
                           f"{run['write_s']:.2f} s ({run['columns']} columns, {run['rows']:,} rows)")
    return out


def run_peers(sizes: list[int], storages: list[str], rounds: int, work: Path, progress, task) -> list[dict]:
    """Per size: build the database (January run), check both peers against the engine, then time
    each contender per storage, each in a fresh process."""
    kinds = ["engine", "numpy"] + (["openfisca"] if _openfisca_installed() else [])
    results = []
    for people in sizes:
        progress.update(task, description=f"peers: building {people:,} people")
        path = str(work / f"peers-{people}.duckdb")
        _child("prepare", people, path, "2025-01,2025-02")
        progress.update(task, description=f"peers: checking {people:,} people to the fen")
        check = _child("peer_check", path)
        for storage in storages:
            times = {}
            for kind in kinds:
                progress.update(task, description=f"peers: {kind} {people:,} people ({storage})")
                times[kind] = _child("peer_time", kind, path, storage, rounds)
            results.append({"people": people, "storage": storage, "times": times, "check": check})
            progress.advance(task)
        os.remove(path)
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default=None, help="engine table sizes (default 10000,100000,1000000); "
                        "with --peers-only the peer sizes")
    parser.add_argument("--storage", default="memory,file", help="memory, file or both (comma separated)")
    parser.add_argument("--file-sizes", default="1000000", help="sizes also measured with storage file")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sample", type=int, default=1000, help="people in the scalar-reference sample")
    parser.add_argument("--year-people", type=int, default=100_000)
    parser.add_argument("--io-rows", type=int, default=100_000)
    parser.add_argument("--only-months", action="store_true", help="skip twelve months and import/export")
    parser.add_argument("--work", default=None, help="folder for the database files (default: a temp folder)")
    parser.add_argument("--peer-sizes", default=None, help="engine-vs-peers sizes (default 100000,1000000)")
    parser.add_argument("--peer-storage", default="memory,file", help="engine-vs-peers storages")
    parser.add_argument("--peers-only", action="store_true", help="only the engine against its two peers")
    parser.add_argument("--no-peers", action="store_true", help="skip the engine against its peers")
    parser.add_argument("--step", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.step:
        step, *rest = args.step
        print(json.dumps(STEPS[step](*[int(a) if a.isdigit() else a for a in rest])))
        return

    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    peer_sizes = [int(s) for s in (args.peer_sizes or (args.peers_only and args.sizes) or "100000,1000000").split(",")]
    peer_storages = args.peer_storage.split(",")
    sizes = [] if args.peers_only else [int(s) for s in (args.sizes or "10000,100000,1000000").split(",")]
    storages = args.storage.split(",")
    file_sizes = {int(s) for s in args.file_sizes.split(",")} if args.file_sizes else set()
    work = Path(args.work or tempfile.mkdtemp(prefix="payroll-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    plan = [("measure", n, s) for n in sizes for s in storages
            if s == "memory" or n in file_sizes or storages == ["file"]]
    extra = [] if args.only_months or args.peers_only else [("twelve", args.year_people, "memory"),
                                                            ("io", args.io_rows, "")]
    peer_steps = 0 if args.no_peers else len(peer_sizes) * len(peer_storages)
    results, summary = [], {"machine": machine()}
    console = Console(stderr=True)
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=console) as progress:
        task = progress.add_task("benchmarks", total=len(sizes) + len(plan) + len(extra) + peer_steps)
        if peer_steps:
            summary["peers"] = run_peers(peer_sizes, peer_storages, args.rounds, work, progress, task)
        reference = None
        for people in sizes:
            progress.update(task, description=f"building {people:,} people")
            path = str(work / f"bench-{people}.duckdb")
            summary.setdefault("prepare", {})[people] = _child("prepare", people, path, "2025-01,2025-02")
            progress.advance(task)
            for step, n, storage in plan:
                if n != people:
                    continue
                progress.update(task, description=f"measuring {n:,} people ({storage})")
                # the correctness check at every size and storage (a random sample each time);
                # the reference's timing shown is the first one's
                result = _child("measure", n, path, storage, args.rounds, args.sample)
                reference = reference or result.get("reference")
                checked = result["reference"]
                if checked["mismatches"]:
                    console.print(f"[red]{n:,} people ({storage}): {checked['mismatches']} of "
                                  f"{checked['payslips']} sampled payslips differ from the reference[/]")
                results.append(result)
                progress.advance(task)
            os.remove(path)
        for step, n, _ in extra:
            progress.update(task, description=f"{step} ({n:,})")
            if step == "twelve":
                path = str(work / f"year-{n}.duckdb")
                _child("prepare", n, path, ",".join(f"2025-{m:02d}" for m in range(1, 13)))
                summary["twelve_months"] = _child("twelve", n, path)
                os.remove(path)
            else:
                summary["io"] = _child("io", n)
            progress.advance(task)
    summary.update(results=results, reference=reference)
    (work / "results.json").write_text(json.dumps(summary, indent=2))

    if results:
        print(table(results, reference))
    for result in results:
        checked = result.get("reference")
        if checked:
            print(f"correctness {result['people']:,} people ({result['storage']}): {checked['payslips']:,} payslips "
                  f"of {checked['people']:,} people sampled at random, differing by a fen: {checked['mismatches']}")
    if reference:
        print(f"\nScalar reference: {reference['payslips']:,} payslips of {reference['people']:,} people in "
              f"{reference['wall']:.2f} s ({reference['wall'] / reference['payslips'] * 1e3:.2f} ms a payslip); "
              f"payslips differing from the engine's by a fen: {reference['mismatches']}.")
    if "twelve_months" in summary:
        year = summary["twelve_months"]
        print(f"Twelve months of {year['people']:,} people in one run: {year['wall']:.2f} s wall, "
              f"{year['cpu']:.2f} s CPU ({year['wall'] / 12:.2f} s a month), {year['payslips']:,} payslips, "
              f"peak RSS {year['peak_rss_mb']:,.0f} MiB.")
    if "io" in summary:
        io = summary["io"]
        print(f"Import of {io['import_csv']['rows']:,} employees: CSV {io['import_csv']['wall']:.2f} s, "
              f"XLSX {io['import_xlsx']['wall']:.2f} s; XLSX register of {io['export_xlsx']['rows']:,} payslips: "
              f"{io['export_xlsx']['wall']:.2f} s.")
    differing = 0
    if summary.get("peers"):
        print("\nThe same February by this engine and by its peers (benchmarks/peers/), database to database:\n")
        print(peers_table(summary["peers"]))
        for line in peer_phases(summary["peers"]):
            print(line)
        for result in summary["peers"]:
            for kind, counts in result["check"].items():
                wrong = {column: n for column, n in counts.items() if n}
                differing += sum(wrong.values())
                if wrong and result["storage"] == peer_storages[0]:
                    print(f"{PEER_NAMES[kind]} differs from the engine at {result['people']:,} people: {wrong}")
        if not _openfisca_installed():
            print("The OpenFisca peer was not run: pip install -e '.[bench]'.")
    print(f"\nMachine: {summary['machine']}. Results: {work / 'results.json'}")
    if differing:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
