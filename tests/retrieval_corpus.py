"""Small, deterministic finance-like corpora for the retrieval tests (written by the tests, no real data)."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from fincortex.config import Settings  # noqa: E402
from fincortex.retrieval.corpus_rows import DocRow, write_documents  # noqa: E402
from fincortex.store import Store  # noqa: E402

TICKERS = ("AAPL", "MSFT", "NVDA", "JPM", "XOM")
TOPICS = (
    "quarterly revenue grew on strong iPhone and services sales",
    "operating margin expanded as cloud costs fell",
    "data center GPU demand lifted guidance for next quarter",
    "net interest income rose with higher deposit rates",
    "oil production volumes and refining margins declined",
    "the board approved a new share buyback programme",
    "management lowered full year earnings guidance",
)
START = datetime(2020, 1, 1)


def make_settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path)


def make_store(settings: Settings) -> Store:
    store = Store(settings.db_path)
    store.ensure_schema()
    return store


def corpus(n_docs: int = 40, chunks_per_doc: int = 3, prefix: str = "doc") -> list[DocRow]:
    """n_docs documents, one per day from 2020-01-01, tickers and topics in rotation."""
    docs = []
    for i in range(n_docs):
        ticker = TICKERS[i % len(TICKERS)]
        day = START + timedelta(days=i)
        chunks = [
            f"{ticker} {TOPICS[(i + j) % len(TOPICS)]} (report {i}, part {j}, {day:%B %d %Y})."
            for j in range(chunks_per_doc)
        ]
        docs.append(DocRow(source_key=f"{prefix}-{i}", chunks=chunks, available_at=day + timedelta(hours=21),
                           available_at_rule="test: fixed", source="test", doc_type="news" if i % 2 else "filing",
                           ticker=ticker, title=f"{ticker} report {i}"))
    return docs


def populated(tmp_path: Path, n_docs: int = 40, chunks_per_doc: int = 3) -> tuple[Settings, Store, list[DocRow]]:
    settings = make_settings(tmp_path)
    store = make_store(settings)
    docs = corpus(n_docs, chunks_per_doc)
    write_documents(store, docs)
    return settings, store, docs
