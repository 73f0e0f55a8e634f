"""Search benchmark: fincortex Searcher vs LangChain's FAISS vector store, same embedder, same run.

Corpus: real earnings-call sentences (ECTSum transcripts from the data mirror, one sentence per chunk,
whole transcripts taken in file order until the size is reached). Queries: ECTSum summary bullets.
Both systems get the *same* precomputed chunk vectors (embedding time is reported separately, and
the embedding cache means a rerun embeds nothing), and both embed each query with the same model.

Measured per size: index build time (from cached vectors), p50/p95 end-to-end query latency (query
embedding + search + hit assembly) for dense, hybrid, hybrid with an as_of filter, hybrid+rerank;
RSS growth and index bytes; for the filtered case, how often each system returns the k hits asked for.

    python benchmarks/search.py --sizes 10000,100000 --queries 200   # the default install: int8 embedder + reranker
    python benchmarks/search.py --gpu          # on a CUDA machine with faiss GPU: 1M x 384 GPU vs CPU QPS
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import re
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
import psutil  # noqa: E402

from fincortex.config import Settings  # noqa: E402
from fincortex.retrieval import embedding_cache, service  # noqa: E402
from fincortex.retrieval.corpus_rows import DocRow, write_documents  # noqa: E402
from fincortex.retrieval.filters import SearchFilters  # noqa: E402
from fincortex.retrieval.options import RetrievalOptions  # noqa: E402
from fincortex.retrieval.reranker import Reranker, has_trained_head  # noqa: E402
from fincortex.retrieval.searcher import Searcher  # noqa: E402
from fincortex.retrieval.stage_rerank import CrossEncoderStage  # noqa: E402
from fincortex.retrieval.threads import limit_threads  # noqa: E402
from fincortex.store import Store  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
K = 10
_NAME = re.compile(r"([A-Z.]+)_q(\d)_(\d{4})\.txt$")


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def ectsum_dir(settings: Settings) -> Path:
    mirror = settings.mirror or (ROOT.parent / "shared" / "data")
    folder = Path(mirror) / "transcripts" / "ectsum"
    if not folder.exists():
        sys.exit(f"ECTSum transcripts not found under {folder}: set FINCORTEX_DATA_MIRROR to the data mirror")
    return folder


def corpus_docs(folder: Path, size: int) -> list[DocRow]:
    """Whole transcripts in file order until `size` sentences; available_at ~ 30 days after quarter end
    (a benchmark approximation: what matters here is that dates vary)."""
    docs, total = [], 0
    for path in sorted((folder / "train" / "ects").glob("*.txt")) + sorted((folder / "val" / "ects").glob("*.txt")):
        lines = [line.strip() for line in path.read_text(encoding="utf-8", errors="replace").splitlines()
                 if line.strip()]
        if not lines:
            continue
        match = _NAME.search(path.name)
        ticker, quarter, year = (match.group(1), int(match.group(2)), int(match.group(3))) if match else (None, 4, 2020)
        when = datetime(year, 3 * quarter, 1) + timedelta(days=60)
        take = lines[: size - total]
        docs.append(DocRow(source_key=f"bench:ectsum:{path.name}", chunks=take, available_at=when,
                           available_at_rule="bench: quarter end + 30 days (approximate)", source="ectsum",
                           doc_type="transcript", ticker=ticker, title=path.stem))
        total += len(take)
        if total >= size:
            break
    if total < size:
        sys.exit(f"only {total} sentences available, asked for {size}")
    return docs


def queries(folder: Path, n: int) -> list[str]:
    """The first n summary bullets: validation first (1,002 of them), then test and train."""
    out: list[str] = []
    for split in ("val", "test", "train"):
        for path in sorted((folder / split / "gt_summaries").glob("*.txt")):
            out += [line.strip() for line in path.read_text(encoding="utf-8", errors="replace").splitlines()
                    if len(line.strip()) > 20]
            if len(out) >= n:
                return out[:n]
    return out


def prepare_store(settings: Settings, folder: Path, size: int) -> tuple[Store, dict]:
    """The store for one size; vectors already computed in another size's store are copied, not recomputed
    (chunk ids are content hashes, so the same sentence has the same id in every store)."""
    bench_dir = settings.cache_dir / "bench"
    path = bench_dir / f"search-{size}.duckdb"
    store = Store(path)
    store.ensure_schema()
    with store.read() as conn:
        have = conn.execute("SELECT count(*) FROM chunks").fetchall()[0][0]
    if have != size:
        write_documents(store, corpus_docs(folder, size))
    copied = 0
    for other in sorted(bench_dir.glob("search-*.duckdb")):
        if other == path:
            continue
        with store.write() as conn:
            conn.execute(f"ATTACH '{other}' AS other (READ_ONLY)")
            conn.execute("INSERT INTO embedding_models SELECT * FROM other.embedding_models ON CONFLICT DO NOTHING")
            before = conn.execute("SELECT count(*) FROM chunk_embeddings").fetchall()[0][0]
            conn.execute("""INSERT INTO chunk_embeddings SELECT e.* FROM other.chunk_embeddings e
                            JOIN chunks c ON c.chunk_id = e.chunk_id ON CONFLICT DO NOTHING""")
            copied += conn.execute("SELECT count(*) FROM chunk_embeddings").fetchall()[0][0] - before
        # (the attachment ends with this short-lived connection)
    embedder = service.get_embedder(settings.embedding_model, settings.embed_backend, settings.models_dir)
    start = time.perf_counter()
    embedded = embedding_cache.ensure_embeddings(
        store, embedder, progress=lambda d, t: print(f"  embedded {d}/{t}", file=sys.stderr, flush=True))
    seconds = time.perf_counter() - start
    return store, {"chunks": size, "embedded_now": embedded, "copied_from_other_sizes": copied,
                   "embedding_seconds": round(seconds, 1),
                   "embedding_chunks_per_s": round(embedded / seconds, 1) if embedded else None}


def percentiles(samples: list[float]) -> dict:
    ms = np.array(samples) * 1000
    return {"p50_ms": round(float(np.percentile(ms, 50)), 2), "p95_ms": round(float(np.percentile(ms, 95)), 2),
            "mean_ms": round(float(ms.mean()), 2), "n": len(samples)}


def timed_queries(fn, qs: list[str], warmup: int = 5) -> tuple[dict, list]:
    for q in qs[:warmup]:
        fn(q)
    samples, outputs = [], []
    for q in qs:
        start = time.perf_counter()
        outputs.append(fn(q))
        samples.append(time.perf_counter() - start)
    return percentiles(samples), outputs


def interleaved(fns: dict, qs: list[str], warmup: int = 5) -> tuple[dict, dict]:
    """Time several systems query by query, in rotating order, so all of them see the same machine load
    (this machine is shared: its load average moves between 2 and 20 within minutes)."""
    names = list(fns)
    for q in qs[:warmup]:
        for name in names:
            fns[name](q)
    samples = {name: [] for name in names}
    outputs = {name: [] for name in names}
    for i, q in enumerate(qs):
        for name in names[i % len(names):] + names[: i % len(names)]:
            start = time.perf_counter()
            outputs[name].append(fns[name](q))
            samples[name].append(time.perf_counter() - start)
    return {name: percentiles(samples[name]) for name in names}, outputs


def _langchain_embeddings(embedder):
    """The same fincortex Embedder behind LangChain's Embeddings interface."""
    from langchain_core.embeddings import Embeddings

    class SameEmbedder(Embeddings):
        def embed_documents(self, texts):
            return embedder.encode(list(texts)).tolist()

        def embed_query(self, text):
            return embedder.encode_query(text).tolist()

    return SameEmbedder()


