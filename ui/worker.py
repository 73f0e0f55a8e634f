"""The worker process behind a dashboard job: `python -m fincortex.ui.worker JOB_DIR`.

It reads JOB_DIR/spec.json, calls one SDK method, appends progress events to events.jsonl and
writes result.json (or error.json). It only talks to `fincortex.Client`, like the rest of the UI.
"""

from __future__ import annotations

import json
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Callable

from fincortex.ui.jobs import _write_json
from fincortex.ui.serialize import to_jsonable

ProgressFn = Callable[..., None]


class Cancelled(Exception):
    """The dashboard asked the worker to stop (SIGTERM)."""


def _reporter(events_path: Path) -> ProgressFn:
    def report(done: float = 0, total: float | None = None, message: str = "", **_: Any) -> None:
        event = {"done": done, "total": total, "message": str(message), "t": time.time()}
        with open(events_path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(event, default=str) + "\n")

    return report


def run_job(job_dir: Path) -> int:
    from fincortex.ui import tasks

    spec = json.loads((job_dir / "spec.json").read_text(encoding="utf-8"))
    report = _reporter(job_dir / "events.jsonl")

    def on_term(signum: int, frame: Any) -> None:
        raise Cancelled()

    signal.signal(signal.SIGTERM, on_term)
    try:
        task = tasks.TASKS.get(spec["kind"])
        if task is None:
            raise ValueError(f"unknown job kind {spec['kind']!r}")
        from fincortex.client import Client

        client = Client(db=spec["db"], mirror=spec.get("mirror"))
        report(0, None, "started")
        result = task(client, spec.get("params", {}), report)
        _write_json(job_dir / "result.json", to_jsonable(result))
        return 0
    except Cancelled:
        _write_json(job_dir / "error.json", {"error": "cancelled by the user", "type": "Cancelled"})
        return 1
    except Exception as exc:  # the job's failure is the job's result: show it in the UI
        traceback.print_exc()
        _write_json(
            job_dir / "error.json",
            {"error": f"{type(exc).__name__}: {exc}", "type": type(exc).__name__},
        )
        return 1


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m fincortex.ui.worker JOB_DIR", file=sys.stderr)
        return 2
    return run_job(Path(args[0]))


if __name__ == "__main__":
    raise SystemExit(main())
