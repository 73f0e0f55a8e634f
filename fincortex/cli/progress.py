"""The CLI's one progress adapter: `ProgressEvent`s (fincortex/progress.py) drawn as rich bars, one per stage.

Every long command (ingest, index build, tuning, backtest, forecast, evaluations) opens `bars()` and
hands the receiver it yields to the SDK as `progress=`; nothing here knows which job is running.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fincortex.cli import console
from fincortex.progress import Progress, ProgressEvent


@contextmanager
def bars(*, totals: dict[str, int | None] | None = None, transient: bool = True,
         disable: bool = False) -> Iterator[Progress]:
    """A rich Progress display fed by events. `totals`: a stage's total known before its first event
    (e.g. the files an ingest will read); an event's own total wins when it carries one."""
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
    from rich.progress import Progress as RichProgress

    display = RichProgress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                           TimeRemainingColumn(), console=console, transient=transient, disable=disable)
    tasks: dict[str, int] = {}
    known = dict(totals or {})

    def on_event(event: ProgressEvent) -> None:
        total = event.total if event.total is not None else known.get(event.stage)
        if event.stage not in tasks:
            tasks[event.stage] = display.add_task(event.stage, total=total)
        description = f"{event.stage}: {event.message}" if event.message else event.stage
        display.update(tasks[event.stage], completed=event.done, total=total, description=description[:80])

    with display:
        yield on_event
