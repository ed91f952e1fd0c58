"""Finding people by ID or name without scanning the roster on every search (issue 18: HR pages
under 1 s while a month runs; the search scanned 100,000 IDs and names with ILIKE and LIKE, ~15–20 ms
of CPU a query, the largest part of an HR user's search-and-open).

The server keeps every employee's lower-cased ID and name in two long strings and finds the text in
them with str.find (C speed), giving the IDs that may match; the database query then applies the
search's own condition and the user's scope to those rows only, so the answer is the same rows the
scan gives. The index is made again whenever what it read may have changed: the imports ledger (every
write to employees is an import: employees, events, levels) or the number of employees."""
from __future__ import annotations

import bisect
import threading

import duckdb

MAX_CANDIDATES = 2000       # more hits than this (a text like "FJ"): the plain scan is as cheap


class PeopleIndex:
    def __init__(self, ids: list[str], names: list[str]):
        self.ids = ids
        self._ids_text, self._id_starts = _joined([i.lower() for i in ids])
        self._names_text, self._name_starts = _joined(names)

    def candidates(self, text: str) -> list[str] | None:
        """IDs of everyone whose ID holds `text` in any case or whose name holds it (a superset of
        the search's matches), or None when there are too many to be worth it."""
        rows: set[int] = set()
        for haystack, starts, needle in ((self._ids_text, self._id_starts, text.lower()),
                                         (self._names_text, self._name_starts, text)):
            position = haystack.find(needle)
            while position != -1:
                row = bisect.bisect_right(starts, position) - 1
                rows.add(row)
                if len(rows) > MAX_CANDIDATES:
                    return None
                following = starts[row + 1] if row + 1 < len(starts) else len(haystack)
                position = haystack.find(needle, following)      # the next person's text
        return [self.ids[row] for row in sorted(rows)]


def _joined(texts: list[str]) -> tuple[str, list[int]]:
    """The texts joined by a line break (never in a search text: it is stripped and one line), and
    where each starts."""
    starts, at = [], 0
    for text in texts:
        starts.append(at)
        at += len(text) + 1
    return "\n".join(texts), starts


class PeopleSearch:
    """The server's index, made in the snapshot of the request that first needs it."""

    def __init__(self):
        self._lock = threading.Lock()
        self._indexes: dict[tuple, PeopleIndex | None] = {}     # signature -> index (None: scan)

    def index(self, cur: duckdb.DuckDBPyConnection) -> PeopleIndex | None:
        """The index for what `cur`'s snapshot holds, or None (IDs that are not plain ASCII: Python's
        and DuckDB's lower case might differ, so the plain scan answers)."""
        signature = tuple(cur.execute(
            "SELECT (SELECT count(*) FROM employees), (SELECT count(*) FROM imports), "
            "(SELECT max(imported_at)::VARCHAR FROM imports)").fetchall()[0])
        with self._lock:       # one request makes it; those arriving meanwhile wait for it, not make it too
            if signature not in self._indexes:
                rows = cur.execute("SELECT employee_id, coalesce(name, '') FROM employees").fetchall()
                usable = all(employee_id.isascii() and "\n" not in name for employee_id, name in rows)
                made = PeopleIndex([r[0] for r in rows], [r[1] for r in rows]) if usable else None
                # two kept: while an import commits, requests begun before it still see the old roster
                self._indexes = {**dict(list(self._indexes.items())[-1:]), signature: made}
            return self._indexes[signature]

