"""Backtest service: simulate, score, store, audit. `Client.backtest` and `fincortex backtest` call it.

A run always trades buy-and-hold beside the requested agents on the same market, so every result is
compared with it over the same window; each run is stored whole (config, orders, fills, daily equity,
decisions with evidence, memory) and then audited for leakage, failing loudly when the audit fails.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np

from fincortex.agents.common.deps import AgentDeps
from fincortex.agents.common.leakage import LeakageError, LeakageReport, audit_run
from fincortex.agents.trading.market import MarketData, to_datetime
from fincortex.agents.trading.portfolio import Costs
from fincortex.agents.trading.simulator import SimulationResult, simulate
from fincortex.agents.trading.registry import STRATEGIES, build_strategy
from fincortex.agents.trading.strategies import BASELINES, Strategy
from fincortex.agents.trading.metrics import compute_metrics, drawdown_series
from fincortex.agents.trading.comparison import add_comparisons
from fincortex.agents.trading.warmup import check_warmup, warmup_days
from fincortex.progress import Progress
from fincortex.store import Store

BENCHMARK = "buyhold"


class BacktestError(ValueError):
    """A backtest request that cannot run as given."""


@dataclass(frozen=True)
class BacktestConfig:
    symbol: str
    start: str  # ISO date, first decision day
    end: str  # ISO date, last decision day (inclusive)
    agents: tuple[str, ...] = ("buyhold",)
    fees_bps: float = 10.0
    slippage_bps: float = 5.0
    initial_cash: float = 10_000.0
    seed: int = 0
    allow_short: bool = False
    warmup_days: int = 120  # bars before start that indicators may read
    periods_per_year: int | None = None  # None: 365 if the calendar has weekend bars, else 252
    sma_fast: int = 20
    sma_slow: int = 50
    momentum_lookback: int = 30
    ci_resamples: int = 2000
    llm: dict[str, Any] = field(default_factory=dict)  # TraderConfig fields for the "llm" agent
    ensemble: dict[str, Any] = field(default_factory=dict)  # EnsembleConfig fields for the "ensemble" agent
    strict_warmup: bool = False  # refuse (instead of warn) when the store lacks the indicators' history

    def __post_init__(self) -> None:
        unknown = [a for a in self.agents if a not in STRATEGIES]
        if unknown:
            raise BacktestError(f"unknown agent(s) {unknown}; choose from {', '.join(STRATEGIES)}")
        start, end = to_datetime(self.start, "start"), to_datetime(self.end, "end")
        if end < start:
            raise BacktestError(f"end {self.end} is before start {self.start}")
        if self.initial_cash <= 0:
            raise BacktestError(f"initial_cash={self.initial_cash} must be positive")
        Costs(self.fees_bps, self.slippage_bps)  # validates the cost parameters

    @property
    def all_agents(self) -> tuple[str, ...]:
        """The requested agents with the benchmark first (always present)."""
        return (BENCHMARK,) + tuple(a for a in dict.fromkeys(self.agents) if a != BENCHMARK)


@dataclass
class BacktestReport:
    run_id: str
    config: BacktestConfig
    metrics: dict[str, dict[str, Any]]
    leakage: LeakageReport
    wall_s: float
    result: SimulationResult
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        traces = self.result.traces
        return {
            "run_id": self.run_id,
            "config": asdict(self.config),
            "metrics": self.metrics,
            "leakage": self.leakage.as_dict(),
            "wall_s": self.wall_s,
            "warnings": self.warnings,
            "equity": {
                "ts": [t.isoformat() for t in self.result.ts],
                **{name: [round(v, 6) for v in tr.equity] for name, tr in traces.items()},
            },
        }


def build_strategies(config: BacktestConfig, deps: AgentDeps) -> list[Strategy]:
    return [build_strategy(name, deps, config) for name in config.all_agents]


def run_backtest(
    deps: AgentDeps,
    config: BacktestConfig,
    progress: Progress | None = None,
    strategies: Sequence[Strategy] | None = None,
) -> BacktestReport:
    """Run one simulation on deps.store's bars (`strategies` overrides the configured agents: used by tests
    and research; the LLM trader takes its chat model and news search from deps)."""
    store = deps.store
    if store is None:
        raise BacktestError("a backtest reads bars from and stores its run in a database: AgentDeps.store is None")
    run_id = f"bt-{uuid.uuid4().hex[:12]}"
    began = time.perf_counter()
    agents = list(strategies) if strategies is not None else build_strategies(config, deps)
    if not any(a.name == BENCHMARK for a in agents):
        agents.insert(0, BASELINES[BENCHMARK]())
    market = MarketData.load(store, config.symbol, config.start, config.end, warmup_days(config, agents))
    warnings = check_warmup(market, config, agents)
    steps = market.trading_steps(config.start, config.end)
    ppy = config.periods_per_year or market.periods_per_year(steps)
    _insert_run_row(store, run_id, config, [a.name for a in agents], ppy)
    try:
        result = simulate(
            market, agents, config.start, config.end, Costs(config.fees_bps, config.slippage_bps),
            config.initial_cash, config.seed, config.allow_short, ppy, progress,
        )
        metrics = score(result, config.seed, config.ci_resamples)
        for agent in agents:
            if hasattr(agent, "summary"):
                metrics[agent.name]["ensemble"] = agent.summary()
        _store_result(store, run_id, result, agents)
    except BaseException as exc:
        _finish_run(store, run_id, "failed", None, None, time.perf_counter() - began, repr(exc))
        raise
    report = audit_run(store, run_id)
    wall = time.perf_counter() - began
    _finish_run(store, run_id, "ok" if report.ok else "leakage", metrics, report, wall, None)
    if not report.ok:
        raise LeakageError(f"backtest {run_id} FAILED the leakage audit:\n  " + "\n  ".join(report.violations))
    return BacktestReport(run_id, config, metrics, report, wall, result, warnings)


def score(result: SimulationResult, seed: int = 0, ci_resamples: int = 2000) -> dict[str, dict[str, Any]]:
    """Metrics per agent, plus each agent's excess over buy-and-hold on the same window."""
    metrics: dict[str, dict[str, Any]] = {}
    for name, trace in result.traces.items():
        metrics[name] = compute_metrics(
            trace.equity, trace.quantity, result.close, trace.fills, result.initial_cash,
            result.periods_per_year, seed=seed, ci_resamples=ci_resamples,
        )
    bench = metrics.get(BENCHMARK)
    if bench:
        for name, m in metrics.items():
            m["excess_return_vs_buyhold"] = m["cumulative_return"] - bench["cumulative_return"]
            m["sharpe_minus_buyhold"] = (
                None if m["sharpe"] is None or bench["sharpe"] is None else m["sharpe"] - bench["sharpe"]
            )
    return add_comparisons(metrics, result, seed, ci_resamples)


