"""The stage registries: one line per stage. A mode (options.MODES) names first stages from here; the
post stages a search runs with rerank=True are options.post_stages (FINCORTEX_POST_STAGES)."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from fincortex.retrieval.stage_bm25 import BM25Stage
from fincortex.retrieval.stage_dense import DenseStage
from fincortex.retrieval.stage_rerank import CrossEncoderStage
from fincortex.retrieval.stages import FirstStage, PostStage, StageContext

PostStageBuilder = Callable[[StageContext], PostStage]

# order = sync order: BM25 takes seconds, so lexical search is current while the dense stage embeds
FIRST_STAGES: dict[str, type[FirstStage]] = {
    "bm25": BM25Stage,
    "dense": DenseStage,
}


def lazy(target: str) -> PostStageBuilder:
    """A post stage from a higher layer ("module:Class", e.g. the LLM rerankers in fincortex.models), imported
    when a search first builds it. Why a string: retrieval sits below models in the import layers, so it may
    name such a stage but not import it (the import-linter contract in pyproject.toml)."""
    module, _, attr = target.partition(":")

    def build(ctx: StageContext) -> PostStage:
        return getattr(importlib.import_module(module), attr)(ctx)

    build.__qualname__ = build.__name__ = f"lazy({target})"
    return build


def rerank_stage(ctx: StageContext) -> PostStage:
    """The "rerank" stage: the cross-encoder, or the LLM reranker that FINCORTEX_RERANKER names
    (`llm-first[:model]`, `llm-icr[:model]`), so every caller of rerank=True can switch with one variable."""
    name = (ctx.options.reranker or "").split(":", 1)[0]
    return POST_STAGES[name](ctx) if name in LLM_RERANKERS else CrossEncoderStage(ctx)


LLM_RERANKERS = ("llm-first", "llm-icr")  # FINCORTEX_RERANKER names that select a post stage below
POST_STAGES: dict[str, type[PostStage] | PostStageBuilder] = {
    "rerank": rerank_stage,
    "llm-first": lazy("fincortex.models.rerankers.first:FirstStage"),
    "llm-icr": lazy("fincortex.models.rerankers.icr:ICRStage"),
}
