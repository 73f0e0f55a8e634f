"""Forecasting: ForecastBench question sets, the forecaster graph, calibration and evaluation."""

from fincortex.lazy import lazy_exports

_EXPORTS = {
    "ForecastQuestion": "forecastbench",
    "ForecastBenchError": "forecastbench",
    "load_targets": "forecastbench",
    "ForecastConfig": "graph",
    "Forecaster": "graph",
    "ForecastResult": "graph",
    "Calibrator": "calibration",
    "EvalOptions": "evaluation",
    "evaluate": "evaluation",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