# -- storage -----------------------------------------------------------------------------------------
def _json(value: Any) -> str:
    def default(o: Any) -> Any:
        if isinstance(o, (np.floating, np.integer)):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
        if isinstance(o, (datetime, date)):
            return o.isoformat()
        return str(o)

    return json.dumps(_clean(value), default=default, allow_nan=False)


def _clean(value: Any) -> Any:
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def _insert(conn: Any, table: str, rows: list[dict[str, Any]]) -> None:
    """Bulk insert through a pandas frame (executemany is row-at-a-time in DuckDB)."""
    if not rows:
        return
    import pandas as pd

    frame = pd.DataFrame(rows)
    conn.register("_rows", frame)
    try:
        cols = ", ".join(frame.columns)
        conn.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _rows")
    finally:
        conn.unregister("_rows")


def _insert_run_row(store: Store, run_id: str, config: BacktestConfig, agents: list[str], ppy: int) -> None:
    with store.write() as conn:
        conn.execute(
            "INSERT INTO backtest_runs (run_id, created_at, status, symbol, start_date, end_date, agents, "
            "seed, fees_bps, slippage_bps, initial_cash, periods_per_year, config) "
            "VALUES (?, now(), 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [run_id, config.symbol, to_datetime(config.start).date(), to_datetime(config.end).date(), agents,
             config.seed, config.fees_bps, config.slippage_bps, config.initial_cash, ppy,
             _json(asdict(config))],
        )


def _finish_run(
    store: Store, run_id: str, status: str, metrics: dict | None, report: LeakageReport | None,
    wall: float, error: str | None,
) -> None:
    with store.write() as conn:
        conn.execute(
            "UPDATE backtest_runs SET finished_at = now(), status = ?, metrics = ?, leakage = ?, wall_s = ?, "
            "error = ? WHERE run_id = ?",
            [status, None if metrics is None else _json(metrics),
             None if report is None else _json(report.as_dict()), wall, error, run_id],
        )


