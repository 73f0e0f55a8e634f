"""One progress protocol for every long job: ingest, index build, tuning, backtests, forecasts, evaluations.

Why one: jobs used to call back under four names with four shapes (`progress(stage, done, total)`,
`progress(done, total)`, `on_outcome(outcome)`, `on_step(node, delta)`), so the CLI and the dashboard
probed signatures and wrote one adapter per job. Now every job takes `progress: Progress | None` and
sends `ProgressEvent`s through `report`; the CLI draws them as rich bars (fincortex/cli/progress.py) and
the dashboard writes them to its job's event log (ui/tasks.py): one adapter each.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class ProgressEvent:
    """Where a job stands. `stage` names the part that runs ("ingest", "embed", "train", "backtest",
    "forecast", ...); `done` of `total` units (total None: not known yet); `message` a short human note;
    `item` an optional per-item result (an ingest `Outcome` per file, an analyst step's state delta)."""

    stage: str
    done: float = 0
    total: float | None = None
    message: str = ""
    item: Any = None

    @property
    def fraction(self) -> float | None:
        """done / total in [0, 1], or None when the total is unknown."""
        if not self.total:
            return None
        return max(0.0, min(1.0, self.done / self.total))


class Progress(Protocol):
    """A receiver of progress events (a plain function of one `ProgressEvent` is one)."""

    def __call__(self, event: ProgressEvent) -> None: ...


def report(progress: Progress | None, stage: str, done: float = 0, total: float | None = None,
           message: str = "", item: Any = None) -> None:
    """Send one event when the caller gave a receiver: the one call every job makes."""
    if progress is not None:
        progress(ProgressEvent(stage, done, total, message, item))
