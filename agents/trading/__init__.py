"""Trading: point-in-time market data, strategies, the LLM trader, risk, the simulator, backtests and their statistics."""

from fincortex.lazy import lazy_exports

_EXPORTS = {
    "MarketData": "market",
    "MarketDataError": "market",
    "PriceHistory": "market",
    "Strategy": "strategies",
    "Decision": "strategies",
    "Observation": "strategies",
    "BASELINES": "strategies",
    "Portfolio": "portfolio",
    "Costs": "portfolio",
    "Order": "portfolio",
    "RiskProfile": "risk",
    "apply_risk": "risk",
    "build_llm_trader": "graph",
    "simulate": "simulator",
    "BacktestConfig": "backtest",
    "BacktestError": "backtest",
    "run_backtest": "backtest",
    "run_seeds": "backtest",
    "compute_metrics": "metrics",
    "plot_run": "plots",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
