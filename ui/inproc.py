"""Short interactive jobs (an analyst question) on a thread of the dashboard's own process.

Why not a worker process like ingestion or backtests: an answer takes seconds, and the chat model
and the search indexes are already loaded in this process (the SDK caches them per client). A
thread keeps them warm while the page polls, so the page stays usable during the answer and a
click elsewhere does not abort it (a blocking call inside the script run would be interrupted).
"""

from __future__ import annotations

import threading
import time
import traceback
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Task:
    task_id: str
    label: str
    started_at: float
    future: Future
    steps: list[str] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return self.future.done()

    def error(self) -> str | None:
        if not self.future.done():
            return None
        exc = self.future.exception()
        return None if exc is None else f"{type(exc).__name__}: {exc}"

    def result(self) -> Any:
        return self.future.result() if self.future.done() and self.future.exception() is None else None


class TaskRunner:
    """Tasks on daemon threads, addressable by id (ids live in each session's state), at most
    `workers` running at once. Daemon threads: stopping the server must not wait for an answer."""

    def __init__(self, workers: int = 2) -> None:
        self._slots = threading.BoundedSemaphore(workers)
        self._tasks: dict[str, Task] = {}
        self._lock = threading.Lock()

    def submit(self, label: str, fn: Callable[[Callable[[str], None]], Any]) -> str:
        """Run `fn(step)`; `step(text)` records progress the page shows while it waits."""
        task_id = uuid.uuid4().hex[:12]
        steps: list[str] = []

        future: Future = Future()

        def run() -> None:
            with self._slots:
                if not future.set_running_or_notify_cancel():
                    return
                try:
                    future.set_result(fn(steps.append))
                except BaseException as exc:  # noqa: BLE001 - handed to the page through the future
                    traceback.print_exc()
                    future.set_exception(exc)

        task = Task(task_id, label, time.time(), future, steps)
        with self._lock:
            self._tasks[task_id] = task
            self._forget_old()
        threading.Thread(target=run, name=f"fincortex-ui-{task_id}", daemon=True).start()
        return task_id

    def get(self, task_id: str) -> Task | None:
        with self._lock:
            return self._tasks.get(task_id)

    def wait(self, task_id: str, timeout_s: float = 600.0) -> Task:
        task = self.get(task_id)
        if task is None:
            raise KeyError(task_id)
        try:
            task.future.result(timeout=timeout_s)
        except Exception:  # noqa: BLE001 - the caller reads task.error()
            pass
        return task

    def _forget_old(self, keep: int = 200) -> None:
        finished = [t for t in self._tasks.values() if t.done]
        for t in sorted(finished, key=lambda t: t.started_at)[: max(0, len(finished) - keep)]:
            self._tasks.pop(t.task_id, None)


_runner: TaskRunner | None = None
_runner_lock = threading.Lock()


def runner() -> TaskRunner:
    """The process-wide runner (shared by every session of this server)."""
    global _runner
    with _runner_lock:
        if _runner is None:
            _runner = TaskRunner()
        return _runner
