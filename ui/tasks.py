"""The SDK calls that dashboard jobs run inside the worker process, one function per job kind.

Each task takes the client, the JSON params the page sent and a progress reporter
`report(done, total, message)` (a line of the job's events.jsonl), and returns the SDK's report
(serialised by the worker). The SDK's jobs speak one progress protocol (fincortex/progress.py);
`events` is the dashboard's one adapter from it to the reporter.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from fincortex.client import Client
from fincortex.progress import Progress, ProgressEvent
from fincortex.ui.serialize import to_jsonable

Report = Callable[..., None]


class Unavailable(RuntimeError):
    """The SDK in this install does not offer the capability the job needs yet."""


def _sdk(client: Client, name: str) -> Callable[..., Any]:
    method = getattr(client, name, None)
    if not callable(method):
        raise Unavailable(f"Client.{name} is not available in this fincortex build yet")
    return method


def events(report: Report, totals: dict[str, int | None] | None = None) -> Progress:
    """ProgressEvents -> the job's reporter. An event that carries a per-item outcome (an ingest file) is
    tallied by kind ("3 added, 1 failed · last: a.pdf"); any other says its stage and message. `totals`:
    a stage's total the page knows before the job does (the files of an upload)."""
    counts: dict[str, int] = {}
    known = dict(totals or {})

    def on_event(event: ProgressEvent) -> None:
        total = event.total if event.total is not None else known.get(event.stage)
        kind = getattr(event.item, "outcome", None)
        if kind is not None:
            counts[kind] = counts.get(kind, 0) + 1
            summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
            report(sum(counts.values()), total, f"{summary} · last: {event.message}")
        else:
            report(event.done, total, f"{event.stage}: {event.message}" if event.message else event.stage)

    return on_event


def _ingest_result(report: Any) -> dict[str, Any]:
    return {"summary": report.summary(), "outcomes": report.outcomes}


def ingest(client: Client, params: dict[str, Any], report: Report) -> Any:
    """Files/folders (params["paths"]) or a public dataset (params["dataset"]), with per-file outcomes."""
    method = _sdk(client, "ingest")
    paths = params.get("paths") or None
    kwargs = {k: params[k] for k in ("doc_type", "ticker", "published_at", "source") if params.get(k)}
    # uploads are known files: their count is the total; a folder or dataset counts as it goes
    total = len(paths) if paths and all(Path(p).is_file() for p in paths) else None
    what = params.get("dataset") or f"{len(paths or [])} path(s)"
    report(0, total, f"ingesting {what}")
    result = method(paths, dataset=params.get("dataset"), progress=events(report, {"ingest": total}), **kwargs)
    return _ingest_result(result)


def pull(client: Client, params: dict[str, Any], report: Report) -> Any:
    method = _sdk(client, "pull")
    seen: list[str] = []

    def on_file(file: Any) -> None:
        seen.append(str(getattr(file, "relpath", file)))
        report(len(seen), None, f"verified {seen[-1]}")

    report(0, None, f"pulling {params['name']}")
    pulled = method(params["name"], on_file=on_file)
    return {
        "summary": {"dataset": pulled.name, "files": len(pulled.files), "folder": str(pulled.root)},
        "outcomes": [
            {"item": f.relpath, "outcome": "verified", "n_bytes": f.size, "license": f.license}
            for f in pulled.files
        ],
    }


def import_prices(client: Client, params: dict[str, Any], report: Report) -> Any:
    method = _sdk(client, "import_prices")
    report(0, None, f"importing {params['symbol']} prices")
    result = method(params["file"], params["symbol"])
    return {"summary": to_jsonable(result), "outcomes": []}


def index(client: Client, params: dict[str, Any], report: Report) -> Any:
    """Embed new chunks and bring the FAISS and BM25 indexes level with the database."""
    method = _sdk(client, "build_index")
    report(0, None, "loading the embedding model")
    return method(rebuild=bool(params.get("rebuild")), progress=events(report))


def _drawdowns(equity: list[float]) -> list[float]:
    peak, out = float("-inf"), []
    for value in equity:
        peak = max(peak, value)
        out.append(1 - value / peak if peak > 0 else 0.0)
    return out


