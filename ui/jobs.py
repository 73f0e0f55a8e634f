"""Background jobs for the dashboard: every long job runs in its own worker process.

Why a process and not a thread: a batch ingestion, a backtest or a forecast run can take minutes,
load models and hold DuckDB's write lock between batches. In a separate process it cannot freeze the
Streamlit server, it can be cancelled by killing it, and a crash leaves the dashboard running. The
worker (`python -m fincortex.ui.worker JOB_DIR`) calls the SDK and reports through plain files in
the job folder, so any Streamlit session (or a restarted server) can follow any job:

    JOB_DIR/spec.json      what to run: kind, params, db, mirror
    JOB_DIR/events.jsonl   one JSON object per progress event: {"done", "total", "message", "t"}
    JOB_DIR/result.json    the SDK's report as JSON, written once at the end
    JOB_DIR/error.json     {"error": message, "type": exception class} when the job failed
    JOB_DIR/pid            the worker's process id
    JOB_DIR/log.txt        the worker's stdout/stderr (model loading, warnings)
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Progress:
    done: float = 0
    total: float | None = None
    message: str = ""

    @property
    def fraction(self) -> float | None:
        if not self.total:
            return None
        return max(0.0, min(1.0, self.done / self.total))


@dataclass(frozen=True)
class JobStatus:
    """A snapshot of one job, read from its folder."""

    job_id: str
    kind: str
    label: str
    state: str  # running | done | failed | cancelled
    started_at: float
    finished_at: float | None
    progress: Progress
    params: dict[str, Any] = field(default_factory=dict)
    result: Any = None
    error: str | None = None
    log_tail: str = ""

    @property
    def finished(self) -> bool:
        return self.state != "running"

    @property
    def elapsed_s(self) -> float:
        return (self.finished_at or time.time()) - self.started_at


class JobError(RuntimeError):
    """A job could not be started or found."""


class JobRunner:
    """Starts worker processes and reads their state back from job folders under `root`."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def start(
        self,
        kind: str,
        params: dict[str, Any],
        *,
        label: str,
        db: Path,
        mirror: Path | None,
        extra_env: dict[str, str] | None = None,
    ) -> str:
        from fincortex.ui.tasks import TASKS

        if kind not in TASKS:
            raise JobError(f"unknown job kind {kind!r}; known: {', '.join(TASKS)}")
        job_id = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        job_dir = self.root / job_id
        job_dir.mkdir(parents=True)
        spec = {
            "kind": kind,
            "label": label,
            "params": params,
            "db": str(db),
            "mirror": str(mirror) if mirror else None,
            "started_at": time.time(),
        }
        (job_dir / "spec.json").write_text(json.dumps(spec, default=str), encoding="utf-8")
        env = {**os.environ, **(extra_env or {})}
        with open(job_dir / "log.txt", "wb") as log:
            proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "fincortex.ui.worker", str(job_dir)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,  # so cancel() can end the worker and anything it started
            )
        (job_dir / "pid").write_text(str(proc.pid), encoding="utf-8")
        _children[job_id] = proc
        return job_id

    def status(self, job_id: str, load_result: bool = True) -> JobStatus:
        """A snapshot of the job; `load_result=False` skips reading a (possibly large) result file."""
        job_dir = self.root / job_id
        spec_path = job_dir / "spec.json"
        if not spec_path.exists():
            raise JobError(f"no job {job_id!r} under {self.root}")
        spec = json.loads(spec_path.read_text(encoding="utf-8"))
        progress, last_t = _last_progress(job_dir / "events.jsonl")
        result = error = None
        finished_at: float | None = None
        if (job_dir / "result.json").exists():
            state = "done"
            if load_result:
                result = json.loads((job_dir / "result.json").read_text(encoding="utf-8"))
            finished_at = (job_dir / "result.json").stat().st_mtime
        elif (job_dir / "error.json").exists():
            payload = json.loads((job_dir / "error.json").read_text(encoding="utf-8"))
            state = "cancelled" if payload.get("type") == "Cancelled" else "failed"
            error = payload.get("error") or "unknown error"
            finished_at = (job_dir / "error.json").stat().st_mtime
        elif _alive(job_dir, job_id):
            state = "running"
        else:
            # re-check: the worker may have written its result between the two looks
            if (job_dir / "result.json").exists() or (job_dir / "error.json").exists():
                return self.status(job_id, load_result)
            state = "failed"
            error = "the worker process ended without a result (killed or crashed); see its log"
            finished_at = last_t or time.time()
        return JobStatus(
            job_id=job_id,
            kind=spec["kind"],
            label=spec.get("label", spec["kind"]),
            state=state,
            started_at=float(spec["started_at"]),
            finished_at=finished_at,
            progress=progress,
            params=spec.get("params", {}),
            result=result,
            error=error,
            log_tail=_tail(job_dir / "log.txt") if state != "done" and load_result else "",
        )

    def list(self, kind: str | None = None, limit: int = 50) -> list[JobStatus]:
        """The newest `limit` jobs (of one kind), without their results (listing must stay cheap)."""
        if not self.root.exists():
            return []
        found = []
        for job_dir in sorted(self.root.iterdir(), reverse=True):
            if len(found) >= limit:
                break
            if not (job_dir / "spec.json").exists():
                continue
            try:
                job = self.status(job_dir.name, load_result=False)
            except (OSError, ValueError, KeyError):  # a folder being written or damaged: skip it
                continue
            if kind is None or job.kind == kind:
                found.append(job)
        return found

    def cancel(self, job_id: str) -> None:
        """Stop a running worker (its process group) and record the cancellation."""
        job_dir = self.root / job_id
        if not _alive(job_dir, job_id):
            return
        pid = int((job_dir / "pid").read_text(encoding="utf-8"))
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        proc = _children.get(job_id)
        if proc is not None:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(pid, signal.SIGKILL)
                proc.wait(timeout=10)
        if not (job_dir / "result.json").exists():
            _write_json(job_dir / "error.json", {"error": "cancelled by the user", "type": "Cancelled"})

    def wait(self, job_id: str, timeout_s: float = 600.0, poll_s: float = 0.2) -> JobStatus:
        """Block until the job finishes (tests and scripts; the UI polls instead)."""
        deadline = time.monotonic() + timeout_s
        while True:
            job = self.status(job_id)
            if job.finished:
                return job
            if time.monotonic() > deadline:
                raise JobError(f"job {job_id} still running after {timeout_s:.0f}s")
            time.sleep(poll_s)


