"""Write ready-made documents with pre-cut chunks straight into the store.

Why not the ingestion pipeline: a BEIR corpus is already one passage per document and its qrels are
per document id, so re-chunking would break the mapping; the search benchmark needs 100k chunks in
seconds. Everything else (ids, available_at, the documents/chunks rows) follows the core schema.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

import pyarrow as pa

from fincortex.store import Store


def stable_id(*parts: str) -> int:
    """Positive 63-bit id (fits DuckDB BIGINT and FAISS int64); same recipe as fincortex.ingest."""
    digest = hashlib.blake2b("\x1f".join(parts).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") & 0x7FFF_FFFF_FFFF_FFFF


@dataclass
class DocRow:
    source_key: str
    chunks: list[str]
    available_at: datetime  # naive UTC
    available_at_rule: str
    source: str
    doc_type: str
    title: str | None = None
    ticker: str | None = None
    uri: str | None = None
    chunk_available_at: list[datetime] | None = None  # default: the document's available_at
    meta: dict = field(default_factory=dict)

    @property
    def doc_id(self) -> int:
        return stable_id("doc", self.source_key)

    @property
    def content_hash(self) -> str:
        return hashlib.sha256("\x1f".join(self.chunks).encode("utf-8")).hexdigest()

    def chunk_ids(self) -> list[int]:
        return [stable_id("chunk", self.source_key, self.content_hash, str(i)) for i in range(len(self.chunks))]


def write_documents(store: Store, docs: list[DocRow], batch: int = 20_000) -> int:
    """Insert (or replace, by source_key) documents and their chunks; returns chunks written."""
    total = 0
    for start in range(0, len(docs), batch):
        part = docs[start : start + batch]
        total += _write_batch(store, part)
    return total


def _write_batch(store: Store, docs: list[DocRow]) -> int:
    now = datetime.utcnow().replace(microsecond=0)
    doc_cols: dict[str, list] = {k: [] for k in (
        "doc_id", "source_key", "content_hash", "title", "source", "doc_type", "ticker", "published_at",
        "available_at", "available_at_rule", "uri", "origin_hash", "n_chunks", "n_bytes", "ingested_at")}
    chunk_cols: dict[str, list] = {k: [] for k in (
        "chunk_id", "doc_id", "ordinal", "text", "n_tokens", "is_table", "available_at")}
    for doc in docs:
        if not doc.chunks:
            raise ValueError(f"document {doc.source_key!r} has no chunks")
        doc_id, content_hash = doc.doc_id, doc.content_hash
        for key, value in (
            ("doc_id", doc_id), ("source_key", doc.source_key), ("content_hash", content_hash),
            ("title", doc.title), ("source", doc.source), ("doc_type", doc.doc_type),
            ("ticker", doc.ticker), ("published_at", None), ("available_at", doc.available_at),
            ("available_at_rule", doc.available_at_rule), ("uri", doc.uri or doc.source_key),
            ("origin_hash", content_hash), ("n_chunks", len(doc.chunks)),
            ("n_bytes", sum(len(c.encode()) for c in doc.chunks)), ("ingested_at", now),
        ):
            doc_cols[key].append(value)
        times = doc.chunk_available_at or [doc.available_at] * len(doc.chunks)
        if len(times) != len(doc.chunks):
            raise ValueError(f"document {doc.source_key!r}: {len(times)} chunk times for {len(doc.chunks)} chunks")
        for ordinal, (chunk_id, text, when) in enumerate(zip(doc.chunk_ids(), doc.chunks, times)):
            for key, value in (
                ("chunk_id", chunk_id), ("doc_id", doc_id), ("ordinal", ordinal), ("text", text),
                ("n_tokens", len(text.split())), ("is_table", False), ("available_at", max(when, doc.available_at)),
            ):
                chunk_cols[key].append(value)
    doc_table = pa.table({k: pa.array(v, type=_ARROW_TYPES.get(k)) for k, v in doc_cols.items()})
    chunk_table = pa.table({k: pa.array(v, type=_ARROW_TYPES.get(k)) for k, v in chunk_cols.items()})
    with store.write() as conn:
        existing = {r[0] for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'documents'").fetchall()}
        columns = [c for c in doc_cols if c in existing]  # tolerate a core schema without uri/origin_hash
        conn.register("new_docs", doc_table)
        conn.register("new_chunks", chunk_table)
        conn.execute(
            "DELETE FROM chunks WHERE doc_id IN (SELECT d.doc_id FROM documents d "
            "JOIN new_docs n ON n.source_key = d.source_key)"
        )
        conn.execute("DELETE FROM documents WHERE source_key IN (SELECT source_key FROM new_docs)")
        conn.execute(f"INSERT INTO documents ({', '.join(columns)}) SELECT {', '.join(columns)} FROM new_docs")
        conn.execute(
            f"INSERT INTO chunks ({', '.join(chunk_cols)}) SELECT {', '.join(chunk_cols)} FROM new_chunks"
        )
        conn.unregister("new_docs")
        conn.unregister("new_chunks")
    return len(chunk_cols["chunk_id"])


def delete_documents(store: Store, doc_ids: list[int]) -> None:
    with store.write() as conn:
        conn.register("gone", pa.table({"doc_id": pa.array(doc_ids, pa.int64())}))
        conn.execute("DELETE FROM chunks WHERE doc_id IN (SELECT doc_id FROM gone)")
        conn.execute("DELETE FROM documents WHERE doc_id IN (SELECT doc_id FROM gone)")
        conn.unregister("gone")


_ARROW_TYPES = {
    "doc_id": pa.int64(), "chunk_id": pa.int64(), "ordinal": pa.int32(), "n_tokens": pa.int32(),
    "n_chunks": pa.int32(), "n_bytes": pa.int64(), "available_at": pa.timestamp("us"),
    "published_at": pa.timestamp("us"), "ingested_at": pa.timestamp("us"), "title": pa.string(),
    "ticker": pa.string(), "uri": pa.string(), "is_table": pa.bool_(),
}
