"""Point-in-time news for the trader's news analyst.

Two sources, chosen explicitly (`news=` in the trader config):
- `RecentNews` ("recent"): the newest ingested news chunks published in the last `lookback_days`
  before the decision time. The candidates of the whole window are read once; each step filters on
  available_at <= as_of, so a headline is never seen before it became public.
- `SearchNews` ("search"): the retrieval stack's `Client.search(query, k, as_of=..., doc_types=...)`,
  which itself filters on as_of; every hit is recorded and re-checked by the leakage audit (hits are
  not filtered here, so a retrieval bug fails the run instead of being hidden).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import numpy as np

from fincortex.store import Store


@dataclass(frozen=True)
class NewsItem:
    chunk_id: int
    text: str
    available_at: datetime
    score: float | None = None


class NewsSource(Protocol):
    def fetch(self, as_of: datetime) -> list[NewsItem]: ...


class RecentNews:
    def __init__(
        self, store: Store, start: datetime, end: datetime, lookback_days: float = 2.0, k: int = 6,
        doc_types: tuple[str, ...] = ("news",),
    ) -> None:
        self.k, self.lookback = k, timedelta(days=lookback_days)
        placeholders = ", ".join("?" for _ in doc_types)
        with store.read() as conn:
            rows = conn.execute(
                "SELECT c.chunk_id, c.text, c.available_at FROM chunks c JOIN documents d USING (doc_id) "
                f"WHERE d.doc_type IN ({placeholders}) AND c.available_at > ? AND c.available_at <= ? "
                "ORDER BY c.available_at, c.chunk_id",
                [*doc_types, start - self.lookback, end],
            ).fetchall()
        self.ids = [r[0] for r in rows]
        self.texts = [r[1] for r in rows]
        self.available_at = np.array([r[2] for r in rows], dtype="datetime64[us]")

    def __len__(self) -> int:
        return len(self.ids)

    def fetch(self, as_of: datetime) -> list[NewsItem]:
        hi = int(np.searchsorted(self.available_at, np.datetime64(as_of, "us"), side="right"))
        lo = int(np.searchsorted(self.available_at, np.datetime64(as_of - self.lookback, "us"), side="right"))
        picked = range(hi - 1, max(lo, hi - self.k) - 1, -1)  # newest first
        return [NewsItem(self.ids[i], self.texts[i], self.available_at[i].astype(datetime)) for i in picked]


class SearchNews:
    def __init__(
        self, search: Any, query: str, k: int = 6, doc_types: tuple[str, ...] = ("news",), mode: str = "hybrid",
    ) -> None:
        self.search, self.query, self.k, self.doc_types, self.mode = search, query, k, list(doc_types), mode

    def fetch(self, as_of: datetime) -> list[NewsItem]:
        hits = self.search(self.query, k=self.k, as_of=as_of, doc_types=self.doc_types, mode=self.mode)
        return [NewsItem(int(_field(h, "chunk_id")), str(_field(h, "text")), _field(h, "available_at"),
                         _field(h, "score", None)) for h in hits]


def _field(hit: Any, name: str, default: Any = ...) -> Any:
    value = hit.get(name, default) if isinstance(hit, dict) else getattr(hit, name, default)
    if value is ...:
        raise TypeError(f"search hit {hit!r} has no {name!r}")
    return value