# Popen objects of workers this process started, so they can be reaped (no zombies).
_children: dict[str, subprocess.Popen] = {}


def _alive(job_dir: Path, job_id: str) -> bool:
    proc = _children.get(job_id)
    if proc is not None:
        return proc.poll() is None
    pid_path = job_dir / "pid"
    if not pid_path.exists():
        return False
    try:
        os.kill(int(pid_path.read_text(encoding="utf-8")), 0)
    except (ProcessLookupError, ValueError):
        return False
    except PermissionError:
        return True
    return True


def _last_progress(path: Path) -> tuple[Progress, float | None]:
    if not path.exists():
        return Progress(message="starting"), None
    last: dict[str, Any] | None = None
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            try:
                last = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line being written right now
    if last is None:
        return Progress(message="starting"), None
    return (
        Progress(done=last.get("done", 0), total=last.get("total"), message=last.get("message", "")),
        last.get("t"),
    )


def _tail(path: Path, n_chars: int = 4000) -> str:
    if not path.exists():
        return ""
    data = path.read_bytes()[-n_chars:]
    return data.decode("utf-8", errors="replace")


def _write_json(path: Path, payload: Any) -> None:
    """Write atomically: readers never see half a file."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(payload, default=str), encoding="utf-8")
    tmp.replace(path)
