"""One evaluation harness: a model configuration carried through retrieval, forecasting, trading and the
LM evaluation in one run (stored in DuckDB with each model's lineage), and two runs compared."""

from fincortex.lazy import lazy_exports

_EXPORTS = {  # module -> its public names
    "config": ("SuiteConfig", "SuiteError", "PROFILES"),
    "service": ("build_config", "run_suite"),
    "compare": ("compare_runs",),
    "report": ("write_html",),
    "runs": ("get_run", "list_runs", "SuiteRunError"),
}
__all__ = sorted(name for names in _EXPORTS.values() for name in names)
__getattr__ = lazy_exports(__name__, _EXPORTS)