def backtest_view(rep: Any) -> dict[str, Any]:
    """A BacktestReport as the Trading page draws it: metrics, curves, fills and decisions with evidence."""
    result = rep.result
    curves, fills, decisions = {}, [], []
    for agent, trace in result.traces.items():
        curves[agent] = [
            {"ts": ts, "equity": eq, "drawdown": dd, "cash": cash, "quantity": qty}
            for ts, eq, dd, cash, qty in zip(trace.ts, trace.equity, _drawdowns(list(trace.equity)),
                                              trace.cash, trace.quantity)
        ]
        for rec in trace.decisions:
            d = rec.decision
            if rec.fill is not None:
                f = rec.fill
                fills.append({"agent": agent, "decided_at": rec.decision_ts, "filled_at": f.ts, "side": f.side,
                              "quantity": f.quantity, "ref_price": f.ref_price, "fill_price": f.fill_price,
                              "fee": f.fee, "notional": f.notional, "realized_pnl": f.realized_pnl})
            view = rec.price_view
            decisions.append({
                "agent": agent, "decision_ts": rec.decision_ts, "action": d.action,
                "target_weight": rec.target_weight, "order_status": rec.order_status,
                "rationale": d.rationale, "scores": d.scores,
                "prices_seen": {"symbol": view.symbol, "n_bars": view.n_bars, "first_ts": view.first_ts,
                                "last_ts": view.last_ts, "max_available_at": view.max_available_at},
                "chunks_seen": [{"chunk_id": c.chunk_id, "available_at": c.available_at, "score": c.score}
                                for c in d.evidence.chunks],
                "memory_seen": [{"item_id": m.item_id, "available_at": m.available_at} for m in d.evidence.memory],
            })
    return to_jsonable({
        "run_id": rep.run_id, "config": rep.config, "metrics": rep.metrics, "wall_s": rep.wall_s,
        "leakage": rep.leakage.as_dict() if hasattr(rep.leakage, "as_dict") else rep.leakage,
        "curves": curves, "fills": fills, "decisions": decisions,
    })


def backtest(client: Client, params: dict[str, Any], report: Report) -> Any:
    """One simulation (or one per seed); the reporter sees each simulated day."""
    method = _sdk(client, "backtest")
    params = dict(params)
    symbol, start, end = params.pop("symbol"), params.pop("start"), params.pop("end")
    agents = tuple(params.pop("agents", ("buyhold",)))
    report(0, None, f"loading {symbol} bars and the agents")
    out = method(symbol, start, end, agents, progress=events(report), **params)
    runs = out if isinstance(out, list) else [out]
    return {"runs": [backtest_view(r) for r in runs]}


def merge(client: Client, params: dict[str, Any], report: Report) -> Any:
    """Merge from a saved YAML recipe; the SDK validates, merges, writes the lineage card, registers."""
    method = _sdk(client, "merge")
    report(0, None, "validating the recipe, then merging")
    result = method(params["recipe"], overwrite=bool(params.get("overwrite")), quiet=True)
    return {"summary": to_jsonable(result)}


def tune_cpt(client: Client, params: dict[str, Any], report: Report) -> Any:
    """Continual pretraining on ingested chunks (CPTConfig fields in params)."""
    method = _sdk(client, "tune_cpt")
    report(0, params.get("max_steps"), f"continual pretraining of {params.get('base', 'local')}")
    result = method(progress=events(report), **params)
    return {"summary": result.to_dict() if hasattr(result, "to_dict") else to_jsonable(result)}


def evaluate_lm(client: Client, params: dict[str, Any], report: Report) -> Any:
    """Held-out financial perplexity and chat retention of models against a reference."""
    method = _sdk(client, "evaluate_lm")
    rows = method(params["models"], reference=params.get("reference", "local"),
                  sources=params.get("sources") or None, n_chunks=int(params.get("n_chunks", 64)),
                  progress=events(report))
    return {"rows": [r.to_dict() if hasattr(r, "to_dict") else to_jsonable(r) for r in rows]}


