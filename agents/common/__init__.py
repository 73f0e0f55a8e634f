"""Shared by every agent: point-in-time tools, the run recorder, the leakage audit, citations, context compression, graph helpers."""

from fincortex.lazy import lazy_exports

_EXPORTS = {  # module -> its public names
    "tools": ("PointInTimeSearch", "ReadOnlySQL", "calculate", "ToolError"),
    "runs": ("RunRecorder", "SeenChunk", "audit_run"),
    "leakage": ("LeakageError", "LeakageReport"),
    "citations": ("CitationReport", "check_citations", "attribute_uncited", "render_answer"),
    "compression": ("compress",),
    "graph": ("linear_graph", "clean_query_lines"),
}
__all__ = sorted(name for names in _EXPORTS.values() for name in names)
__getattr__ = lazy_exports(__name__, _EXPORTS)
