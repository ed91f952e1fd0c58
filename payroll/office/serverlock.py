"""`payroll serve` owns its database: DuckDB lets one process write a file, so while the server runs
it is the one writer (imports and runs are its background jobs) and every other process would get a
lock error. The server leaves `<database>.server.json` beside the file (pid, address); the CLI reads
it to say clearly which server has the database and where its page is."""
from __future__ import annotations

import json
import os
from pathlib import Path

from ..errors import PayrollError


def marker_path(db_path: str) -> Path:
    return Path(str(db_path) + ".server.json")


def write_marker(db_path: str, url: str) -> Path:
    path = marker_path(db_path)
    path.write_text(json.dumps({"pid": os.getpid(), "url": url}), encoding="utf-8")
    return path


def remove_marker(db_path: str) -> None:
    path = marker_path(db_path)
    try:
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass


def running_server(db_path: str) -> dict | None:
    """The server holding this database, or None (no marker, or its process is gone)."""
    path = marker_path(db_path)
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
        pid = int(found["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if pid == os.getpid():
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return found


def refuse_if_served(db_path: str) -> None:
    server = running_server(db_path)
    if server is not None:
        raise PayrollError(
            f"database {db_path} is held by `payroll serve` (pid {server['pid']}) at {server.get('url')}: "
            f"while it runs, import and run from its page (Months → Import / Run), or stop the server first")
