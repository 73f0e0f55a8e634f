"""Search: hybrid retrieval with point-in-time and metadata filters, per-stage scores, document view."""

from __future__ import annotations

import datetime as dt
from typing import Any

import streamlit as st

from fincortex.retrieval.options import MODES  # named lists of first stages: hybrid, dense, bm25
from fincortex.ui import charts, common, doc_view, job_view

st.title("Search")


def _facets() -> tuple[list[str], list[str]]:
    """Doc types and sources present in the database (for the filter pickers)."""
    try:
        stats = common.client().stats()
    except Exception:  # noqa: BLE001 - the pickers just stay empty; the search itself reports errors
        return [], []
    rows = common.records(stats.get("by_source") or [])
    return sorted({str(r["doc_type"]) for r in rows}), sorted({str(r["source"]) for r in rows})


def _index_box() -> bool:
    """Whether the indexes cover every chunk; if not, offer to update them in the background. Returns
    whether a reranker is configured (then the search form reranks by default, as the SDK and CLI do)."""
    if not common.has("index_status"):
        return False
    try:
        status = common.client().index_status()
    except Exception as exc:  # noqa: BLE001
        common.show_error("Reading the index status", exc)
        return False
    active = [i for i in status.get("indexes") or [] if i.get("active")]
    current = bool(status.get("up_to_date"))
    model = (status.get("embedding_model") or {}).get("name")
    reranker = str(status.get("reranker") or "none")
    with st.expander(
        f"Index: {status.get('n_chunks', 0):,} chunks · {'up to date' if current else 'needs an update'} · "
        f"embedder {model}", expanded=not current,
    ):
        if active:
            st.dataframe(common.records(active), hide_index=True, width="stretch")
        st.caption(f"reranker: {reranker}")
        if not current:
            st.warning("Some chunks are not indexed yet: searches answer from the indexes as they are and say how "
                       "many matching chunks they leave out. Update the indexes to include them.")
        if st.button("Update index in the background", key="index_go", disabled=job_view.running("index")):
            job_view.start("index", {}, label="Update the search indexes")
        job_view.panel("index", lambda job: st.json(job.result.get("sync", job.result), expanded=False))
    job_view.follow_latest("finish_search")  # the demo embeds, calibrates and trains the reranker in the background
    if job_view.current("finish_search") is not None:
        st.caption("Finishing search in the background: dense index, fusion weights, reranker "
                   "(search answers from BM25 until the dense index exists, and reranks once the reranker is trained)")
        job_view.panel("finish_search", lambda job: st.json(job.result, expanded=False))
    job_view.follow_latest("tune_reranker")
    if job_view.current("tune_reranker") is not None:
        st.caption("Reranker training (search reranks once it is done)")
        job_view.panel("tune_reranker", lambda job: st.json(job.result, expanded=False))
    return not reranker.startswith("unavailable")


def _run_search(params: dict[str, Any]) -> dict[str, Any] | None:
    try:
        with st.spinner("Searching..."):
            results = common.client().search(**params)
    except Exception as exc:  # noqa: BLE001 - shown; the form stays usable
        common.show_error("Search", exc)
        return None
    payload = results.as_dict() if hasattr(results, "as_dict") else {"hits": common.records(results)}
    payload.setdefault("hits", [])
    return common.records([payload])[0]


def _hit_header(hit: dict[str, Any]) -> str:
    where = doc_view.pages_label(hit)
    bits = [hit.get("ticker"), hit.get("doc_type"), hit.get("source"), where,
            f"available {str(hit.get('available_at'))[:16].replace('T', ' ')}"]
    title = hit.get("title") or hit.get("uri") or f"doc {hit.get('doc_id')}"
    return f"#{hit.get('rank')} · {title} — " + " · ".join(str(b) for b in bits if b)


def _stage_row(hit: dict[str, Any]) -> dict[str, Any]:
    """rank, final score, then each stage's score (and its own rank for first stages)."""
    row: dict[str, Any] = {"rank": hit.get("rank"), "score": hit.get("score")}
    ranks = hit.get("ranks") or {}
    for name, value in (hit.get("scores") or {}).items():
        row[name] = value
        if name in ranks:
            row[f"{name} rank"] = ranks[name]
    return row


