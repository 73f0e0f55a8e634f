"""Approximate faiss indexes against exact search on real embeddings: recall@10 and batch QPS.

Vectors: the search benchmark's corpus (real ECTSum earnings-call sentences, `benchmarks/search.py`),
embedded with the default embedder; the embedding cache under data/cache/bench means a rerun embeds
nothing. Queries: ECTSum summary bullets (real analyst-style questions about the same calls), embedded
with the same model. Exact search (`Flat`) gives the ground truth and is the peer in the same run.

Each spec is the faiss index-factory string that `FINCORTEX_INDEX_SPEC` takes, swept over its search
knob (nprobe for IVF, efSearch for HNSW). QPS is for one batch of all queries at k=10 with faiss's
default threads, best of --repeats; recall@10 is the mean overlap with the exact top 10. The result
names, for each spec, the fastest setting that keeps recall@10 >= --target-recall. Last, the product's
`FINCORTEX_INDEX_SPEC=auto` index forced past its size threshold: its factory choice, the nprobe it
calibrates on the corpus alone, and the recall@10 and QPS that gives on the real queries.

    python benchmarks/ann.py                              # 100k vectors -> benchmarks/results/ann_cpu.json
    python benchmarks/ann.py --size 100000 --queries 1000 --specs "IVF1024,Flat;HNSW32"
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from datetime import datetime
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import faiss  # noqa: E402
import numpy as np  # noqa: E402

from fincortex.config import Settings  # noqa: E402
from fincortex.retrieval import embedding_cache, service  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
K = 10
SWEEPS = {"IVF": ("nprobe", (1, 2, 4, 8, 16, 32, 64)), "HNSW": ("efSearch", (16, 32, 64, 128, 256))}


def real_vectors(settings: Settings, size: int) -> tuple[np.ndarray, dict]:
    from search import ectsum_dir, prepare_store  # the same corpus and cache as the search benchmark

    store, preparation = prepare_store(settings, ectsum_dir(settings), size)
    embedder = service.get_embedder(settings.embedding_model)
    _, vectors = embedding_cache.load_embeddings(store, embedder.key)
    return np.ascontiguousarray(vectors, dtype=np.float32), {**preparation, "embedder": embedder.key}


def real_queries(settings: Settings, n: int) -> np.ndarray:
    from search import ectsum_dir, queries

    return service.get_embedder(settings.embedding_model).encode(queries(ectsum_dir(settings), n))


def best_of(repeats: int, fn) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def recall_at_k(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / K for f, t in zip(found, truth)]))


def bench_spec(spec: str, xb: np.ndarray, xq: np.ndarray, truth: np.ndarray, flat_qps: float,
               repeats: int, target: float, refine_k: int) -> dict:
    index = faiss.index_factory(xb.shape[1], spec, faiss.METRIC_INNER_PRODUCT)
    if isinstance(index, faiss.IndexRefine):  # re-rank refine_k * k compressed-code hits exactly
        index.k_factor = refine_k
    start = time.perf_counter()
    if not index.is_trained:
        index.train(xb)
    index.add(xb)
    build = time.perf_counter() - start
    knob, values = next(((k, v) for prefix, (k, v) in SWEEPS.items() if spec.startswith(prefix)), (None, (None,)))
    rows = []
    for value in values:
        if knob == "nprobe":
            faiss.extract_index_ivf(index).nprobe = value
        elif knob == "efSearch":
            index.hnsw.efSearch = value
        index.search(xq[:10], K)
        found: list[np.ndarray] = []
        seconds = best_of(repeats, lambda: found.append(index.search(xq, K)[1]))
        qps = len(xq) / seconds
        rows.append({knob or "setting": value, "qps": round(qps, 1), "recall@10": round(recall_at_k(found[-1], truth), 4),
                     "speedup_vs_flat": round(qps / flat_qps, 2)})
        print(f"  {spec:18s} {knob or '':8s} {value!s:>5s}  {qps:10.1f} QPS  recall@10 {rows[-1]['recall@10']:.4f}"
              f"  x{rows[-1]['speedup_vs_flat']}", flush=True)
    meeting = [r for r in rows if r["recall@10"] >= target]
    return {"spec": spec, "build_seconds": round(build, 2), "index_bytes": len(faiss.serialize_index(index)),
            "sweep": rows, "fastest_at_target": max(meeting, key=lambda r: r["qps"]) if meeting else None}


def bench_auto(xb: np.ndarray, xq: np.ndarray, truth: np.ndarray, flat_qps: float, repeats: int) -> dict:
    """The product's "auto" index forced past its size threshold: the factory it picks for this corpus,
    the nprobe it calibrates on the corpus itself, and what that gives on the real queries."""
    import tempfile

    from fincortex.retrieval.faiss_index import DenseIndex

    with tempfile.TemporaryDirectory() as folder:
        dense = DenseIndex.open(Path(folder), "bench", "auto", xb.shape[1], approximate_from=0)
        ids = np.arange(len(xb), dtype=np.int64)
        start = time.perf_counter()
        dense.reset(len(xb))
        dense.add(ids, xb)
        dense.calibrate(ids, xb)
        build = time.perf_counter() - start
        params = dense._params(None, dense.meta.nprobe, 128)
        dense.index.search(xq[:10], K, params=params)
        found: list[np.ndarray] = []
        seconds = best_of(repeats, lambda: found.append(dense.index.search(xq, K, params=params)[1]))
    row = {"factory": dense.factory, "calibration": dense.meta.calibration, "build_and_calibrate_seconds": round(build, 1),
           "qps": round(len(xq) / seconds, 1), "recall@10_real_queries": round(recall_at_k(found[-1], truth), 4),
           "speedup_vs_flat": round(len(xq) / seconds / flat_qps, 2)}
    print(f"  auto -> {row['factory']} nprobe {dense.meta.nprobe} (calibrated recall@10 "
          f"{dense.meta.calibration.get('recall@10')}): {row['qps']:.1f} QPS, recall@10 on real queries "
          f"{row['recall@10_real_queries']}, x{row['speedup_vs_flat']}", flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--specs", default="IVF1024,Flat;IVF1024,SQ8;IVF1024,PQ96x4fs,RFlat;HNSW32",
                        help="faiss factory strings separated by ';'")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--refine-k", type=int, default=8, help="k_factor of ',RFlat' specs (faiss default 1)")
    parser.add_argument("--target-recall", type=float, default=0.95)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "ann_cpu.json")
    args = parser.parse_args()

    settings = Settings.from_env()
    xb, preparation = real_vectors(settings, args.size)
    xq = real_queries(settings, args.queries)
    print(f"{len(xb)} real chunk vectors, {len(xq)} real queries, dim {xb.shape[1]}, "
          f"faiss {faiss.__version__}, {faiss.omp_get_max_threads()} threads", flush=True)
    result = {
        "benchmark": "ann_cpu", "when": datetime.now().isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "faiss": faiss.__version__,
                    "faiss_threads": faiss.omp_get_max_threads(), "load_avg_start": os.getloadavg()},
        "vectors": len(xb), "dim": int(xb.shape[1]), "queries": len(xq), "k": K, "preparation": preparation,
        "target_recall@10": args.target_recall, "refine_k_factor": args.refine_k,
    }
    flat = faiss.index_factory(xb.shape[1], "Flat", faiss.METRIC_INNER_PRODUCT)
    flat.add(xb)
    flat.search(xq[:10], K)
    truth: list[np.ndarray] = []
    flat_seconds = best_of(args.repeats, lambda: truth.append(flat.search(xq, K)[1]))
    flat_qps = len(xq) / flat_seconds
    print(f"  {'Flat (exact)':18s} {'':8s} {'':5s}  {flat_qps:10.1f} QPS", flush=True)
    result["flat"] = {"qps": round(flat_qps, 1), "index_bytes": len(faiss.serialize_index(flat))}
    result["specs"] = [bench_spec(spec.strip(), xb, xq, truth[-1], flat_qps, args.repeats, args.target_recall,
                                  args.refine_k)
                       for spec in args.specs.split(";") if spec.strip()]
    result["auto"] = bench_auto(xb, xq, truth[-1], flat_qps, args.repeats)
    result["machine"]["load_avg_end"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    for row in result["specs"]:
        best = row["fastest_at_target"]
        print(f"{row['spec']}: " + (f"x{best['speedup_vs_flat']} flat QPS at recall@10 {best['recall@10']}"
                                    if best else f"never reaches recall@10 {args.target_recall}"))
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
