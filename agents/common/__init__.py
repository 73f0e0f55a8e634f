"""Shared by every agent: point-in-time tools, the run recorder, the leakage audit, citations, context compression, graph helpers."""

from fincortex.lazy import lazy_exports

_EXPORTS = {
    "PointInTimeSearch": "tools",
    "ReadOnlySQL": "tools",
    "calculate": "tools",
    "ToolError": "tools",
    "RunRecorder": "runs",
    "SeenChunk": "runs",
    "audit_run": "runs",
    "LeakageError": "leakage",
    "LeakageReport": "leakage",
    "CitationReport": "citations",
    "check_citations": "citations",
    "attribute_uncited": "citations",
    "render_answer": "citations",
    "compress": "compression",
    "linear_graph": "graph",
    "clean_query_lines": "graph",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
