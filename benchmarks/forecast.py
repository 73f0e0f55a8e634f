"""Benchmark: forecasting-agent throughput (questions per minute) on CPU, LLM cache cold and warm.

Peer in the same run: the warm-cache replay of the same questions, which must reproduce the cold
run's probabilities exactly (deterministic replay from the DuckDB response cache), and the agent
without retrieval (cold), which shows what retrieval + relevance rating + summaries cost.

    python benchmarks/forecast.py --source-db /tmp/agents_demo/demo.duckdb --limit 10 --threads 2

The source database (documents, chunks and their indexes, e.g. headlines + TAT-QA ingested and
`fincortex index build` run) is copied to a temp folder with an emptied LLM cache for the cold run;
the question round comes from the data mirror (FINCORTEX_DATA_MIRROR). Writes
benchmarks/results/forecast.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROUND = "2025-10-26"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source-db", type=Path, required=True, help="DuckDB file with chunks and built indexes")
    ap.add_argument("--round", default=ROUND, help="ForecastBench round (forecast due date) in the mirror")
    ap.add_argument("--limit", type=int, default=10)
    ap.add_argument("--samples", type=int, default=3)
    ap.add_argument("--model", default="local")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "forecast.json")
    args = ap.parse_args()

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    from fincortex.agents.forecasting.evaluation import EvalOptions, evaluate
    from fincortex.agents.forecasting.graph import ForecastConfig
    from fincortex.client import Client
    from fincortex.models.llm.cache import LLMCache

    if args.threads:
        torch.set_num_threads(args.threads)
    src = args.source_db.expanduser().resolve()
    if not src.is_file():
        raise SystemExit(f"--source-db {src} does not exist")
    work = Path(tempfile.mkdtemp(prefix="fincortex-forecast-bench-"))
    db = work / src.name
    shutil.copy2(src, db)
    indexes = src.parent / (src.stem + ".indexes")
    if indexes.is_dir():
        shutil.copytree(indexes, work / indexes.name)
    client = Client(db=db)
    mirror = client.settings.mirror
    if mirror is None:
        raise SystemExit("set FINCORTEX_DATA_MIRROR to the data mirror (ForecastBench rounds)")
    questions = mirror / "forecastbench" / "question_sets" / f"{args.round}-llm.json"
    resolutions = mirror / "forecastbench" / "resolution_sets" / f"{args.round}_resolution_set.json"
    cleared = LLMCache(client.store).count()

    config = ForecastConfig(models=(args.model,), samples=args.samples)
    options = EvalOptions(limit=args.limit, calibration=None, no_retrieval_baseline=False)
    runs = {}
    for name, cfg in (("cold", config), ("warm", config), ("cold_no_retrieval", replace(config, retrieval=False))):
        if name.startswith("cold"):  # an empty response cache: every model call runs
            LLMCache(client.store).clear()
        before = LLMCache(client.store).count()
        t = time.perf_counter()
        report = evaluate(client.agent_deps(), questions, resolutions, cfg, options)
        wall = time.perf_counter() - t
        probs = [r["probability"] for r in report.rows if r["method"] == "agent"]
        runs[name] = {"wall_s": round(wall, 2), "questions": report.n_targets,
                      "questions_per_minute": round(report.n_targets / wall * 60, 3),
                      "new_cache_entries": LLMCache(client.store).count() - before,
                      "brier": report.metrics["agent"]["overall"]["brier"], "probabilities": probs}
        print(f"{name}: {report.n_targets} questions in {wall:.1f} s = {runs[name]['questions_per_minute']:.2f}/min")
    replay_identical = runs["cold"]["probabilities"] == runs["warm"]["probabilities"]
    result = {
        "benchmark": "forecast_throughput", "round": args.round, "model": args.model, "config": config.as_dict(),
        "limit": args.limit, "runs": runs, "warm_speedup": round(runs["cold"]["wall_s"] / runs["warm"]["wall_s"], 2),
        "warm_replay_identical": replay_identical, "cache_entries_in_source_copy": cleared,
        "machine": {"cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                    "loadavg_1m_at_end": os.getloadavg()[0], "python": platform.python_version(),
                    "torch": torch.__version__, "device": "cpu"},
        "source_db": str(src),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps({k: v for k, v in result.items() if k != "runs"} | {
        "runs": {k: {kk: vv for kk, vv in v.items() if kk != "probabilities"} for k, v in runs.items()}}, indent=2))
    shutil.rmtree(work, ignore_errors=True)
    if not replay_identical:
        raise SystemExit("warm replay did not reproduce the cold run's probabilities")


if __name__ == "__main__":
    main()
