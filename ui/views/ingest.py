"""Ingest: upload files or name a folder, pull a public dataset, import prices; each runs as a job."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import streamlit as st

from fincortex import access
from fincortex.ui import common, job_view
from fincortex.ui import uploads as upload_store
from fincortex.ui.jobs import JobStatus

DOC_TYPES = ["(auto)", "filing", "transcript", "news", "report", "text"]
UPLOAD_TYPES = ["pdf", "txt", "md", "html", "htm", "csv", "json", "jsonl"]

st.title("Ingest")
st.caption(
    "Everything runs in a background worker process: the page (and other pages) stay usable, and "
    "other processes can keep reading the database between ingestion batches."
)


def _save_uploads(files: list[Any]) -> tuple[list[str], list[str]]:
    """Uploads land under <home>/uploads (ui/uploads.py: Unicode names, no overwrites, streamed, bounded)."""
    settings = common.base_settings()
    return upload_store.save_uploads(files, settings.home / "uploads", settings.ui_upload_max_mb * 1_000_000)


def _server_path(text: str) -> Path | None:
    """The typed server path if it lies inside the ingest roots; otherwise the reason is shown."""
    try:
        return access.allowed_server_path(text, common.base_settings())
    except access.PathRefused as exc:
        st.error(str(exc))
        return None


def _metadata(prefix: str) -> dict[str, Any] | None:
    cols = st.columns(4)
    doc_type = cols[0].selectbox("Document type", DOC_TYPES, key=f"{prefix}_doc_type")
    ticker = cols[1].text_input("Ticker (optional)", key=f"{prefix}_ticker").strip().upper()
    source = cols[2].text_input("Source (optional)", key=f"{prefix}_source").strip()
    published = cols[3].date_input(
        "Published on (optional)", value=None, key=f"{prefix}_published", min_value=common.EARLIEST_DATE,
        max_value=dt.date.today(),
    )
    if ticker and not re.fullmatch(r"[A-Z0-9.\-^=]{1,15}", ticker):
        st.error(f"Ticker {ticker!r} is not a ticker symbol (letters, digits, '.', '-', up to 15).")
        return None
    return {
        "doc_type": None if doc_type == "(auto)" else doc_type,
        "ticker": ticker or None,
        "source": source or None,
        "published_at": published.isoformat() if published else None,
    }


def _outcome_table(job: JobStatus) -> None:
    """Summary counts, every failure spelled out, then one row per file or dataset item."""
    result = job.result if isinstance(job.result, dict) else {}
    summary = result.get("summary") or {}
    numbers = {k: v for k, v in summary.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    if numbers:
        cols = st.columns(min(len(numbers), 8))
        for col, (name, value) in zip(cols, list(numbers.items())[:8]):
            col.metric(name.replace("_", " "), f"{value:,.2f}" if isinstance(value, float) else f"{value:,}")
    texts = {k: v for k, v in summary.items() if k not in numbers and v is not None}
    if texts:
        st.caption(" · ".join(f"{k}: {v}" for k, v in texts.items()))
    rows = common.records(result.get("outcomes") or [])
    failed = [r for r in rows if r.get("outcome") == "failed"]
    for r in failed[:20]:
        st.error(f"{r.get('item')}: {r.get('reason')}")
    if len(failed) > 20:
        st.error(f"... and {len(failed) - 20} more failures (see the table).")
    if rows:
        st.dataframe(rows, hide_index=True, width="stretch")


if common.require("ingest"):
    tab_upload, tab_folder, tab_data, tab_prices = st.tabs(
        ["Upload files", "Folder", "Public datasets", "Prices"]
    )
    with tab_upload:
        with st.form("upload_form", clear_on_submit=False):
            uploads = st.file_uploader(
                "Files (PDF, text, HTML, Markdown, CSV, JSON)",
                type=UPLOAD_TYPES,
                accept_multiple_files=True,
                key="upload_files",
            )
            meta = _metadata("up")
            submitted = st.form_submit_button("Ingest uploads", type="primary")
        if submitted:
            if not uploads:
                st.error("Choose at least one file to upload.")
            elif meta is not None:
                paths, problems = _save_uploads(uploads)
                for p in problems:
                    st.error(p)
                if paths:
                    job_view.start("ingest", {"paths": paths, **meta}, label=f"Ingest {len(paths)} upload(s)")
    with tab_folder:
        with st.form("folder_form"):
            folder = st.text_input("Folder or file path on the server", key="folder_path")
            meta_f = _metadata("fo")
            go = st.form_submit_button("Ingest folder", type="primary")
        if go:
            path = _server_path(folder) if folder.strip() else None
            if not folder.strip():
                st.error("Type a folder or file path.")
            elif path is None:
                pass  # refused: the reason is on the page
            elif not path.exists():
                st.error(f"Path {path} does not exist on the server.")
            elif meta_f is not None:
                job_view.start("ingest", {"paths": [str(path)], **meta_f}, label=f"Ingest {path.name}")
    with tab_data:
        if common.require("list_datasets", "pull"):
            try:
                catalogue = common.records(common.client().list_datasets())
            except Exception as exc:  # noqa: BLE001 - shown to the user
                common.show_error("Listing datasets", exc)
                catalogue = []
            if catalogue:
                st.dataframe(catalogue, hide_index=True, width="stretch")
                cols = st.columns([2, 1])
                name = cols[0].selectbox("Dataset", [str(r["name"]) for r in catalogue], key="pull_name")
                subset = cols[1].text_input("Subset (optional, e.g. val)", key="pull_subset").strip()
                spec = f"{name}:{subset}" if subset else name
                b1, b2 = st.columns(2)
                if b1.button("Pull (download / copy and verify)", key="pull_go"):
                    job_view.start("pull", {"name": spec}, label=f"Pull {spec}")
                if b2.button("Pull and ingest", key="pull_ingest_go", type="primary"):
                    job_view.start("ingest", {"dataset": spec}, label=f"Ingest dataset {spec}")
    with tab_prices:
        if common.require("import_prices"):
            with st.form("prices_form"):
                price_file = st.file_uploader("Price CSV", type=["csv"], key="price_upload")
                price_path = st.text_input("…or a CSV path on the server", key="price_path")
                symbol = st.text_input("Symbol (e.g. BTC-USD)", key="price_symbol").strip().upper()
                go_prices = st.form_submit_button("Import prices", type="primary")
            if go_prices:
                if not symbol:
                    st.error("Type the symbol these prices belong to.")
                elif price_file is None and not price_path.strip():
                    st.error("Upload a CSV or type its path.")
                else:
                    if price_file is not None:
                        saved, problems = _save_uploads([price_file])
                        for p in problems:
                            st.error(p)
                        target = saved[0] if saved else None
                    else:
                        p = _server_path(price_path)
                        target = str(p) if p is not None and p.is_file() else None
                        if p is not None and target is None:
                            st.error(f"Price file {p} does not exist on the server.")
                    if target:
                        job_view.start(
                            "import_prices", {"file": target, "symbol": symbol}, label=f"Import {symbol} prices"
                        )

    st.subheader("Jobs")
    st.markdown("**Ingestion**")
    job_view.panel("ingest", _outcome_table)
    if common.has("pull"):
        st.markdown("**Dataset pulls**")
        job_view.panel("pull", _outcome_table)
    if common.has("import_prices"):
        st.markdown("**Price imports**")
        job_view.panel("import_prices", _outcome_table)