def _show_results(payload: dict[str, Any]) -> None:
    hits = payload.get("hits") or []
    timings = payload.get("timings_ms") or {}
    st.caption(
        f"{len(hits)} hit(s) · mode {payload.get('mode')} · reranked {payload.get('reranked')} · "
        f"filters: {payload.get('filters') or 'none'}"
        + (f" · {payload['n_allowed']:,} chunks allowed by the filters" if payload.get("n_allowed") is not None else "")
        + (" · " + ", ".join(f"{k} {v:,.0f} ms" for k, v in timings.items()) if timings else "")
    )
    for note in payload.get("warnings") or []:
        st.warning(note)
    if not hits:
        st.info("No results. Loosen the filters (an earlier as-of date hides later documents) or rephrase.")
        return
    stages = list(dict.fromkeys(name for h in hits for name in (h.get("scores") or {})))  # in stage order
    if stages:
        per_hit = [{"rank": h.get("rank"), **(h.get("scores") or {})} for h in hits]
        st.plotly_chart(charts.scores_figure(per_hit, stages), key="search_scores")
    for hit in hits:
        with st.container(border=True):
            st.markdown(f"**{_hit_header(hit)}**")
            st.write(hit.get("text", ""))
            st.dataframe([_stage_row(hit)], hide_index=True, width="stretch")
            if st.button("Open document", key=f"open_{hit.get('rank')}_{hit.get('chunk_id')}"):
                st.session_state["search_open"] = (hit.get("doc_id"), hit.get("chunk_id"))


if common.require("search") and common.db_ready():
    doc_types, sources = _facets()
    has_reranker = _index_box()
    with st.form("search_form"):
        query = st.text_input("Query", key="search_query", placeholder="e.g. guidance for data center revenue")
        c1, c2, c3, c4 = st.columns([1, 1, 1, 1])
        mode = c1.selectbox("Mode", list(MODES), key="search_mode")
        k = c2.number_input("Results (k)", min_value=1, max_value=50, value=8, step=1, key="search_k")
        rerank = c3.checkbox("Rerank (cross-encoder)", value=has_reranker, key="search_rerank",
                             help="Needs a reranker model; without one the results say so and are not reranked.")
        use_as_of = c4.checkbox("Point in time", value=False, key="search_use_as_of")
        c5, c6, c7, c8 = st.columns(4)
        as_of = c5.date_input("As of (end of day UTC, with Point in time)", value=dt.date.today(),
                              min_value=common.EARLIEST_DATE, key="search_as_of")
        tickers = c6.text_input("Tickers (comma separated)", key="search_tickers")
        types = c7.multiselect("Document types", doc_types, key="search_doc_types")
        srcs = c8.multiselect("Sources", sources, key="search_sources")
        submitted = st.form_submit_button("Search", type="primary")
    if submitted:
        if not query.strip():
            st.error("Type a query first.")
        elif use_as_of and as_of is None:
            st.error("Pick an as-of date or untick 'Point in time'.")
        elif use_as_of and as_of > dt.date.today():
            st.error(f"As-of date {as_of} is in the future; pick today or earlier.")
        else:
            params = {
                "query": query.strip(), "k": int(k), "mode": mode, "rerank": bool(rerank),
                "as_of": common.as_of_to_datetime(as_of) if use_as_of else None,
                "tickers": common.parse_list(tickers) or None,
                "doc_types": types or None,
            }
            if srcs:
                params["sources"] = srcs
            payload = _run_search(params)
            st.session_state["search_results"] = payload
            st.session_state.pop("search_open", None)
    payload = st.session_state.get("search_results")
    if payload:
        _show_results(payload)
    opened = st.session_state.get("search_open")
    if opened:
        st.divider()
        st.subheader("Document")
        doc_view.show_document(opened[0], highlight_chunk=opened[1])
