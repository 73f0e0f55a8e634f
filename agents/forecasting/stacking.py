"""Aggregation learned point-in-time: per source family (all market sources together; each dataset
source apart), a logistic regression on member logits with missing-member indicators, fitted only on
member forecasts of earlier rounds whose outcome was public before the due date (walkforward.py
selects them). With a short history the best single member on that history is used instead, and
with none a fixed order (market, series, own history, base rate). scikit-learn does the fit; an
unresolved market row (a fractional outcome) enters as two weighted rows (y=1 weight v, y=0 weight 1-v),
which is its exact cross-entropy."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fincortex.agents.forecasting.forecastbench import MARKET_SOURCES
from fincortex.agents.forecasting.members.base import logit

MIN_STACK = 100  # training rows (and >= MIN_CLASS of each outcome) before a stack replaces the best member
MIN_CLASS = 10
MIN_SINGLE = 10
PRIOR_ORDER = ("market", "series", "own_history", "base_rate", "llm_direct", "reasoning")
C = 1.0
VALIDATION = 0.3  # newest share of the training rows that decides stack vs best single member


def family(source: str) -> str:
    return "market" if source in MARKET_SOURCES else source


# Members a market question's stack may use: the source-level rates learn from markets that resolved
# early (the only market outcomes public before a due date), unlike the rows scored (mostly unresolved,
# scored against the later market value), and on the dev rounds they pulled the market off its value.
MARKET_FAMILY_MEMBERS = ("market", "llm_direct", "reasoning")


def family_members(fam: str, names: tuple[str, ...]) -> tuple[str, ...]:
    if fam != "market":
        return names
    return tuple(n for n in names if n in MARKET_FAMILY_MEMBERS) or names


def _first(probs: dict[str, float | None], order) -> float:
    for m in order:
        if probs.get(m) is not None:
            return float(probs[m])
    return 0.5


@dataclass
class StackFit:
    family: str
    kind: str  # stack | best_single | prior
    members: tuple[str, ...]
    coef: list[float] = field(default_factory=list)
    intercept: float = 0.0
    best: str | None = None
    n_train: int = 0
    train_brier: dict[str, float] = field(default_factory=dict)

    def features(self, probs: dict[str, float | None]) -> np.ndarray:
        x = []
        for m in self.members:
            p = probs.get(m)
            x += [float(logit(p)) if p is not None else 0.0, 0.0 if p is not None else 1.0]
        return np.array(x)

    def predict(self, probs: dict[str, float | None]) -> float:
        if self.kind == "stack":
            z = float(self.features(probs) @ np.array(self.coef) + self.intercept)
            return float(np.clip(1 / (1 + np.exp(-z)), 1e-3, 1 - 1e-3))
        order = ((self.best,) if self.best else ()) + tuple(m for m in PRIOR_ORDER if m in self.members)
        return _first(probs, order)

    def weights(self) -> dict[str, Any]:
        out: dict[str, Any] = {"family": self.family, "kind": self.kind, "n_train": self.n_train,
                               "train_brier": self.train_brier}
        if self.kind == "stack":
            out["logit_weight"] = {m: self.coef[2 * i] for i, m in enumerate(self.members)}
            out["missing_weight"] = {m: self.coef[2 * i + 1] for i, m in enumerate(self.members)}
            out["intercept"] = self.intercept
        else:
            out["member"] = self.best or next((m for m in PRIOR_ORDER if m in self.members), None)
        return out


def _stack(fam: str, members: tuple[str, ...], rows) -> StackFit:
    from sklearn.linear_model import LogisticRegression

    n = len(rows)
    y = np.array([r[1] for r in rows], dtype=float)
    probe = StackFit(fam, "stack", members)
    x = np.stack([probe.features(r[0]) for r in rows])
    xx, yy = np.concatenate([x, x]), np.concatenate([np.ones(n), np.zeros(n)]).astype(int)
    ww = np.concatenate([y, 1 - y])
    keep = ww > 0
    model = LogisticRegression(C=C, max_iter=2000).fit(xx[keep], yy[keep], sample_weight=ww[keep])
    return StackFit(fam, "stack", members, coef=model.coef_[0].tolist(), intercept=float(model.intercept_[0]), n_train=n)


def _briers(members, rows) -> dict[str, float]:
    y = np.array([r[1] for r in rows], dtype=float)
    return {m: float(np.mean((np.array([_first(r[0], (m,)) for r in rows]) - y) ** 2)) for m in members}


def _brier(fit_: StackFit, rows) -> float:
    return float(np.mean([(fit_.predict(r[0]) - r[1]) ** 2 for r in rows]))


def fit(fam: str, members: tuple[str, ...], rows: list[tuple[dict[str, float | None], float]]) -> StackFit:
    """rows: (member probabilities, outcome in [0, 1]) known before the due date, oldest outcome first.

    The stack replaces the best single member only if it beats it on the newest VALIDATION share of
    the rows when both are fitted on the older rest (a walk-forward choice, never a look at the round)."""
    n = len(rows)
    briers = _briers(members, rows) if n else {}
    if n < MIN_SINGLE:
        return StackFit(fam, "prior", members, n_train=n, train_brier=briers)
    best = StackFit(fam, "best_single", members, best=min(briers, key=briers.__getitem__), n_train=n, train_brier=briers)
    y = np.array([r[1] for r in rows], dtype=float)
    if n < MIN_STACK or min(float(y.sum()), float((1 - y).sum())) < MIN_CLASS or len(members) < 2:
        return best  # one member: a recalibration would only re-learn the member's own map
    cut = int(n * (1 - VALIDATION))
    older, newer = rows[:cut], rows[cut:]
    y_old = np.array([r[1] for r in older], dtype=float)
    if min(float(y_old.sum()), float((1 - y_old).sum())) < MIN_CLASS:
        return best
    b_old = _briers(members, older)
    single_old = StackFit(fam, "best_single", members, best=min(b_old, key=b_old.__getitem__))
    if _brier(_stack(fam, members, older), newer) >= _brier(single_old, newer):
        return best
    stacked = _stack(fam, members, rows)
    stacked.train_brier = briers
    return stacked
