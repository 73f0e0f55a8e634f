"""The default search of an install against BM25 alone, on the held-apart TAT-QA split, in one run.

"Default" = what `fincortex search` / `Client.search` does with no flags on that install: mode hybrid with
the fusion weights calibrated for its embedder (or 1:1 when none), the embedder and backends the settings
resolve to, and rerank=True, i.e. the default reranker when one is registered. Peers in the same run, on
the same store and vectors: BM25 alone, dense alone, hybrid 1:1 (the old default) and, when a reranker
exists, hybrid 1:1 + rerank. The split is models/tuning/heldout.py's (30% of TAT-QA dev contexts, never in
any training pair or in the fusion calibration, which uses the other 70%).

    python benchmarks/defaults.py                               # the install of FINCORTEX_HOME / data/
    FINCORTEX_HOME=/tmp/clone/data python benchmarks/defaults.py --out benchmarks/results/defaults_tatqa.json
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

from fincortex import Client  # noqa: E402
from fincortex.retrieval import service  # noqa: E402
from fincortex.retrieval.options import RetrievalOptions  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="the install's database (default: FINCORTEX_DB / home)")
    parser.add_argument("--no-rerank", action="store_true", help="skip the rerank rows even when a reranker exists")
    parser.add_argument("--skip-peer-rerank", action="store_true", help="skip hybrid 1:1 + rerank (saves minutes)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "defaults_tatqa.json")
    args = parser.parse_args()

    client = Client(db=args.db)
    status = client.index_status()
    beir = client.settings.cache_dir / "tuning" / "heldout-beir"
    heldout = client.export_heldout(beir)
    report: dict = {
        "benchmark": "default search vs BM25, held-apart TAT-QA", "when": datetime.now().isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "load_avg_start": load()},
        "install": {"home": str(client.settings.home), "db": str(client.settings.db_path),
                    "embedding_model": status["embedding_model"], "reranker": status["reranker"],
                    "reranker_backend": status["reranker_backend"], "fusion_weights": status["fusion_weights"],
                    "fusion_weights_source": status["fusion_weights_source"]},
        "heldout": heldout, "runs": {},
    }
    has_reranker = not str(status["reranker"]).startswith("unavailable") and not args.no_rerank
    default = RetrievalOptions.from_env()
    one_to_one = default.with_(dense_weight=1.0, bm25_weight=1.0)
    runs = [("bm25 + dense + default hybrid", default, ("bm25", "dense", "hybrid"), False),
            ("hybrid 1:1 (old default)", one_to_one, ("hybrid",), False)]
    if has_reranker:
        runs.append(("default search (hybrid + rerank)", default, ("hybrid",), True))
        if not args.skip_peer_rerank:
            runs.append(("hybrid 1:1 + rerank", one_to_one, ("hybrid",), True))
    rows: dict[str, dict] = {}
    for label, options, modes, rerank in runs:
        clock, before = time.perf_counter(), load()
        out = service.evaluate_retrieval(client.settings, beir, modes=modes, rerank=rerank, options=options)
        report["runs"][label] = {"seconds": round(time.perf_counter() - clock, 1), "load_before": before,
                                 "load_after": load(), "embedder": out["embedder"], "reranker": out["reranker"]}
        for mode, result in out["results"].items():
            name = {"bm25": "bm25", "dense": "dense", "hybrid": "hybrid (default weights)",
                    "hybrid+rerank": "default search: hybrid + rerank"}[mode]
            if options is one_to_one:
                name = "hybrid 1:1" + (" + rerank" if rerank else "")
            rows[name] = {k: round(v, 4) for k, v in result["metrics"].items()} | {
                "latency_ms_p50": round(result["latency_ms_p50"], 1), "latency_ms_p95": round(result["latency_ms_p95"], 1)}
        print(f"{label}: {report['runs'][label]['seconds']} s", flush=True)
    report["results"] = rows
    default_row = "default search: hybrid + rerank" if has_reranker else "hybrid (default weights)"
    report["default_search"] = default_row
    report["acceptance"] = {
        "default_minus_bm25_ndcg@10": round(rows[default_row]["ndcg@10"] - rows["bm25"]["ndcg@10"], 4),
        "default_ge_bm25": rows[default_row]["ndcg@10"] >= rows["bm25"]["ndcg@10"],
    }
    report["machine"]["load_avg_end"] = load()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, default=str))
    print(json.dumps({"results": rows, "default_search": default_row, "acceptance": report["acceptance"]}, indent=2))


if __name__ == "__main__":
    main()
