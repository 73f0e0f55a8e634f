"""The market / crowd value at freeze time, with a learned shrinkage.

p = sigmoid(a * logit(market) + b), (a, b) fitted by penalised log loss on market questions whose
outcome was known before the due date, the penalty pulling toward (a, b) = (1, 0) (the market as is),
so a short history leaves the market untouched. scipy's optimiser does the fit (a hand-written
Newton step would be no shorter)."""

from __future__ import annotations

import numpy as np

from fincortex.agents.forecasting.forecastbench import ForecastQuestion
from fincortex.agents.forecasting.members.base import Member, labelled, logit

MIN_TRAIN = 30
PENALTY = 5.0  # strength of the pull toward the identity map (in log-loss units)


class MarketMember(Member):
    name = "market"

    def __init__(self) -> None:
        super().__init__()
        self.a, self.b, self.n_train = 1.0, 0.0, 0

    def fit(self, view, targets) -> None:
        from scipy.optimize import minimize

        h = labelled(view)
        h = h[h["market"] & h["freeze_value"].between(0, 1)]
        self.n_train = len(h)
        if len(h) < MIN_TRAIN:
            self.a, self.b = 1.0, 0.0
            return
        x, y = logit(h["freeze_value"].to_numpy(float)), h["resolved_to"].to_numpy(float)

        def loss(w: np.ndarray) -> float:
            z = w[0] * x + w[1]
            return float(np.mean(np.logaddexp(0, z) - y * z) + PENALTY / len(x) * ((w[0] - 1) ** 2 + w[1] ** 2))

        self.a, self.b = (float(v) for v in minimize(loss, np.array([1.0, 0.0]), method="L-BFGS-B").x)

    def _forecast(self, target: ForecastQuestion) -> float | None:
        if target.market_value is None:
            return None
        return float(1 / (1 + np.exp(-(self.a * logit(target.market_value) + self.b))))
