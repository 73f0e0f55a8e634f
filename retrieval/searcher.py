"""One query through the stages: filters -> dense + BM25 -> fusion -> rerank -> hits with citations.

Every hit keeps each stage's score and rank, so a user (or an agent's audit log) can see why it is
there. Filters are resolved to allowed chunk ids first and pushed into each stage (see filters.py),
so `as_of` can never leak a future chunk and restrictive filters still return k hits.
"""

from __future__ import annotations

import os
import threading
import time
import warnings
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pyarrow as pa

from fincortex.retrieval import embedding_cache
from fincortex.retrieval.embedder import Embedder
from fincortex.retrieval.catalog import Catalog
from fincortex.retrieval.filters import SearchFilters, chunks_fingerprint
from fincortex.retrieval.fusion import rrf
from fincortex.retrieval.indexes import IndexSet
from fincortex.retrieval.options import MODES, RetrievalOptions
from fincortex.retrieval.threads import limit_threads
from fincortex.retrieval.reranker import Reranker, RerankerUnavailable, resolve_reranker
from fincortex.store import Store

MAX_K = 1000


class EmptyIndexError(LookupError):
    """There is nothing to search: the database holds no chunks."""


class RerankUnavailableWarning(UserWarning):
    """rerank=True was asked for but no cross-encoder is available; hits are not reranked."""


@dataclass
class Hit:
    rank: int
    score: float  # the score the final order is by (rerank fusion > rerank > fusion > dense/bm25)
    chunk_id: int
    doc_id: int
    text: str
    title: str | None
    source: str
    doc_type: str
    ticker: str | None
    page_start: int | None
    page_end: int | None
    available_at: datetime
    uri: str | None
    dense_score: float | None = None
    dense_rank: int | None = None
    bm25_score: float | None = None
    bm25_rank: int | None = None
    fusion_score: float | None = None
    rerank_score: float | None = None

    @property
    def citation(self) -> str:
        where = self.title or self.uri or f"doc {self.doc_id}"
        if self.page_start:
            pages = f"p. {self.page_start}" if self.page_end in (None, self.page_start) else f"pp. {self.page_start}-{self.page_end}"
            where += f", {pages}"
        return f"[{where}; {self.source}; available {self.available_at:%Y-%m-%d %H:%M}; chunk {self.chunk_id}]"

    def as_dict(self) -> dict:
        out = asdict(self)
        out["available_at"] = self.available_at.isoformat()
        out["citation"] = self.citation
        return out


class SearchResults(list):
    """A list of Hit, plus what happened: mode, filters, warnings, per-stage milliseconds."""

    def __init__(self, hits=(), *, query: str = "", mode: str = "", k: int = 0, filters: SearchFilters | None = None,
                 reranked: bool = False, warnings: list[str] | None = None, timings_ms: dict | None = None,
                 n_allowed: int | None = None) -> None:
        super().__init__(hits)
        self.query, self.mode, self.k, self.filters = query, mode, k, filters or SearchFilters()
        self.reranked, self.warnings = reranked, list(warnings or [])
        self.timings_ms, self.n_allowed = dict(timings_ms or {}), n_allowed

    def as_dict(self) -> dict:
        return {"query": self.query, "mode": self.mode, "k": self.k, "filters": self.filters.describe(),
                "reranked": self.reranked, "warnings": self.warnings, "timings_ms": self.timings_ms,
                "n_allowed": self.n_allowed, "hits": [h.as_dict() for h in self]}


@dataclass
class _Candidate:
    chunk_id: int
    stages: dict = field(default_factory=dict)


