"""Forecasts: run a ForecastBench round (or an uploaded question set) in the background; metrics against
the baselines, a reliability diagram, and each question's probabilities, rationale and evidence."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import streamlit as st

from fincortex.ui import charts, common, job_view
from fincortex.ui.jobs import JobStatus

METHOD_LABELS = {"agent": "agent (calibrated when a calibration exists)", "agent_raw": "agent before calibration",
                 "agent_no_retrieval": "agent without retrieval", "market": "market / crowd at freeze time",
                 "always_0.5": "always 0.5"}
SOURCES = ["yfinance", "fred", "dbnomics", "polymarket", "manifold", "metaculus", "infer", "acled", "wikipedia"]

st.title("Forecasts")
st.caption("Every forecast is made as of the round's forecast date: the agent's searches cannot see anything "
           "published later, and calibration only learns from outcomes known before that date.")


@st.cache_data(show_spinner="Reading the ForecastBench rounds from the data mirror...", ttl=600)
def _rounds(db: str, mirror: str | None) -> dict[str, tuple[str, str]]:
    """{forecast date: (question file, resolution file)}: the rounds of the verified forecastbench dataset."""
    rounds = sorted(common.client().dataset_records("forecastbench"), key=lambda r: r.forecast_date, reverse=True)
    return {r.forecast_date: (str(r.questions), str(r.resolutions)) for r in rounds if r.resolutions}


def _mirror_rounds() -> dict[str, tuple[str, str]]:
    cfg = common.ui_settings()
    try:
        return _rounds(str(cfg.db), str(cfg.mirror) if cfg.mirror else None)
    except Exception as exc:  # noqa: BLE001 - e.g. no mirror and no network
        common.show_error("Loading the ForecastBench rounds", exc)
        return {}


def _save_upload(upload: Any, kind: str) -> Path | None:
    data = upload.getvalue()
    if not data:
        st.error(f"The {kind} file {upload.name} is empty.")
        return None
    try:
        json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        st.error(f"The {kind} file {upload.name} is not valid JSON: {exc}")
        return None
    folder = common.base_settings().home / "uploads" / "forecasts"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / Path(upload.name).name
    target.write_bytes(data)
    return target


def _form() -> dict[str, Any] | None:
    source = st.radio("Question set", ["A ForecastBench round", "Upload files"], horizontal=True, key="fc_source")
    files: tuple[str, str] | None = None
    if source == "A ForecastBench round":
        rounds = _mirror_rounds()
        if rounds:
            day = st.selectbox("Round (forecast date)", list(rounds), key="fc_round")
            files = rounds[day]
    else:
        c1, c2 = st.columns(2)
        q_up = c1.file_uploader("Question set (ForecastBench JSON)", type=["json"], key="fc_questions")
        r_up = c2.file_uploader("Resolution set (JSON)", type=["json"], key="fc_resolutions")
        if q_up is not None and r_up is not None:
            q_path, r_path = _save_upload(q_up, "question"), _save_upload(r_up, "resolution")
            if q_path and r_path:
                files = (str(q_path), str(r_path))
    with st.form("forecast_form"):
        c1, c2, c3 = st.columns(3)
        limit = c1.number_input("Questions (resolved targets)", min_value=1, max_value=2000, value=10, key="fc_limit")
        sources = c2.multiselect("Question sources (empty: all)", SOURCES, default=["yfinance"], key="fc_sources")
        calibration = c3.selectbox("Calibration", ["platt", "isotonic", "none"], key="fc_calibration")
        c4, c5, c6 = st.columns(3)
        samples = c4.number_input("Reasoning samples per model", min_value=1, max_value=16, value=1, key="fc_samples")
        retrieval = c5.checkbox("Retrieve evidence (point in time)", value=True, key="fc_retrieval")
        blind = c6.checkbox("Also run the agent without retrieval", value=True, key="fc_blind")
        c7, c8, c9 = st.columns(3)
        n_queries = c7.number_input("Extra search queries written by the model", min_value=0, max_value=5, value=2,
                                    key="fc_n_queries")
        articles = c8.number_input("Evidence articles per question", min_value=0, max_value=10, value=3,
                                   key="fc_articles")
        model = c9.text_input("Chat model (empty: the default)", key="fc_model").strip()
        go = st.form_submit_button("Run forecasts", type="primary")
    if not go:
        return None
    if files is None:
        st.error("Choose a ForecastBench round or upload both a question set and its resolution set.")
        return None
    params: dict[str, Any] = {
        "questions": files[0], "resolutions": files[1], "limit": int(limit), "sources": sources or None,
        "calibration": None if calibration == "none" else calibration, "no_retrieval_baseline": bool(blind),
        "samples": int(samples), "retrieval": bool(retrieval), "n_queries": int(n_queries),
        "max_articles": int(articles),
    }
    if model:
        params["models"] = [model]
    return params


def _metrics(report: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for method, m in (report.get("metrics") or {}).items():
        overall = m.get("overall") or {}
        rows.append({"method": METHOD_LABELS.get(method, method), **{k: overall.get(k) for k in
                     ("n", "brier", "log_loss", "ece", "reliability", "resolution", "uncertainty", "mean_p",
                      "base_rate") if k in overall}})
    return rows


def _question_table(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One line per question: every method's probability beside the outcome."""
    table: dict[tuple[str, str, str], dict[str, Any]] = {}
    for r in rows:  # a target is (question, source, resolution date): one question can resolve at several dates
        key = (str(r["question_id"]), str(r["source"]), str(r.get("resolution_date")))
        line = table.setdefault(key, {"question_id": key[0], "source": key[1], "resolution_date":
                                      r.get("resolution_date"), "outcome": r.get("outcome")})
        line[r["method"]] = r.get("probability")
    return list(table.values())


