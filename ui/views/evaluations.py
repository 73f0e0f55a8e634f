"""Evaluations: suite runs (one model configuration through retrieval, forecasting, trading and the LM
evaluation) and the comparison of two of them, with paired intervals, verdicts and the report's plots."""

from __future__ import annotations

from typing import Any

import streamlit as st

from fincortex.ui import common, job_view
from fincortex.ui.jobs import JobStatus

st.title("Evaluations")
st.caption("A run carries one configuration (embedder, reranker, chat model) through every area on the mirror's "
           "dev data; compare two runs to see what a model change did, with 95% paired intervals.")


def _runs() -> list[dict[str, Any]]:
    try:
        return common.records(common.client().eval_suite_runs(limit=100))
    except Exception as exc:  # noqa: BLE001
        common.show_error("Listing suite runs", exc)
        return []


def _start_form() -> dict[str, Any] | None:
    with st.form("suite_form"):
        st.markdown("**New suite run**")
        cols = st.columns(3)
        embedder = cols[0].text_input("Embedder", placeholder="default: what search uses", key="suite_embedder")
        reranker = cols[1].text_input("Reranker", placeholder="default; or none, llm-first, a folder",
                                      key="suite_reranker")
        chat = cols[2].text_input("Chat model", placeholder="default: local", key="suite_chat")
        quick = st.checkbox("Quick (the small fixed subset of the dev data)", value=True, key="suite_quick")
        label = st.text_input("Label", key="suite_label")
        go = st.form_submit_button("Run suite", type="primary")
    if not go:
        return None
    return {"quick": quick, "embedder": embedder.strip() or None, "reranker": reranker.strip() or None,
            "chat_model": chat.strip() or None, "label": label.strip()}


def _started(job: JobStatus) -> None:
    result = job.result or {}
    st.success(f"Suite run {result.get('run_id')} stored ({result.get('wall_s', 0):,.0f} s).")
    st.dataframe([{"unit": u, **v} for u, v in (result.get("units") or {}).items()], hide_index=True,
                 width="stretch")


def _comparison(run_a: str, run_b: str) -> None:
    from fincortex.suite.report import PLOTS

    try:
        comparison = common.client().eval_compare(run_a, run_b)
    except Exception as exc:  # noqa: BLE001
        common.show_error("Comparing the runs", exc)
        return
    st.markdown("#### Verdict per area (B against A)")
    for area, verdict in comparison["areas"].items():
        st.markdown(f"- **{area}**: {verdict}")
    st.dataframe([{"unit": r.unit, "metric": r.metric, "A": r.a, "B": r.b, "B − A": r.diff, "CI low": r.ci_low,
                   "CI high": r.ci_high, "n": r.n, "verdict": r.verdict} for r in comparison["rows"]],
                 hide_index=True, width="stretch")
    if comparison["only_in"]["a"] or comparison["only_in"]["b"]:
        st.caption(f"Not compared (only one run has them): {comparison['only_in']}")
    for unit in sorted(comparison["units_a"].keys() & comparison["units_b"].keys()):
        ua, ub = comparison["units_a"][unit], comparison["units_b"][unit]
        plot = PLOTS.get(ua.part)
        if plot is not None:
            st.plotly_chart(plot(ua, ub), width="stretch", key=f"plot_{unit}")


if common.require("eval_suite_runs", "eval_compare") and common.db_ready():
    params = _start_form()
    if params is not None:
        job_view.start("eval_suite", params, label=f"Suite {'quick' if params['quick'] else 'full'} {params['label']}")
    job_view.panel("eval_suite", _started)
    runs = _runs()
    if not runs:
        st.info("No suite runs in this database yet: start one above or with `fincortex eval suite --quick`.")
    else:
        st.dataframe(runs, hide_index=True, width="stretch")
        ids = [r["run_id"] for r in runs]
        labels = {r["run_id"]: f"{r['run_id']} · {r['label'] or ''} · {r['profile']} · {r['status']}" for r in runs}
        cols = st.columns(2)
        run_a = cols[0].selectbox("A (baseline)", ids, index=min(1, len(ids) - 1), format_func=labels.get, key="suite_a")
        run_b = cols[1].selectbox("B", ids, index=0, format_func=labels.get, key="suite_b")
        if run_a == run_b:
            st.info("Pick two different runs to compare.")
        else:
            _comparison(run_a, run_b)
