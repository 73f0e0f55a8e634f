"""Domain tuning of the embedder and the reranker: training pairs, hard negatives, the held-apart split, the trainers."""

from fincortex.lazy import lazy_exports

_EXPORTS = {
    "PairsConfig": "pairs",
    "PairsRun": "pairs",
    "build_pairs": "pairs",
    "HeldoutSplit": "heldout",
    "EmbedTuneConfig": "embedder",
    "run_embed_tuning": "embedder",
    "RerankTuneConfig": "reranker",
    "run_rerank_tuning": "reranker",
    "TuningError": "common",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
