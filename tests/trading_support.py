"""Shared helpers for tests/test_trading_*.py: a temporary store with synthetic daily bars."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np

from fincortex.client import Client


def daily_bars(symbol: str, start: str, closes: list[float] | np.ndarray, source: str = "test") -> list[tuple]:
    """Rows for the prices table: open = previous close (first open = first close), available_at = ts + 1d."""
    t0 = datetime.fromisoformat(start)
    rows, prev = [], None
    for k, close in enumerate(closes):
        ts = t0 + timedelta(days=k)
        open_ = float(close if prev is None else prev)
        rows.append((symbol, ts, open_, max(open_, close), min(open_, close), float(close), 1000.0, source,
                     ts + timedelta(days=1)))
        prev = close
    return rows


def insert_prices(client: Client, rows: list[tuple]) -> None:
    with client.store.write() as conn:
        conn.executemany("INSERT INTO prices VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def random_walk(n: int, seed: int = 7, start: float = 100.0, vol: float = 0.03) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return start * np.exp(np.cumsum(rng.normal(0.001, vol, n)))


def make_client(tmp_path, symbol: str = "TEST", n: int = 200, start: str = "2020-01-01", seed: int = 7) -> Client:
    client = Client(db=tmp_path / "t.duckdb")
    insert_prices(client, daily_bars(symbol, start, random_walk(n, seed)))
    return client


def insert_news(client: Client, items: list[tuple[int, str, datetime]], doc_type: str = "news") -> None:
    """One document + one chunk per (chunk_id, text, available_at)."""
    with client.store.write() as conn:
        for chunk_id, text, available_at in items:
            conn.execute(
                "INSERT INTO documents (doc_id, source_key, content_hash, title, source, doc_type, available_at, "
                "available_at_rule, uri, origin_hash, n_chunks, ingested_at) "
                "VALUES (?, ?, ?, ?, 'test', ?, ?, 'test', 'test://planted', 'x', 1, now())",
                [chunk_id, f"test:{chunk_id}", f"h{chunk_id}", text, doc_type, available_at])
            conn.execute(
                "INSERT INTO chunks (chunk_id, doc_id, ordinal, text, n_tokens, available_at) VALUES (?, ?, 0, ?, ?, ?)",
                [chunk_id, chunk_id, text, len(text.split()), available_at])
