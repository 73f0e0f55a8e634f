"""The analyst: questions answered from point-in-time retrieval with checked citations."""

from fincortex.lazy import lazy_exports

_EXPORTS = {  # module -> its public names
    "graph": ("AnalystConfig", "ask_question"),
}
__all__ = sorted(name for names in _EXPORTS.values() for name in names)
__getattr__ = lazy_exports(__name__, _EXPORTS)
