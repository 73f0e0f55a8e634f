"""One round with the default forecaster (the SDK and CLI call this): load the question set, forecast
every target with the chosen members stacked point-in-time, optionally score it against a resolution
set next to the baselines, and write a ForecastBench submission file (re-read and re-scored, so the
file is what was scored)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fincortex.agents.forecasting import scoring
from fincortex.agents.forecasting.forecastbench import MARKET_SOURCES
from fincortex.agents.forecasting.history import HistoryView, history_rounds, import_history
from fincortex.agents.forecasting.members import parse_members
from fincortex.agents.forecasting.rounds import load_round
from fincortex.agents.forecasting.submission import read_submission, submission, write_submission
from fincortex.agents.forecasting.walkforward import forecast_round, naive_forecast

LLM_MEMBERS = ("llm_direct", "reasoning")


def build_context(deps: Any, store: Any, names: tuple[str, ...], model: str | None, retrieval: bool) -> dict[str, Any]:
    """What members are built from: the store, and for the LLM members the agent deps' chat model and
    (with retrieval) its point-in-time search."""
    ctx: dict[str, Any] = {"store": store, "deps": deps}
    if any(n in LLM_MEMBERS for n in names):
        ctx["spec"] = model or deps.settings.llm or "local"
        ctx["chat"] = deps.chat_model(ctx["spec"])
        ctx["search_fn"] = deps.search if retrieval else None
    return ctx


def forecast_file(deps: Any, store: Any, questions: str | Path, *, resolutions: str | Path | None = None,
                  members: str | tuple[str, ...] | None = None, model: str | None = None, retrieval: bool = True,
                  history: str | Path | None = None, submission_path: str | Path | None = None,
                  organization: str = "fincortex", model_name: str | None = None) -> dict[str, Any]:
    names = parse_members(members)
    if history is not None:
        import_history(store, history)
    rnd = load_round(questions, resolutions)
    ctx = build_context(deps, store, names, model, retrieval)
    fc = forecast_round(store, rnd, names, ctx)
    known = [d for d in history_rounds(store) if d < rnd.forecast_date.date()]
    notes = list(fc.notes)
    if not known:
        notes.append("no earlier round in the history (fincortex forecast history import DIR): "
                     "every family uses the fixed member order, nothing learned")
    report: dict[str, Any] = {"forecast_date": f"{rnd.forecast_date:%Y-%m-%d}", "n_targets": len(rnd.targets),
                              "members": list(names), "history_rounds": [str(d) for d in known],
                              "weights": fc.weights(), "member_seconds": fc.member_seconds, "notes": notes,
                              "probabilities": fc.probabilities}
    if submission_path is not None:
        data = submission(rnd, fc.probabilities, organization, model_name or "fincortex-" + "+".join(names))
        report["submission"] = str(write_submission(submission_path, data))
    if rnd.outcomes:
        naive = naive_forecast(rnd, HistoryView.load(store, rnd.forecast_date))
        scored = fc.probabilities
        if submission_path is not None:
            scored = read_submission(submission_path)[1]  # score the file itself
        methods = {"default": scored, "naive": naive, "always_0.5": {k: 0.5 for k in naive},
                   "market_freeze": {k: v for k, v in naive.items() if k[1] in MARKET_SOURCES}}
        report["scores"] = scoring.table(methods, rnd.outcomes, reference="naive")
        report["rows"] = [{"id": k[0], "source": k[1], "resolution_date": k[2] or None, "direction": k[3] or None,
                           "default": scored.get(k, 0.5), "naive": naive.get(k, 0.5), "outcome": y}
                          for _, k, y in scoring.scored_rows(rnd.outcomes)]
    return report
