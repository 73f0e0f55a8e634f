"""The stage registries: one line per stage. A mode (options.MODES) names first stages from here; the
post stages a search runs with rerank=True are options.post_stages (FINCORTEX_POST_STAGES)."""

from __future__ import annotations

from fincortex.retrieval.stage_bm25 import BM25Stage
from fincortex.retrieval.stage_dense import DenseStage
from fincortex.retrieval.stage_rerank import CrossEncoderStage
from fincortex.retrieval.stages import FirstStage, PostStage

# order = sync order: BM25 takes seconds, so lexical search is current while the dense stage embeds
FIRST_STAGES: dict[str, type[FirstStage]] = {
    "bm25": BM25Stage,
    "dense": DenseStage,
}

POST_STAGES: dict[str, type[PostStage]] = {
    "rerank": CrossEncoderStage,
}
