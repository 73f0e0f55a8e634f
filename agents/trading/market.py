"""Market data for a backtest, exposed only point-in-time.

Convention (documented in docs/trading.md and tested): the decision for bar t is taken at
`decision_ts = ts_t` (the bar's start), sees only bars whose `available_at <= decision_ts` (so for
daily bars, closes up to t-1), and fills at bar t's open. Equity is marked at bar t's close. The
calendar is the symbol's own bars in the prices table: every day for crypto, trading days for equities.

All bars of the window are loaded once (one short read), but agents only ever receive a `PriceHistory`
cut at their decision time; the cut itself is what the leakage audit re-checks against the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import numpy as np

from fincortex.store import Store


class MarketDataError(ValueError):
    """The prices table cannot serve the requested symbol/window."""


def to_datetime(value: date | datetime | str, name: str = "date") -> datetime:
    """Accept a date, a datetime or an ISO string; naive UTC datetimes everywhere (as stored)."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, date):
        return datetime.combine(value, time())
    try:
        return datetime.fromisoformat(str(value)).replace(tzinfo=None)
    except ValueError as exc:
        raise MarketDataError(f"{name}={value!r} is not an ISO date (YYYY-MM-DD)") from exc


@dataclass(frozen=True)
class PriceHistory:
    """The bars an agent may see at `as_of`: numpy arrays, oldest first, all available_at <= as_of."""

    symbol: str
    as_of: datetime
    ts: np.ndarray  # datetime64[us]
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    available_at: np.ndarray  # datetime64[us]

    def __len__(self) -> int:
        return int(self.close.shape[0])

    @property
    def last_close(self) -> float:
        if len(self) == 0:
            raise MarketDataError(f"no {self.symbol} bar is available at {self.as_of}")
        return float(self.close[-1])

    @property
    def last_ts(self) -> datetime | None:
        return _py(self.ts[-1]) if len(self) else None

    @property
    def first_ts(self) -> datetime | None:
        return _py(self.ts[0]) if len(self) else None

    @property
    def max_available_at(self) -> datetime | None:
        return _py(self.available_at.max()) if len(self) else None


def _py(value: np.datetime64) -> datetime:
    return value.astype("datetime64[us]").astype(datetime)


class MarketData:
    """All bars of one symbol from `load_from` to `end`, in memory; only `history(as_of)` is for agents."""

    def __init__(
        self,
        symbol: str,
        ts: np.ndarray,
        open_: np.ndarray,
        high: np.ndarray,
        low: np.ndarray,
        close: np.ndarray,
        volume: np.ndarray,
        available_at: np.ndarray,
    ) -> None:
        order = np.argsort(ts, kind="stable")
        self.symbol = symbol
        self.ts = ts[order].astype("datetime64[us]")
        self.open = open_[order].astype(float)
        self.high = high[order].astype(float)
        self.low = low[order].astype(float)
        self.close = close[order].astype(float)
        self.volume = volume[order].astype(float)
        self.available_at = available_at[order].astype("datetime64[us]")
        # a missing open (some sources) fills at the previous close: the honest "next price" proxy
        missing = ~np.isfinite(self.open)
        if missing.any():
            prev_close = np.concatenate([[np.nan], self.close[:-1]])
            self.open[missing] = prev_close[missing]

    @classmethod
    def load(
        cls, store: Store, symbol: str, start: date | datetime | str, end: date | datetime | str,
        warmup_days: int = 120,
    ) -> "MarketData":
        """Bars of `symbol` with ts in [start - warmup_days, end]; warm-up bars feed indicators only."""
        start_dt, end_dt = to_datetime(start, "start"), to_datetime(end, "end")
        if end_dt < start_dt:
            raise MarketDataError(f"end {end_dt:%Y-%m-%d} is before start {start_dt:%Y-%m-%d}")
        load_from = start_dt - timedelta(days=warmup_days)
        with store.read() as conn:
            rows = conn.execute(
                "SELECT ts, open, high, low, close, volume, available_at FROM prices "
                "WHERE symbol = ? AND ts >= ? AND ts <= ? AND close IS NOT NULL ORDER BY ts",
                [symbol, load_from, end_dt],
            ).fetchall()
            if not rows:
                known = [r[0] for r in conn.execute(
                    "SELECT DISTINCT symbol FROM prices ORDER BY 1 LIMIT 20").fetchall()]
        if not rows:
            raise MarketDataError(
                f"no prices for symbol {symbol!r} between {load_from:%Y-%m-%d} and {end_dt:%Y-%m-%d}; "
                f"symbols in the prices table: {known or 'none'} (load some with `fincortex prices`)"
            )
        cols = list(zip(*rows))
        as_float = lambda c: np.array([np.nan if v is None else v for v in c], dtype=float)  # noqa: E731
        return cls(
            symbol,
            np.array(cols[0], dtype="datetime64[us]"),
            as_float(cols[1]), as_float(cols[2]), as_float(cols[3]), as_float(cols[4]), as_float(cols[5]),
            np.array(cols[6], dtype="datetime64[us]"),
        )

    # -- calendar ------------------------------------------------------------------------------
    def trading_steps(self, start: date | datetime | str, end: date | datetime | str) -> np.ndarray:
        """Indices of the bars whose start lies in [start, end]: the simulation's own calendar."""
        lo, hi = np.datetime64(to_datetime(start), "us"), np.datetime64(to_datetime(end), "us")
        steps = np.flatnonzero((self.ts >= lo) & (self.ts <= hi))
        if steps.size == 0:
            raise MarketDataError(
                f"no {self.symbol} bars between {to_datetime(start):%Y-%m-%d} and {to_datetime(end):%Y-%m-%d}"
            )
        return steps

    def periods_per_year(self, steps: np.ndarray) -> int:
        """365 when the calendar trades on weekends (crypto), else 252 (exchange trading days)."""
        weekdays = (self.ts[steps].astype("datetime64[D]").view("int64") - 4) % 7  # 1970-01-01 was Thu
        return 365 if np.isin(weekdays, (5, 6)).any() else 252

    def bar_ts(self, i: int) -> datetime:
        return _py(self.ts[i])

    # -- point-in-time access --------------------------------------------------------------------
    def history(self, as_of: datetime) -> PriceHistory:
        """Every bar with available_at <= as_of, and nothing else (a mask, not an index cut, so a
        late-published bar stays hidden even when its ts is old)."""
        keep = self.available_at <= np.datetime64(as_of, "us")
        return PriceHistory(
            self.symbol, as_of, self.ts[keep], self.open[keep], self.high[keep], self.low[keep],
            self.close[keep], self.volume[keep], self.available_at[keep],
        )
