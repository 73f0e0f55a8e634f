"""Forecast evaluation: proper scores, calibration error, Brier decomposition, reliability diagram,
baselines in the same table, a per-source breakdown, everything stored in DuckDB.

Methods scored on the same targets:
- `agent`: the forecasting agent with point-in-time retrieval (calibrated when a map fitted on
  resolved-before-date history exists; `agent_raw` then shows the uncalibrated numbers too);
- `agent_no_retrieval`: the same agent and prompts without retrieval;
- `market`: the freeze-time market/community value, on the targets that carry one;
- `always_0.5`: the uninformed baseline.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from fincortex.agents.common.deps import AgentDeps
from fincortex.agents.common.runs import to_json
from fincortex.progress import Progress, report as report_progress
from fincortex.agents.forecasting.calibration import CalibrationUnavailable, Calibrator, fit_for_date
from fincortex.agents.forecasting.forecastbench import ForecastQuestion, load_targets, take
from fincortex.agents.forecasting.graph import ForecastConfig, Forecaster, ForecastResult
from fincortex.agents.forecasting.rounds import direction_text
from fincortex.store import Store

EPS = 1e-6
N_BINS = 10


# -- metrics -----------------------------------------------------------------------------------------
def brier(p: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean((p - y) ** 2))


def log_loss(p: np.ndarray, y: np.ndarray) -> float:
    q = np.clip(p, EPS, 1 - EPS)
    return float(-np.mean(y * np.log(q) + (1 - y) * np.log(1 - q)))


def _bins(p: np.ndarray, n_bins: int) -> np.ndarray:
    return np.minimum((p * n_bins).astype(int), n_bins - 1)


def ece(p: np.ndarray, y: np.ndarray, n_bins: int = N_BINS) -> float:
    """Expected calibration error: sum over equal-width bins of |bin share| * |mean p - mean y|."""
    b = _bins(p, n_bins)
    total = 0.0
    for k in np.unique(b):
        m = b == k
        total += m.mean() * abs(p[m].mean() - y[m].mean())
    return float(total)


def brier_decomposition(p: np.ndarray, y: np.ndarray, n_bins: int = N_BINS) -> dict[str, float]:
    """Murphy (1973): Brier = reliability - resolution + uncertainty (+ within-bin terms when the
    forecasts inside a bin differ; reported as `residual` so the identity is checkable)."""
    base = float(y.mean())
    b = _bins(p, n_bins)
    rel = res = 0.0
    for k in np.unique(b):
        m = b == k
        w = m.mean()
        rel += w * (p[m].mean() - y[m].mean()) ** 2
        res += w * (y[m].mean() - base) ** 2
    unc = base * (1 - base)
    return {"reliability": float(rel), "resolution": float(res), "uncertainty": float(unc),
            "residual": float(brier(p, y) - (rel - res + unc))}


def score(p: list[float] | np.ndarray, y: list[float] | np.ndarray) -> dict[str, Any]:
    p, y = np.asarray(p, dtype=float), np.asarray(y, dtype=float)
    if len(p) == 0:
        return {"n": 0}
    return {"n": int(len(p)), "brier": brier(p, y), "log_loss": log_loss(p, y), "ece": ece(p, y),
            **brier_decomposition(p, y), "mean_p": float(p.mean()), "base_rate": float(y.mean())}


def metrics_table(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """rows: {method, source, probability, outcome} -> {method: {overall, by_source: {source: metrics}}}."""
    out: dict[str, dict[str, Any]] = {}
    for method in dict.fromkeys(r["method"] for r in rows):
        mine = [r for r in rows if r["method"] == method]
        by_source = {}
        for source in sorted({r["source"] for r in mine}):
            sub = [r for r in mine if r["source"] == source]
            by_source[source] = score([r["probability"] for r in sub], [r["outcome"] for r in sub])
        out[method] = {"overall": score([r["probability"] for r in mine], [r["outcome"] for r in mine]),
                       "by_source": by_source}
    return out


def reliability_plot(rows: list[dict[str, Any]], path: str | Path, title: str = "", n_bins: int = N_BINS) -> Path:
    """Reliability diagram (observed frequency vs mean forecast per bin) with a forecast histogram."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, (ax, hist) = plt.subplots(2, 1, figsize=(6, 7), gridspec_kw={"height_ratios": [3, 1]}, sharex=True)
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="perfect calibration")
    styles = [("-", "o"), ("--", "s"), (":", "^"), ("-.", "D"), ("-", "v")]
    for i, method in enumerate(dict.fromkeys(r["method"] for r in rows)):
        line, marker = styles[i % len(styles)]
        p = np.array([r["probability"] for r in rows if r["method"] == method])
        y = np.array([r["outcome"] for r in rows if r["method"] == method])
        b = _bins(p, n_bins)
        xs, ys, ns = [], [], []
        for k in np.unique(b):
            m = b == k
            xs.append(p[m].mean())
            ys.append(y[m].mean())
            ns.append(int(m.sum()))
        ax.plot(xs, ys, ls=line, marker=marker, alpha=0.8, label=f"{method} (Brier {brier(p, y):.3f}, n={len(p)})")
        hist.hist(p, bins=n_bins, range=(0, 1), histtype="step", ls=line, lw=1.5, label=method)
    ax.set_ylabel("observed frequency of Yes")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8, loc="upper left")
    ax.set_title(title or "Reliability diagram")
    hist.set_xlabel("forecast probability")
    hist.set_ylabel("count")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


