"""Text for language-model training and evaluation, read from the chunks table.

One project-wide held-out rule: a document is held out for LM evaluation iff
sha256("fincortex-lm-heldout:<doc_id>") mod 100 < HELDOUT_PERCENT. Splitting by document (not by
chunk) keeps overlapping neighbour chunks of one transcript on the same side, and because the rule
is a pure function of the id, every CPT run excludes exactly the documents `eval lm` scores on,
whatever filters either of them used.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fincortex.store import Store

HELDOUT_PERCENT = 10


@dataclass(frozen=True)
class TextChunk:
    chunk_id: int
    doc_id: int
    text: str
    source: str
    available_at: datetime


def is_heldout(doc_id: int) -> bool:
    h = hashlib.sha256(f"fincortex-lm-heldout:{doc_id}".encode()).hexdigest()
    return int(h[:8], 16) % 100 < HELDOUT_PERCENT


def load_chunks(
    store: Store,
    *,
    sources: list[str] | None = None,
    doc_types: list[str] | None = None,
    available_before: datetime | None = None,
    split: str = "train",
    max_docs: int | None = None,
) -> list[TextChunk]:
    """Chunks of the train or heldout split, in (doc_id, ordinal) order; max_docs keeps the first N documents."""
    if split not in {"train", "heldout"}:
        raise ValueError(f"split must be 'train' or 'heldout', got {split!r}")
    sql = ("SELECT c.chunk_id, c.doc_id, c.text, d.source, c.available_at FROM chunks c "
           "JOIN documents d USING (doc_id) WHERE NOT c.is_table")
    args: list[Any] = []
    if sources:
        sql += f" AND d.source IN ({', '.join('?' * len(sources))})"
        args += sources
    if doc_types:
        sql += f" AND d.doc_type IN ({', '.join('?' * len(doc_types))})"
        args += doc_types
    if available_before is not None:
        sql += " AND c.available_at <= ?"
        args.append(available_before)
    with store.read() as conn:
        rows = conn.execute(sql + " ORDER BY c.doc_id, c.ordinal", args).fetchall()
    want_heldout = split == "heldout"
    out: list[TextChunk] = []
    docs: set[int] = set()
    for chunk_id, doc_id, text, source, available_at in rows:
        if is_heldout(doc_id) != want_heldout:
            continue
        if max_docs is not None and doc_id not in docs and len(docs) >= max_docs:
            continue
        docs.add(doc_id)
        out.append(TextChunk(chunk_id, doc_id, text, source, available_at))
    return out


def summarize(chunks: list[TextChunk], n_tokens: int | None = None) -> dict[str, Any]:
    """What a model was trained on, for its lineage card (doc ids let eval prove held-out-ness)."""
    if not chunks:
        return {"chunks": 0}
    return {
        "chunks": len(chunks),
        "documents": len({c.doc_id for c in chunks}),
        "sources": sorted({c.source for c in chunks}),
        "available_at_min": min(c.available_at for c in chunks).isoformat(),
        "available_at_max": max(c.available_at for c in chunks).isoformat(),
        "tokens": n_tokens,
        "heldout_rule": f"sha256('fincortex-lm-heldout:<doc_id>') % 100 < {HELDOUT_PERCENT}",
        "doc_ids": sorted({c.doc_id for c in chunks}),
    }
