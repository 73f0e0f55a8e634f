"""Trading: the ensemble trader walk-forward on the dev windows beside buy-and-hold, SMA 20/50 and
momentum in the same run; daily returns kept per day for paired Sharpe comparisons between runs.

Depends on the chat model only when the ensemble's members include an LLM member (the default set has
none: their measured contribution was negative, agents/trading/members/__init__.py), so by default a
chat-model change copies these units; news is read from the store by SQL, so the embedder and reranker
play no part."""

from __future__ import annotations

from fincortex.suite.runs import UnitResult

VERSION = 1
AGENTS = ("ensemble", "sma", "momentum")
PRICE_FILES = {"BTC": "prices/btcusd_daily_2011_2022.csv", "ETH": "prices/bitfinex_btc_eth_usd_daily.csv"}
METRIC_KEYS = ("cumulative_return", "sharpe", "sharpe_ci_low", "sharpe_ci_high", "max_drawdown", "n_trades",
               "sharpe_minus_buyhold", "sharpe_minus_buyhold_ci_low", "sharpe_minus_buyhold_ci_high")


def units(config) -> list[str]:
    return [f"trading:{name}" for name, *_ in config.profile.trading_windows]


def depends(unit: str) -> tuple[str, ...]:
    from fincortex.agents.trading.members import DEFAULT_MEMBERS, build_member

    return ("chat",) if any(build_member(m).uses_llm for m in DEFAULT_MEMBERS) else ()


def _prepare(ctx, store, symbol: str) -> None:
    """Prices of the symbol and the headlines, once per work store (the same files the benchmarks use)."""
    with store.read() as conn:
        have = {r[0] for r in conn.execute("SELECT DISTINCT symbol FROM prices").fetchall()}
        n_news = conn.execute("SELECT count(*) FROM documents WHERE doc_type = 'news'").fetchone()[0]
    if symbol not in have:
        ctx.import_prices(store, symbol, PRICE_FILES[symbol])
    if not n_news:
        ctx.ingest_dataset(store, "headlines")


def run_unit(ctx, unit: str) -> UnitResult:
    from fincortex.agents.trading.backtest import BacktestConfig, run_backtest

    name = unit.split(":", 1)[1]
    window = {w[0]: w for w in ctx.config.profile.trading_windows}[name]
    _, symbol, start, end = window
    store = ctx.work_store("trading")
    _prepare(ctx, store, symbol)
    model = ctx.config.chat.path or ctx.config.chat.asked
    config = BacktestConfig(symbol, start, end, AGENTS, ensemble={"walk_forward": True, "model": model,
                                                                  "cpu_threads": ctx.threads})
    report = run_backtest(ctx.deps(store), config, ctx.progress)
    ts = [t.date().isoformat() for t in report.result.ts]
    items, equity = {}, {"ts": ts}
    for agent, trace in report.result.traces.items():
        eq = list(trace.equity)
        equity[agent] = [round(v, 4) for v in eq]
        items[f"ret:{agent}"] = {ts[i]: eq[i] / eq[i - 1] - 1.0 for i in range(1, len(eq))}
    summary = {"symbol": symbol, "start": start, "end": end, "primary": "ret:ensemble",
               "periods_per_year": report.result.periods_per_year,
               "backtest_run_id": report.run_id, "leakage_ok": report.leakage.ok,
               "metrics": {a: {k: m.get(k) for k in METRIC_KEYS} for a, m in report.metrics.items()},
               "warnings": report.warnings}
    return UnitResult(summary, items, {"equity": equity})
