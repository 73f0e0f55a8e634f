"""fincortex.retrieval: parsing-independent search over stored chunks: first stages (dense, BM25) fused by
RRF, post stages (the cross-encoder), point-in-time filters, indexes synced at build time, BEIR evaluation.
A new stage is one file plus one line in `registry` (docs/retrieval.md, "Adding a retrieval stage")."""

from fincortex.lazy import lazy_exports

_EXPORTS = {  # module -> its public names
    "service": ("search", "build_index", "index_status", "sync_indexes", "evaluate_retrieval", "get_searcher"),
    "searcher": ("Searcher", "EmptyIndexError", "IndexNotBuiltError", "RerankUnavailableWarning"),
    "hits": ("Hit", "SearchResults"),
    "filters": ("SearchFilters",),
    "options": ("RetrievalOptions", "MODES"),
    "stages": ("FirstStage", "PostStage", "StageContext", "StageQuery", "StageSync", "SyncReport", "StageUnavailable"),
    "registry": ("FIRST_STAGES", "POST_STAGES"),
    "indexes": ("IndexSet",),
}
__all__ = sorted(name for names in _EXPORTS.values() for name in names)
__getattr__ = lazy_exports(__name__, _EXPORTS)
