"""Retrieval on the held-apart TAT-QA split (never tuned on): BM25, hybrid, and hybrid + the configured
reranker through the product's own search path, with nDCG@10 / recall@10 kept per query for the
paired comparison."""

from __future__ import annotations

from typing import Any

from fincortex.suite.runs import UnitResult

VERSION = 1
DEPENDS = {"retrieval:tatqa-heldout": ("embedder", "reranker")}


def units(config) -> list[str]:
    return list(DEPENDS)


def depends(unit: str) -> tuple[str, ...]:
    return DEPENDS[unit]


def run_unit(ctx, unit: str) -> UnitResult:
    from fincortex.models.tuning.heldout import beir_folder, split_contexts, tatqa_file
    from fincortex.retrieval import service

    settings = ctx.settings
    split = split_contexts(tatqa_file(settings))
    folder = beir_folder(settings, split, "heldout")
    n = ctx.config.profile.retrieval_queries
    embedder = ctx.config.embedder.spec
    report = service.evaluate_retrieval(settings, folder, modes=("bm25", "hybrid"), max_queries=n,
                                        embedder=embedder, progress=ctx.progress)
    results: dict[str, Any] = dict(report["results"])
    reranker = ctx.config.reranker.spec
    if reranker:
        reranked = service.evaluate_retrieval(settings, folder, modes=("hybrid",), rerank=True, max_queries=n,
                                              embedder=embedder, reranker=reranker, progress=ctx.progress)
        results.update(reranked["results"])
    primary = "hybrid+rerank" if "hybrid+rerank" in results else "hybrid"
    items = {f"{metric}:{mode}": values for mode, r in results.items() for metric, values in r["per_query"].items()}
    summary = {"split": {k: v for k, v in split.describe().items() if k != "eval_contexts"}, "queries": report["dataset"]["evaluated_queries"], "primary": primary,
               "embedder": report["embedder"], "reranker": reranker,
               "modes": {mode: {**r["metrics"], "latency_ms_p95": r["latency_ms_p95"]} for mode, r in results.items()}}
    return UnitResult(summary, items)