# -- the evaluation run ------------------------------------------------------------------------------
@dataclass(frozen=True)
class EvalOptions:
    limit: int | None = None
    sources: tuple[str, ...] | None = None
    calibration: str | None = "platt"  # platt | isotonic | None
    no_retrieval_baseline: bool = True
    cpu_threads: int | None = None


@dataclass
class EvalReport:
    eval_id: str
    forecast_date: datetime
    counts: dict[str, int]
    n_targets: int
    metrics: dict[str, dict[str, Any]]
    calibration: dict[str, Any]
    rows: list[dict[str, Any]]
    wall_s: float
    agent_key: str
    config: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"eval_id": self.eval_id, "forecast_date": self.forecast_date.isoformat(), "counts": self.counts,
                "n_targets": self.n_targets, "agent_key": self.agent_key, "config": self.config,
                "calibration": self.calibration, "metrics": self.metrics, "wall_s": self.wall_s,
                "moved_from_market": moved_summary(self.rows),
                "questions_per_minute": (self.n_targets / self.wall_s * 60) if self.wall_s else None}


def evaluate(deps: AgentDeps, questions_file: str | Path, resolutions_file: str | Path,
             config: ForecastConfig | None = None, options: EvalOptions | None = None,
             json_out: str | Path | None = None, plot: str | Path | None = None,
             progress: Progress | None = None) -> EvalReport:
    """Forecast every resolved target of a round (or `limit` of them), score every method, store all
    (in deps.store); the agent searches through deps.search, bound to each question's forecast date."""
    store = deps.store
    if store is None:
        raise ValueError("a forecast evaluation stores every forecast: AgentDeps.store must be a Store, not None")
    config = config or ForecastConfig()
    options = options or EvalOptions()
    loaded = load_targets(questions_file, resolutions_file, options.sources)
    targets = take(loaded.targets, options.limit)
    if not targets:
        raise ValueError(f"no resolved targets in {resolutions_file} for {questions_file}"
                         + (f" and sources {list(options.sources)}" if options.sources else "") + f": {loaded.counts}")
    if options.cpu_threads:
        import torch

        torch.set_num_threads(int(options.cpu_threads))
    deps = deps.with_chats({spec: deps.chat_model(spec) for spec in config.models})  # one load, both agents
    agent = Forecaster(deps, config)
    blind = Forecaster(deps, replace(config, retrieval=False)) if options.no_retrieval_baseline else None
    agent_key = agent.agent_key()

    eval_id = uuid.uuid4().hex[:16]
    started = time.perf_counter()
    run_config = {"forecast": config.as_dict(), "options": {**options.__dict__, "sources": list(options.sources or [])},
                  "counts": loaded.counts}
    with store.write() as conn:
        conn.execute("INSERT INTO forecast_evals (eval_id, created_at, status, questions_file, resolutions_file, "
                     "forecast_date, n_targets, config) VALUES (?, now(), 'running', ?, ?, ?, ?, ?)",
                     [eval_id, str(questions_file), str(resolutions_file), loaded.forecast_date, len(targets),
                      to_json(run_config)])

    calibrator, calibration_info = None, {"method": options.calibration, "fitted": False}
    if options.calibration:
        try:
            calibrator = fit_for_date(store, agent_key, loaded.forecast_date, options.calibration)
            with store.read() as conn:
                n, max_date = conn.execute("SELECT n_train, max_resolution_date FROM calibration_models "
                                           "WHERE calibration_id = ?", [calibrator.calibration_id]).fetchone()
            calibration_info = {"method": options.calibration, "fitted": True, "calibration_id": calibrator.calibration_id,
                                "n_train": n, "max_resolution_date": str(max_date),
                                "fitted_for": loaded.forecast_date.isoformat()}
        except CalibrationUnavailable as exc:
            calibration_info["reason"] = (f"no calibration: {exc} among this agent's stored forecasts resolved "
                                          f"before {loaded.forecast_date:%Y-%m-%d}")

    rows: list[dict[str, Any]] = []
    try:
        for i, q in enumerate(targets):
            report_progress(progress, "forecast", i, len(targets), f"{q.source}:{q.id[:12]}")
            result = agent.forecast(q, calibrator)
            rows += _rows_for(q, result, calibrator, agent_key)
            if blind is not None:
                rows.append(_row(q, "agent_no_retrieval", blind.forecast(q), agent_key=None))
            if q.market_value is not None:
                rows.append(_baseline(q, "market", q.market_value))
            rows.append(_baseline(q, "always_0.5", 0.5))
        report_progress(progress, "forecast", len(targets), len(targets), "done")
    except BaseException as exc:
        with store.write() as conn:
            conn.execute("UPDATE forecast_evals SET status = 'failed', finished_at = now(), error = ? WHERE eval_id = ?",
                         [f"{type(exc).__name__}: {exc}", eval_id])
        raise
    wall = time.perf_counter() - started
    metrics = metrics_table(rows)
    _store_rows(store, eval_id, loaded.forecast_date, rows)
    with store.write() as conn:
        conn.execute("UPDATE forecast_evals SET status = 'ok', finished_at = now(), metrics = ?, wall_s = ? "
                     "WHERE eval_id = ?", [to_json({"metrics": metrics, "calibration": calibration_info}), wall, eval_id])
    report = EvalReport(eval_id, loaded.forecast_date, loaded.counts, len(targets), metrics, calibration_info, rows,
                        wall, agent_key, run_config)
    if json_out:
        Path(json_out).parent.mkdir(parents=True, exist_ok=True)
        Path(json_out).write_text(json.dumps(report.as_dict(), indent=2, default=str))
    if plot:
        reliability_plot(rows, plot, title=f"ForecastBench round {loaded.forecast_date:%Y-%m-%d}, n={len(targets)}")
    return report


