"""One document as the analyst sees it: its metadata, then its chunks in order with pages and ids."""

from __future__ import annotations

from typing import Any

import streamlit as st

from fincortex.ui import common

META_FIELDS = ("title", "source", "doc_type", "ticker", "published_at", "available_at", "available_at_rule",
               "n_pages", "n_chunks", "uri")


def pages_label(chunk: dict[str, Any]) -> str:
    start, end = chunk.get("page_start"), chunk.get("page_end")
    if start is None:
        return ""
    return f"p. {start}" if end in (None, start) else f"pp. {start}-{end}"


def show_document(doc_id: int, highlight_chunk: int | None = None, max_chunks: int = 200) -> None:
    """Render a document read through `Client.document`; a missing id is reported, not raised."""
    if not common.require("document"):
        return
    try:
        doc = common.client().document(int(doc_id))
    except Exception as exc:  # noqa: BLE001 - the page explains and goes on
        common.show_error(f"Opening document {doc_id}", exc)
        return
    st.markdown(f"#### {doc.get('title') or doc.get('uri') or doc_id}")
    meta = {k: doc.get(k) for k in META_FIELDS if doc.get(k) is not None}
    st.dataframe([{"field": k, "value": str(v)} for k, v in meta.items()], hide_index=True, width="stretch")
    chunks = doc.get("chunks") or []
    st.caption(f"{len(chunks)} chunks" + (f" (showing the first {max_chunks})" if len(chunks) > max_chunks else ""))
    box = st.container(height=520)
    for chunk in chunks[:max_chunks]:
        where = pages_label(chunk)
        head = f"chunk {chunk.get('ordinal')} · id {chunk.get('chunk_id')}" + (f" · {where}" if where else "")
        if chunk.get("is_table"):
            head += " · table"
        if highlight_chunk is not None and chunk.get("chunk_id") == highlight_chunk:
            box.markdown(f"**{head} (the hit)**")
            box.info(chunk.get("text", ""))
        else:
            box.caption(head)
            box.text(chunk.get("text", ""))
