"""Long REST calls (forecast, backtest) as jobs: POST returns a job id, GET /jobs/{id} its progress and result.

Hand-written because neither FastAPI (BackgroundTasks: fire and forget, no status) nor the dashboard's
worker processes (ui/jobs.py, a sibling layer the API may not import) fit: this is the smallest thing
that gives an id, progress and the result. One worker thread runs jobs in order: DuckDB takes one
writer, and one model at a time is what a small machine holds. Jobs live in this process's memory; their
results (backtest runs, forecaster runs) are also stored in DuckDB by the SDK and outlive it.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from fincortex.progress import ProgressEvent


@dataclass
class Job:
    job_id: str
    kind: str
    params: dict[str, Any]
    state: str = "queued"  # queued | running | done | failed
    done: float = 0
    total: float | None = None
    message: str = ""
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    result: Any = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        fraction = None if not self.total else max(0.0, min(1.0, self.done / self.total))
        return {"job_id": self.job_id, "kind": self.kind, "state": self.state, "params": self.params,
                "progress": {"done": self.done, "total": self.total, "fraction": fraction, "message": self.message},
                "created_at": self.created_at, "started_at": self.started_at, "finished_at": self.finished_at,
                "result": self.result, "error": self.error}


class JobRunner:
    """submit(kind, params, fn) -> Job; fn(progress) runs on the worker thread, progress(ProgressEvent)."""

    def __init__(self, workers: int = 1, keep: int = 200) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fincortex-job")
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._keep = keep

    def submit(self, kind: str, params: dict[str, Any], fn: Callable[[Callable[..., None]], Any]) -> Job:
        job = Job(uuid.uuid4().hex[:16], kind, params)
        with self._lock:
            self._jobs[job.job_id] = job
            finished = [j for j in self._jobs.values() if j.finished_at is not None]
            for old in sorted(finished, key=lambda j: j.finished_at)[: max(0, len(self._jobs) - self._keep)]:
                del self._jobs[old.job_id]
        self._pool.submit(self._run, job, fn)
        return job

    def get(self, job_id: str) -> Job:
        with self._lock:
            if job_id not in self._jobs:
                raise KeyError(f"no job {job_id!r} (jobs are kept in memory by the server that ran them)")
            return self._jobs[job_id]

    def _run(self, job: Job, fn: Callable[[Callable[..., None]], Any]) -> None:
        def progress(event: ProgressEvent) -> None:  # the SDK's one progress protocol (fincortex/progress.py)
            job.done, job.total, job.message = event.done, event.total, event.message

        job.state, job.started_at = "running", time.time()
        try:
            job.result = fn(progress)
            job.state = "done"
        except Exception as exc:  # the job's failure is its result: the client reads it from GET /jobs/{id}
            job.error, job.state = f"{type(exc).__name__}: {exc}", "failed"
        finally:
            job.finished_at = time.time()

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
