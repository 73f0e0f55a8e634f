"""Keeps the derived indexes (FAISS + BM25) equal to the chunks table, and records what was built.

DuckDB is the system of record; the indexes are caches of it. `IndexSet.sync()` compares the chunk
set's fingerprint with the one each index was built from and, when they differ, adds new chunks
(embedding only those without a cached vector), removes chunks that disappeared (a replaced or
deleted document) and saves. Ingestion calls it after each batch; search calls it before searching,
so an index is never silently behind the database.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from fincortex.retrieval.sql import arrow
from fincortex.retrieval import embedding_cache
from fincortex.retrieval.bm25_index import BM25Index
from fincortex.retrieval.embedder import Embedder
from fincortex.retrieval.faiss_index import DenseIndex, faiss_backend, gpu_count
from fincortex.retrieval.filters import all_chunk_ids, chunks_fingerprint
from fincortex.retrieval.options import AUTO_APPROXIMATE_FROM, REFINE_K_FACTOR
from fincortex.store import Store

Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass
class SyncReport:
    n_chunks: int = 0
    embedded: int = 0  # chunks run through the model now (the rest came from the cache)
    dense_added: int = 0
    dense_removed: int = 0
    dense_rebuilt: bool = False
    bm25_rebuilt: bool = False
    pruned_vectors: int = 0
    dense_seconds: float = 0.0  # embedding new chunks included
    bm25_seconds: float = 0.0
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.dense_added or self.dense_removed or self.dense_rebuilt or self.bm25_rebuilt)

    def as_dict(self) -> dict:
        return asdict(self)


class IndexSet:
    """The dense and lexical index of one store, for one embedding model and faiss spec."""

    def __init__(self, store: Store, index_dir: Path, embedder: Embedder, spec: str = "Flat",
                 approximate_from: int = AUTO_APPROXIMATE_FROM, refine_k: int = REFINE_K_FACTOR) -> None:
        self.store, self.index_dir, self.embedder, self.spec = store, Path(index_dir), embedder, spec
        self.approximate_from, self.refine_k = approximate_from, refine_k
        self._dense: DenseIndex | None = None
        self._bm25: BM25Index | None = None

    @property
    def dense(self) -> DenseIndex:
        if self._dense is None:
            self._dense = DenseIndex.open(self.index_dir, self.embedder.key, self.spec, self.embedder.dim,
                                          self.approximate_from)
        return self._dense

    @property
    def bm25(self) -> BM25Index:
        if self._bm25 is None:
            self._bm25 = BM25Index.open(self.index_dir)
        return self._bm25

    def fingerprint(self) -> str:
        with self.store.read() as conn:
            return chunks_fingerprint(conn)

    def is_current(self, fingerprint: str, dense: bool = True, bm25: bool = True) -> bool:
        return (not dense or self.dense.meta.fingerprint == fingerprint) and (
            not bm25 or self.bm25.meta.fingerprint == fingerprint
        )

    def sync(self, rebuild: bool = False, dense: bool = True, bm25: bool = True,
             progress: Progress | None = None) -> SyncReport:
        start = time.perf_counter()
        report = SyncReport()
        with self.store.read() as conn:  # one snapshot: fingerprint and ids agree
            fingerprint = chunks_fingerprint(conn)
            db_ids = all_chunk_ids(conn)
        report.n_chunks = len(db_ids)
        if dense and (rebuild or self.dense.meta.fingerprint != fingerprint):
            clock = time.perf_counter()
            self._sync_dense(db_ids, fingerprint, rebuild, report, progress)
            report.dense_seconds = time.perf_counter() - clock
        if bm25 and (rebuild or self.bm25.meta.fingerprint != fingerprint):
            clock = time.perf_counter()
            self._sync_bm25(fingerprint, report)
            report.bm25_seconds = time.perf_counter() - clock
        report.seconds = time.perf_counter() - start
        return report

    def _sync_dense(self, db_ids: np.ndarray, fingerprint: str, rebuild: bool, report: SyncReport,
                    progress: Progress | None) -> None:
        start = time.perf_counter()
        index = self.dense
        report.embedded = embedding_cache.ensure_embeddings(
            self.store, self.embedder, progress=(lambda d, t: progress("embed", d, t)) if progress else None
        )
        # "auto" rebuilds when the corpus size calls for another factory (e.g. it outgrew Flat)
        if rebuild or index.index.ntotal == 0 or index.planned_factory(len(db_ids)) != index.factory:
            index.reset(len(db_ids))
            to_add, to_remove = db_ids, np.zeros(0, np.int64)
            report.dense_rebuilt = True
        else:
            current = index.ids()
            to_remove = np.setdiff1d(current, db_ids, assume_unique=True)
            to_add = np.setdiff1d(db_ids, current, assume_unique=True)
            if not index.remove(to_remove):  # index type without remove_ids: rebuild from the cache
                index.reset(len(db_ids))
                to_add, report.dense_rebuilt = db_ids, True
        report.dense_removed = len(to_remove) if not report.dense_rebuilt else 0
        if len(to_add):
            ids, vectors = embedding_cache.load_embeddings(self.store, self.embedder.key, to_add)
            index.add(ids, vectors)
            report.dense_added = len(ids)
            if report.dense_rebuilt:
                index.calibrate(ids, vectors, self.refine_k)
        now = time.time()
        index.meta.fingerprint, index.meta.updated_at = fingerprint, now
        if report.dense_rebuilt:
            index.meta.built_at = now
            index.meta.build_seconds = time.perf_counter() - start
        index.meta.history = (index.meta.history + [
            {"at": now, "added": report.dense_added, "removed": report.dense_removed,
             "rebuilt": report.dense_rebuilt, "embedded": report.embedded}])[-20:]
        index.save()
        report.pruned_vectors = embedding_cache.prune_orphans(self.store)
        spec = index.meta.spec if index.factory == index.meta.spec else f"{index.meta.spec}: {index.factory}"
        if index.meta.nprobe:
            spec += f" (nprobe {index.meta.nprobe}, recall@10 {index.meta.calibration.get('recall@10')})"
        self._record("faiss", index.name, spec, str(index.folder), index.index.ntotal, fingerprint,
                     index.meta.built_at, index.meta.build_seconds, self.embedder.key)

    def _sync_bm25(self, fingerprint: str, report: SyncReport) -> None:
        start = time.perf_counter()
        with self.store.read() as conn:
            table = arrow(conn, "SELECT chunk_id, text FROM chunks ORDER BY chunk_id")
            fingerprint_now = chunks_fingerprint(conn)
        index = self.bm25
        index.rebuild(table.column("chunk_id").to_numpy(), table.column("text").to_pylist(), fingerprint_now,
                      seconds_so_far=0.0)
        report.bm25_rebuilt = True
        self._record("bm25", index.name, index.meta.spec, str(index.folder), index.meta.n_docs, fingerprint_now,
                     index.meta.built_at, time.perf_counter() - start, None)

    def _record(self, kind: str, name: str, spec: str, path: str, n_items: int, fingerprint: str,
                built_at: float, build_seconds: float, model_key: str | None) -> None:
        backend = ("faiss-gpu" if gpu_count() else "faiss-cpu") if kind == "faiss" else None
        with self.store.write() as conn:
            conn.execute(
                """INSERT INTO retrieval_indexes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, now(), ?)
                   ON CONFLICT (index_name) DO UPDATE SET spec = excluded.spec, n_items = excluded.n_items,
                     chunks_fingerprint = excluded.chunks_fingerprint, backend = excluded.backend,
                     built_at = excluded.built_at, updated_at = excluded.updated_at,
                     build_seconds = excluded.build_seconds, path = excluded.path""",
                [name, kind, model_key, spec, path, int(n_items), fingerprint, backend,
                 datetime.fromtimestamp(built_at or time.time(), timezone.utc).replace(tzinfo=None),
                 build_seconds],
            )

    def status(self) -> dict:
        fingerprint = self.fingerprint()
        dense, bm25 = self.dense.status(), self.bm25.status()
        dense["up_to_date"] = self.dense.meta.fingerprint == fingerprint
        bm25["up_to_date"] = self.bm25.meta.fingerprint == fingerprint
        return {"n_chunks": int(fingerprint.split(":")[0]), "backend": faiss_backend(),
                "embedder": self.embedder.describe(), "dense": dense, "bm25": bm25,
                "embedding_cache": embedding_cache.cache_stats(self.store)}
