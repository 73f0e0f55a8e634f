"""Typed retrieval stages: what a first stage and a post stage promise, and what they exchange.

Why protocols: the searcher runs whatever stages a mode names (options.MODES) plus the configured post
stages (options.post_stages), so a new retriever or reranker is one file plus one line in registry.py,
not an edit of the searcher, the hit type, the index set, the status or the evaluation.

- A **first stage** (dense, BM25, ...) owns a derived index of the chunks table. `search` returns ranked
  (chunk id, score) candidates among the allowed ids only (filters are resolved before any stage runs,
  so no stage can see a chunk past `as_of`). `sync` brings its index level with a chunk snapshot; it runs
  at ingest/build time only, never inside a query.
- A **post stage** (a reranker) re-scores the head of the fused list; the searcher orders that head by
  RRF of the previous order and the stage's scores (or by the stage's scores alone, `rerank_fusion`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

import numpy as np

from fincortex.progress import Progress  # noqa: F401  (re-exported: stages report through the one protocol)
from fincortex.store import Store

if TYPE_CHECKING:
    from fincortex.retrieval.embedder import Embedder
    from fincortex.retrieval.options import RetrievalOptions

Ranked = tuple[np.ndarray, np.ndarray]  # (chunk ids best-first, int64; scores, float32), same length


class StageUnavailable(RuntimeError):
    """A configured post stage cannot run (no model, say); the message says how to get one."""


@dataclass
class StageContext:
    """What a stage is built from: the store, where indexes live, the embedder and the knobs."""

    store: Store
    index_dir: Path
    embedder: "Embedder"
    options: "RetrievalOptions"


@dataclass
class StageQuery:
    """One query as the stages see it; `vector` may be given (an evaluation embeds queries in bulk) or is
    filled by the first stage that needs it, so two vector stages embed once."""

    text: str
    vector: np.ndarray | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class ChunkSnapshot:
    """The chunk ids of one read of the chunks table, sorted, and their fingerprint."""

    fingerprint: str
    ids: np.ndarray


@dataclass
class StageSync:
    """What one stage's sync did."""

    added: int = 0
    removed: int = 0
    rebuilt: bool = False
    embedded: int = 0  # chunks run through a model now (the rest came from a cache)
    n_items: int = 0  # in the index afterwards
    seconds: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)  # stage-specific (e.g. pruned cache vectors)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed or self.rebuilt)


@dataclass
class SyncReport:
    n_chunks: int = 0
    stages: dict[str, StageSync] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def embedded(self) -> int:
        return sum(s.embedded for s in self.stages.values())

    @property
    def changed(self) -> bool:
        return any(s.changed for s in self.stages.values())

    def as_dict(self) -> dict:
        return {"n_chunks": self.n_chunks, "embedded": self.embedded, "changed": self.changed,
                "seconds": self.seconds, "stages": {name: asdict(s) for name, s in self.stages.items()}}


@runtime_checkable
class FirstStage(Protocol):
    """A retriever over its own derived index of the chunks table."""

    name: ClassVar[str]
    fills_k: ClassVar[bool]  # True: returns min(k, allowed) hits (dense); False: only matches (BM25)

    @classmethod
    def index_name(cls, model_key: str, options: "RetrievalOptions") -> str:
        """The index folder / `retrieval_indexes` name, computable without loading a model."""
        ...

    def search(self, query: StageQuery, depth: int, allowed: np.ndarray | None) -> Ranked:
        """Top `depth` (ids, scores) among `allowed` (sorted ids; None = every indexed chunk)."""
        ...

    def fingerprint(self) -> str:
        """Fingerprint of the chunk ids in the index (same form as filters.chunks_fingerprint)."""
        ...

    def indexed_ids(self) -> np.ndarray:
        """Sorted chunk ids in the index."""
        ...

    def sync(self, chunks: ChunkSnapshot, rebuild: bool, progress: Progress | None) -> StageSync:
        """Bring the index level with `chunks`, committing as it goes (a killed sync keeps its work)."""
        ...

    def refresh(self) -> None:
        """Reload the index when another process saved a newer one."""
        ...

    def status(self) -> dict:
        ...


@runtime_checkable
class PostStage(Protocol):
    """A reranker: scores (query, passage) pairs for the top `top_n` fused candidates, higher = better."""

    name: ClassVar[str]
    top_n: int
    fusion_weight: float  # RRF weight of this stage's rank against the previous order's (which has 1.0)

    def score(self, query: str, passages: list[str]) -> np.ndarray:
        ...

    def describe(self) -> str:
        """The model behind it (id or path), for reports."""
        ...


def record_build(store: Store, kind: str, name: str, spec: str, path: str, n_items: int, fingerprint: str,
                 built_at: float, build_seconds: float, model_key: str | None, backend: str | None) -> None:
    """Write what an index holds to `retrieval_indexes` (read by `index status`)."""
    with store.write() as conn:
        conn.execute(
            """INSERT INTO retrieval_indexes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, now(), ?)
               ON CONFLICT (index_name) DO UPDATE SET spec = excluded.spec, n_items = excluded.n_items,
                 chunks_fingerprint = excluded.chunks_fingerprint, backend = excluded.backend,
                 built_at = excluded.built_at, updated_at = excluded.updated_at,
                 build_seconds = excluded.build_seconds, path = excluded.path""",
            [name, kind, model_key, spec, path, int(n_items), fingerprint, backend,
             datetime.fromtimestamp(built_at or datetime.now().timestamp(), timezone.utc).replace(tzinfo=None),
             build_seconds],
        )


def file_stamp(path: Path) -> tuple[int, int] | None:
    """(mtime ns, size) of a file, None when absent: a changed stamp means another process saved."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    return info.st_mtime_ns, info.st_size
