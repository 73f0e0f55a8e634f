"""The strategy interface of the simulator and the rule-based baselines.

A strategy sees one `Observation` per step (point-in-time prices, its own book, a seeded RNG) and
returns a `Decision`: an order (or none) plus what it read, so the leakage audit can check it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import numpy as np

from fincortex.agents.trading.features import _ret, _sma
from fincortex.agents.trading.market import PriceHistory
from fincortex.agents.trading.portfolio import Order, PortfolioSnapshot


@dataclass(frozen=True)
class SeenChunk:
    chunk_id: int
    available_at: datetime
    score: float | None = None


@dataclass(frozen=True)
class SeenMemory:
    item_id: str
    available_at: datetime


@dataclass
class Evidence:
    """What an agent read besides the price view the simulator handed it (recorded by the simulator)."""

    chunks: list[SeenChunk] = field(default_factory=list)
    memory: list[SeenMemory] = field(default_factory=list)


@dataclass(frozen=True)
class Observation:
    decision_ts: datetime
    prices: PriceHistory
    portfolio: PortfolioSnapshot
    periods_per_year: int
    rng: np.random.Generator
    allow_short: bool = False


@dataclass
class Decision:
    action: str  # BUY | SELL | HOLD
    order: Order | None = None
    rationale: str = ""
    scores: dict[str, Any] = field(default_factory=dict)
    evidence: Evidence = field(default_factory=Evidence)

    @staticmethod
    def hold(rationale: str = "", **scores: Any) -> "Decision":
        return Decision("HOLD", None, rationale, dict(scores))

    @staticmethod
    def to_weight(weight: float, current: float, rationale: str = "", **scores: Any) -> "Decision":
        action = "BUY" if weight > current else "SELL" if weight < current else "HOLD"
        return Decision(action, Order.target_weight(weight), rationale, dict(scores))


class Strategy(Protocol):
    name: str

    def decide(self, obs: Observation) -> Decision: ...


class BuyAndHold:
    """Invest everything on the first step, then never trade: the benchmark every run is compared to."""

    name = "buyhold"

    def decide(self, obs: Observation) -> Decision:
        if obs.portfolio.quantity == 0 and obs.portfolio.realized_pnl == 0 and obs.portfolio.cash > 0:
            return Decision.to_weight(1.0, 0.0, "initial allocation")
        return Decision.hold("hold")


def _signal_decision(signal: int, obs: Observation, why: str, **scores: Any) -> Decision:
    """Trade only when the desired side differs from the held side (no daily drift rebalancing)."""
    if signal < 0 and not obs.allow_short:
        signal = 0
    qty = obs.portfolio.quantity
    held = 1 if qty > 0 else -1 if qty < 0 else 0
    if signal == held:
        return Decision.hold(why, signal=signal, **scores)
    return Decision.to_weight(float(signal), obs.portfolio.weight, why, signal=signal, **scores)


class SMACrossover:
    """Long while the fast simple moving average is above the slow one, flat (or short) otherwise."""

    def __init__(self, fast: int = 20, slow: int = 50) -> None:
        if not 0 < fast < slow:
            raise ValueError(f"SMA windows need 0 < fast < slow, got fast={fast} slow={slow}")
        self.fast, self.slow = fast, slow
        self.name = "sma"

    def decide(self, obs: Observation) -> Decision:
        fast, slow = _sma(obs.prices.close, self.fast), _sma(obs.prices.close, self.slow)
        if fast is None or slow is None:
            return Decision.hold(f"need {self.slow} bars, have {len(obs.prices)}")
        signal = 1 if fast > slow else -1
        return _signal_decision(signal, obs, f"SMA{self.fast}={fast:.2f} vs SMA{self.slow}={slow:.2f}",
                                sma_fast=fast, sma_slow=slow)


class Momentum:
    """Time-series momentum: long while the trailing `lookback` return exceeds `threshold`."""

    def __init__(self, lookback: int = 30, threshold: float = 0.0) -> None:
        if lookback < 1:
            raise ValueError(f"momentum lookback must be >= 1, got {lookback}")
        self.lookback, self.threshold = lookback, threshold
        self.name = "momentum"

    def decide(self, obs: Observation) -> Decision:
        ret = _ret(obs.prices.close, self.lookback)
        if ret is None:
            return Decision.hold(f"need {self.lookback + 1} bars, have {len(obs.prices)}")
        signal = 1 if ret > self.threshold else -1
        return _signal_decision(signal, obs, f"{self.lookback}-bar return {ret:+.2%}", momentum=ret)


BASELINES = {"buyhold": BuyAndHold, "sma": SMACrossover, "momentum": Momentum}


# Their builders for a backtest (registry.STRATEGIES): the windows come from the BacktestConfig.
def build_buyhold(deps: Any, config: Any) -> BuyAndHold:
    return BuyAndHold()


def build_sma(deps: Any, config: Any) -> SMACrossover:
    return SMACrossover(config.sma_fast, config.sma_slow)


def build_momentum(deps: Any, config: Any) -> Momentum:
    return Momentum(config.momentum_lookback)
