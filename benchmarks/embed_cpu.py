"""CPU embedding backends: throughput on real chunks and nDCG@10 on TAT-QA dev, torch (default) as peer.

Chunks: ECTSum validation transcripts, parsed and chunked by the ingest pipeline exactly as
`fincortex ingest` does (200-token chunks), the first --chunks of them. Every backend encodes the same
chunks through `Embedder.encode` (length-sorted batches at each backend's default size: 64 for torch,
8 for ONNX; `torch@8` adds torch at batch 8 as a tuned peer), in interleaved rounds (torch, torch@8, bf16,
onnx, onnx-int8, torch, ...) so a load change on this shared machine hits all of them alike; the
median round counts. Quality: dense-mode nDCG@10 (and the rest of the ranx metrics) of the real
search path on TAT-QA dev exported as BEIR (`fincortex data export-beir --tatqa`), with each backend
embedding both the corpus and the queries.

    python benchmarks/embed_cpu.py                          # -> benchmarks/results/embed_cpu.json
    python benchmarks/embed_cpu.py --threads 0,1 --chunks 512 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402

from fincortex.config import Settings  # noqa: E402
from fincortex.retrieval.embedder import DEFAULT_MODEL, Embedder  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PEER = "torch"


def real_chunks(settings: Settings, n: int) -> list[str]:
    """The first n chunks of ECTSum val, through the real parse + chunk stages (no database needed)."""
    from fincortex.datasets.fetch import PulledDataset
    from fincortex.datasets.registry import get_connector
    from fincortex.ingest.service import make_pipeline

    mirror = settings.mirror or ROOT.parent / "shared" / "data"
    files = tuple(f for f in get_connector("ectsum").files() if "/val/ects/" in f.relpath)
    if not (Path(mirror) / files[0].relpath).exists():
        sys.exit(f"ECTSum not found under {mirror}: set FINCORTEX_DATA_MIRROR to the data mirror")
    pipeline = make_pipeline(settings, None)  # type: ignore[arg-type]  # preparing never touches the store
    texts: list[str] = []
    for origin in get_connector("ectsum").transform_data(PulledDataset("ectsum", Path(mirror), files)):
        prepared = pipeline.prepare_origin(origin, {})
        texts += [row[3] for _, rows in prepared.documents for row in rows]
        if len(texts) >= n:
            return texts[:n]
    return texts


def beir_folder(settings: Settings, wanted: Path) -> Path:
    if (wanted / "corpus.jsonl").exists():
        return wanted
    from fincortex.retrieval.beir import export_tatqa

    mirror = settings.mirror or ROOT.parent / "shared" / "data"
    export_tatqa(Path(mirror) / "tatqa" / "tatqa_dataset_dev.json", wanted)
    return wanted


def make_embedder(label: str, models_dir: Path) -> Embedder:
    """'onnx-int8' = that backend at its default batch size; 'torch@8' = torch at batch 8 (a tuned peer)."""
    backend, _, batch = label.partition("@")
    return Embedder(DEFAULT_MODEL, backend=backend, models_dir=models_dir, batch_size=int(batch) if batch else None)


def throughput(backends: list[str], texts: list[str], threads: int, rounds: int, models_dir: Path) -> dict:
    import torch

    default_threads = torch.get_num_threads()
    torch.set_num_threads(threads or default_threads)  # ONNX sessions follow torch's setting at load time
    embedders = {b: make_embedder(b, models_dir) for b in backends}
    for embedder in embedders.values():
        embedder.encode(texts[:64])  # load, export once, warm up
    seconds: dict[str, list[float]] = {b: [] for b in backends}
    vectors: dict[str, np.ndarray] = {}
    for _ in range(rounds):
        for backend, embedder in embedders.items():
            clock = time.perf_counter()
            vectors[backend] = embedder.encode(texts)
            seconds[backend].append(time.perf_counter() - clock)
    torch.set_num_threads(default_threads)
    peer = float(np.median(seconds[PEER])) if PEER in seconds else None
    out = {}
    for backend in backends:
        median = float(np.median(seconds[backend]))
        cos = np.sum(vectors[backend] * vectors[PEER], axis=1) if PEER in vectors else None
        out[backend] = {
            "batch_size": embedders[backend].batch_size,
            "chunks_per_s": round(len(texts) / median, 1),
            "rounds_s": [round(s, 2) for s in seconds[backend]],
            f"speedup_vs_{PEER}": round(peer / median, 2) if peer else None,
            f"cosine_to_{PEER}_min": round(float(cos.min()), 5) if cos is not None else None,
            f"cosine_to_{PEER}_mean": round(float(cos.mean()), 5) if cos is not None else None,
        }
    return {"threads": threads or default_threads, "backends": out}


def quality(backends: list[str], folder: Path, cache_dir: Path, models_dir: Path, max_queries: int | None) -> dict:
    from fincortex.retrieval.evaluation import evaluate_beir

    out = {}
    for backend in [b for b in backends if "@" not in b]:  # batch size does not change the vectors
        clock = time.perf_counter()
        report = evaluate_beir(folder, cache_dir, Embedder(DEFAULT_MODEL, backend=backend, models_dir=models_dir),
                               modes=("dense",), max_queries=max_queries)
        out[backend] = {**report["results"]["dense"]["metrics"], "embedder_key": report["embedder"]["key"],
                        "seconds": round(time.perf_counter() - clock, 1)}
        print(f"  {backend:11s} nDCG@10 {out[backend]['ndcg@10']:.4f}", flush=True)
    if PEER in out:
        for backend in out:
            delta = out[backend]["ndcg@10"] - out[PEER]["ndcg@10"]
            out[backend]["ndcg@10_relative_change"] = round(delta / out[PEER]["ndcg@10"], 4)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", default="torch,torch@8,torch-bf16,onnx,onnx-int8",
                        help="backend[@batch]; the peer is torch at its default batch size")
    parser.add_argument("--chunks", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", default="0,1", help="comma-separated; 0 = library default")
    parser.add_argument("--beir", type=Path, default=ROOT / "data" / "cache" / "tatqa-beir")
    parser.add_argument("--max-queries", type=int, default=None)
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "embed_cpu.json")
    args = parser.parse_args()

    from fincortex.retrieval.onnx_backend import bf16_cpu

    settings = Settings.from_env()
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if "torch-bf16" in backends and not bf16_cpu():
        print("no AVX512-BF16/AMX on this CPU: skipping torch-bf16")
        backends.remove("torch-bf16")
    models_dir = settings.models_dir
    texts = real_chunks(settings, args.chunks)
    print(f"{len(texts)} ECTSum chunks, mean {np.mean([len(t) for t in texts]):.0f} characters", flush=True)
    result = {
        "benchmark": "embed_cpu", "peer": PEER, "model": DEFAULT_MODEL,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "processor": platform.processor(),
                    "load_avg_start": os.getloadavg()},
        "chunks": {"source": "ECTSum val transcripts, ingest pipeline chunks", "n": len(texts),
                   "mean_chars": round(float(np.mean([len(t) for t in texts])), 1)},
        "throughput": [],
    }
    for threads in [int(t) for t in args.threads.split(",")]:
        print(f"throughput, threads={threads or 'default'}", flush=True)
        run = throughput(backends, texts, threads, args.rounds, models_dir)
        for backend, row in run["backends"].items():
            print(f"  {backend:11s} {row['chunks_per_s']:7.1f} chunks/s  x{row[f'speedup_vs_{PEER}']}  "
                  f"cos min {row[f'cosine_to_{PEER}_min']}", flush=True)
        result["throughput"].append(run)
    if not args.skip_quality:
        print("nDCG@10 on TAT-QA dev (dense)", flush=True)
        with tempfile.TemporaryDirectory() as cache:  # a fresh corpus store: every backend embeds it now
            result["quality"] = quality(backends, beir_folder(settings, args.beir), Path(cache), models_dir,
                                        args.max_queries)
    result["machine"]["load_avg_end"] = os.getloadavg()
    result["acceptance"] = acceptance(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result["acceptance"], indent=2))
    print(f"written to {args.out}")


def acceptance(result: dict) -> dict:
    """ONNX >= 2x the default CPU throughput with nDCG@10 within 1% (relative) of the default's."""
    out = {}
    for backend in ("onnx", "onnx-int8", "torch-bf16"):
        speedups = {run["threads"]: run["backends"][backend][f"speedup_vs_{PEER}"]
                    for run in result["throughput"] if backend in run["backends"]}
        change = result.get("quality", {}).get(backend, {}).get("ndcg@10_relative_change")
        if not speedups:
            continue
        out[backend] = {"speedup_by_threads": speedups, "ndcg@10_relative_change": change,
                        "holds": all(s >= 2.0 for s in speedups.values()) and change is not None and abs(change) <= 0.01}
    return out


if __name__ == "__main__":
    main()