def forecast(client: Client, params: dict[str, Any], report: Report) -> Any:
    """Forecast a question set and score it against the baselines (market, always 0.5, no retrieval)."""
    method = _sdk(client, "forecast")
    params = dict(params)
    questions, resolutions = params.pop("questions"), params.pop("resolutions")
    report(0, None, "loading the chat model and the question set")
    out = method(questions, resolutions, progress=events(report), **params)
    summary = out.as_dict() if hasattr(out, "as_dict") else to_jsonable(out)
    return to_jsonable({"report": summary, "rows": getattr(out, "rows", [])})


def forecast_round(client: Client, params: dict[str, Any], report: Report) -> Any:
    """The default forecaster (members stacked point-in-time) on a whole round, ForecastBench's scoring."""
    method = _sdk(client, "forecast_round")
    params = dict(params)
    report(0, None, "forecasting every target of the round with the chosen members")
    out = method(params.pop("questions"), **params)
    return to_jsonable({k: v for k, v in out.items() if k != "probabilities"})


def eval_suite(client: Client, params: dict[str, Any], report: Report) -> Any:
    """The evaluation suite for one model configuration (params: Client.eval_suite's keywords)."""
    method = _sdk(client, "eval_suite")
    run = method(progress=events(report), **params)
    return to_jsonable({"run_id": run["run_id"], "status": run["status"], "wall_s": run["wall_s"],
                        "units": {u: {"wall_s": s.wall_s, "reused_from": s.reused_from} for u, s in run["units"].items()}})


def tune_reranker(client: Client, params: dict[str, Any], report: Report) -> Any:
    """Train the search reranker (RerankTuneConfig fields in params); if_missing: keep an existing default."""
    method = _sdk(client, "tune_reranker")
    params = dict(params)
    if params.pop("if_missing", False):
        current = [m for m in client.models("reranker") if m.is_default and Path(m.path).is_dir()]
        if current:
            report(1, 1, f"default reranker {current[0].name} exists: nothing to train")
            return {"skipped": f"default reranker {current[0].name} exists ({current[0].path})"}
    report(0, None, "training the search reranker (search keeps working meanwhile, without reranking)")
    result = to_jsonable(method(progress=events(report), **params).to_dict())
    if result.get("metrics", {}).get("not_default_because"):
        report(1, 1, f"reranker not made the default: {result['metrics']['not_default_because']}")
    return result


def finish_search(client: Client, params: dict[str, Any], report: Report) -> Any:
    """What the demo leaves to the background after the BM25 index: embed every chunk into the dense index,
    calibrate the hybrid fusion weights for the embedder, then train the reranker (each step skipped when
    done already). Search works throughout: BM25 alone until the dense index exists (and says so), hybrid
    without rerank until the reranker exists."""
    report(0, 3, "step 1/3: embedding the chunks into the dense index (search runs on BM25 until it is done)")
    built = _sdk(client, "build_index")(progress=events(report))
    report(1, 3, "step 2/3: calibrating the hybrid fusion weights on the TAT-QA dev split")
    fusion = _sdk(client, "calibrate_fusion")(progress=events(report))
    report(2, 3, "step 3/3: the search reranker")
    reranker = tune_reranker(client, {"if_missing": True}, report)
    kept_out = (reranker.get("metrics") or {}).get("not_default_because") if isinstance(reranker, dict) else None
    report(3, 3, "search is complete: hybrid, not reranked (the trained reranker did not raise it)" if kept_out
           else "search is complete: hybrid + rerank")
    return to_jsonable({"index": built.get("sync"), "fusion": {k: fusion.get(k) for k in ("weights", "source", "skipped")},
                        "reranker": reranker})


TASKS: dict[str, Callable[[Client, dict[str, Any], Report], Any]] = {
    "ingest": ingest,
    "pull": pull,
    "import_prices": import_prices,
    "index": index,
    "backtest": backtest,
    "merge": merge,
    "tune_cpt": tune_cpt,
    "tune_reranker": tune_reranker,
    "finish_search": finish_search,
    "evaluate_lm": evaluate_lm,
    "forecast": forecast,
    "forecast_round": forecast_round,
    "eval_suite": eval_suite,
}
