"""The analyst: questions answered from point-in-time retrieval with checked citations."""

from fincortex.lazy import lazy_exports

_EXPORTS = {
    "AnalystConfig": "graph",
    "ask_question": "graph",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
