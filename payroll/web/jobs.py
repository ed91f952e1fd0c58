"""Imports and runs as background jobs of the server: the server is the database's one writer
(DuckDB allows one writing process), so HR keeps reading while a clerk runs a month. One job at a
time; each month is written in one transaction, so a reader sees the month before or after, never
half of it. A job's page shows its progress."""
from __future__ import annotations

import threading
import time
import traceback
import uuid
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Callable


@dataclass
class Job:
    job_id: str
    kind: str                 # run | import
    title: str
    username: str
    state: str = "queued"     # queued | running | done | failed
    messages: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.time)
    finished: float | None = None

    @property
    def running(self) -> bool:
        return self.state in ("queued", "running")


class JobRunner:
    def __init__(self, log: Callable[[str], None] | None = None,
                 around: Callable[[], AbstractContextManager] = nullcontext):
        """`around`: entered for the time each job runs (the audit log's deferral of page entries)."""
        self.jobs: dict[str, Job] = {}
        self._write_lock = threading.Lock()     # one writing job at a time
        self._log = log
        self._around = around

    @property
    def writing(self) -> bool:
        return self._write_lock.locked()

    def start(self, kind: str, title: str, username: str, work: Callable[[Job], None]) -> Job:
        job = Job(uuid.uuid4().hex[:12], kind, title, username)
        self.jobs[job.job_id] = job
        threading.Thread(target=self._run, args=(job, work), daemon=True, name=f"job-{job.job_id}").start()
        return job

    def _run(self, job: Job, work: Callable[[Job], None]) -> None:
        with self._write_lock, self._around():
            job.state = "running"
            try:
                work(job)
                job.state = "done"
            except Exception as error:          # the job's page says what failed; the server keeps serving
                from ..errors import PayrollError
                job.messages.append(f"error: {error}")
                job.state = "failed"
                if not isinstance(error, PayrollError) and self._log:
                    self._log(traceback.format_exc())
            finally:
                job.finished = time.time()

    def wait(self, job_id: str, timeout: float = 600) -> Job:
        """For tests and the CLI: block until the job ends."""
        deadline = time.time() + timeout
        job = self.jobs[job_id]
        while job.running and time.time() < deadline:
            time.sleep(0.05)
        return job

    def recent(self, limit: int = 10) -> list[Job]:
        return sorted(self.jobs.values(), key=lambda j: j.started, reverse=True)[:limit]