def default_reranker(settings: Settings) -> str | None:
    """The reranker search would use on the user's store (a tuned one), if any."""
    from fincortex.retrieval.reranker import RerankerUnavailable, resolve_reranker

    if not settings.db_path.exists():
        return None
    try:
        return resolve_reranker(Store(settings.db_path), os.environ.get("FINCORTEX_RERANKER"))
    except RerankerUnavailable:
        return None


def bench_size(settings: Settings, store: Store, size: int, qs: list[str], rerank_model: str | None,
               rerank_queries: int, checkpoint, rerank_backends: tuple[str, ...] = ("torch",)) -> dict:
    embedder = service.get_embedder(settings.embedding_model, settings.embed_backend, settings.models_dir)
    result: dict = {"chunks": size}
    index_dir = store.path.parent / (store.path.stem + ".indexes")

    # -- fincortex -----------------------------------------------------------------------------
    embedder.encode_query("load the model before any timing")
    gc.collect()
    rss0 = rss_mb()
    searcher = Searcher(store, index_dir, embedder, RetrievalOptions(index_spec="Flat"))
    start = time.perf_counter()
    report = searcher.sync(rebuild=True)
    build_s = time.perf_counter() - start
    searcher.search("warm up", k=K, mode="hybrid", rerank=False)  # loads the catalog
    ours = {"build_seconds_from_cached_vectors": round(build_s, 2), "embedded_during_build": report.embedded,
            "build_seconds_faiss": round(report.stages["dense"].seconds, 2),
            "build_seconds_bm25": round(report.stages["bm25"].seconds, 2),
            "rss_growth_mb": round(rss_mb() - rss0, 1),
            "faiss_bytes": int(searcher.indexes["dense"].index.index.ntotal * searcher.indexes["dense"].index.meta.dim * 4),
            "catalog_bytes": searcher._catalog.nbytes()}
    # -- LangChain FAISS vector store (peer), built from the same vectors -------------------------
    from langchain_community.vectorstores import FAISS
    from langchain_community.vectorstores.utils import DistanceStrategy

    ids, vectors = embedding_cache.load_embeddings(store, embedder.key)
    with store.read() as conn:
        rows = conn.execute("SELECT c.chunk_id, c.text, epoch(c.available_at) FROM chunks c ORDER BY 1").fetchall()
    texts = [r[1] for r in rows]
    metadatas = [{"chunk_id": r[0], "available_at": r[2]} for r in rows]
    assert np.array_equal(ids, np.array([r[0] for r in rows]))
    gc.collect()
    rss0 = rss_mb()
    start = time.perf_counter()
    peer = FAISS.from_embeddings(list(zip(texts, vectors.tolist())), _langchain_embeddings(embedder),
                                 metadatas=metadatas, distance_strategy=DistanceStrategy.MAX_INNER_PRODUCT)
    theirs = {"build_seconds_from_cached_vectors": round(time.perf_counter() - start, 2),
              "rss_growth_mb": round(rss_mb() - rss0, 1), "faiss_bytes": int(peer.index.ntotal * peer.index.d * 4)}
    del vectors, texts, metadatas

    def peer_one_thread(q, **kw):
        with limit_threads(1):  # the peer with the same one-thread query setting fincortex uses
            return peer.similarity_search_with_score(q, k=K, **kw)

    stats, _ = interleaved({
        "ours_dense": lambda q: searcher.search(q, k=K, mode="dense", rerank=False),
        "ours_bm25": lambda q: searcher.search(q, k=K, mode="bm25", rerank=False),
        "ours_hybrid": lambda q: searcher.search(q, k=K, mode="hybrid", rerank=False),
        "peer_dense": lambda q: peer.similarity_search_with_score(q, k=K),
        "peer_dense_one_thread": peer_one_thread,
    }, qs)
    ours.update(dense=stats["ours_dense"], bm25=stats["ours_bm25"], hybrid=stats["ours_hybrid"])
    theirs.update(dense=stats["peer_dense"], dense_one_thread=stats["peer_dense_one_thread"])

    with store.read() as conn:
        cutoff = conn.execute("SELECT quantile_disc(available_at, 0.2) FROM chunks").fetchall()[0][0]
    filters = SearchFilters(as_of=cutoff)
    cutoff_s = (cutoff - datetime(1970, 1, 1)).total_seconds()
    stats, outs = interleaved({
        "ours": lambda q: searcher.search(q, k=K, mode="hybrid", rerank=False, filters=filters),
        "ours_dense": lambda q: searcher.search(q, k=K, mode="dense", rerank=False, filters=filters),
        "peer": lambda q: peer.similarity_search_with_score(q, k=K, filter=lambda m: m["available_at"] <= cutoff_s),
    }, qs)
    ours["hybrid_as_of"] = stats["ours"] | {
        "as_of": str(cutoff), "allowed_chunks": outs["ours"][0].n_allowed,
        "filled_k_fraction": float(np.mean([len(o) == K for o in outs["ours"]])),
        "future_hits": int(sum(h.available_at > cutoff for o in outs["ours"] for h in o))}
    ours["dense_as_of"] = stats["ours_dense"] | {
        "filled_k_fraction": float(np.mean([len(o) == K for o in outs["ours_dense"]])),
        "future_hits": int(sum(h.available_at > cutoff for o in outs["ours_dense"] for h in o))}
    theirs["dense_as_of"] = stats["peer"] | {
        "filled_k_fraction": float(np.mean([len(o) == K for o in outs["peer"]])),
        "future_hits": int(sum(doc.metadata["available_at"] > cutoff_s for o in outs["peer"] for doc, _ in o)),
        "note": "LangChain post-filters the top fetch_k=20 vectors"}
    result["fincortex"], result["langchain_faiss"] = ours, theirs
    checkpoint(result)
    if rerank_model:
        trained = has_trained_head(Path(rerank_model))
        top_n = searcher.options.rerank_top_n
        for backend in rerank_backends:
            reranker = Reranker(rerank_model, allow_untrained_head=not trained, backend=backend,
                                models_dir=settings.models_dir)
            searcher.use_post_stage(CrossEncoderStage(searcher.indexes.ctx, reranker))
            searcher.search("warm up the reranker", k=K, mode="hybrid", rerank=True)

            def peer_rerank(q, reranker=reranker):
                """LangChain FAISS top-n, re-ordered by the same cross-encoder object (same backend)."""
                with limit_threads(1):  # the one-thread query setting fincortex uses
                    docs = peer.similarity_search_with_score(q, k=top_n)
                    scores = reranker.score(q, [doc.page_content for doc, _ in docs])
                return [docs[i] for i in np.argsort(-scores)[:K]]

            stats, _ = interleaved({"ours": lambda q: searcher.search(q, k=K, mode="hybrid", rerank=True),
                                    "peer": peer_rerank}, qs[:rerank_queries])
            label = "default" if backend == "auto" else backend
            key = "hybrid_rerank" if backend == "auto" else f"hybrid_rerank_{backend.replace('-', '_')}"
            what = {"rerank_top_n": top_n, "backend": reranker.backend, "backend_setting": label,
                    "backend_reason": reranker.backend_reason, "reranker_path": rerank_model,
                    "reranker": "trained cross-encoder (fincortex tune reranker)" if trained else
                                "MiniLM-L6 cross-encoder architecture with an untrained head: latency only"}
            ours[key] = stats["ours"] | what | {"fusion_weights": searcher.fusion_weights(("dense", "bm25"))}
            theirs[key.replace("hybrid_", "dense_")] = stats["peer"] | what
            checkpoint(result)
    result["p95_dense_ours_vs_peer"] = round(ours["dense"]["p95_ms"] / theirs["dense"]["p95_ms"], 3)
    result["p95_dense_ours_vs_peer_one_thread"] = round(
        ours["dense"]["p95_ms"] / theirs["dense_one_thread"]["p95_ms"], 3)
    return result


