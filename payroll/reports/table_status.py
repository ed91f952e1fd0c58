"""Which figures in force are not yet finance's own: `payroll tables status`, the run's warning
line per region, and the register's header.

A figure needs attention when the row in force for a region and month is a `sample` (a stand-in
to replace), `disputed` (sources disagree; `source` gives both), or `expired`: the row that would
apply has a `valid_until` before the month (e.g. 南通实施办法 art. 20 ends the measures on
2027-12-31), so the rule resting on it has lapsed and nothing has replaced it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

import duckdb
import pandas as pd

from ..policy import NEEDS_ATTENTION, TABLES, UNIQUE_KEYS, change_days_by_table

NATIONAL = "000000"
# tables keyed by region and date: the key of a figure within a region
REGIONAL = {name: tuple(k for k in key if k not in ("region_code", "effective_from"))
            for name, key in UNIQUE_KEYS.items()
            if "region_code" in key and "effective_from" in key}
# national tables keyed by date: the key of a figure
NATIONWIDE = {"national_parameters": ("name",), "iit_brackets": ("threshold",)}
STATUS_ZH = {"sample": "样本", "disputed": "有争议", "expired": "已失效"}


@dataclass(frozen=True)
class FigureNote:
    region_code: str        # 000000 for a national table
    table: str
    key: str                # e.g. "fund=medical", "category=duty, level=3"; "" for one row per region
    row_no: int
    status: str             # sample | disputed | expired
    effective_from: date
    valid_until: date | None
    source: str


def _leaf_regions(regions: pd.DataFrame) -> list[str]:
    parents = set(regions.parent_code.dropna())
    return sorted(code for code in regions.region_code if code not in parents and code != NATIONAL)


def _chain(regions: pd.DataFrame, code: str) -> list[str]:
    parent = dict(zip(regions.region_code, regions.parent_code))
    chain = []
    while isinstance(code, str) and code and code not in chain:
        chain.append(code)
        code = parent.get(code)
    return chain


def _chain_depths(regions: pd.DataFrame, codes: list[str]) -> pd.DataFrame:
    """One row per (region, ancestor on its chain): for_region, region_code (the ancestor), depth,
    region_order (the region's place in `codes`)."""
    return pd.DataFrame([(code, ancestor, depth, order)
                         for order, code in enumerate(codes)
                         for depth, ancestor in enumerate(_chain(regions, code))],
                        columns=["for_region", "region_code", "depth", "region_order"])


def _latest(pairs: pd.DataFrame, keys: tuple[str, ...], day: date, honour_end: bool) -> pd.DataFrame:
    """Per region and key, the row of the nearest region on the chain (depth) in force on `day`;
    all regions at once, in region order. `pairs` comes sorted by region, depth and latest date
    first (_table_pairs), so the first row of each region and key is the one in force."""
    keep = pairs.effective_from <= day
    if honour_end and "valid_until" in pairs.columns:
        keep &= pairs.valid_until.isna() | (pairs.valid_until >= day)
    return pairs[keep].drop_duplicates(["for_region", *keys], keep="first")


def _key_text(row, keys: tuple[str, ...]) -> str:
    return ", ".join(f"{k}={row[k]}" for k in keys)


def _notes(pairs: pd.DataFrame, table: str, keys: tuple[str, ...], day: date) -> pd.DataFrame:
    """The table's notes for every region: rows with `status` set (expired first, then sample or
    disputed), in region order."""
    would_apply = _latest(pairs, keys, day, honour_end=False)
    if "valid_until" in would_apply.columns:
        expired = would_apply[would_apply.valid_until.notna() & (would_apply.valid_until < day)]
    else:
        expired = would_apply.iloc[0:0]
    in_force = _latest(pairs, keys, day, honour_end=True)
    attention = in_force[in_force.status.isin(NEEDS_ATTENTION)] if "status" in in_force.columns \
        else in_force.iloc[0:0]
    both = pd.concat([expired.assign(note_status="expired", note_pass=0),
                      attention.assign(note_status=attention.get("status"), note_pass=1)])
    return both.sort_values(["region_order", "note_pass"], kind="stable")


def _note(row: dict, table: str, keys: tuple[str, ...]) -> FigureNote:
    until = row.get("valid_until")
    return FigureNote(region_code=row["for_region"], table=table, key=_key_text(row, keys),
                      row_no=int(row["row_no"]), status=row["note_status"],
                      effective_from=row["effective_from"],
                      valid_until=None if pd.isna(until) else until, source=str(row.get("source") or ""))


def _may_need_attention(frame: pd.DataFrame) -> bool:
    """Whether any row could give a note: one with a status to attend to, or one that lapses."""
    return bool(("status" in frame.columns and frame.status.isin(NEEDS_ATTENTION).any())
                or ("valid_until" in frame.columns and frame.valid_until.notna().any()))


# (id of the frames dict, the regions asked for) -> (the table frames it was made from, {table: its
# rows paired with each region's chain, sorted}): the pairs do not depend on the month, and a year's
# registers, the run's warnings and the review page ask again for other months of the same tables.
# The entry keeps the frames themselves and is used only while each is still the one in the dict.
_PAIRS: dict[tuple, tuple[tuple, dict[str, pd.DataFrame]]] = {}


def _table_pairs(frames: dict[str, pd.DataFrame], codes: list[str]) -> dict[str, pd.DataFrame]:
    key = (id(frames), tuple(codes))
    made_from = tuple(frames.get(name) for name in ("regions", *REGIONAL))
    entry = _PAIRS.get(key)
    if entry is None or any(a is not b for a, b in zip(entry[0], made_from)):
        if len(_PAIRS) >= 8:
            _PAIRS.pop(next(iter(_PAIRS)))
        chains = _chain_depths(frames["regions"], codes)
        pairs = {}
        for table, keys in REGIONAL.items():
            frame = frames.get(table)
            if frame is None or frame.empty or not _may_need_attention(frame):
                continue
            read = ["region_code", "row_no", "effective_from", "valid_until", "status", "source", *keys]
            paired = chains.merge(frame[[c for c in dict.fromkeys(read) if c in frame.columns]],
                                  on="region_code", how="inner", sort=False)
            pairs[table] = paired.sort_values(["region_order", "depth", "effective_from"],
                                              ascending=[True, True, False], kind="stable")
        entry = _PAIRS[key] = (made_from, pairs)
    return entry[1]


def figures_needing_attention(frames: dict[str, pd.DataFrame], month: str,
                              regions: list[str] | None = None, national: bool = True) -> list[FigureNote]:
    """Every sample, disputed or expired figure in force on the first day of `month` (YYYY-MM),
    for each region (default: every city, i.e. every region that is no one's parent), then the
    national tables. Computed for all regions at once per table (a register header asks for
    every region of the month)."""
    day = date.fromisoformat(f"{month}-01")
    pairs = _table_pairs(frames, list(regions or _leaf_regions(frames["regions"])))
    found = []      # (region order, table order, note); sorted stably below
    for table_order, (table, keys) in enumerate(REGIONAL.items()):
        if table in pairs:
            found.extend((row["region_order"], table_order, _note(row, table, keys))
                         for row in _notes(pairs[table], table, keys, day).to_dict("records"))
    notes = [note for _, _, note in sorted(found, key=lambda item: item[:2])]
    if national:
        for table, keys in NATIONWIDE.items():
            keys = () if table == "iit_brackets" else keys
            national_pairs = frames[table].assign(for_region=NATIONAL, depth=0, region_order=0).sort_values(
                "effective_from", ascending=False, kind="stable")
            notes.extend(_note(row, table, keys)
                         for row in _notes(national_pairs, table, keys, day).to_dict("records"))
    return notes


def counts_by_region(notes: list[FigureNote]) -> dict[str, dict[str, int]]:
    """{region_code: {status: count}} of the notes."""
    counts: dict[str, dict[str, int]] = {}
    for note in notes:
        counts.setdefault(note.region_code, {}).setdefault(note.status, 0)
        counts[note.region_code][note.status] += 1
    return counts


def count_text(counts: dict[str, int]) -> str:
    """"27 sample, 1 disputed" in a fixed order."""
    return ", ".join(f"{counts[s]} {s}" for s in ("sample", "disputed", "expired") if counts.get(s))


def warning_lines(frames: dict[str, pd.DataFrame], month: str, regions: list[str]) -> list[str]:
    """One line per region whose figures in force include samples, disputed or expired ones."""
    names = dict(zip(frames["regions"].region_code, frames["regions"].name))
    counts = counts_by_region(figures_needing_attention(frames, month, sorted(regions), national=False))
    return [f"warning: {code} {names.get(code, '')} {month} uses {count_text(counts[code])} figure(s) "
            f"(样本/争议数字); list them with `payroll tables status --region {code} --month {month}`"
            for code in sorted(counts)]


def header_text(frames: dict[str, pd.DataFrame], month: str, regions: list[str]) -> str:
    """The register's header note: 含样本数字 per region, or empty when every figure is finance's own."""
    names = dict(zip(frames["regions"].region_code, frames["regions"].name))
    counts = counts_by_region(figures_needing_attention(frames, month, sorted(regions), national=False))
    if not counts:
        return ""
    parts = "；".join(f"{names.get(code, code)} {count_text(counts[code])}" for code in sorted(counts))
    return f"含样本或有争议的政策数字（payroll tables status）：{parts}"


# digest -> frames: a digest names the tables' content, so frames rebuilt once serve every later
# register of the same tables (a year's exports read one snapshot twelve times); read-only
_SNAPSHOT_FRAMES: dict[str, dict[str, pd.DataFrame]] = {}


def frames_from_snapshots(con: duckdb.DuckDBPyConnection, digest: str) -> dict[str, pd.DataFrame]:
    """The policy tables a run used, rebuilt from the stored snapshot (explain's provenance)."""
    if digest not in _SNAPSHOT_FRAMES:
        if len(_SNAPSHOT_FRAMES) >= 4:
            _SNAPSHOT_FRAMES.pop(next(iter(_SNAPSHOT_FRAMES)))
        _SNAPSHOT_FRAMES[digest] = _frames_from_snapshots(con, digest)
    return _SNAPSHOT_FRAMES[digest]


def _frames_from_snapshots(con: duckdb.DuckDBPyConnection, digest: str) -> dict[str, pd.DataFrame]:
    frames: dict[str, list[dict]] = {}
    for table, row_no, row_json in con.execute(
            "SELECT table_name, row_no, row_json FROM policy_snapshots WHERE tables_digest = ?", [digest]).fetchall():
        frames.setdefault(table, []).append({"row_no": row_no, **json.loads(row_json)})
    result = {}
    for name, columns in TABLES.items():
        frame = pd.DataFrame(frames.get(name, []), columns=["row_no"] + [c.name for c in columns])
        for column in columns:
            if column.kind == "date":
                frame[column.name] = frame[column.name].map(lambda v: date.fromisoformat(v) if isinstance(v, str) and v else None)
        result[name] = frame
    return result


# (digest, regions, the last day on or before the month's first on which a row took effect or
# lapsed) -> header text: the notes read only which rows are in force (and which lapsed), so every
# month between two such days has the same header (a year's registers compute it once or twice)
_HEADER_TEXTS: dict[tuple, str] = {}
_CHANGE_DAYS: dict[str, list[date]] = {}


def _change_days(digest: str, frames: dict[str, pd.DataFrame]) -> list[date]:
    """Every day a row of the tables takes effect, or is first out of force (valid_until + 1)."""
    if digest not in _CHANGE_DAYS:
        if len(_CHANGE_DAYS) >= 16:         # as many digests as a server meets; kept small
            _CHANGE_DAYS.clear()
        _CHANGE_DAYS[digest] = sorted(set().union(*change_days_by_table(frames).values()))
    return _CHANGE_DAYS[digest]


def _header_text_of(digest: str, frames: dict[str, pd.DataFrame], month: str, regions: list[str]) -> str:
    day = date.fromisoformat(f"{month}-01")
    last_change = max((d for d in _change_days(digest, frames) if d <= day), default=None)
    key = (digest, tuple(sorted(regions)), last_change)
    if key not in _HEADER_TEXTS:
        if len(_HEADER_TEXTS) >= 256:
            _HEADER_TEXTS.clear()
        _HEADER_TEXTS[key] = header_text(frames, month, regions)
    return _HEADER_TEXTS[key]


def register_header(con: duckdb.DuckDBPyConnection, month: str) -> str:
    """The header note for a month's register, from the tables its payslips were computed with."""
    try:
        rows = con.execute("SELECT DISTINCT tables_digest, region_code FROM payslips WHERE month = ?",
                           [month]).fetchall()
        texts = []
        for digest in sorted({d for d, _ in rows}):
            frames = frames_from_snapshots(con, digest)
            if frames["regions"].empty:
                continue
            text = _header_text_of(digest, frames, month, [r for d, r in rows if d == digest])
            if text and text not in texts:
                texts.append(text)
        return "　".join(texts)
    except duckdb.Error:
        return ""          # a database from before the snapshots: no note rather than no register


def _shorten(text: str, limit: int = 90) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def print_status(tables: str | None, region: str | None, month: str | None, console) -> int:
    """`payroll tables status`: a table per region of the figures needing attention; returns the count."""
    from rich.table import Table

    from ..engine.context import Month
    from ..errors import PayrollError
    from ..policy import load_policy

    policy = load_policy(tables)
    month = Month.parse(month).label if month else date.today().strftime("%Y-%m")
    names = policy.region_names()
    if region is not None and region not in names:
        raise PayrollError(f"--region {region!r} is not in {policy.directory / 'regions.csv'}")
    notes = figures_needing_attention(policy.frames, month, [region] if region else None)
    for code in dict.fromkeys(n.region_code for n in notes):
        rows = [n for n in notes if n.region_code == code]
        title = f"{code} {names.get(code, '')} {month}: {count_text(counts_by_region(rows)[code])}"
        table = Table(title=title, title_justify="left", show_lines=False)
        for header in ("表 table", "行 row", "项目 key", "状态 status", "自 from", "至 until", "来源 source"):
            table.add_column(header, overflow="fold")
        for note in rows:
            table.add_row(f"{note.table}.csv", str(note.row_no), note.key,
                          f"{note.status} {STATUS_ZH[note.status]}", str(note.effective_from),
                          str(note.valid_until or ""), _shorten(note.source))
        console.print(table)
    unverified = sum(int((f.get("status") == "unverified").sum()) if "status" in f else 0
                     for f in policy.frames.values())
    if not notes:
        console.print(f"{month}: every figure in force is marked official or secondary "
                      f"({policy.directory}).")
    console.print(f"{len(notes)} figure(s) to replace or settle; {unverified} row(s) in the tables are marked "
                  f"unverified (cited, no source confirmed them).")
    return len(notes)
