"""Ingest engines: in-process (`local`, the peer) vs Ray Data (`ray`) on ECTSum train, same run.

Two workloads, each engine into its own fresh DuckDB file:
- parse + chunk + write: all ECTSum train transcripts (1,681 files), no embedding.
- parse + chunk + write + embed: the first --embed-files transcripts; the local engine embeds after
  ingesting (what its index sync does: `ensure_embeddings`), the Ray engine in its embed stage.
Ray runs on a local instance (--num-cpus, default all cores) unless --address names a cluster; its
start-up time is reported apart and not counted in the engine's seconds. Rows are checked equal.

    python benchmarks/ingest_engines.py                   # -> benchmarks/results/ingest_engines.json
    python benchmarks/ingest_engines.py --files 200 --embed-files 50
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

from fincortex.config import Settings  # noqa: E402
from fincortex.datasets.fetch import PulledDataset  # noqa: E402
from fincortex.datasets.registry import get_connector  # noqa: E402
from fincortex.ingest.ray_engine import RayOptions, ensure_ray  # noqa: E402
from fincortex.ingest.service import run_engine  # noqa: E402
from fincortex.store import Store  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def origins(mirror: Path, n: int | None):
    files = tuple(f for f in get_connector("ectsum").files() if "/train/ects/" in f.relpath)[:n]
    if not (mirror / files[0].relpath).exists():
        sys.exit(f"ECTSum not found under {mirror}: set FINCORTEX_DATA_MIRROR to the data mirror")
    return list(get_connector("ectsum").transform_data(PulledDataset("ectsum", mirror, files))), sum(f.size for f in files)


def run(engine: str, workdir: Path, mirror: Path, n: int | None, embed: bool, ray_options: RayOptions) -> dict:
    from fincortex.retrieval import embedding_cache
    from fincortex.retrieval.embedder import DEFAULT_MODEL, Embedder

    settings = Settings(home=workdir / f"{engine}-{'embed' if embed else 'noembed'}")
    store = Store(settings.db_path)
    store.ensure_schema()
    items, size = origins(mirror, n)
    clock = time.perf_counter()
    from fincortex.retrieval.ray_embed import embed_stage

    options = RayOptions(**{**ray_options.__dict__, "embed": embed_stage(store, DEFAULT_MODEL) if embed else None})
    report = run_engine(settings, store, items, {}, None, engine=engine, ray_options=options)
    embedded = 0
    if embed and engine == "local":
        embedded = embedding_cache.ensure_embeddings(store, Embedder(DEFAULT_MODEL))
    seconds = time.perf_counter() - clock
    summary = report.summary()
    with store.read() as conn:
        digest = conn.execute("SELECT count(*), bit_xor(hash(chunk_id, text)) FROM chunks").fetchone()
        vectors = conn.execute("SELECT count(*) FROM chunk_embeddings").fetchone()[0]
    return {"files": len(items), "megabytes": round(size / 1e6, 2), "seconds": round(seconds, 1),
            "documents": summary["documents"], "chunks": summary["chunks"], "failed": summary["failed"],
            "vectors": vectors, "embedded_after_ingest": embedded,
            "files_per_s": round(len(items) / seconds, 2), "chunks_per_s": round(summary["chunks"] / seconds, 1),
            "chunks_digest": str(digest[1])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=None, help="first N train files (default: all 1,681)")
    parser.add_argument("--embed-files", type=int, default=100)
    parser.add_argument("--address", default=None)
    parser.add_argument("--num-cpus", type=int, default=None)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "ingest_engines.json")
    args = parser.parse_args()
    settings = Settings.from_env()
    mirror = Path(settings.mirror or ROOT.parent / "shared" / "data")

    clock = time.perf_counter()
    ray_options = RayOptions(address=args.address, num_cpus=args.num_cpus)
    ray = ensure_ray(ray_options)
    ray_start = time.perf_counter() - clock
    result = {"benchmark": "ingest_engines", "peer": "local", "dataset": "ECTSum train transcripts (mirror)",
              "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                          "load_avg_start": os.getloadavg()},
              "ray": {"version": ray.__version__, "address": args.address or "local instance",
                      "cluster_cpus": ray.cluster_resources().get("CPU"), "start_seconds": round(ray_start, 1)},
              "workloads": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for name, n, embed in (("parse_chunk_write", args.files, False),
                               ("parse_chunk_write_embed", args.embed_files, True)):
            rows = {}
            for engine in ("local", "ray"):
                rows[engine] = run(engine, Path(tmp), mirror, n, embed, ray_options)
                print(f"{name:24s} {engine:5s} {rows[engine]['seconds']:7.1f} s  "
                      f"{rows[engine]['chunks_per_s']:7.1f} chunks/s", flush=True)
            same = rows["local"]["chunks_digest"] == rows["ray"]["chunks_digest"] and \
                rows["local"]["vectors"] == rows["ray"]["vectors"]
            result["workloads"][name] = {**rows, "same_rows": same,
                                         "ray_speedup_vs_local": round(rows["local"]["seconds"] / rows["ray"]["seconds"], 2)}
    result["machine"]["load_avg_end"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
