"""Trading: point-in-time market data, strategies, the LLM trader, risk, the simulator, backtests and their statistics."""

from fincortex.lazy import lazy_exports

_EXPORTS = {  # module -> its public names
    "market": ("MarketData", "MarketDataError", "PriceHistory"),
    "strategies": ("Strategy", "Decision", "Observation", "BASELINES"),
    "registry": ("STRATEGIES", "build_strategy"),
    "portfolio": ("Portfolio", "Costs", "Order"),
    "risk": ("RiskProfile", "apply_risk"),
    "graph": ("build_llm_trader",),
    "simulator": ("simulate",),
    "backtest": ("BacktestConfig", "BacktestError", "run_backtest", "run_seeds"),
    "metrics": ("compute_metrics",),
    "plots": ("plot_run",),
}
__all__ = sorted(name for names in _EXPORTS.values() for name in names)
__getattr__ = lazy_exports(__name__, _EXPORTS)
