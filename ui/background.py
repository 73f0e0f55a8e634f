"""`python -m fincortex.ui.background KIND [--params JSON] [--label TEXT]`: start a dashboard job from a script.

Why: the demo opens the dashboard as soon as the index exists and trains the reranker after it. Started
as a dashboard job (ui/jobs.py: its own worker process, progress in its job folder), the training shows
its progress on the Search page of any session, survives page reloads, and a crash leaves the dashboard
running. Prints the job id and the log file to follow from a terminal.
"""

from __future__ import annotations

import argparse
import json
import sys

from fincortex.config import Settings
from fincortex.ui.jobs import JobError, JobRunner


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fincortex.ui.background", description=__doc__.splitlines()[0])
    parser.add_argument("kind", help="a job kind of fincortex.ui.tasks.TASKS, e.g. tune_reranker")
    parser.add_argument("--params", default="{}", help="the job's parameters as a JSON object")
    parser.add_argument("--label", help="what the dashboard calls the job (default: the kind)")
    args = parser.parse_args(argv)
    try:
        params = json.loads(args.params)
    except ValueError as exc:
        print(f"error: --params is not JSON ({exc}): {args.params!r}", file=sys.stderr)
        return 2
    if not isinstance(params, dict):
        print(f"error: --params must be a JSON object, got {args.params!r}", file=sys.stderr)
        return 2
    settings = Settings.from_env()
    runner = JobRunner(settings.cache_dir / "ui-jobs")  # the folder the dashboard reads (ui/common.py jobs())
    try:
        job_id = runner.start(args.kind, params, label=args.label or args.kind, db=settings.db_path,
                              mirror=settings.mirror)
    except JobError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"started {args.label or args.kind} in the background: job {job_id} "
          f"(log: {runner.root / job_id / 'log.txt'}); its progress shows on the dashboard's Search page")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
