"""Market features computed in code from a point-in-time price history (never by the LLM).

Used by the baselines (SMA crossover, momentum), by the LLM agent's market analyst (which turns them
into a short text) and by the memory (as a regime vector for relevance).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from fincortex.agents.trading.market import PriceHistory


@dataclass(frozen=True)
class MarketFeatures:
    n_bars: int
    last_close: float
    ret_1d: float | None
    ret_7d: float | None
    ret_30d: float | None
    vol_20d: float | None  # annualised stdev of daily log returns over 20 bars
    sma_20: float | None
    sma_50: float | None
    rsi_14: float | None
    drawdown_90d: float | None  # 1 - close / max close over 90 bars

    def as_dict(self) -> dict[str, float | int | None]:
        return asdict(self)

    def vector(self) -> np.ndarray:
        """A small regime vector (trend, momentum, volatility) for memory relevance; NaN -> 0."""
        above = None if self.sma_20 is None else self.last_close / self.sma_20 - 1
        cross = None if self.sma_20 is None or self.sma_50 is None else self.sma_20 / self.sma_50 - 1
        parts = [self.ret_7d, self.ret_30d, self.vol_20d, above, cross,
                 None if self.rsi_14 is None else (self.rsi_14 - 50) / 50, self.drawdown_90d]
        return np.array([0.0 if p is None else float(p) for p in parts])


def _ret(close: np.ndarray, n: int) -> float | None:
    return float(close[-1] / close[-1 - n] - 1) if close.size > n and close[-1 - n] > 0 else None


def _sma(close: np.ndarray, n: int) -> float | None:
    return float(close[-n:].mean()) if close.size >= n else None


def rsi(close: np.ndarray, n: int = 14) -> float | None:
    """Wilder's RSI on the last n+1 closes' simple average gains/losses (cutler variant)."""
    if close.size < n + 1:
        return None
    diff = np.diff(close[-(n + 1):])
    gain, loss = diff.clip(min=0).mean(), (-diff).clip(min=0).mean()
    if loss == 0:
        return 100.0 if gain > 0 else 50.0
    return float(100 - 100 / (1 + gain / loss))


def compute_features(history: PriceHistory, periods_per_year: int = 365) -> MarketFeatures:
    close = history.close
    if close.size == 0:
        raise ValueError(f"no {history.symbol} bars visible at {history.as_of}: cannot compute features")
    vol = None
    if close.size >= 21:
        logret = np.diff(np.log(close[-21:]))
        vol = float(logret.std(ddof=1) * np.sqrt(periods_per_year))
    dd = None
    if close.size >= 2:
        window = close[-90:]
        dd = float(1 - window[-1] / window.max())
    return MarketFeatures(
        n_bars=int(close.size), last_close=float(close[-1]),
        ret_1d=_ret(close, 1), ret_7d=_ret(close, 7), ret_30d=_ret(close, 30), vol_20d=vol,
        sma_20=_sma(close, 20), sma_50=_sma(close, 50), rsi_14=rsi(close), drawdown_90d=dd,
    )
