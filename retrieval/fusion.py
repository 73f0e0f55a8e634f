"""Reciprocal rank fusion: combine ranked lists by rank, not by incomparable raw scores.

RRF (Cormack, Clarke & Buettcher, 2009): score(d) = sum_s w_s / (k + rank_s(d)), ranks from 1.
Written here rather than imported because it is five lines and the library versions (ranx.fuse)
work on whole runs keyed by string ids, not on one query's arrays inside the search path.
"""

from __future__ import annotations

import numpy as np


def rrf(
    ranked: dict[str, tuple[np.ndarray, np.ndarray]],
    weights: dict[str, float] | None = None,
    k: int = 60,
) -> list[tuple[int, float]]:
    """Fuse {stage: (ids best-first, scores)} into [(id, fused score)] best-first.

    Ties break on the best single-stage rank, then on the id, so results are deterministic.
    """
    if k < 0:
        raise ValueError(f"rrf k must be >= 0, got {k}")
    weights = weights or {}
    fused: dict[int, float] = {}
    best_rank: dict[int, int] = {}
    for stage, (ids, _scores) in ranked.items():
        weight = float(weights.get(stage, 1.0))
        if weight < 0:
            raise ValueError(f"fusion weight for {stage!r} must be >= 0, got {weight}")
        for rank, chunk_id in enumerate(ids.tolist(), start=1):
            fused[chunk_id] = fused.get(chunk_id, 0.0) + weight / (k + rank)
            best_rank[chunk_id] = min(best_rank.get(chunk_id, rank), rank)
    return sorted(fused.items(), key=lambda item: (-item[1], best_rank[item[0]], item[0]))
