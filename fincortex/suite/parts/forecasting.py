"""Forecasting: walk-forward over the ForecastBench dev rounds in time order, ForecastBench rules.

Two units, because they depend on different models: the default (statistical) stack depends on none,
so it is computed once and reused by every configuration; the LLM direct member (no retrieval: it
depends on the chat model only) on a sparser subset, scored beside the stack on the same rows."""

from __future__ import annotations

import json
from typing import Any

from fincortex.suite.runs import UnitResult

VERSION = 1
DEPENDS = {"forecasting:stack": (), "forecasting:llm_direct": ("chat",)}
STACK_MEMBERS = ("market", "base_rate", "own_history", "series")


def units(config) -> list[str]:
    return list(DEPENDS)


def depends(unit: str) -> tuple[str, ...]:
    return DEPENDS[unit]


def item_key(due: str, key: tuple) -> str:
    """JSON of (due, *Key): combination question ids contain '|', so no plain separator is safe."""
    return json.dumps([due, *map(str, key)])


def walk_forward(ctx, members: tuple[str, ...], every: int, model: str | None) -> tuple[dict, dict, list]:
    """{method: {item: p}}, {item: Outcome}, per-round notes: each round as of its own due date, in order."""
    from fincortex.agents.forecasting.history import HistoryView, import_history
    from fincortex.agents.forecasting.members import build
    from fincortex.agents.forecasting.rounds import load_round, round_files, sample_round
    from fincortex.agents.forecasting.service import build_context
    from fincortex.agents.forecasting.walkforward import forecast_round, naive_forecast
    from fincortex.progress import report

    store = ctx.work_store("forecasting")
    folder = ctx.mirror / "forecastbench"
    import_history(store, folder)
    fctx = build_context(ctx.deps(store), store, members, model, False)
    built = {n: build(n, fctx) for n in members}
    pairs = round_files(folder)[: ctx.config.profile.forecast_rounds]
    methods: dict[str, dict[str, float]] = {"default": {}, "naive": {}, **{f"member:{n}": {} for n in members}}
    outcomes: dict[str, Any] = {}
    rounds = []
    for i, (qfile, rfile) in enumerate(pairs):
        rnd = sample_round(load_round(qfile, rfile), every)
        fc = forecast_round(store, rnd, members, fctx, built, backfill=False)
        naive = naive_forecast(rnd, HistoryView.load(store, rnd.forecast_date))
        due = f"{rnd.forecast_date:%Y-%m-%d}"
        outcomes.update({item_key(due, k): o for k, o in rnd.outcomes.items()})
        for k, p in fc.probabilities.items():
            methods["default"][item_key(due, k)] = p
            methods["naive"][item_key(due, k)] = naive[k]
            for n in members:
                v = fc.members[n].get(k)
                methods[f"member:{n}"][item_key(due, k)] = 0.5 if v is None else v
        rounds.append(due)
        report(ctx.progress, "forecasting rounds", i + 1, len(pairs))
    return methods, outcomes, rounds


def outcome_payload(outcomes: dict[str, Any]) -> dict[str, list]:
    return {k: [o.resolved_to, o.resolved, str(o.resolution_date) if o.resolution_date else None]
            for k, o in outcomes.items()}


def outcomes_from_payload(payload: dict[str, list]) -> dict[tuple, Any]:
    """Outcomes keyed like scoring expects (a tuple key per item), rebuilt from a stored unit."""
    from datetime import date

    from fincortex.agents.forecasting.rounds import Outcome

    return {tuple(json.loads(k)): Outcome(v[0], bool(v[1]), date.fromisoformat(v[2]) if v[2] else None)
            for k, v in payload.items()}


def _table(methods: dict[str, dict[str, float]], outcomes_payload: dict[str, list]) -> dict[str, Any]:
    from fincortex.agents.forecasting import scoring

    outcomes = outcomes_from_payload(outcomes_payload)
    keyed = {m: {tuple(json.loads(k)): p for k, p in f.items()} for m, f in methods.items()}
    table = scoring.table(keyed, outcomes, reference="naive")
    return {m: {"overall": t["overall"]["brier"], "ci95": t["overall"]["ci95"], "market": t["market"]["brier"],
                "dataset": t["dataset"]["brier"], "n": t["n"], "vs_naive": t.get("vs_naive")}
            for m, t in table.items()}


def run_unit(ctx, unit: str) -> UnitResult:
    profile = ctx.config.profile
    if unit == "forecasting:stack":
        members, every, model = STACK_MEMBERS, profile.forecast_sample_every, None
    else:
        members, every = ("llm_direct",), profile.llm_sample_every
        model = ctx.config.chat.path or ctx.config.chat.asked
    methods, outcomes, rounds = walk_forward(ctx, members, every, model)
    payload = {"outcomes": outcome_payload(outcomes)}
    primary = "default"
    summary = {"rounds": rounds, "members": list(members), "sample_every": every, "primary": primary,
               "model": model, "table": _table(methods, payload["outcomes"])}
    return UnitResult(summary, {f"p:{m}": f for m, f in methods.items()}, payload)
