"""FinanceBench dev split in one shared store (the hard setting): the analyst's doc and page recall@5
and numeric accuracy per question, beside BM25, dense, hybrid(+rerank) and closed book from the same run
(agents/analyst/financebench.py does the evaluation; this part binds it to the configuration's models).

The filings go into a work store of the suite's once; each embedder gets its own index there."""

from __future__ import annotations

from dataclasses import replace
from functools import partial

from fincortex.suite.runs import UnitResult

VERSION = 1
UNIT = "financebench:dev"


def units(config) -> list[str]:
    return [UNIT]


def depends(unit: str) -> tuple[str, ...]:
    return ("embedder", "reranker", "chat")


def _deps(ctx, store):
    from fincortex.agents.common.deps import AgentDeps
    from fincortex.models.llm.factory import get_chat_model
    from fincortex.retrieval import service
    from fincortex.retrieval.options import RetrievalOptions

    cfg = ctx.config
    settings = replace(ctx.work_settings(store), embedding_model=cfg.embedder.spec)
    reranker = cfg.reranker.spec
    options = RetrievalOptions.from_env(reranker=reranker) if reranker else RetrievalOptions.from_env()
    return AgentDeps(settings, store, partial(service.search, store, settings, options=options),
                     partial(get_chat_model, settings))


def run_unit(ctx, unit: str) -> UnitResult:
    from fincortex.agents.analyst.financebench import figure_correct, load_questions, recall, run_financebench
    from fincortex.agents.analyst.graph import AnalystConfig

    folder = ctx.mirror / "financebench"
    questions_file = folder / "financebench_open_source_dev.jsonl"
    store = ctx.work_store("financebench")
    chat = ctx.config.chat.path or ctx.config.chat.asked
    n = ctx.config.profile.financebench_questions
    result = run_financebench(_deps(ctx, store), questions_file, folder / "pdfs", limit=n,
                              config=AnalystConfig(model=chat, rerank=ctx.config.reranker.asked != "none"),
                              progress=ctx.progress)
    by_id = {q.financebench_id: q for q in load_questions(questions_file)}
    items: dict[str, dict[str, float | None]] = {"page@5": {}, "doc@5": {}, "numeric_correct": {}}
    for row in result["rows"]:
        q = by_id[row["financebench_id"]]
        doc, page = recall(row.get("retrieved") or [], q, 5)
        items["doc@5"][q.financebench_id] = doc
        items["page@5"][q.financebench_id] = page
        if row.get("gold_figure") is not None:
            items["numeric_correct"][q.financebench_id] = float(figure_correct(row["baselines"]["analyst"]["figure"],
                                                                               row["gold_figure"]))
    summary = {"primary": "page@5", "questions": len(result["rows"]), "systems": result["summary"],
               "store": result["store"]}
    return UnitResult(summary, items)
