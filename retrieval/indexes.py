"""The derived indexes of one store: every first stage a mode names, kept level with the chunks table.

DuckDB is the system of record; the indexes are caches of it. `IndexSet.sync()` compares the chunk
set's fingerprint with the one each stage's index holds and syncs the stages that differ (each adds
new chunks, drops removed ones, commits as it goes and records itself in `retrieval_indexes`). It runs
at ingest/build time (`fincortex index build`, `Client.build_index`, `Client.ingest`), never inside a
query: a search answers from the indexes as they are and says how many matching chunks they lack.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from fincortex.retrieval import embedding_cache
from fincortex.retrieval.embedder import Embedder
from fincortex.retrieval.faiss_index import faiss_backend
from fincortex.retrieval.filters import all_chunk_ids, chunks_fingerprint
from fincortex.retrieval.options import MODES, RetrievalOptions
from fincortex.retrieval.registry import FIRST_STAGES
from fincortex.retrieval.stages import ChunkSnapshot, FirstStage, Progress, StageContext, SyncReport
from fincortex.store import Store

__all__ = ["IndexSet", "SyncReport", "indexed_stage_names"]


def indexed_stage_names(modes: dict[str, tuple[str, ...]] = MODES) -> tuple[str, ...]:
    """First stages some mode uses, in registry (= sync) order; unknown names are refused."""
    used = {name for names in modes.values() for name in names}
    unknown = sorted(used - set(FIRST_STAGES))
    if unknown:
        raise ValueError(f"modes name unknown first stages {unknown}; registered: {', '.join(FIRST_STAGES)}")
    return tuple(name for name in FIRST_STAGES if name in used)


class IndexSet:
    """The first stages of one store, for one embedding model and options; opened lazily (a BM25-only
    search never loads the embedding model)."""

    def __init__(self, store: Store, index_dir: Path, embedder: Embedder, options: RetrievalOptions) -> None:
        self.ctx = StageContext(store, Path(index_dir), embedder, options)
        self.store, self.embedder = store, embedder
        self.names = indexed_stage_names()
        self._stages: dict[str, FirstStage] = {}
        self._sync_lock = threading.Lock()  # one sync at a time; searches never take it

    def __getitem__(self, name: str) -> FirstStage:
        if name not in self.names:
            raise KeyError(f"no first stage {name!r}; indexed stages: {', '.join(self.names)}")
        if name not in self._stages:
            self._stages[name] = FIRST_STAGES[name](self.ctx)
        return self._stages[name]

    def opened(self) -> list[FirstStage]:
        return list(self._stages.values())

    def fingerprint(self) -> str:
        with self.store.read() as conn:
            return chunks_fingerprint(conn)

    def refresh(self) -> None:
        """Pick up indexes another process saved since they were loaded."""
        for stage in self.opened():
            stage.refresh()

    def sync(self, rebuild: bool = False, stages: tuple[str, ...] | None = None,
             progress: Progress | None = None) -> SyncReport:
        """Sync `stages` (default: every indexed stage) whose index differs from the chunks table."""
        start = time.perf_counter()
        names = stages or self.names
        with self._sync_lock:
            with self.store.read() as conn:  # one snapshot: fingerprint and ids agree
                chunks = ChunkSnapshot(chunks_fingerprint(conn), all_chunk_ids(conn))
            report = SyncReport(n_chunks=len(chunks.ids))
            for name in names:
                stage = self[name]
                stage.refresh()
                if rebuild or stage.fingerprint() != chunks.fingerprint:
                    report.stages[name] = stage.sync(chunks, rebuild, progress)
        report.seconds = time.perf_counter() - start
        return report

    def status(self) -> dict:
        fingerprint = self.fingerprint()
        stages = {}
        for name in self.names:
            stage = self[name]
            stages[name] = stage.status() | {"up_to_date": stage.fingerprint() == fingerprint}
        return {"n_chunks": int(fingerprint.split(":")[0]), "backend": faiss_backend(),
                "embedder": self.embedder.describe(), "stages": stages,
                "embedding_cache": embedding_cache.cache_stats(self.store)}
