"""LLM rerankers over the local chat model: FIRST (listwise, single-token decoding) and ICR (in-context
attention). Both are retrieval post stages, registered in `fincortex.retrieval.registry.POST_STAGES` by a
lazy "module:Class" string (models sits above retrieval, so retrieval names them without importing them)."""

from fincortex.lazy import lazy_exports

_EXPORTS = {  # module -> its public names
    "first": ("FirstReranker", "FirstStage"),
    "icr": ("ICRReranker", "ICRStage"),
    "common": ("LLMRerankerError", "resolve_rerank_model"),
}
__all__ = sorted(name for names in _EXPORTS.values() for name in names)
__getattr__ = lazy_exports(__name__, _EXPORTS)
