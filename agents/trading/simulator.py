"""The daily simulation loop: several agents, each with its own portfolio, on one market.

Per step t (the symbol's own calendar): every agent gets the same point-in-time price view (bars with
available_at <= ts_t), its own book marked at the last visible close and its own seeded RNG; its
order fills at bar t's open; all books are then marked at bar t's close. Agents are price takers
(their orders do not move the market). Deterministic given the seed: the only randomness is each
agent's RNG, seeded from (seed, agent name).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np

from fincortex.agents.trading.market import MarketData
from fincortex.agents.trading.portfolio import Costs, Fill, Order, Portfolio
from fincortex.agents.trading.strategies import Decision, Observation, Strategy
from fincortex.progress import Progress, report


class SimulationError(RuntimeError):
    """An agent returned something the simulator cannot execute."""


@dataclass(frozen=True)
class PriceView:
    """The recorded extent of the price view handed to an agent (evidence for the leakage audit)."""

    symbol: str
    n_bars: int
    first_ts: datetime | None
    last_ts: datetime | None
    max_available_at: datetime | None


@dataclass
class DecisionRecord:
    decision_ts: datetime
    decision: Decision
    price_view: PriceView
    order_status: str  # filled | skipped | none
    fill: Fill | None
    target_weight: float | None


@dataclass
class AgentTrace:
    name: str
    decisions: list[DecisionRecord] = field(default_factory=list)
    ts: list[datetime] = field(default_factory=list)
    cash: list[float] = field(default_factory=list)
    quantity: list[float] = field(default_factory=list)
    equity: list[float] = field(default_factory=list)

    @property
    def fills(self) -> list[Fill]:
        return [d.fill for d in self.decisions if d.fill is not None]


@dataclass
class SimulationResult:
    symbol: str
    ts: list[datetime]
    close: np.ndarray
    periods_per_year: int
    initial_cash: float
    traces: dict[str, AgentTrace]


def agent_rng(seed: int, name: str) -> np.random.Generator:
    """Independent, reproducible stream per agent (adding an agent does not change the others)."""
    return np.random.default_rng([int(seed), zlib.crc32(name.encode())])


def simulate(
    market: MarketData,
    strategies: Sequence[Strategy],
    start: date | datetime | str,
    end: date | datetime | str,
    costs: Costs,
    initial_cash: float = 10_000.0,
    seed: int = 0,
    allow_short: bool = False,
    periods_per_year: int | None = None,
    progress: Progress | None = None,
) -> SimulationResult:
    names = [s.name for s in strategies]
    if len(set(names)) != len(names):
        raise SimulationError(f"agent names must be unique in one simulation, got {names}")
    steps = market.trading_steps(start, end)
    ppy = periods_per_year or market.periods_per_year(steps)
    books = {s.name: Portfolio(initial_cash, costs, allow_short=allow_short) for s in strategies}
    rngs = {s.name: agent_rng(seed, s.name) for s in strategies}
    traces = {s.name: AgentTrace(s.name) for s in strategies}
    step_ts = [market.bar_ts(int(i)) for i in steps]
    for strategy in strategies:  # agents whose daily answers do not depend on their trades lay them out first
        prepare = getattr(strategy, "prepare", None)
        if prepare is not None:
            prepare(market, step_ts, ppy)
    for n, i in enumerate(steps):
        ts = market.bar_ts(int(i))
        view = market.history(ts)
        seen = PriceView(market.symbol, len(view), view.first_ts, view.last_ts, view.max_available_at)
        open_price, close_price = float(market.open[i]), float(market.close[i])
        for strategy in strategies:
            book = books[strategy.name]
            mark = view.last_close if len(view) else open_price  # flat books only: value = cash
            if not len(view) and book.quantity != 0:
                raise SimulationError(f"{strategy.name} holds a position with no visible price at {ts}")
            obs = Observation(ts, view, book.snapshot(mark), ppy, rngs[strategy.name], allow_short)
            decision = strategy.decide(obs)
            if not isinstance(decision, Decision):
                raise SimulationError(f"{strategy.name}.decide returned {type(decision).__name__}, not Decision")
            fill, status, target = None, "none", None
            if decision.order is not None:
                if not isinstance(decision.order, Order):
                    raise SimulationError(f"{strategy.name} returned order {decision.order!r}")
                target = decision.order.value if decision.order.kind == "target_weight" else None
                fill = book.execute(decision.order, open_price, ts)
                status = "filled" if fill else "skipped"
            traces[strategy.name].decisions.append(DecisionRecord(ts, decision, seen, status, fill, target))
        for name, book in books.items():
            trace = traces[name]
            trace.ts.append(ts)
            trace.cash.append(book.cash)
            trace.quantity.append(book.quantity)
            trace.equity.append(book.mark(close_price))
        report(progress, "backtest", n + 1, len(steps), f"{market.symbol} {ts:%Y-%m-%d}")
    return SimulationResult(
        market.symbol, [market.bar_ts(int(i)) for i in steps], market.close[steps].copy(), ppy,
        float(initial_cash), traces,
    )
