"""Reliability suite (issue 19): crash safety, concurrent reads, hostile SQL/calculator corpora, bad inputs
and prompt injection, each measured in one run and written to benchmarks/results/reliability.json.

    python benchmarks/reliability.py                     # every part (~5-8 min on a busy 2-core box)
    python benchmarks/reliability.py --parts sql,calc,inputs --kills 3

Baselines in the same run: the hostile corpora also run against the SQL tool and calculator as they
were at commit d35fc97 (read with `git show`), so "leaked" has a before beside the after. The fast
parts also run in the default tests (tests/test_reliability_*.py).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TESTS = REPO / "tests"
sys.path.insert(0, str(TESTS))
sys.path.insert(0, str(Path(__file__).resolve().parent))
BASELINE = "d35fc97"
PARTS = ("sql", "calc", "inputs", "kill_ingest", "kill_index", "readers", "injection")


def _baseline_tools():
    """agents/common/tools.py as it was at BASELINE (the leaky SQL tool and calculator), or None."""
    try:
        source = subprocess.run(["git", "-C", str(REPO), "show", f"{BASELINE}:agents/common/tools.py"],
                                capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    module = types.ModuleType("baseline_tools")
    sys.modules["baseline_tools"] = module
    exec(compile(source, f"{BASELINE}:agents/common/tools.py", "exec"), module.__dict__)  # noqa: S102 - our own code
    return module


def part_sql(work: Path, timeout_s: float = 2.0) -> dict:
    from agents_support import make_world
    from hostile_sql import BENIGN, STATEMENTS, judge, plant_secrets, store_state

    from fincortex.agents.common.tools import ReadOnlySQL

    out = {"statements": len(STATEMENTS), "timeout_s": timeout_s}
    for name, module in (("current", None), (f"baseline_{BASELINE}", _baseline_tools())):
        if name != "current" and module is None:
            out[name] = {"error": "baseline source not available (no git)"}
            continue
        _, store = make_world(work / name / "store")
        world = plant_secrets(store, work / name / "secrets")
        tool = (ReadOnlySQL if module is None else module.ReadOnlySQL)(store, timeout_s=timeout_s)
        before, started = store_state(store), time.perf_counter()
        verdicts = [dict(judge(tool, world, sql, timeout_s, 1 << 20), category=cat) for cat, sql in STATEMENTS]
        benign_ok = 0
        for sql in BENIGN:
            try:
                tool(world.fill(sql))
                benign_ok += 1
            except Exception:  # noqa: BLE001 - counted
                pass
        leaked = [v for v in verdicts if v["leaked"]]
        by_cat: dict[str, list[int]] = {}
        for v in verdicts:
            by_cat.setdefault(v["category"], [0, 0])
            by_cat[v["category"]][0] += 1
            by_cat[v["category"]][1] += v["leaked"]
        out[name] = {"leaked": len(leaked), "store_unchanged": store_state(store) == before,
                     "benign_answered": f"{benign_ok}/{len(BENIGN)}", "seconds": round(time.perf_counter() - started, 1),
                     "by_category": {c: {"statements": n, "leaked": k} for c, (n, k) in by_cat.items()},
                     "leaks": [{"sql": v["sql"], "reasons": v["reasons"]} for v in leaked]}
    return out


def part_calc() -> dict:
    from hostile_calc import CORPUS, judge

    from fincortex.agents.common.tools import ToolError, calculate

    out: dict = {"expressions": len(CORPUS)}
    baseline = _baseline_tools()
    for name, calc, error in (("current", calculate, ToolError),
                              (f"baseline_{BASELINE}", getattr(baseline, "calculate", None), getattr(baseline, "ToolError", None))):
        if calc is None:
            out[name] = {"error": "baseline source not available"}
            continue
        verdicts = [judge(calc, error, e, v) for e, v in CORPUS if not (name != "current" and e == "round(1, -10**8)")]
        failed = [v for v in verdicts if not v["contained"]]
        out[name] = {"contained": len(verdicts) - len(failed), "failed": len(failed),
                     "failures": [{k: v[k] for k in ("expression", "expected", "outcome", "problem")} for v in failed]}
    out["note"] = ("the baseline skips round(1, -10**8): it does not return (unbounded ndigits), counted as failed"
                   if f"baseline_{BASELINE}" in out and "failed" in out[f"baseline_{BASELINE}"] else None)
    if out["note"]:
        out[f"baseline_{BASELINE}"]["failed"] += 1
    return out


def part_inputs(work: Path, mirror: Path, huge_mb: int) -> dict:
    from bad_inputs import build, judge

    from fincortex import Client

    expect = build(work / "corpus", mirror, huge_mb=huge_mb)
    started = time.perf_counter()
    report = Client(db=work / "inputs.duckdb").ingest([work / "corpus"])
    verdicts = judge(report.outcomes, expect)
    return {"entries": len(verdicts), "reported": sum(v["reported"] for v in verdicts),
            "seconds": round(time.perf_counter() - started, 1), "summary": report.summary(),
            "not_reported": [v for v in verdicts if not v["reported"]]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated subset of {', '.join(PARTS)}")
    parser.add_argument("--kills", type=int, default=5, help="kill -9 points per ingest")
    parser.add_argument("--index-kills", type=int, default=3, help="kill -9 points per index build")
    parser.add_argument("--files", type=int, default=120, help="ECTSum-train transcripts for the kill ingest")
    parser.add_argument("--index-files", type=int, default=30, help="transcripts whose chunks the killed build embeds")
    parser.add_argument("--huge-mb", type=int, default=40, help="size of the huge text file in the bad-input corpus")
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "reliability.json")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    mirror = Path(os.environ.get("FINCORTEX_DATA_MIRROR") or REPO.parent / "shared" / "data").resolve()
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        parser.error(f"unknown part(s) {unknown}; choose from {', '.join(PARTS)}")
    import torch

    torch.set_num_threads(1)
    results: dict = {"machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                                 "loadavg_1m_start": round(os.getloadavg()[0], 2)},
                     "args": {k: str(v) for k, v in vars(args).items()}, "parts": {}}
    with tempfile.TemporaryDirectory(prefix="fincortex-reliability-") as tmp:
        work = Path(tmp)
        os.environ["FINCORTEX_HOME"] = str(work / "home")
        from reliability_crash import kill_index, kill_ingest, readers_during_writes
        from reliability_injection import analyst_and_forecaster, trader

        runners = {
            "sql": lambda: part_sql(work / "sql"),
            "calc": part_calc,
            "inputs": lambda: part_inputs(work / "inputs", mirror, args.huge_mb),
            "kill_ingest": lambda: kill_ingest(mirror, work / "kill_ingest", args.kills, args.files, args.seed),
            "kill_index": lambda: kill_index(mirror, work / "kill_index", args.index_kills, args.index_files, args.seed),
            "readers": lambda: readers_during_writes(mirror, work / "readers", 20),
            "injection": lambda: {**{"analyst_forecaster": analyst_and_forecaster(work / "inject", REPO / "data" / "models")},
                                  "trader": trader(work / "trade", TESTS)},
        }
        for part in parts:
            started = time.perf_counter()
            print(f"[reliability] {part} ...", flush=True)
            try:
                results["parts"][part] = runners[part]()
            except Exception as exc:  # noqa: BLE001 - a part that breaks is a result, reported as such
                results["parts"][part] = {"error": f"{type(exc).__name__}: {exc}"}
            results["parts"][part]["wall_s"] = round(time.perf_counter() - started, 1)
            results["parts"][part]["loadavg_1m"] = round(os.getloadavg()[0], 2)
            print(f"[reliability] {part}: {json.dumps(_headline(part, results['parts'][part]))}", flush=True)
            _save(args.out, results, part)  # after every part: a long run that is stopped keeps what it measured
    print(json.dumps(json.loads(args.out.read_text())["headline"], indent=2))


def _save(out: Path, results: dict, part: str) -> None:
    """Merge this run's finished part into the JSON (other parts keep their last measured figures)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    saved = json.loads(out.read_text()) if out.exists() else {}
    saved.setdefault("parts", {})[part] = results["parts"][part]
    saved.setdefault("runs", {})[part] = {"machine": results["machine"], "args": results["args"]}
    saved["headline"] = {p: _headline(p, r) for p, r in saved["parts"].items()}
    out.write_text(json.dumps(saved, indent=2, default=str) + "\n")


def _headline(part: str, r: dict) -> dict:
    if "error" in r:
        return {"error": r["error"]}
    if part == "sql":
        return {k: v.get("leaked") for k, v in r.items() if isinstance(v, dict) and "leaked" in v} | {"of": r["statements"]}
    if part == "calc":
        return {k: v.get("failed") for k, v in r.items() if isinstance(v, dict) and "failed" in v} | {"of": r["expressions"]}
    if part == "inputs":
        return {"reported": r["reported"], "of": r["entries"]}
    if part in ("kill_ingest", "kill_index"):
        return {"kills": r["kills"], "survived": r["survived"]}
    if part == "readers":
        return {"reads": r["reads"], "errors": r["errors"]}
    if part == "injection":
        cases = r["analyst_forecaster"]["cases"] + r["trader"]["cases"]
        return {"cases": len(cases), "contained": sum(c["contained"] for c in cases)}
    return {}


if __name__ == "__main__":
    main()
