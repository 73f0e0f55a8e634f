"""The same question's own history: ids recur across rounds (a Wikipedia record holder, an ACLED
country, a ticker), and earlier rounds' outcomes of the same (source, id, direction) that were known
before the due date are evidence. Same-horizon outcomes count fully, other horizons half; smoothed
toward 0.5 with one pseudo-count each side. Abstains for a question never seen resolved."""

from __future__ import annotations

from collections import defaultdict

from fincortex.agents.forecasting.forecastbench import ForecastQuestion
from fincortex.agents.forecasting.members.base import Member, labelled, target_bucket
from fincortex.agents.forecasting.rounds import direction_text

OTHER_HORIZON_WEIGHT = 0.5


class OwnHistoryMember(Member):
    name = "own_history"

    def fit(self, view, targets) -> None:
        h = labelled(view)
        self.seen: dict[tuple, list[tuple[int, float]]] = defaultdict(list)
        for s, i, d, hb, y in zip(h["source"], h["id"], h["direction"], h["hbucket"], h["resolved_to"]):
            self.seen[(s, i, d)].append((int(hb), float(y)))

    def _forecast(self, target: ForecastQuestion) -> float | None:
        past = self.seen.get((target.source, target.id, direction_text(target.direction)))
        if not past:
            return None
        hb = target_bucket(target)
        k = n = 0.0
        for b, y in past:
            w = 1.0 if b == hb else OTHER_HORIZON_WEIGHT
            k, n = k + w * y, n + w
        return (k + 1.0) / (n + 2.0)
