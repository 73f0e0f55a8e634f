"""The typed records that flow through ingestion."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime


class IngestError(ValueError):
    """A per-item problem (bad file, bad record): reported for that item, the batch goes on."""


@dataclass(frozen=True)
class Section:
    """A run of text from one place of a document: a page's paragraph, a table, a transcript line."""

    text: str
    page: int | None = None  # 1-based PDF page
    is_table: bool = False


@dataclass
class Document:
    source_key: str  # identity across re-ingestion (absolute path or dataset record key)
    content_hash: str  # sha256 of the raw content: equal hash = nothing to do
    sections: Iterable[Section]  # may be a lazy stream (huge text files)
    source: str
    doc_type: str
    available_at: datetime  # naive UTC
    available_at_rule: str
    title: str | None = None
    ticker: str | None = None
    published_at: datetime | None = None
    uri: str | None = None
    n_pages: int | None = None
    n_bytes: int | None = None
    meta: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Chunk:
    ordinal: int
    text: str
    n_tokens: int
    page_start: int | None
    page_end: int | None
    is_table: bool


def stable_id(*parts: str) -> int:
    """Positive 63-bit id from a hash: fits DuckDB BIGINT and FAISS int64, same on every machine."""
    digest = hashlib.blake2b("\x1f".join(parts).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") & 0x7FFF_FFFF_FFFF_FFFF


def doc_id_for(source_key: str) -> int:
    return stable_id("doc", source_key)


def chunk_id_for(source_key: str, content_hash: str, ordinal: int) -> int:
    return stable_id("chunk", source_key, content_hash, str(ordinal))


def text_hash(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
