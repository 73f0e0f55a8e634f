"""Layered memory of the LLM trader (after FinMem): short, long and reflection layers with decay.

- short: one observation per step (the day's move and the action taken); half-life a few days;
- long: unusual days (|1-day move| above 2 daily sigmas) and short items recalled often (promotion);
- reflection: written when a position reduction realised P&L, importance ~ |P&L|; decays slowly.
Recall ranks the items available at the decision time by recency (exponential decay per layer) +
importance + relevance (cosine similarity of market-regime feature vectors), and returns the top k.
Items live in process during a run and are stored in DuckDB (`memory_items`) with the run; a later
run can start from a stored memory (`from_rows`), and recall still only returns items whose
available_at <= its decision time, which the leakage audit re-checks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

HALF_LIFE_DAYS = {"short": 3.0, "long": 30.0, "reflection": 90.0}
PROMOTE_AFTER_RECALLS = 3


@dataclass
class MemoryItem:
    item_id: str
    layer: str
    created_ts: datetime
    available_at: datetime
    text: str
    importance: float  # in [0, 1]
    pnl: float | None
    features: np.ndarray
    n_recalls: int = 0

    def recency(self, as_of: datetime) -> float:
        age = max((as_of - self.created_ts).total_seconds() / 86400.0, 0.0)
        return 0.5 ** (age / HALF_LIFE_DAYS[self.layer])


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    return 0.0 if na == 0 or nb == 0 or a.shape != b.shape else float(a @ b / (na * nb))


class LayeredMemory:
    def __init__(self, prefix: str = "m") -> None:
        self.items: list[MemoryItem] = []
        self._prefix = prefix
        self._next = 0

    def add(
        self, layer: str, ts: datetime, text: str, importance: float, features: np.ndarray,
        pnl: float | None = None, available_at: datetime | None = None,
    ) -> MemoryItem:
        if layer not in HALF_LIFE_DAYS:
            raise ValueError(f"memory layer {layer!r} is not one of {', '.join(HALF_LIFE_DAYS)}")
        item = MemoryItem(f"{self._prefix}{self._next:06d}", layer, ts, available_at or ts, text,
                          float(min(max(importance, 0.0), 1.0)), pnl, np.asarray(features, float))
        self._next += 1
        self.items.append(item)
        return item

    def recall(self, as_of: datetime, features: np.ndarray, k: int = 3) -> list[MemoryItem]:
        """Top-k items available at `as_of` by recency + importance + relevance; bumps their counters."""
        scored = []
        for item in self.items:
            if item.available_at > as_of:
                continue
            recency = item.recency(as_of)
            if recency < 0.01:  # forgotten
                continue
            relevance = (_cosine(item.features, features) + 1) / 2
            scored.append((recency + item.importance + relevance, item.item_id, item))
        scored.sort(key=lambda x: (-x[0], x[1]))
        picked = [item for _, _, item in scored[:k]]
        for item in picked:
            item.n_recalls += 1
            if item.layer == "short" and item.n_recalls >= PROMOTE_AFTER_RECALLS:
                item.layer = "long"
        return picked

    def rows(self) -> list[dict[str, Any]]:
        return [
            {"item_id": i.item_id, "layer": i.layer, "created_ts": i.created_ts, "available_at": i.available_at,
             "text": i.text, "importance": i.importance, "pnl": i.pnl,
             "features": [float(x) for x in i.features], "n_recalls": i.n_recalls}
            for i in self.items
        ]

    @classmethod
    def from_rows(cls, rows: list[dict[str, Any]], prefix: str = "m") -> "LayeredMemory":
        memory = cls(prefix)
        for r in rows:
            memory.items.append(MemoryItem(
                r["item_id"], r["layer"], r["created_ts"], r["available_at"], r["text"], r["importance"],
                r.get("pnl"), np.asarray(r.get("features") or [], float), int(r.get("n_recalls") or 0)))
        memory._next = len(memory.items)
        memory._prefix = prefix
        return memory


def observation_importance(ret_1d: float | None, vol_annual: float | None, periods_per_year: int) -> float:
    """|1-day return| in daily sigmas, squashed to [0, 1] (2 sigmas ~ 0.76)."""
    if ret_1d is None or not vol_annual:
        return 0.0
    z = abs(ret_1d) / (vol_annual / math.sqrt(periods_per_year))
    return float(math.tanh(z / 2))