def bench_gpu(n: int = 1_000_000, dim: int = 384, n_queries: int = 1000) -> dict:
    """1M x 384 unit vectors: flat and IVF search throughput on the GPU vs the CPU (faiss only)."""
    import faiss

    from fincortex.retrieval.faiss_index import gpu_count

    if gpu_count() == 0:
        sys.exit("--gpu needs CUDA and a GPU-enabled faiss build (pip install 'fincortex[gpu]'); "
                 f"this machine has: {faiss.__version__}, GPUs visible to faiss: 0")
    rng = np.random.default_rng(0)
    xb = rng.standard_normal((n, dim), dtype=np.float32)
    faiss.normalize_L2(xb)
    xq = xb[rng.choice(n, n_queries, replace=False)] + 0.05 * rng.standard_normal((n_queries, dim), dtype=np.float32)
    faiss.normalize_L2(xq)
    out = {"vectors": n, "dim": dim, "queries": n_queries, "k": K, "threads_cpu": faiss.omp_get_max_threads()}
    res = faiss.StandardGpuResources()
    for spec in ("Flat", "IVF4096,Flat"):
        cpu = faiss.index_factory(dim, spec, faiss.METRIC_INNER_PRODUCT)
        start = time.perf_counter()
        if not cpu.is_trained:
            cpu.train(xb[:200_000])
        cpu.add(xb)
        build = time.perf_counter() - start
        if spec.startswith("IVF"):
            faiss.extract_index_ivf(cpu).nprobe = 32
        gpu = faiss.index_cpu_to_gpu(res, 0, cpu)
        row = {"cpu_build_s": round(build, 1)}
        for label, index in (("cpu", cpu), ("gpu", gpu)):
            index.search(xq[:10], K)
            start = time.perf_counter()
            _, ids = index.search(xq, K)
            row[f"{label}_qps"] = round(n_queries / (time.perf_counter() - start), 1)
            row[f"{label}_ids"] = ids
        row["top1_agreement"] = float(np.mean(row.pop("cpu_ids")[:, 0] == row.pop("gpu_ids")[:, 0]))
        out[spec] = row
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated chunk counts")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--no-rerank", action="store_true", help="skip the hybrid+rerank latency row")
    parser.add_argument("--rerank-queries", type=int, default=50, help="queries timed with rerank (slow on CPU)")
    parser.add_argument("--reranker", help="cross-encoder folder to time (default: the registered default "
                        "reranker; else the embedder's weights with an untrained head, latency only)")
    parser.add_argument("--rerank-backends", default="auto",
                        help="comma-separated: auto (the default install's: onnx-int8 on CPU), torch, torch-bf16, onnx, onnx-int8")
    parser.add_argument("--prepare-only", action="store_true", help="build stores and embed, measure nothing")
    parser.add_argument("--gpu", action="store_true", help="GPU vs CPU faiss at 1M x 384 (needs CUDA)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "search.json")
    args = parser.parse_args()
    if args.gpu:
        result = {"benchmark": "search-gpu", "when": datetime.now().isoformat(timespec="seconds"),
                  "machine": platform.node(), "gpu": bench_gpu()}
        out = args.out.with_name("search_gpu.json") if args.out.name == "search.json" else args.out
        out.write_text(json.dumps(result, indent=2))
        print(json.dumps(result, indent=2))
        return

    settings = Settings.from_env()
    folder = ectsum_dir(settings)
    sizes = sorted({int(s) for s in args.sizes.split(",")})
    qs = queries(folder, args.queries)
    embedder = service.get_embedder(settings.embedding_model, settings.embed_backend, settings.models_dir)
    stores, prep = {}, {}
    for size in sizes:
        print(f"preparing {size} chunks", file=sys.stderr, flush=True)
        stores[size], prep[size] = prepare_store(settings, folder, size)
    if args.prepare_only:
        print(json.dumps(prep, indent=2))
        return
    import torch

    result = {
        "benchmark": "search", "when": datetime.now().isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(), "python": platform.python_version(),
                    "load_avg_at_start": os.getloadavg()},
        "settings": {"embed_backend": settings.embed_backend, "rerank_backends": args.rerank_backends},
        "embedder": embedder.describe(), "k": K, "queries": len(qs),
        "method": "same process, same precomputed chunk vectors, same query embedder (one torch thread per query "
                  "embedding for both); latency = wall time of one search call including query embedding. fincortex "
                  "runs each query with one faiss thread (RetrievalOptions.query_threads); the peer is timed with "
                  "faiss defaults and again with one thread",
        "preparation": prep, "sizes": {},
    }
    rerank_model = None if args.no_rerank else (args.reranker or default_reranker(settings) or str(embedder.ref.path))
    for size in sorted(sizes):
        print(f"benchmarking {size} chunks", file=sys.stderr, flush=True)
        def checkpoint(partial, size=size):
            result["sizes"][str(size)] = partial
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(result, indent=2, default=str))

        checkpoint(bench_size(settings, stores[size], size, qs, rerank_model, args.rerank_queries, checkpoint,
                              tuple(args.rerank_backends.split(","))))
    result["machine"]["load_avg_at_end"] = os.getloadavg()
    args.out.write_text(json.dumps(result, indent=2, default=str))
    print(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
