"""Performance metrics of an equity curve, with a bootstrap confidence interval for Sharpe.

Definitions (docs/trading.md; a test checks them against a hand computation):
- daily returns r_t = E_t / E_{t-1} - 1 with E_0 = initial cash (so the first day's trading costs count)
- cumulative = E_T / E_0 - 1; annualised = (1 + cumulative) ** (P / T) - 1, P = periods per year
- volatility = std(r, ddof=1) * sqrt(P); Sharpe = mean(r) / std(r, ddof=1) * sqrt(P) (risk-free 0)
- Sortino = mean(r) / sqrt(mean(min(r, 0)^2)) * sqrt(P)
- max drawdown = max_t (1 - E_t / max_{s<=t} E_s); Calmar = annualised / max drawdown
- win rate = share of position-reducing fills with positive realised P&L (None without any)
- turnover = sum of traded notional / mean equity, annualised; exposure = mean |position| / equity
The Sharpe CI resamples daily returns i.i.d. with scipy.stats.bootstrap (percentile method, seeded):
daily crypto returns show little autocorrelation, and the docs say so where the CI is shown.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
from scipy import stats

from fincortex.agents.trading.portfolio import Fill


def daily_returns(equity: Sequence[float], initial: float) -> np.ndarray:
    curve = np.concatenate([[float(initial)], np.asarray(equity, dtype=float)])
    return curve[1:] / curve[:-1] - 1


def _sharpe(r: np.ndarray, periods_per_year: int, axis: int = -1) -> np.ndarray:
    sd = r.std(axis=axis, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sd > 0, r.mean(axis=axis) / sd * math.sqrt(periods_per_year), np.nan)


def sharpe(r: np.ndarray, periods_per_year: int) -> float | None:
    return _none(float(_sharpe(np.asarray(r, float), periods_per_year))) if len(r) > 1 else None


def sortino(r: np.ndarray, periods_per_year: int) -> float | None:
    downside = math.sqrt(float(np.mean(np.minimum(r, 0.0) ** 2))) if len(r) else 0.0
    return None if downside == 0 else float(np.mean(r) / downside * math.sqrt(periods_per_year))


def max_drawdown(equity: Sequence[float], initial: float | None = None) -> float:
    curve = np.asarray(equity, dtype=float)
    if initial is not None:
        curve = np.concatenate([[float(initial)], curve])
    return float(np.max(1 - curve / np.maximum.accumulate(curve))) if curve.size else 0.0


def drawdown_series(equity: Sequence[float], initial: float) -> np.ndarray:
    curve = np.asarray(equity, dtype=float)
    peak = np.maximum.accumulate(np.concatenate([[float(initial)], curve]))[1:]
    return 1 - curve / peak


def sharpe_ci(
    r: np.ndarray, periods_per_year: int, seed: int = 0, confidence: float = 0.95, n_resamples: int = 2000,
) -> tuple[float | None, float | None]:
    """Percentile bootstrap interval of the annualised Sharpe ratio over resampled daily returns."""
    r = np.asarray(r, dtype=float)
    if r.size < 10 or r.std(ddof=1) == 0:
        return None, None
    with warnings.catch_warnings():
        # mostly-flat books make some resamples all-zero (Sharpe undefined): the CI is then None
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)
        res = stats.bootstrap(
            (r,), lambda x, axis: _sharpe(x, periods_per_year, axis=axis), vectorized=True,
            n_resamples=n_resamples, confidence_level=confidence, method="percentile",
            rng=np.random.default_rng(seed),
        )
    return _none(float(res.confidence_interval.low)), _none(float(res.confidence_interval.high))


def _none(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else x


def compute_metrics(
    equity: Sequence[float],
    quantity: Sequence[float],
    close: Sequence[float],
    fills: Sequence[Fill],
    initial: float,
    periods_per_year: int,
    seed: int = 0,
    ci_resamples: int = 2000,
) -> dict[str, float | int | None]:
    eq = np.asarray(equity, dtype=float)
    n = eq.size
    if n == 0:
        raise ValueError("cannot compute metrics of an empty equity curve")
    r = daily_returns(eq, initial)
    cumulative = float(eq[-1] / initial - 1)
    annualised = (1 + cumulative) ** (periods_per_year / n) - 1 if cumulative > -1 else -1.0
    vol = float(r.std(ddof=1) * math.sqrt(periods_per_year)) if n > 1 else None
    mdd = max_drawdown(eq, initial)
    closing = [f.realized_pnl for f in fills if f.realized_pnl is not None]
    traded = float(sum(f.notional for f in fills))
    position_value = np.asarray(quantity, dtype=float) * np.asarray(close, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        exposure = np.where(eq > 0, np.abs(position_value) / eq, 0.0)
    lo, hi = sharpe_ci(r, periods_per_year, seed=seed, n_resamples=ci_resamples)
    return {
        "n_days": int(n),
        "final_equity": float(eq[-1]),
        "cumulative_return": cumulative,
        "annualised_return": float(annualised),
        "volatility": vol,
        "sharpe": sharpe(r, periods_per_year),
        "sharpe_ci_low": lo,
        "sharpe_ci_high": hi,
        "sortino": sortino(r, periods_per_year),
        "max_drawdown": mdd,
        "calmar": float(annualised / mdd) if mdd > 0 else None,
        "win_rate": float(np.mean([p > 0 for p in closing])) if closing else None,
        "n_trades": len(fills),
        "n_closing_trades": len(closing),
        "turnover": float(traded / eq.mean() * periods_per_year / n) if eq.mean() > 0 else None,
        "exposure": float(exposure.mean()),
        "fees_paid": float(sum(f.fee for f in fills)),
    }
