"""Domain tuning of the embedder and the reranker: training pairs, hard negatives, the held-apart split, the trainers."""

from fincortex.lazy import lazy_exports

_EXPORTS = {  # module -> its public names
    "pairs": ("PairsConfig", "PairsRun", "build_pairs"),
    "heldout": ("HeldoutSplit",),
    "embedder": ("EmbedTuneConfig", "run_embed_tuning"),
    "reranker": ("RerankTuneConfig", "run_rerank_tuning"),
    "common": ("TuningError",),
}
__all__ = sorted(name for names in _EXPORTS.values() for name in names)
__getattr__ = lazy_exports(__name__, _EXPORTS)
