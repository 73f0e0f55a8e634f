"""Data: what the database holds (stats), price charts and a document browser, read through the SDK."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from fincortex.ui import charts, common, doc_view

st.title("Data")


def _stats() -> dict | None:
    try:
        return common.client().stats()
    except Exception as exc:  # noqa: BLE001 - e.g. the database is busy or missing
        common.show_error("Reading database statistics", exc)
        return None


def _stats_section(stats: dict) -> None:
    cols = st.columns(5)
    cols[0].metric("documents", f"{stats.get('documents', 0):,}")
    cols[1].metric("chunks", f"{stats.get('chunks', 0):,}")
    cols[2].metric("price series", f"{len(stats.get('prices') or []):,}")
    cols[3].metric("ingest runs", f"{stats.get('ingest_runs', 0):,}")
    cols[4].metric("database", f"{(stats.get('db_bytes') or 0) / 1e6:,.1f} MB")
    if stats.get("available_from"):
        st.caption(f"documents available from {stats['available_from']} to {stats['available_to']}")
    left, right = st.columns(2)
    with left:
        st.markdown("**Documents by source**")
        st.dataframe(common.records(stats.get("by_source") or []), hide_index=True, width="stretch")
    with right:
        st.markdown("**Prices**")
        st.dataframe(common.records(stats.get("prices") or []), hide_index=True, width="stretch")


def _prices_section(stats: dict) -> None:
    series = {str(p["symbol"]): p for p in common.records(stats.get("prices") or [])}
    if not series:
        st.info("No prices yet: import a CSV on the Ingest page (Prices tab) or ingest the crypto-prices dataset.")
        return
    symbol = st.selectbox("Symbol", list(series), key="data_symbol")
    first = dt.date.fromisoformat(str(series[symbol]["first"])[:10])
    last = dt.date.fromisoformat(str(series[symbol]["last"])[:10])
    default_start = max(first, last - dt.timedelta(days=365))
    window = st.date_input(
        "Window", value=(default_start, last), min_value=first, max_value=last, key=f"data_window_{symbol}"
    )
    if not isinstance(window, (tuple, list)) or len(window) != 2:
        st.info("Pick the end date of the window too.")
        return
    start, end = window
    if start > end:
        st.error(f"Invalid window: start {start} is after end {end}.")
        return
    if common.require("prices"):
        try:
            frame = common.client().prices(symbol, start=start, end=dt.datetime.combine(end, dt.time.max))
        except Exception as exc:  # noqa: BLE001
            common.show_error(f"Reading {symbol} prices", exc)
            return
        bars = common.records(frame)
        if not bars:
            st.warning(f"No {symbol} bars between {start} and {end}.")
            return
        st.plotly_chart(charts.price_figure(bars, symbol), key="price_chart")
        st.caption(f"{len(bars):,} bars; last close {bars[-1]['close']:,.2f} on {str(bars[-1]['ts'])[:10]}")


def _documents_section(stats: dict) -> None:
    if not common.require("documents"):
        return
    by_source = common.records(stats.get("by_source") or [])
    cols = st.columns(4)
    source = cols[0].selectbox("Source", ["(all)"] + sorted({str(r["source"]) for r in by_source}), key="doc_source")
    doc_type = cols[1].selectbox("Type", ["(all)"] + sorted({str(r["doc_type"]) for r in by_source}), key="doc_type")
    ticker = cols[2].text_input("Ticker", key="doc_ticker").strip().upper()
    page = cols[3].number_input("Page", min_value=1, value=1, step=1, key="doc_page")
    per_page = 50
    try:
        docs = common.client().documents(
            limit=per_page, offset=(int(page) - 1) * per_page,
            source=None if source == "(all)" else source,
            doc_type=None if doc_type == "(all)" else doc_type,
            ticker=ticker or None,
        )
    except Exception as exc:  # noqa: BLE001
        common.show_error("Listing documents", exc)
        return
    rows = common.records(docs)
    if not rows:
        st.info("No documents match these filters.")
        return
    st.dataframe(rows, hide_index=True, width="stretch", key="doc_table")
    labels = {int(r["doc_id"]): f"{r.get('title') or r.get('uri')} · {r.get('ticker') or ''} · {str(r.get('available_at'))[:10]}"
              for r in rows}
    chosen = st.selectbox("Open a document", list(labels), format_func=labels.get, index=None,
                          key="doc_open", placeholder="choose a document")
    if chosen is not None:
        doc_view.show_document(chosen)


if common.require("stats") and common.db_ready():
    stats = _stats()
    if stats is not None:
        tab_stats, tab_prices, tab_docs = st.tabs(["Database", "Prices", "Documents"])
        with tab_stats:
            _stats_section(stats)
        with tab_prices:
            _prices_section(stats)
        with tab_docs:
            _documents_section(stats)
