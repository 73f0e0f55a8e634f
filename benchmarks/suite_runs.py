"""Stored suite runs as one JSON record: each run's configuration with every model's lineage (registry row:
method, parents with sha256, seed), wall time, each unit's headline figures with its baselines from the
same run, and the paired comparison of every run against the first (B - A, 95% intervals, verdicts).

The suite itself measures (`fincortex eval suite`); this only exports what it stored, so the figures in
docs and notes can be traced to the database rows.

    python benchmarks/suite_runs.py --label base-embedder-quick --label tuned-embedder-quick \
        --out benchmarks/results/suite_embedders_quick.json
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from fincortex import Client


def _lineage(model: dict[str, Any]) -> dict[str, Any]:
    reg = model.get("registry") or {}
    return {"asked": model.get("asked"), "path": model.get("path"), "sha256": model.get("sha256"),
            "name": reg.get("name"), "method": reg.get("method"), "seed": reg.get("seed"),
            "params": reg.get("params"),
            "parents": [{k: p.get(k) for k in ("name", "sha256", "role")} for p in reg.get("parents") or []]}


def _headline(unit) -> dict[str, Any]:
    s = unit.summary
    if unit.part == "retrieval":
        return {"primary": s["primary"], "queries": s["queries"],
                **{f"{mode} {m}": v[m] for mode, v in s["modes"].items() for m in ("ndcg@10", "recall@10")}}
    if unit.part == "financebench":
        return {"questions": s["questions"],
                **{f"{r['system']} {m}": r.get(m) for r in s["systems"] if r.get("available")
                   for m in ("doc_recall@5", "page_recall@5", "numeric_accuracy", "refusal_rate",
                             "seconds_per_question") if r.get(m) is not None}}
    if unit.part == "forecasting":
        return {"rounds": len(s["rounds"]), "sample_every": s["sample_every"],
                **{f"{m} brier": t["overall"] for m, t in s["table"].items()},
                **{f"{m} n": t["n"] for m, t in s["table"].items() if m == "default"}}
    if unit.part == "trading":
        return {f"{agent} {k}": m.get(k) for agent, m in s["metrics"].items()
                for k in ("sharpe", "sharpe_ci_low", "sharpe_ci_high", "cumulative_return", "max_drawdown")}
    return {k: v for k, v in s.items() if k != "primary"}


def export(client: Client, run_ids: list[str]) -> dict[str, Any]:
    from fincortex.suite.runs import get_run

    runs = [get_run(client.store, r) for r in run_ids]
    out: dict[str, Any] = {"runs": []}
    for run in runs:
        cfg = run["config"]
        out["runs"].append({
            "run_id": run["run_id"], "label": run["label"], "profile": run["profile"], "status": run["status"],
            "wall_s": run["wall_s"], "created_at": str(run["created_at"]),
            "models": {role: _lineage(cfg[role]) for role in ("embedder", "reranker", "chat")},
            "units": {u: {"wall_s": round(x.wall_s, 1), "reused_from": x.reused_from, **_headline(x)}
                      for u, x in run["units"].items()}})
    base = run_ids[0]
    out["comparisons"] = []
    for other in run_ids[1:]:
        c = client.eval_compare(base, other)
        out["comparisons"].append({"a": base, "b": other, "areas": c["areas"], "only_in": c["only_in"],
                                   "rows": [asdict(r) for r in c["rows"]]})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", action="append", default=[], help="run id (repeat); the first is the baseline")
    ap.add_argument("--label", action="append", default=[], help="newest run with this label (repeat)")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    client = Client()
    by_label: dict[str, str] = {}
    for r in sorted(client.eval_suite_runs(500), key=lambda r: r["created_at"]):
        if r["status"] == "ok":
            by_label[r["label"]] = r["run_id"]
    missing = [lab for lab in args.label if lab not in by_label]
    if missing:
        raise SystemExit(f"no finished suite run labelled {missing} in {client.store.path} "
                         f"(`fincortex eval runs` lists them)")
    run_ids = args.run + [by_label[lab] for lab in args.label]
    if not run_ids:
        raise SystemExit("give at least one --run or --label")
    record = export(client, run_ids)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=1, default=str))
    print(f"wrote {args.out}")
    for run in record["runs"]:
        print(f"{run['label']:32s} {run['run_id']}  {run['wall_s']:.0f} s  chat={run['models']['chat']['name']}")
    for comp in record["comparisons"]:
        print(comp["b"], comp["areas"])


if __name__ == "__main__":
    main()
