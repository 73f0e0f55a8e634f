"""Post stage "rerank": the cross-encoder (reranker.py) re-scores the fused head.

Which cross-encoder: an injected `Reranker`, else `resolve_reranker` (FINCORTEX_RERANKER, the registry's
default reranker, lookup hooks); none found raises RerankerUnavailable, which the searcher reports in
`results.warnings` instead of inventing scores.
"""

from __future__ import annotations

import numpy as np

from fincortex.retrieval.reranker import Reranker, resolve_reranker
from fincortex.retrieval.stages import StageContext


class CrossEncoderStage:
    name = "rerank"

    def __init__(self, ctx: StageContext, reranker: Reranker | None = None) -> None:
        o = ctx.options
        self.reranker = reranker or Reranker(resolve_reranker(ctx.store, o.reranker), max_length=o.rerank_max_length,
                                             backend=o.rerank_backend, models_dir=ctx.embedder.models_dir)
        self.top_n, self.fusion_weight = o.rerank_top_n, o.rerank_weight

    def score(self, query: str, passages: list[str]) -> np.ndarray:
        return self.reranker.score(query, passages)

    def describe(self) -> str:
        return self.reranker.name
