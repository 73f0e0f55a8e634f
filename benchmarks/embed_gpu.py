"""GPU embedding throughput: the pipelined encoder against sentence-transformers' `encode`, same GPU, same run.

Chunks: real ECTSum validation chunks from the ingest pipeline (as in embed_cpu.py), repeated up to
--chunks. Peers: `SentenceTransformer.encode` in fp16 at its default batch size (32) and at the
pipelined encoder's batch size. Ours: `encode_pipelined` (retrieval/pipelined_encode.py) in fp16.
Every vector is compared with the fp32 `encode` vector of the same chunk (the target is cosine >= 0.999).
Needs CUDA; on a machine without it the script says so and exits.

    python benchmarks/embed_gpu.py                       # -> benchmarks/results/embed_gpu.json
    python benchmarks/embed_gpu.py --chunks 20000 --batch-size 512 --workers 8
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import datetime
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

from fincortex.config import Settings  # noqa: E402
from fincortex.retrieval.embedder import DEFAULT_MODEL, resolve_model_path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def best_of(rounds: int, fn) -> tuple[float, np.ndarray]:
    import torch

    times, result = [], None
    for _ in range(rounds):
        torch.cuda.synchronize()
        start = time.perf_counter()
        result = fn()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--prefetch", type=int, default=4)
    parser.add_argument("--workers", type=int, default=max((os.cpu_count() or 2) // 2, 1))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "embed_gpu.json")
    args = parser.parse_args()

    import torch

    if not torch.cuda.is_available():
        sys.exit("embed_gpu.py needs a CUDA GPU; this machine has none (CPU backends: benchmarks/embed_cpu.py)")
    from sentence_transformers import SentenceTransformer

    from embed_cpu import real_chunks
    from fincortex.retrieval.pipelined_encode import encode_pipelined

    base = real_chunks(Settings.from_env(), args.chunks)
    texts = (base * (args.chunks // len(base) + 1))[: args.chunks]
    path = str(resolve_model_path(DEFAULT_MODEL))
    fp32 = SentenceTransformer(path, device="cuda", local_files_only=True)
    reference = fp32.encode(texts, batch_size=args.batch_size, normalize_embeddings=True, convert_to_numpy=True)
    fp16 = SentenceTransformer(path, device="cuda", local_files_only=True).half()
    runs = {
        "st_encode_fp16_default_batch": lambda: fp16.encode(texts, normalize_embeddings=True, convert_to_numpy=True),
        f"st_encode_fp16_batch{args.batch_size}": lambda: fp16.encode(
            texts, batch_size=args.batch_size, normalize_embeddings=True, convert_to_numpy=True),
        "pipelined_fp16": lambda: encode_pipelined(fp16, texts, batch_size=args.batch_size,
                                                   prefetch=args.prefetch, workers=args.workers),
    }
    for fn in runs.values():
        fn()  # warm-up: kernels, allocator
    result = {"benchmark": "embed_gpu", "when": datetime.now().isoformat(timespec="seconds"),
              "machine": {"gpu": torch.cuda.get_device_name(0), "cpus": os.cpu_count(), "platform": platform.platform(),
                          "torch": torch.__version__},
              "model": DEFAULT_MODEL, "chunks": len(texts), "distinct_chunks": len(base),
              "max_seq_length": fp16.max_seq_length, "batch_size": args.batch_size, "prefetch": args.prefetch,
              "workers": args.workers, "runs": {}}
    for name, fn in runs.items():
        seconds, vectors = best_of(args.rounds, fn)
        cosine = np.sum(np.asarray(vectors, dtype=np.float32) * reference, axis=1)
        result["runs"][name] = {"chunks_per_s": round(len(texts) / seconds, 1), "seconds": round(seconds, 3),
                                "cosine_to_fp32_min": round(float(cosine.min()), 5)}
        print(f"{name:32s} {len(texts) / seconds:10.1f} chunks/s  cos min {cosine.min():.5f}", flush=True)
    peer = result["runs"]["st_encode_fp16_default_batch"]["chunks_per_s"]
    ours = result["runs"]["pipelined_fp16"]
    result["acceptance"] = {"speedup_vs_st_default": round(ours["chunks_per_s"] / peer, 2),
                            "speedup_ge_5": ours["chunks_per_s"] >= 5 * peer,
                            "cosine_ge_0.999": ours["cosine_to_fp32_min"] >= 0.999}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result["acceptance"]), f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
