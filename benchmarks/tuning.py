"""Tuning benchmark: the embedder and reranker tunings with their default settings, timed, then the
before/after table on the held-apart TAT-QA split, all through the product's commands' service calls.

Peers in the same run: the packaged embedder (base dense, base hybrid) and tuned hybrid without the
reranker. Acceptance checks: tuned dense nDCG@10 >= base dense + 0.05; hybrid + tuned reranker >= tuned
hybrid; each tuning within 20 minutes. Load averages are recorded around every stage (a shared machine
makes wall times pessimistic).

    python benchmarks/tuning.py --db data/fincortex.duckdb          # tune both, evaluate, write JSON
    python benchmarks/tuning.py --db ... --embedder NAME --reranker NAME   # evaluate registered models only
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from fincortex import Client  # noqa: E402
from fincortex.retrieval.embedder import DEFAULT_MODEL  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def timed(label: str, fn, record: dict):
    before, clock = load(), time.perf_counter()
    value = fn()
    record[label] = {"seconds": round(time.perf_counter() - clock, 1), "load_before": before, "load_after": load()}
    print(f"{label}: {record[label]}", flush=True)
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="database with the ingested corpus (default: FINCORTEX_DB / home)")
    parser.add_argument("--embedder", help="evaluate this registered embedder instead of tuning one")
    parser.add_argument("--reranker", help="evaluate this registered reranker instead of tuning one")
    parser.add_argument("--name-suffix", default="", help="appended to the tuned models' default names")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "tuning_tatqa.json")
    args = parser.parse_args()

    client = Client(db=args.db)
    timings: dict = {}
    report: dict = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform()}, "timings": timings}
    embedder = args.embedder
    if embedder is None:
        result = timed("tune_embedder", lambda: client.tune_embedder(
            base=DEFAULT_MODEL, name=f"{DEFAULT_MODEL}-fin{args.name_suffix}", overwrite=True), timings)
        embedder, report["embedder_tuning"] = result.name, result.to_dict()
    reranker = args.reranker
    if reranker is None:
        result = timed("tune_reranker", lambda: client.tune_reranker(
            embedder=embedder, name=f"{embedder}-reranker", overwrite=True), timings)
        reranker, report["reranker_tuning"] = result.name, result.to_dict()

    beir = client.settings.cache_dir / "tuning" / "heldout-beir"
    report["heldout"] = client.export_heldout(beir)
    rows = {}
    runs = [("base dense", DEFAULT_MODEL, ("dense", "hybrid"), False), ("bm25", DEFAULT_MODEL, ("bm25",), False),
            ("tuned", embedder, ("dense", "hybrid"), False), ("tuned + reranker", embedder, ("hybrid",), True)]
    for label, model, modes, rerank in runs:
        out = timed(f"eval {label}", lambda: client.evaluate_retrieval(
            beir, modes=modes, rerank=rerank, embedder=model, reranker=reranker if rerank else None), timings)
        for mode, result in out["results"].items():
            name = {"dense": "dense", "hybrid": "hybrid", "bm25": "bm25", "hybrid+rerank": "hybrid + tuned reranker"}[mode]
            key = name if label == "bm25" else f"{'tuned' if model == embedder else 'base'} {name}"
            rows[key] = {k: round(v, 4) for k, v in result["metrics"].items()}
    report["results"] = rows
    ndcg = {k: v["ndcg@10"] for k, v in rows.items()}
    report["acceptance"] = {
        "tuned_dense_minus_base_dense": round(ndcg["tuned dense"] - ndcg["base dense"], 4),
        "tuned_dense_gain_ge_0.05": ndcg["tuned dense"] >= ndcg["base dense"] + 0.05,
        "rerank_minus_tuned_hybrid": round(ndcg["tuned hybrid + tuned reranker"] - ndcg["tuned hybrid"], 4),
        "rerank_ge_tuned_hybrid": ndcg["tuned hybrid + tuned reranker"] >= ndcg["tuned hybrid"],
        "each_tuning_under_20_min": all(timings[k]["seconds"] < 1200 for k in ("tune_embedder", "tune_reranker")
                                        if k in timings),
    }
    report["models"] = {"embedder": embedder, "reranker": reranker}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, default=str))
    print(json.dumps({"results": rows, "acceptance": report["acceptance"]}, indent=2))


if __name__ == "__main__":
    main()
