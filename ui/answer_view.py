"""How an analyst answer is drawn: citations numbered like the passages the agent read, each source
expandable to its chunk text, document, page and date (shared by the Ask page and its tests)."""

from __future__ import annotations

import re
from typing import Any

import streamlit as st

from fincortex.ui import doc_view

CHUNK_REF = re.compile(r"\[chunk (\d+)\]")


def numbered(answer: str, refs: dict[int, int]) -> str:
    """'... [chunk 123] ...' -> '... [2] ...' where 2 is the passage number the agent saw chunk 123 under."""
    return CHUNK_REF.sub(lambda m: f"[{refs.get(int(m.group(1)), '?')}]", answer)


def _source(passage: dict[str, Any], row: dict[str, Any], key: str, cited: bool) -> None:
    cid = int(passage["chunk_id"])
    title = row.get("title") or passage.get("title") or f"chunk {cid}"
    where = doc_view.pages_label(row)
    date = str(row.get("available_at") or passage.get("available_at") or "")[:10]
    bits = [b for b in (row.get("ticker") or passage.get("ticker"), row.get("doc_type"),
                        row.get("source") or passage.get("source"), where, f"available {date}" if date else None) if b]
    label = f"[{passage.get('ref')}] {title} · " + " · ".join(str(b) for b in bits) + ("" if cited else " · not cited")
    with st.expander(label):
        st.write(row.get("text") or passage.get("full_text") or passage.get("text") or "")
        doc_id = row.get("doc_id") or passage.get("doc_id")
        st.caption(f"chunk {cid}" + (f" · document {doc_id}" if doc_id else "")
                   + (f" · found by the query “{passage['query']}”" if passage.get("query") else ""))
        if doc_id and st.button("Open document", key=f"ask_open_{key}_{cid}"):
            st.session_state["ask_open"] = (doc_id, cid)


def render_answer(payload: dict[str, Any], key: str) -> None:
    passages = [p for p in payload.get("passages") or [] if "chunk_id" in p]
    refs = {int(p["chunk_id"]): int(p["ref"]) for p in passages if p.get("ref") is not None}
    st.markdown(numbered(payload.get("answer") or "", refs) or "_(empty answer)_")
    for note in payload.get("notes") or []:
        st.info(note)
    for flag in payload.get("flags") or []:
        st.warning(f"{flag.get('kind', 'flag').replace('_', ' ')}: \u201c{flag.get('sentence', '')}\u201d "
                   f"{flag.get('detail', '')}")
    rows = {int(r["chunk_id"]): r for r in payload.get("chunk_rows") or []}
    cited = {int(c["chunk_id"]) for c in payload.get("citations") or []}
    if passages:
        st.markdown(f"**Sources** ({len(cited)} cited of {len(passages)} passages read)")
        for p in sorted(passages, key=lambda p: (int(p["chunk_id"]) not in cited, p.get("ref") or 0)):
            _source(p, rows.get(int(p["chunk_id"]), {}), key, int(p["chunk_id"]) in cited)
    st.caption(f"as of {payload.get('as_of')} · thread {payload.get('thread_id')} · run {payload.get('run_id')}"
               + (f" · queries: {'; '.join(payload.get('queries') or [])}" if payload.get("queries") else ""))
