"""Compare two suite runs unit by unit: paired differences (B - A) with 95% intervals and a verdict per
area. Retrieval: nDCG@10 of each run's default search, per query. Forecasting: ForecastBench overall
Brier, question-clustered paired bootstrap (lower is better). Trading: the ensemble's Sharpe, paired
stationary bootstrap over days. LM: figures side by side (aggregates: no interval)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from fincortex.store import Store
from fincortex.suite import paired, runs


@dataclass
class UnitComparison:
    unit: str
    part: str
    metric: str
    a: float | None
    b: float | None
    diff: float | None
    ci_low: float | None
    ci_high: float | None
    n: int | None
    higher_is_better: bool
    verdict: str
    detail: dict[str, Any] = field(default_factory=dict)


def _retrieval(ua: runs.StoredUnit, ub: runs.StoredUnit) -> list[UnitComparison]:
    out = []
    for metric in ("ndcg@10", "recall@10"):
        sa, sb = f"{metric}:{ua.summary['primary']}", f"{metric}:{ub.summary['primary']}"
        r = paired.mean_diff(ua.items.get(sa, {}), ub.items.get(sb, {}))
        out.append(UnitComparison(ua.unit, "retrieval", f"{metric} (default search: A {ua.summary['primary']}, "
                                  f"B {ub.summary['primary']})", r["a"], r["b"], r["diff"], r["ci_low"], r["ci_high"],
                                  r["n"], True, paired.verdict(r, True)))
    return out


def _financebench(ua: runs.StoredUnit, ub: runs.StoredUnit) -> list[UnitComparison]:
    out = []
    for series in ("page@5", "doc@5", "numeric_correct"):
        r = paired.mean_diff(ua.items.get(series, {}), ub.items.get(series, {}))
        out.append(UnitComparison(ua.unit, "financebench", f"analyst {series} (per question)", r["a"], r["b"],
                                  r["diff"], r["ci_low"], r["ci_high"], r["n"], True, paired.verdict(r, True)))
    return out


def _forecasting(ua: runs.StoredUnit, ub: runs.StoredUnit) -> list[UnitComparison]:
    from fincortex.agents.forecasting import scoring
    from fincortex.suite.parts.forecasting import outcomes_from_payload

    series = "p:default" if "p:default" in ua.items else next(iter(ua.items))
    shared = paired.common(ua.items[series], ub.items.get(series, {}))
    outcomes_all = outcomes_from_payload(ua.payload["outcomes"])
    keys = {tuple(json.loads(k)) for k in shared}
    outcomes = {k: o for k, o in outcomes_all.items() if k in keys}
    fa = {tuple(json.loads(k)): ua.items[series][k] for k in shared}
    fb = {tuple(json.loads(k)): ub.items[series][k] for k in shared}
    table = scoring.table({"A": fa, "B": fb}, outcomes, reference="A")
    vs = table["B"]["vs_A"]
    r = {"diff": vs["diff"], "ci_low": vs["ci95"][0], "ci_high": vs["ci95"][1]}
    return [UnitComparison(ua.unit, "forecasting", "overall Brier (ForecastBench rules)", table["A"]["overall"]["brier"],
                           table["B"]["overall"]["brier"], r["diff"], r["ci_low"], r["ci_high"], len(shared), False,
                           paired.verdict(r, False))]


def _trading(ua: runs.StoredUnit, ub: runs.StoredUnit) -> list[UnitComparison]:
    ppy = int(ua.summary.get("periods_per_year") or 365)
    r = paired.sharpe_diff(ua.items.get("ret:ensemble", {}), ub.items.get("ret:ensemble", {}), ppy)
    ma, mb = ua.summary["metrics"].get("ensemble", {}), ub.summary["metrics"].get("ensemble", {})
    return [UnitComparison(ua.unit, "trading", "ensemble Sharpe", ma.get("sharpe"), mb.get("sharpe"), r["diff"],
                           r["ci_low"], r["ci_high"], r["n"], True, paired.verdict(r, True),
                           {"max_drawdown": (ma.get("max_drawdown"), mb.get("max_drawdown"))})]


def _lm(ua: runs.StoredUnit, ub: runs.StoredUnit) -> list[UnitComparison]:
    skipped = ua.summary.get("skipped") or ub.summary.get("skipped")
    if skipped:
        return [UnitComparison(ua.unit, "lm", "LM evaluation", None, None, None, None, None, None, True,
                               "not evaluated", {"why": skipped})]
    out = []
    for metric, higher in (("fin_ppl", False), ("chat_score", True)):
        a, b = ua.summary.get(metric), ub.summary.get(metric)
        out.append(UnitComparison(ua.unit, "lm", metric, a, b, None if a is None or b is None else b - a, None, None,
                                  None, higher, "no interval"))
    return out


def area_verdict(verdicts: list[str]) -> str:
    """better if something improved and nothing got worse; worse the other way; mixed when both."""
    better, worse = "better" in verdicts, "worse" in verdicts
    if better and worse:
        return "mixed"
    if better or worse:
        return "better" if better else "worse"
    if "within noise" in verdicts:
        return "within noise"
    return "no interval" if "no interval" in verdicts else "not evaluated"


COMPARERS = {"retrieval": _retrieval, "financebench": _financebench, "forecasting": _forecasting, "trading": _trading, "lm": _lm}


def compare_runs(store: Store, run_a: str, run_b: str) -> dict[str, Any]:
    """Every unit both runs finished, compared; units only one run has are listed, not compared."""
    a, b = runs.get_run(store, run_a), runs.get_run(store, run_b)
    rows: list[UnitComparison] = []
    for unit in sorted(a["units"].keys() & b["units"].keys()):
        ua, ub = a["units"][unit], b["units"][unit]
        comparer = COMPARERS.get(ua.part)
        if comparer is not None:
            rows.extend(comparer(ua, ub))
    only = {"a": sorted(a["units"].keys() - b["units"].keys()), "b": sorted(b["units"].keys() - a["units"].keys())}
    areas = {part: area_verdict([r.verdict for r in rows if r.part == part]) for part in dict.fromkeys(r.part for r in rows)}
    return {"a": {k: a[k] for k in ("run_id", "label", "profile", "config", "status")},
            "b": {k: b[k] for k in ("run_id", "label", "profile", "config", "status")},
            "rows": rows, "areas": areas, "only_in": only, "units_a": a["units"], "units_b": b["units"]}