class Searcher:
    """Owns one IndexSet and an optional reranker for one store; safe to share between threads."""

    def __init__(self, store: Store, index_dir: Path, embedder: Embedder,
                 options: RetrievalOptions | None = None, reranker: Reranker | None = None) -> None:
        self.store, self.embedder = store, embedder
        self.options = options or RetrievalOptions.from_env()
        self.indexes = IndexSet(store, index_dir, embedder, self.options.index_spec,
                                self.options.auto_approximate_from, self.options.refine_k_factor)
        self._reranker = reranker
        self._sync_lock = threading.RLock()
        self._catalog: Catalog | None = None
        self._stamp: tuple | None = None

    # -- maintenance ---------------------------------------------------------------------------
    def sync(self, rebuild: bool = False, dense: bool = True, bm25: bool = True, progress=None):
        with self._sync_lock:
            self._stamp = None  # re-check the catalog on the next query
            return self.indexes.sync(rebuild=rebuild, dense=dense, bm25=bm25, progress=progress)

    def _db_stamp(self) -> tuple:
        """(mtime, size) of the database file and its WAL: unchanged stamp = unchanged data."""
        stamp = []
        for path in (self.store.path, self.store.path.with_name(self.store.path.name + ".wal")):
            try:
                info = os.stat(path)
                stamp.append((info.st_mtime_ns, info.st_size))
            except FileNotFoundError:
                stamp.append(None)
        return tuple(stamp)

    def _ensure_current(self, mode: str) -> Catalog:
        """The catalog for this query, after bringing the needed indexes level with the chunks table.

        Fast path (no database access): the database files have not changed since the last check.
        """
        need_dense, need_bm25 = mode in ("dense", "hybrid"), mode in ("bm25", "hybrid")
        catalog = self._catalog
        if (catalog is not None and self._stamp == self._db_stamp()
                and self.indexes.is_current(catalog.fingerprint, need_dense, need_bm25)):
            return catalog
        with self._sync_lock:
            stamp = self._db_stamp()
            with self.store.read() as conn:
                fingerprint = chunks_fingerprint(conn)
            if fingerprint.startswith("0:"):
                raise EmptyIndexError(
                    f"nothing to search: the database {self.store.path} holds no chunks; ingest documents "
                    "first (fincortex ingest PATH, or Client.ingest)"
                )
            wrote = False
            if not self.indexes.is_current(fingerprint, need_dense, need_bm25):
                self.indexes.sync(dense=need_dense, bm25=need_bm25)
                wrote = True
            if self._catalog is None or self._catalog.fingerprint != fingerprint:
                with self.store.read() as conn:
                    self._catalog = Catalog.load(conn, with_texts=self.options.memory_texts)
            # after our own writes, re-check once on the next query instead of trusting a stamp
            # that could also cover another process's write
            self._stamp = None if wrote else stamp
            return self._catalog

    def reranker(self) -> Reranker:
        if self._reranker is None:
            self._reranker = Reranker(resolve_reranker(self.store, self.options.reranker),
                                      max_length=self.options.rerank_max_length,
                                      backend=self.options.rerank_backend)
        return self._reranker

    # -- search ----------------------------------------------------------------------------------
    def search(self, query: str, k: int = 10, filters: SearchFilters | None = None, mode: str = "hybrid",
               rerank: bool = True, query_vector: np.ndarray | None = None) -> SearchResults:
        """Top-k hits for one query; see the module docstring for the stages."""
        if mode in MODES and isinstance(query, str) and query.strip():
            self._ensure_current(mode)  # may embed new chunks: batch work, all threads
        with limit_threads(self.options.query_threads):
            return self._search(query, k, filters, mode, rerank, query_vector)

    def _search(self, query: str, k: int, filters: SearchFilters | None, mode: str, rerank: bool,
                query_vector: np.ndarray | None) -> SearchResults:
        if not isinstance(query, str) or not query.strip():
            raise ValueError(f"query must be a non-empty string, got {query!r}")
        if not isinstance(k, int) or not 1 <= k <= MAX_K:
            raise ValueError(f"k must be an integer between 1 and {MAX_K}, got {k!r}")
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}; got {mode!r}")
        filters = filters or SearchFilters()
        timings: dict[str, float] = {}
        notes: list[str] = []
        clock = time.perf_counter()
        catalog = self._ensure_current(mode)
        timings["sync"] = _ms(clock)

        allowed = None
        if filters.active:
            clock = time.perf_counter()
            allowed = catalog.allowed(filters)
            timings["filter"] = _ms(clock)
            if len(allowed) == 0:
                notes.append(f"no chunk matches the filters ({filters.describe()})")
                return SearchResults(query=query, mode=mode, k=k, filters=filters, warnings=notes,
                                     timings_ms=timings, n_allowed=0)

        reranker = None
        if rerank:
            try:
                reranker = self.reranker()
            except RerankerUnavailable as exc:
                message = f"rerank unavailable, results are not reranked: {exc}"
                notes.append(message)
                warnings.warn(message, RerankUnavailableWarning, stacklevel=2)
        depth = k if mode != "hybrid" else max(k, self.options.candidates)
        if reranker is not None:
            depth = max(depth, self.options.rerank_top_n)

        ranked: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        if mode in ("dense", "hybrid"):
            clock = time.perf_counter()
            vector = query_vector if query_vector is not None else self.embedder.encode_query(query, self.options.query_threads)
            timings["embed"] = _ms(clock)
            clock = time.perf_counter()
            ranked["dense"] = self.indexes.dense.search(
                vector, depth, allowed, exact_vectors=self._cached_vectors,
                nprobe=self.options.ivf_nprobe, ef_search=self.options.hnsw_ef_search, use_gpu=self.options.use_gpu,
                refine_k=self.options.refine_k_factor)
            timings["dense"] = _ms(clock)
        if mode in ("bm25", "hybrid"):
            clock = time.perf_counter()
            ranked["bm25"] = self.indexes.bm25.search(query, depth, allowed)
            timings["bm25"] = _ms(clock)

        candidates = self._combine(ranked, mode)
        pool = candidates[: max(k, self.options.rerank_top_n)] if reranker is not None else candidates[:k]
        clock = time.perf_counter()
        rows = self._hydrate(catalog, [c.chunk_id for c in pool])
        timings["hydrate"] = _ms(clock)
        pool = [c for c in pool if c.chunk_id in rows]  # a chunk deleted since the last sync
        if reranker is not None and pool:
            # only the top rerank_top_n are re-scored (as the option says); with k larger than that the
            # rest follow in fused order, so an evaluation at depth 100 measures what search does at k=10
            clock = time.perf_counter()
            head, tail = pool[: self.options.rerank_top_n], pool[self.options.rerank_top_n:]
            scores = reranker.score(query, [rows[c.chunk_id]["text"] for c in head])
            for candidate, score in zip(head, scores.tolist()):
                candidate.stages["rerank_score"] = float(score)
            pool = self._order_reranked(head) + tail
            timings["rerank"] = _ms(clock)
        hits = [self._hit(rank, c, rows[c.chunk_id]) for rank, c in enumerate(pool[:k], start=1)]
        if filters.active and allowed is not None and len(hits) < min(k, len(allowed)) and mode != "bm25":
            notes.append(f"only {len(hits)} of {min(k, len(allowed))} matching chunks returned")
        return SearchResults(hits, query=query, mode=mode, k=k, filters=filters, reranked=reranker is not None,
                             warnings=notes, timings_ms=timings,
                             n_allowed=None if allowed is None else int(len(allowed)))

    def _cached_vectors(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return embedding_cache.load_embeddings(self.store, self.embedder.key, ids)

    def _order_reranked(self, head: list[_Candidate]) -> list[_Candidate]:
        by_rerank = sorted(head, key=lambda c: -c.stages["rerank_score"])
        if self.options.rerank_fusion == "replace":
            return by_rerank
        ids = {"first_stage": np.array([c.chunk_id for c in head]), "rerank": np.array([c.chunk_id for c in by_rerank])}
        order = rrf({stage: (chunk_ids, chunk_ids) for stage, chunk_ids in ids.items()},
                    {"first_stage": 1.0, "rerank": self.options.rerank_weight}, self.options.rrf_k)
        by_id = {c.chunk_id: c for c in head}
        for chunk_id, fused in order:
            by_id[chunk_id].stages["final_score"] = fused
        return [by_id[chunk_id] for chunk_id, _ in order]

    def _combine(self, ranked: dict[str, tuple[np.ndarray, np.ndarray]], mode: str) -> list[_Candidate]:
        by_id: dict[int, _Candidate] = {}
        for stage, (ids, scores) in ranked.items():
            for rank, (chunk_id, score) in enumerate(zip(ids.tolist(), scores.tolist()), start=1):
                candidate = by_id.setdefault(chunk_id, _Candidate(chunk_id))
                candidate.stages[f"{stage}_score"] = float(score)
                candidate.stages[f"{stage}_rank"] = rank
        if mode == "hybrid":
            weights = {"dense": self.options.dense_weight, "bm25": self.options.bm25_weight}
            order = rrf(ranked, weights, self.options.rrf_k)
            for chunk_id, fused in order:
                by_id[chunk_id].stages["fusion_score"] = fused
            return [by_id[chunk_id] for chunk_id, _ in order]
        ids = ranked[mode][0].tolist()
        return [by_id[chunk_id] for chunk_id in ids]

    def _hydrate(self, catalog: Catalog, chunk_ids: list[int]) -> dict[int, dict]:
        rows = catalog.rows(chunk_ids)
        if catalog.texts is None and rows:  # memory_texts=False: texts come from the database
            with self.store.read() as conn:
                conn.register("hit_ids", pa.table({"chunk_id": pa.array(list(rows), pa.int64())}))
                texts = dict(conn.execute(
                    "SELECT c.chunk_id, c.text FROM hit_ids h JOIN chunks c ON c.chunk_id = h.chunk_id").fetchall())
                conn.unregister("hit_ids")
            rows = {cid: row | {"text": texts[cid]} for cid, row in rows.items() if cid in texts}
        return rows

    @staticmethod
    def _hit(rank: int, candidate: _Candidate, row: dict) -> Hit:
        s = candidate.stages
        score = next(s[name] for name in ("final_score", "rerank_score", "fusion_score", "dense_score", "bm25_score") if name in s)
        return Hit(rank=rank, score=float(score), **row,
                   **{name: s.get(name) for name in ("dense_score", "dense_rank", "bm25_score", "bm25_rank",
                                                      "fusion_score", "rerank_score")})


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 3)
