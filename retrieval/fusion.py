"""Reciprocal rank fusion: combine ranked lists by rank, not by incomparable raw scores.

RRF (Cormack, Clarke & Buettcher, 2009): score(d) = sum_s w_s / (k + rank_s(d)), ranks from 1.
Written here rather than imported because it is five lines and the library versions (ranx.fuse)
work on whole runs keyed by string ids, not on one query's arrays inside the search path.

The stage weights a search uses by default are calibrated per embedder (retrieval/calibration.py) and
kept beside the models (`<models_dir>/fusion/<model key>.json`); explicit options override them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

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


# -- calibrated weights (written by retrieval/calibration.py, read by the searcher) -------------------------
def weights_path(models_dir: Path, model_key: str) -> Path:
    """Where the fusion weights calibrated for one embedder (model key incl. backend) are kept."""
    return Path(models_dir) / "fusion" / f"{model_key}.json"


_memo: dict[Path, tuple[tuple[int, int] | None, dict | None]] = {}


def load_weights(models_dir: Path | None, model_key: str) -> dict | None:
    """{"weights": {stage: w}, "source": ..., ...} calibrated for this embedder, or None. A stat per call
    (no read while the file is unchanged), so a running dashboard picks up a calibration made elsewhere."""
    if models_dir is None:
        return None
    path = weights_path(models_dir, model_key)
    try:
        info = path.stat()
        stamp: tuple[int, int] | None = (info.st_mtime_ns, info.st_size)
    except FileNotFoundError:
        stamp = None
    cached = _memo.get(path)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    data = None
    if stamp is not None:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ValueError(f"fusion weights file {path} is unreadable ({exc}): delete it or run "
                             "`fincortex index calibrate --force`") from exc
        weights = data.get("weights") if isinstance(data, dict) else None
        if not isinstance(weights, dict) or not all(isinstance(v, (int, float)) and v >= 0 for v in weights.values()):
            raise ValueError(f"fusion weights file {path} has no valid 'weights' mapping of stage -> weight >= 0")
    _memo[path] = (stamp, data)
    return data


def save_weights(models_dir: Path, model_key: str, data: dict) -> Path:
    path = weights_path(models_dir, model_key)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str))
    os.replace(tmp, path)
    return path
