"""FinanceBench dev split in one shared store: the analyst beside BM25, dense, hybrid(+rerank) and closed book.

    FINCORTEX_HOME=/tmp/fin/home python benchmarks/financebench.py \
        --out benchmarks/results/financebench_dev.json

Same as `fincortex eval financebench --questions .../financebench_open_source_dev.jsonl --pdfs .../pdfs
--json OUT` (agents/analyst/financebench.py does the work): every PDF ingested into the one store (the
hard setting; unchanged files are skipped on a re-run), the indexes built, each question asked. One thread
for torch/BLAS (the 2-core machine is shared); the load average is recorded before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")


DATASET_TEXT = ("question", "gold")  # FinanceBench's own text: the committed JSON keeps ids, not excerpts


def without_dataset_text(row: dict) -> dict:
    return {k: v for k, v in row.items() if k not in DATASET_TEXT}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mirror = Path(os.environ.get("FINCORTEX_DATA_MIRROR", "/work/shared/data")) / "financebench"
    parser.add_argument("--questions", type=Path, default=mirror / "financebench_open_source_dev.jsonl")
    parser.add_argument("--pdfs", type=Path, default=mirror / "pdfs")
    parser.add_argument("--db", type=Path, default=None, help="DuckDB file (default: FINCORTEX_HOME's)")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--mode", choices=("hybrid", "bm25", "dense"), default="hybrid",
                        help="the analysts' search mode (default: the analyst's default, hybrid)")
    parser.add_argument("--no-index-sync", action="store_true",
                        help="use the indexes as they stand (systems needing an incomplete dense index are reported "
                             "unavailable, with its count) instead of embedding every chunk first")
    parser.add_argument("--order", choices=("file", "interleave"), default="interleave",
                        help="interleave: one question per filing in turn (a cut-short run still spans the filings)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/financebench_dev.json"))
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    from fincortex.client import Client

    from fincortex.agents.analyst.financebench import run_financebench

    load_before, clock = os.getloadavg(), time.perf_counter()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []

    def partial(row: dict, summary: list[dict]) -> None:  # a cut-short run still leaves its figures
        rows.append(without_dataset_text(row))
        args.out.write_text(json.dumps({"partial": True, "summary": summary, "rows": rows,
                                        "loadavg": list(os.getloadavg())}, indent=1, default=str))
        print(f"[{len(rows)}] {row['financebench_id']} {time.perf_counter() - clock:.0f}s", flush=True)

    from fincortex.agents.analyst.financebench import RETRIEVAL_BASELINES
    from fincortex.agents.analyst.graph import AnalystConfig

    client = Client(db=args.db)
    retrieval, unavailable = None, None
    if args.no_index_sync:
        status = client.index_status()
        dense = [i for i in status["indexes"] if i.get("active") and i.get("stage") == "dense"]
        have = dense[0]["n_items"] if dense else 0
        if have < status["n_chunks"]:
            why = (f"the dense index holds {have:,} of {status['n_chunks']:,} chunks: embedding did not finish on the "
                   "shared 2-core machine before the run (resume with `fincortex index build`)")
            retrieval = {name: spec for name, spec in RETRIEVAL_BASELINES.items() if spec[0] == "bm25"}
            retrieval["bm25+scope"] = ("bm25", False, True)
            unavailable = {name: why for name, spec in RETRIEVAL_BASELINES.items() if spec[0] != "bm25"}
            if args.mode != "bm25":
                parser.error(f"--mode {args.mode} needs the dense index: {why}")
    report = run_financebench(client.agent_deps(), args.questions, args.pdfs, limit=args.limit,
                              on_row=partial, order=args.order, sync_index=not args.no_index_sync,
                              retrieval=retrieval, unavailable=unavailable, config=AnalystConfig(mode=args.mode))
    report["rows"] = [without_dataset_text(row) for row in report["rows"]]
    report["loadavg_before"] = list(load_before)
    report["wall_seconds"] = round(time.perf_counter() - clock, 1)
    report["command"] = " ".join(["python", "benchmarks/financebench.py", *(argv if argv is not None else sys.argv[1:])])
    args.out.write_text(json.dumps(report, indent=1, default=str))
    for row in report["summary"]:
        print(json.dumps(row))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