def _rows_for(q: ForecastQuestion, result: ForecastResult, calibrator: Calibrator | None,
              agent_key: str) -> list[dict[str, Any]]:
    rows = [_row(q, "agent", result, agent_key=agent_key)]
    if calibrator is not None:  # the uncalibrated numbers, scored side by side
        rows.append({**rows[0], "method": "agent_raw", "probability": result.raw_probability, "agent_key": None})
    return rows


def _row(q: ForecastQuestion, method: str, result: ForecastResult, agent_key: str | None) -> dict[str, Any]:
    return {"method": method, "question_id": q.id, "source": q.source, "resolution_date": q.resolution_date,
            "direction": direction_text(q.direction), "probability": result.probability, "raw_probability": result.raw_probability, "outcome": q.outcome,
            "market_value": q.market_value, "run_id": result.run_id, "calibration_id": result.calibration_id,
            "rationale": result.rationale, "n_chunks": len(result.evidence), "agent_key": agent_key,
            "moved_from_market": result.moved_from_market, "n_retrieved": result.n_retrieved}


def _baseline(q: ForecastQuestion, method: str, p: float) -> dict[str, Any]:
    return {"method": method, "question_id": q.id, "source": q.source, "resolution_date": q.resolution_date,
            "direction": direction_text(q.direction), "probability": float(p), "raw_probability": float(p), "outcome": q.outcome, "market_value": q.market_value,
            "run_id": None, "calibration_id": None, "rationale": None, "n_chunks": 0, "agent_key": None,
            "moved_from_market": None, "n_retrieved": 0}


def _store_rows(store: Store, eval_id: str, forecast_date: datetime, rows: list[dict[str, Any]]) -> None:
    with store.write() as conn:
        conn.executemany(
            "INSERT INTO forecasts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now(), ?)",
            [[eval_id, r["method"], r["question_id"], r["source"], r["resolution_date"], forecast_date,
              r["agent_key"], r["run_id"], r["raw_probability"], r["probability"],
              r["calibration_id"], r["market_value"], r["outcome"], r["rationale"], r["n_chunks"],
              r.get("direction") or None] for r in rows])


def list_evals(store: Store, limit: int = 20) -> list[dict[str, Any]]:
    return store.rows("SELECT eval_id, created_at, status, forecast_date, n_targets, wall_s, questions_file "
                      "FROM forecast_evals ORDER BY created_at DESC LIMIT ?", [limit])


def moved_summary(rows: list[dict[str, Any]]) -> dict[str, float] | None:
    """How far the agent moved from the market value, on targets that carry one."""
    moved = [r["moved_from_market"] for r in rows if r["method"] == "agent" and r.get("moved_from_market") is not None]
    if not moved:
        return None
    arr = np.asarray(moved)
    return {"n": len(arr), "mean_abs": float(np.abs(arr).mean()), "mean": float(arr.mean()),
            "max_abs": float(np.abs(arr).max())}



def eval_rows(store: Store, eval_id: str) -> list[dict[str, Any]]:
    """The stored (method, source, probability, outcome, ...) rows of one evaluation."""
    rows = store.rows("SELECT method, question_id, source, resolution_date, probability, raw_probability, "
                      "outcome, market_value, run_id FROM forecasts WHERE eval_id = ? ORDER BY method, source, "
                      "question_id", [eval_id])
    if not rows:
        raise KeyError(f"no forecasts stored for evaluation {eval_id!r}")
    return rows


def plot_eval(store: Store, eval_id: str, path: str | Path) -> Path:
    """Reliability diagram of a stored evaluation (re-drawn from DuckDB)."""
    rows = eval_rows(store, eval_id)
    with store.read() as conn:
        when = conn.execute("SELECT forecast_date FROM forecast_evals WHERE eval_id = ?", [eval_id]).fetchone()[0]
    n = sum(r["method"] == "always_0.5" for r in rows)
    return reliability_plot(rows, path, title=f"ForecastBench round {when:%Y-%m-%d}, n={n}")
