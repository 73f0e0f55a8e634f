"""IR evaluation of the search pipeline on a BEIR folder, with ranx computing the metrics.

The corpus goes into its own DuckDB store (cached under Settings.cache_dir/beir, keyed by the corpus
hash, so dense/bm25/hybrid runs share one set of embeddings) and is searched by the same Searcher
the product uses: the numbers describe the real code path, not a re-implementation.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from fincortex.progress import Progress, report
from fincortex.retrieval.beir import BeirDataset, load_beir, load_into_store
from fincortex.retrieval.embedder import Embedder
from fincortex.retrieval.options import MODES, RetrievalOptions
from fincortex.retrieval.searcher import Searcher
from fincortex.store import Store

METRICS = ("ndcg@10", "mrr@10", "recall@1", "recall@5", "recall@10", "recall@100", "map")
DEPTH = 100  # run depth: recall@100 needs 100 hits per query


PER_QUERY_METRICS = ("ndcg@10", "recall@10")  # kept per query: what paired comparisons resample


def compute_metrics(qrels: dict[str, dict[str, int]], run: dict[str, dict[str, float]],
                    metrics: tuple[str, ...] = METRICS, per_query: dict | None = None) -> dict[str, float]:
    """ranx metrics over queries in qrels (a query with no hits scores 0, it is not dropped).
    `per_query`, when given, receives {metric: {qid: score}} for PER_QUERY_METRICS."""
    from ranx import Qrels, Run, evaluate

    full_run = {qid: run.get(qid) or {} for qid in qrels}
    empty = [qid for qid, hits in full_run.items() if not hits]
    for qid in empty:  # ranx cannot hold an empty ranking; a score below every real hit is equivalent
        full_run[qid] = {"__no_hit__": -1.0}
    ranx_run = Run(full_run)
    scores = evaluate(Qrels(qrels), ranx_run, list(metrics), make_comparable=True)
    if per_query is not None:
        for name in PER_QUERY_METRICS:
            per_query[name] = {qid: float(v) for qid, v in ranx_run.scores.get(name, {}).items()}
    return {name: float(scores[name]) for name in metrics}


def eval_store_path(cache_dir: Path, dataset: BeirDataset) -> Path:
    return Path(cache_dir) / "beir" / f"corpus-{dataset.corpus_sha256[:16]}.duckdb"  # same corpus, same store


def evaluate_beir(
    folder: Path | str,
    cache_dir: Path,
    embedder: Embedder,
    modes: tuple[str, ...] = ("dense", "bm25", "hybrid"),
    rerank: bool = False,
    options: RetrievalOptions | None = None,
    store_path: Path | None = None,
    split: str = "test",
    max_queries: int | None = None,
    progress: Progress | None = None,
) -> dict:
    """Run every query of the split through each mode; return metrics per mode plus what was run."""
    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes:
        raise ValueError(f"modes must be among {', '.join(MODES)}; got {list(modes)}")
    dataset = load_beir(folder, split)
    store_path = store_path or eval_store_path(cache_dir, dataset)
    store = Store(store_path)
    clock = time.perf_counter()
    id_map = load_into_store(store, dataset)
    options = (options or RetrievalOptions.from_env())
    searcher = Searcher(store, store_path.parent / (store_path.stem + ".indexes"), embedder, options)
    sync = searcher.sync(progress=progress)
    setup_s = time.perf_counter() - clock

    qids = [qid for qid in dataset.queries if qid in dataset.qrels]
    if max_queries:
        qids = qids[:max_queries]
    qrels = {qid: dataset.qrels[qid] for qid in qids}
    texts = [dataset.queries[qid] for qid in qids]
    clock = time.perf_counter()
    vectors = embedder.encode(texts) if any(m != "bm25" for m in modes) else None
    embed_s = time.perf_counter() - clock

    results: dict[str, dict] = {}
    for mode in modes:
        run: dict[str, dict[str, float]] = {}
        latencies = []
        for i, (qid, text) in enumerate(zip(qids, texts)):
            clock = time.perf_counter()
            hits = searcher.search(text, k=DEPTH, mode=mode, rerank=rerank,
                                   query_vector=None if vectors is None or mode == "bm25" else vectors[i])
            latencies.append(time.perf_counter() - clock)
            if rerank and not hits.reranked:
                raise RuntimeError("; ".join(hits.warnings) or "rerank was asked for but did not run")
            run[qid] = {id_map[h.chunk_id]: 1.0 / h.rank for h in hits}  # rank-based: ties cannot reorder
            if (i + 1) % 100 == 0:
                report(progress, f"search {mode}", i + 1, len(qids))
        label = mode + ("+rerank" if rerank else "")
        per_query: dict = {}
        results[label] = {
            "metrics": compute_metrics(qrels, run, per_query=per_query),
            "per_query": per_query,
            "latency_ms_p50": float(np.percentile(latencies, 50) * 1000),
            "latency_ms_p95": float(np.percentile(latencies, 95) * 1000),
        }
    return {
        "dataset": dataset.summary() | {"folder": str(folder), "split": split, "evaluated_queries": len(qids)},
        "embedder": embedder.describe(),
        "index_spec": options.index_spec,
        "reranker": ", ".join(stage.describe() for stage in searcher.post_stages()) if rerank else None,
        "store": str(store_path),
        "chunks_embedded_now": sync.embedded,
        "setup_seconds": round(setup_s, 2),
        "query_embedding_seconds": round(embed_s, 2),
        "results": results,
    }