def _evidence(run_id: str) -> None:
    if not common.has("agent_run"):
        return
    try:
        run = common.client().agent_run(run_id)
    except Exception as exc:  # noqa: BLE001
        common.show_error(f"Reading agent run {run_id}", exc)
        return
    st.caption(f"run {run_id} · as of {run.get('as_of')} · model {run.get('model')} · {run.get('wall_s') or 0:.1f}s")
    st.markdown(f"**Question as the agent saw it:** {run.get('question')}")
    for call in run.get("tool_calls") or []:
        args = call.get("args")
        query = args.get("query") if isinstance(args, dict) else args
        with st.expander(f"{call['tool']} #{call['seq']}: {str(query)[:120]} · {len(call['chunks'])} chunk(s) · "
                         f"bounded at {call.get('as_of')}"):
            if not call["chunks"]:
                st.caption(call.get("summary") or "no result")
            for c in call["chunks"]:
                st.markdown(f"**{c.get('title') or c['chunk_id']}** · {c.get('ticker') or ''} · "
                            f"available {str(c.get('available_at'))[:16]} · score {c.get('score') or 0:.3f}")
                st.text(str(c.get("text") or "")[:1200])


def _result(job: JobStatus) -> None:
    report = (job.result or {}).get("report") or {}
    rows = (job.result or {}).get("rows") or []
    st.markdown(f"**Round {str(report.get('forecast_date'))[:10]}** · {report.get('n_targets')} targets · "
                f"eval {report.get('eval_id')} · {report.get('wall_s') or 0:.0f}s"
                + (f" · {report['questions_per_minute']:.1f} questions/min" if report.get("questions_per_minute") else ""))
    calib = report.get("calibration") or {}
    if calib.get("fitted"):
        st.caption(f"calibration {calib.get('method')}: fitted on {calib.get('n_train')} earlier outcomes "
                   f"(latest resolved {calib.get('max_resolution_date')})")
    elif calib.get("reason"):
        st.caption(calib["reason"])
    st.markdown("**Scores** (lower is better for Brier, log loss and ECE)")
    st.dataframe(_metrics(report), hide_index=True, width="stretch")
    methods = list(dict.fromkeys(r["method"] for r in rows))
    bins = []
    for method in methods:
        mine = [r for r in rows if r["method"] == method and r.get("outcome") is not None]
        bins += charts.reliability_bins([r["probability"] for r in mine], [r["outcome"] for r in mine],
                                        n_bins=10, series=method)
    st.plotly_chart(charts.reliability_figure(bins, title="Reliability diagram"), key=f"rel_{job.job_id}")
    questions = _question_table(rows)
    st.markdown("**Per question**")
    st.dataframe(questions, hide_index=True, width="stretch", height=300)
    agent_rows = [r for r in rows if r["method"] == "agent"]
    if not agent_rows:
        return
    labels = {i: f"{r['source']} · {str(r['question_id'])[:60]} · resolves {str(r.get('resolution_date'))[:10]} · "
                 f"p={r['probability']:.2f} · outcome {r.get('outcome')}" for i, r in enumerate(agent_rows)}
    pick = st.selectbox("Rationale and evidence for", list(labels), format_func=labels.get, key=f"fc_q_{job.job_id}")
    chosen = agent_rows[pick]
    c1, c2, c3 = st.columns(3)
    c1.metric("agent probability", f"{chosen['probability']:.2f}",
              delta=f"{chosen['probability'] - chosen['raw_probability']:+.2f} by calibration"
              if chosen.get("raw_probability") is not None else None)
    if chosen.get("market_value") is not None:
        c2.metric("market at freeze time", f"{chosen['market_value']:.2f}")
    c3.metric("outcome", str(chosen.get("outcome")))
    st.markdown("**Rationale**")
    st.write(chosen.get("rationale") or "(none recorded)")
    if chosen.get("run_id"):
        _evidence(chosen["run_id"])


if common.require("forecast") and common.db_ready():
    params = _form()
    if params is not None:
        job_view.start("forecast", params, label=f"Forecast {Path(params['questions']).name} "
                                                 f"({params['limit']} questions)")
    job_view.panel("forecast", _result)

if common.require("forecast_round") and common.db_ready():
    from fincortex.ui.views import forecast_members

    _all = _mirror_rounds()
    _folder = str(Path(next(iter(_all.values()))[0]).parent.parent) if _all else None
    forecast_members.section(_all, _folder)
