"""First stage "dense": FAISS over the embedder's chunk vectors (faiss_index.py), fed by the embedding cache.

Sync commits as it goes: vectors reach the DuckDB cache in write batches, an index that needs no
training takes each batch as it comes and is saved at least every CHECKPOINT_SECONDS, so a killed build
keeps what it embedded (and most of what it indexed) and a re-run only embeds what is still missing.
The searcher reads `self.index`; a sync works on a copy and swaps it in, so queries never see a half-
updated faiss index and never wait for an embedding batch.
"""

from __future__ import annotations

import copy
import time

import faiss
import numpy as np

from fincortex.progress import report as report_progress
from fincortex.retrieval import embedding_cache
from fincortex.retrieval.faiss_index import DenseIndex, gpu_count, index_name
from fincortex.retrieval.filters import ids_fingerprint
from fincortex.retrieval.options import RetrievalOptions
from fincortex.retrieval.stages import (ChunkSnapshot, Progress, Ranked, StageContext, StageQuery, StageSync,
                                        file_stamp, record_build)

CHECKPOINT_SECONDS = 30.0  # longest stretch of indexed vectors a killed build can lose (they stay cached)


class DenseStage:
    name = "dense"
    fills_k = True

    def __init__(self, ctx: StageContext) -> None:
        self.ctx = ctx
        self._index: DenseIndex | None = None
        self._stamp: tuple | None = None
        self._sorted_ids: tuple[str, np.ndarray] | None = None  # (fingerprint of the id set, sorted ids)

    @classmethod
    def index_name(cls, model_key: str, options: RetrievalOptions) -> str:
        return index_name(model_key, options.index_spec)

    # -- the live index ----------------------------------------------------------------------------
    @property
    def index(self) -> DenseIndex:
        if self._index is None:
            self._index = self._open()
        return self._index

    def _open(self) -> DenseIndex:
        o, e = self.ctx.options, self.ctx.embedder
        index = DenseIndex.open(self.ctx.index_dir, e.key, o.index_spec, e.dim, o.auto_approximate_from)
        self._stamp = file_stamp(index.folder / "meta.json")
        return index

    def refresh(self) -> None:
        if self._index is not None and file_stamp(self._index.folder / "meta.json") != self._stamp:
            self._index = self._open()

    def fingerprint(self) -> str:
        return self.index.meta.fingerprint

    def indexed_ids(self) -> np.ndarray:
        index = self.index
        cached = self._sorted_ids
        if cached is None or cached[0] != index.meta.fingerprint or len(cached[1]) != index.index.ntotal:
            cached = self._sorted_ids = (index.meta.fingerprint, np.sort(index.ids()))
        return cached[1]

    # -- search --------------------------------------------------------------------------------------
    def search(self, query: StageQuery, depth: int, allowed: np.ndarray | None) -> Ranked:
        o = self.ctx.options
        index = self.index  # one reference for the whole query: a concurrent sync swaps, never mutates it
        if query.vector is None:
            clock = time.perf_counter()
            query.vector = self.ctx.embedder.encode_query(query.text, o.query_threads)
            query.timings_ms["embed"] = round((time.perf_counter() - clock) * 1000, 3)
        return index.search(query.vector, depth, allowed, exact_vectors=self._cached_vectors, nprobe=o.ivf_nprobe,
                            ef_search=o.hnsw_ef_search, use_gpu=o.use_gpu, refine_k=o.refine_k_factor)

    def _cached_vectors(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return embedding_cache.load_embeddings(self.ctx.store, self.ctx.embedder.key, ids)

    # -- sync ------------------------------------------------------------------------------------------
    def sync(self, chunks: ChunkSnapshot, rebuild: bool, progress: Progress | None) -> StageSync:
        start = time.perf_counter()
        report = StageSync()
        live = self.index
        rebuild = rebuild or live.index.ntotal == 0 or live.planned_factory(len(chunks.ids)) != live.factory
        if not rebuild:
            work = _copy(live)
            to_remove = np.setdiff1d(live.ids(), chunks.ids)
            if work.remove(to_remove):
                report.removed = len(to_remove)
            else:  # an index type without a safe in-place removal: rebuild from the cache
                rebuild = True
        if rebuild:
            work = DenseIndex(live.folder, copy.deepcopy(live.meta), live.index, live.approximate_from)
            work.reset(len(chunks.ids))  # a new faiss index: `live` stays untouched for searches
            report.rebuilt = True
        key = self.ctx.embedder.key
        wanted = np.setdiff1d(chunks.ids, work.ids())
        incremental = bool(work.index.is_trained)  # IVF/PQ must train on the whole set first
        checkpoint_at = time.monotonic() + CHECKPOINT_SECONDS
        if incremental:  # vectors cached already (a killed build, an earlier index of this model)
            ids, vectors = embedding_cache.load_embeddings(self.ctx.store, key, wanted)
            work.add(ids, vectors)
            report.added += len(ids)
        on_embed = (lambda d, t: report_progress(progress, "embed", d, t)) if progress else None
        for ids, vectors in embedding_cache.embed_missing(self.ctx.store, self.ctx.embedder, wanted, on_embed):
            report.embedded += len(ids)
            if incremental:
                work.add(ids, vectors)
                report.added += len(ids)
                if time.monotonic() >= checkpoint_at:
                    self._save(work, report, start, final=False)
                    checkpoint_at = time.monotonic() + CHECKPOINT_SECONDS
        if not incremental:
            ids, vectors = embedding_cache.load_embeddings(self.ctx.store, key, wanted)
            work.add(ids, vectors)
            report.added = len(ids)
            work.calibrate(ids, vectors, self.ctx.options.refine_k_factor)
        report.details["pruned_vectors"] = embedding_cache.prune_orphans(self.ctx.store)
        self._save(work, report, start, final=True)
        report.seconds = time.perf_counter() - start
        return report

    def _save(self, work: DenseIndex, report: StageSync, start: float, final: bool) -> None:
        """Persist `work` and let searches use it (a copy when the sync goes on mutating `work`)."""
        now = time.time()
        work.meta.fingerprint, work.meta.updated_at = ids_fingerprint(work.ids()), now
        if report.rebuilt:
            work.meta.built_at, work.meta.build_seconds = now, time.perf_counter() - start
        if final:
            work.meta.history = (work.meta.history + [
                {"at": now, "added": report.added, "removed": report.removed, "rebuilt": report.rebuilt,
                 "embedded": report.embedded}])[-20:]
        work.save()
        self._stamp = file_stamp(work.folder / "meta.json")
        self._index = work if final else _copy(work)
        report.n_items = int(work.index.ntotal)
        spec = work.meta.spec if work.factory == work.meta.spec else f"{work.meta.spec}: {work.factory}"
        if work.meta.nprobe:
            spec += f" (nprobe {work.meta.nprobe}, recall@10 {work.meta.calibration.get('recall@10')})"
        record_build(self.ctx.store, "faiss", work.name, spec, str(work.folder), work.index.ntotal,
                     work.meta.fingerprint, work.meta.built_at, work.meta.build_seconds, self.ctx.embedder.key,
                     "faiss-gpu" if gpu_count() else "faiss-cpu")

    def status(self) -> dict:
        return self.index.status()


def _copy(index: DenseIndex) -> DenseIndex:
    """An independent DenseIndex (faiss's own serialisation round trip copies every index type)."""
    clone = faiss.deserialize_index(faiss.serialize_index(index.index))
    return DenseIndex(index.folder, copy.deepcopy(index.meta), clone, index.approximate_from)