def _store_result(store: Store, run_id: str, result: SimulationResult, agents: Sequence[Strategy]) -> None:
    orders, fills, equity, decisions, price_ev, chunk_ev, memory_ev = [], [], [], [], [], [], []
    for name, trace in result.traces.items():
        dd = drawdown_series(trace.equity, result.initial_cash)
        for k, ts in enumerate(trace.ts):
            equity.append({"run_id": run_id, "agent": name, "ts": ts, "close": float(result.close[k]),
                           "cash": trace.cash[k], "quantity": trace.quantity[k], "equity": trace.equity[k],
                           "drawdown": float(dd[k])})
        for rec in trace.decisions:
            d, key = rec.decision, {"run_id": run_id, "agent": name, "decision_ts": rec.decision_ts}
            decisions.append({**key, "action": d.action, "target_weight": rec.target_weight,
                              "rationale": d.rationale, "scores": _json(d.scores),
                              "n_prices_seen": rec.price_view.n_bars, "n_chunks_seen": len(d.evidence.chunks),
                              "n_memory_seen": len(d.evidence.memory)})
            price_ev.append({**key, "symbol": rec.price_view.symbol, "n_bars": rec.price_view.n_bars,
                             "first_ts": rec.price_view.first_ts, "last_ts": rec.price_view.last_ts,
                             "max_available_at": rec.price_view.max_available_at})
            chunk_ev += [{**key, "chunk_id": c.chunk_id, "available_at": c.available_at, "score": c.score}
                         for c in d.evidence.chunks]
            memory_ev += [{**key, "item_id": m.item_id, "available_at": m.available_at}
                          for m in d.evidence.memory]
            if d.order is not None:
                orders.append({**key, "kind": d.order.kind, "value": d.order.value, "status": rec.order_status,
                               "note": None if rec.fill else "nothing to trade or below minimum trade size"})
            if rec.fill is not None:
                f = rec.fill
                fills.append({"run_id": run_id, "agent": name, "ts": f.ts, "side": f.side, "quantity": f.quantity,
                              "ref_price": f.ref_price, "fill_price": f.fill_price, "fee": f.fee,
                              "notional": f.notional, "realized_pnl": f.realized_pnl})
    memory_rows = []
    for agent in agents:
        rows_of = getattr(agent, "memory_rows", None)
        if rows_of is not None:
            memory_rows += [{"run_id": run_id, "agent": agent.name, **row} for row in rows_of()]
    with store.write() as conn:
        for table, rows in (("backtest_orders", orders), ("backtest_fills", fills), ("backtest_equity", equity),
                            ("agent_decisions", decisions), ("decision_price_evidence", price_ev),
                            ("decision_chunk_evidence", chunk_ev), ("decision_memory_evidence", memory_ev),
                            ("memory_items", memory_rows)):
            _insert(conn, table, rows)


# -- reading runs back ------------------------------------------------------------------------------
def load_equity(store: Store, run_id: str) -> dict[str, dict[str, list]]:
    """{agent: {"ts": [...], "equity": [...], "drawdown": [...]}} of a stored run."""
    with store.read() as conn:
        rows = conn.execute(
            "SELECT agent, ts, equity, drawdown FROM backtest_equity WHERE run_id = ? ORDER BY agent, ts",
            [run_id]).fetchall()
    if not rows:
        raise BacktestError(f"no stored equity for run {run_id!r}")
    out: dict[str, dict[str, list]] = {}
    for agent, ts, eq, dd in rows:
        series = out.setdefault(agent, {"ts": [], "equity": [], "drawdown": []})
        series["ts"].append(ts)
        series["equity"].append(eq)
        series["drawdown"].append(dd)
    return out


def list_runs(store: Store, limit: int = 20) -> list[dict[str, Any]]:
    return store.rows(
        "SELECT run_id, created_at, status, symbol, start_date, end_date, agents, seed, fees_bps, "
        "slippage_bps, wall_s FROM backtest_runs ORDER BY created_at DESC LIMIT ?", [limit])


# -- several seeds ----------------------------------------------------------------------------------
def run_seeds(
    deps: AgentDeps, config: BacktestConfig, seeds: Sequence[int],
    progress: Progress | None = None,
) -> list[BacktestReport]:
    """One stored, audited run per seed (same window, same costs)."""
    from dataclasses import replace

    if not seeds:
        raise BacktestError("no seeds given")
    return [run_backtest(deps, replace(config, seed=int(s)), progress) for s in seeds]


def summarize_seeds(reports: Sequence[BacktestReport]) -> dict[str, dict[str, float | None]]:
    """Per agent: mean and standard deviation across seeds of Sharpe, return and max drawdown."""
    out: dict[str, dict[str, float | None]] = {}
    for agent in reports[0].metrics:
        row: dict[str, float | None] = {"n_seeds": len(reports)}
        for key in ("sharpe", "cumulative_return", "max_drawdown"):
            vals = [r.metrics[agent][key] for r in reports if r.metrics[agent].get(key) is not None]
            row[f"{key}_mean"] = float(np.mean(vals)) if vals else None
            row[f"{key}_std"] = float(np.std(vals, ddof=1)) if len(vals) > 1 else None
        out[agent] = row
    return out
