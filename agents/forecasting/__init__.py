"""Forecasting: ForecastBench question sets, the forecaster graph, calibration and evaluation."""

from fincortex.lazy import lazy_exports

_EXPORTS = {  # module -> its public names
    "forecastbench": ("ForecastQuestion", "ForecastBenchError", "load_targets"),
    "graph": ("ForecastConfig", "Forecaster", "ForecastResult"),
    "calibration": ("Calibrator",),
    "evaluation": ("EvalOptions", "evaluate"),
}
__all__ = sorted(name for names in _EXPORTS.values() for name in names)
__getattr__ = lazy_exports(__name__, _EXPORTS)
