"""Memory recall (after FinMem's long-term layer): the k past days most like today and how they ended.

Each past decision day becomes a memory item once its outcome is known: its market-regime vector
(features.MarketFeatures.vector) and whether the next holding period went up, `available_at` = when the
closing bar of that period was published. For a day, only items available at its decision time are
recalled: the k nearest by cosine similarity of regime vectors standardised over those items, and
P(up) = (ups + 1) / (k + 2). Ranked by relevance only (not recency): the question is "what followed
days like this", not "what happened lately" (the momentum members cover that). Fewer than k items: None.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np

from fincortex.agents.trading.members.base import Day, Member, MemberContext


class MemoryMember(Member):
    name = "memory"

    def __init__(self, k: int = 20) -> None:
        self.k = k
        self._rows: list[dict[str, Any]] = []
        self._recalled: list[list[tuple[str, datetime]]] = []

    def probabilities(self, days: Sequence[Day], ctx: MemberContext) -> list[float | None]:
        n = len(days)
        vecs = np.array([d.features.vector() for d in days], float)
        known = [(j, o) for j, o in enumerate(ctx.outcomes[:n]) if o is not None]
        known.sort(key=lambda jo: (jo[1].available_at, jo[0]))
        ids = [f"k{j:06d}" for j, _ in known]
        item_days = np.array([j for j, _ in known], dtype=np.int64)
        item_avail = np.array([o.available_at for _, o in known], dtype="datetime64[us]")
        item_up = np.array([o.up for _, o in known], dtype=float)
        recalls = np.zeros(len(known), dtype=np.int64)
        out: list[float | None] = []
        self._recalled = []
        for i, d in enumerate(days):
            m = int(np.searchsorted(item_avail, np.datetime64(d.ts, "us"), side="right"))
            if m < self.k:
                out.append(None)
                self._recalled.append([])
                continue
            x = vecs[item_days[:m]]
            mu, sd = x.mean(axis=0), x.std(axis=0)
            sd[sd == 0] = 1.0
            z, q = (x - mu) / sd, (vecs[i] - mu) / sd
            norms = np.linalg.norm(z, axis=1) * (np.linalg.norm(q) or 1.0)
            sim = np.where(norms > 0, z @ q / np.where(norms > 0, norms, 1.0), 0.0)
            top = np.argsort(-sim, kind="stable")[: self.k]
            recalls[top] += 1
            out.append(float((item_up[top].sum() + 1) / (self.k + 2)))
            self._recalled.append([(ids[t], item_avail[t].astype(datetime)) for t in top])
        h = ctx.horizon
        self._rows = [
            {"item_id": ids[t], "layer": "long", "created_ts": days[int(item_days[t])].ts,
             "available_at": item_avail[t].astype(datetime),
             "text": f"{days[int(item_days[t])].ts:%Y-%m-%d}: next {h}d {'up' if item_up[t] else 'down'}",
             "importance": 0.5, "pnl": None, "features": [float(v) for v in vecs[int(item_days[t])]],
             "n_recalls": int(recalls[t])}
            for t in range(len(known))]
        return out

    def memory_rows(self) -> list[dict[str, Any]]:
        return self._rows

    def recalled(self, index: int) -> list[tuple[str, datetime]]:
        return self._recalled[index]
