"""The default forecaster on the Forecasts page: a whole ForecastBench round with members stacked
point-in-time, scored by ForecastBench's rules (market and dataset halves, Brier Index, CI vs the naive
forecaster), per-source table, the fitted member weights and the reliability diagram."""

from __future__ import annotations

from typing import Any

import streamlit as st

from fincortex.ui import charts, job_view
from fincortex.ui.jobs import JobStatus

MEMBERS = ["market", "base_rate", "own_history", "series", "llm_direct", "reasoning"]


def form(rounds: dict[str, tuple[str, str]], history_folder: str | None) -> dict[str, Any] | None:
    with st.form("forecast_round_form"):
        c1, c2 = st.columns(2)
        day = c1.selectbox("Round (forecast date)", list(rounds), key="fr_round") if rounds else None
        members = c2.multiselect("Members", MEMBERS, default=["market", "base_rate", "own_history", "series"],
                                 key="fr_members")
        c3, c4 = st.columns(2)
        history = c3.checkbox("Learn from the mirror's other rounds (only what was public before the due date)",
                              value=True, key="fr_history", disabled=history_folder is None)
        retrieval = c4.checkbox("Retrieve evidence for the LLM member (point in time)", value=False, key="fr_retrieval")
        go = st.form_submit_button("Run the default forecaster", type="primary")
    if not go:
        return None
    if day is None or not members:
        st.error("Choose a round and at least one member.")
        return None
    return {"questions": rounds[day][0], "resolutions": rounds[day][1], "members": members,
            "history": history_folder if history else None, "retrieval": bool(retrieval)}


def _fmt(x: Any) -> Any:
    return None if x is None else round(float(x), 4)


def result(job: JobStatus) -> None:
    out = job.result or {}
    st.markdown(f"**Round {out.get('forecast_date')}** · {out.get('n_targets')} targets · members "
                f"{', '.join(out.get('members') or [])} · {len(out.get('history_rounds') or [])} earlier rounds known")
    for note in out.get("notes") or []:
        st.caption(note)
    scores = out.get("scores") or {}
    st.markdown("**ForecastBench scores** (Brier, lower is better; Brier Index, higher is better)")
    st.dataframe([{"method": m, "overall": _fmt(s["overall"]["brier"]), "Brier Index": _fmt(s["overall"]["brier_index"]),
                   "market half": _fmt(s["market"]["brier"]), "dataset half": _fmt(s["dataset"]["brier"]),
                   "vs naive": _fmt((s.get("vs_naive") or {}).get("diff")),
                   "95% CI vs naive": str([round(v, 4) for v in s["vs_naive"]["ci95"]]) if s.get("vs_naive") else ""}
                  for m, s in scores.items()], hide_index=True, width="stretch")
    sources = sorted({src for s in scores.values() for src in s.get("by_source", {})})
    st.markdown("**Per source** (Brier, n)")
    st.dataframe([{"source": src, **{m: f"{s['by_source'][src]['brier']:.4f} ({s['by_source'][src]['n']})"
                                     for m, s in scores.items() if src in s.get("by_source", {})}}
                  for src in sources], hide_index=True, width="stretch")
    st.markdown("**Member weights** (stack per source family, fitted on outcomes public before the due date)")
    st.dataframe([{"family": fam, "kind": w.get("kind"), "n_train": w.get("n_train"), "member": w.get("member"),
                   **{f"w[{m}]": _fmt(v) for m, v in (w.get("logit_weight") or {}).items()}}
                  for fam, w in (out.get("weights") or {}).items()], hide_index=True, width="stretch")
    rows = out.get("rows") or []
    bins = []
    for method in ("default", "naive"):
        bins += charts.reliability_bins([r[method] for r in rows], [r["outcome"] for r in rows], n_bins=10, series=method)
    st.plotly_chart(charts.reliability_figure(bins, title="Reliability diagram (scored rows)"), key=f"frel_{job.job_id}")


def section(rounds: dict[str, tuple[str, str]], history_folder: str | None) -> None:
    st.subheader("Default forecaster: members stacked point-in-time")
    st.caption("Market value, base rates, the question's own history, series models and the LLM, weighted per "
               "source family by a stack fitted only on outcomes public before the round's due date.")
    params = form(rounds, history_folder)
    if params is not None:
        job_view.start("forecast_round", params, label=f"Default forecaster on {params['questions'].split('/')[-1]}")
    job_view.panel("forecast_round", result)
