"""Fusion weights that follow how good each first stage is, calibrated on a BEIR folder.

Why: RRF with equal weights assumes both stages are about as good. The packaged general-purpose
embedder is not, on financial text: on the held-apart TAT-QA split BM25 alone scored above hybrid 1:1
(0.672 vs 0.642 nDCG@10), so a fresh install's default search lost to its own lexical stage.

How: every query of the folder runs once through the real Searcher per first stage (the same lists, of
`options.candidates`, that hybrid fuses), then each weight pair of GRID fuses them with the same
`fusion.rrf` the searcher calls, so a weight's score here is exactly what hybrid search with that weight
scores on the folder. The best nDCG@10 wins (ties: the pair nearest 1:1) and is saved for the embedder's
model key (fusion.save_weights); `Searcher` then uses it unless FINCORTEX_DENSE_WEIGHT/_BM25_WEIGHT say
otherwise. Which folder to calibrate on is the caller's choice (models/tuning/fusion.py: the training
side of the held-apart split, so the held-apart side stays an unseen evaluation).
"""

from __future__ import annotations

import time
import warnings
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from fincortex.progress import Progress, report
from fincortex.retrieval.beir import load_beir, load_into_store
from fincortex.retrieval.embedder import Embedder
from fincortex.retrieval.evaluation import compute_metrics, eval_store_path
from fincortex.retrieval.fusion import rrf, save_weights
from fincortex.retrieval.options import RetrievalOptions
from fincortex.retrieval.searcher import Searcher
from fincortex.store import Store

# (dense, bm25) weights tried: from BM25 alone to dense alone through 1:1
GRID: tuple[tuple[float, float], ...] = (
    (0.0, 1.0), (0.25, 1.0), (0.5, 1.0), (0.75, 1.0), (1.0, 1.0), (1.0, 0.75), (1.0, 0.5), (1.0, 0.25), (1.0, 0.0))
STAGES = ("dense", "bm25")
METRICS = ("ndcg@10", "recall@10", "mrr@10")
DEPTH = 100


def calibrate(folder: Path | str, cache_dir: Path, embedder: Embedder, models_dir: Path, source: dict,
              options: RetrievalOptions | None = None, max_queries: int | None = None,
              progress: Progress | None = None) -> dict:
    """Score every GRID pair on the folder, save the best for `embedder.key` under models_dir, return the
    saved record (weights, what it was calibrated on, every pair's metrics)."""
    clock = time.perf_counter()
    dataset = load_beir(folder)
    store_path = eval_store_path(cache_dir, dataset)
    store = Store(store_path)
    id_map = load_into_store(store, dataset)
    options = (options or RetrievalOptions.from_env()).with_(dense_weight=None, bm25_weight=None)
    searcher = Searcher(store, store_path.parent / (store_path.stem + ".indexes"), embedder, options)
    searcher.sync(progress=progress)
    qids = [qid for qid in dataset.queries if qid in dataset.qrels][: max_queries or None]
    if not qids:
        raise ValueError(f"{folder} has no query with relevance judgements: nothing to calibrate on")
    texts = [dataset.queries[qid] for qid in qids]
    vectors = embedder.encode(texts)
    depth = max(DEPTH, options.candidates)
    lists: dict[str, list[np.ndarray]] = {stage: [] for stage in STAGES}
    for i, text in enumerate(texts):
        for stage in STAGES:
            hits = searcher.search(text, k=depth, mode=stage, rerank=False,
                                   query_vector=vectors[i] if stage == "dense" else None)
            lists[stage].append(np.array([h.chunk_id for h in hits][: options.candidates], dtype=np.int64))
        if (i + 1) % 100 == 0:
            report(progress, "calibrate fusion", i + 1, len(qids))
    qrels = {qid: dataset.qrels[qid] for qid in qids}
    grid = []
    for dense_w, bm25_w in GRID:
        run = {}
        for i, qid in enumerate(qids):
            ranked = {stage: (lists[stage][i], lists[stage][i]) for stage in STAGES}
            fused = rrf(ranked, {"dense": dense_w, "bm25": bm25_w}, options.rrf_k)
            # weight 0 leaves a stage's hits at score 0: they follow, as in the searcher's own order
            run[qid] = {id_map[cid]: 1.0 / rank for rank, (cid, _) in enumerate(fused[:DEPTH], start=1)}
        with warnings.catch_warnings():  # ranx's numba kernel notes a uint64 -> int64 cast on every call
            warnings.filterwarnings("ignore", message="unsafe cast from uint64 to int64")
            metrics = compute_metrics(qrels, run, METRICS)
        grid.append({"weights": {"dense": dense_w, "bm25": bm25_w}, **{m: round(v, 4) for m, v in metrics.items()}})
    best = max(grid, key=lambda g: (round(g["ndcg@10"], 4),
                                    -abs(g["weights"]["dense"] - 1) - abs(g["weights"]["bm25"] - 1)))
    record = {
        "weights": best["weights"],
        "source": f"calibrated on {source.get('name', folder)} ({len(qids)} queries): nDCG@10 {best['ndcg@10']:.4f}",
        "calibrated_on": source | {"folder": str(folder), "queries": len(qids), "documents": len(dataset.corpus)},
        "embedder": embedder.describe(), "rrf_k": options.rrf_k, "candidates": options.candidates,
        "grid": grid, "seconds": round(time.perf_counter() - clock, 1),
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    record["path"] = str(save_weights(models_dir, embedder.key, record))
    return record
