"""One query through the stages: filters -> the mode's first stages (fused by RRF when several) -> the
post stages -> hits with citations.

Every hit keeps each stage's score and rank (`hit.scores`, `hit.ranks`), so a user (or an agent's audit
log) can see why it is there. Filters are resolved to allowed chunk ids first and pushed into each stage
(see filters.py), so `as_of` can never leak a future chunk and restrictive filters still return k hits.

A query never writes an index. It answers from the indexes as they are: chunks the chunks table holds
but a stage's index does not yet are left out and counted in `results.not_indexed`, with a warning to
run `fincortex index build`; chunks removed from the table since the last build are never returned.
"""

from __future__ import annotations

import os
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from fincortex.retrieval.catalog import Catalog
from fincortex.retrieval.embedder import Embedder
from fincortex.retrieval.filters import SearchFilters, chunks_fingerprint
from fincortex.retrieval.fusion import rrf
from fincortex.retrieval.hits import Hit, SearchResults
from fincortex.retrieval.indexes import IndexSet
from fincortex.retrieval.options import MODES, RetrievalOptions
from fincortex.retrieval.registry import POST_STAGES
from fincortex.retrieval.reranker import Reranker
from fincortex.retrieval.stage_rerank import CrossEncoderStage
from fincortex.retrieval.stages import FirstStage, PostStage, Progress, StageQuery, StageUnavailable, SyncReport
from fincortex.retrieval.threads import limit_threads
from fincortex.store import Store

__all__ = ["EmptyIndexError", "Hit", "IndexNotBuiltError", "RerankUnavailableWarning", "SearchResults", "Searcher"]

MAX_K = 1000
BUILD_HINT = "run `fincortex index build` (or Client.build_index())"


class EmptyIndexError(LookupError):
    """There is nothing to search: the database holds no chunks."""


class IndexNotBuiltError(EmptyIndexError):
    """The database holds chunks but a stage's index holds none of them: nothing was built yet."""


class RerankUnavailableWarning(UserWarning):
    """rerank=True was asked for but a post stage cannot run (no model); hits are not reranked by it."""


@dataclass
class _Candidate:
    chunk_id: int
    score: float = 0.0  # what the current order is by
    scores: dict[str, float] = field(default_factory=dict)
    ranks: dict[str, int] = field(default_factory=dict)


class Searcher:
    """Owns one IndexSet and the post stages for one store; safe to share between threads."""

    def __init__(self, store: Store, index_dir: Path, embedder: Embedder, options: RetrievalOptions | None = None,
                 reranker: Reranker | None = None, post_stages: dict[str, PostStage] | None = None,
                 models_dir: Path | None = None) -> None:
        self.store, self.embedder = store, embedder
        self.options = options or RetrievalOptions.from_env()
        unknown = [n for n in self.options.post_stage_names() if n not in POST_STAGES]
        if unknown:
            raise ValueError(f"post_stages (FINCORTEX_POST_STAGES) {unknown} are not registered; known: "
                             f"{', '.join(POST_STAGES)}")
        self.indexes = IndexSet(store, index_dir, embedder, self.options)
        from fincortex.retrieval.embedder import _default_models_dir

        # where calibrated fusion weights live: the store's settings' models folder when given (a shared
        # Embedder may have been built for another home), else the embedder's, else the default one
        self._models_dir = models_dir or embedder.models_dir or _default_models_dir()
        self._post: dict[str, PostStage] = dict(post_stages or {})
        if reranker is not None:  # an injected cross-encoder (tests, benchmarks)
            self._post[CrossEncoderStage.name] = CrossEncoderStage(self.indexes.ctx, reranker)
        self._catalog_lock = threading.Lock()
        self._catalog: Catalog | None = None
        self._stamp: tuple | None = None
        self._unfiltered: dict[str, tuple[str, str, np.ndarray, int]] = {}  # stale stage -> its allowed ids

    # -- maintenance (ingest/build time) ----------------------------------------------------------------
    def sync(self, rebuild: bool = False, stages: tuple[str, ...] | None = None,
             progress: Progress | None = None) -> SyncReport:
        try:
            return self.indexes.sync(rebuild=rebuild, stages=stages, progress=progress)
        finally:
            self._stamp = None  # re-read the catalog on the next query

    def use_post_stage(self, stage: PostStage) -> None:
        """Run `stage` under its name instead of the registry's (a benchmark's cross-encoder backend)."""
        self._post[stage.name] = stage

    def post_stages(self, notes: list[str] | None = None) -> list[PostStage]:
        """The configured post stages that can run; each that cannot is reported in `notes` and warned."""
        ready = []
        for name in self.options.post_stage_names():
            if name not in self._post:
                try:
                    self._post[name] = POST_STAGES[name](self.indexes.ctx)
                except StageUnavailable as exc:
                    message = f"{name} unavailable, results are not reranked by it: {exc}"
                    if notes is not None:
                        notes.append(message)
                    warnings.warn(message, RerankUnavailableWarning, stacklevel=3)
                    continue
            ready.append(self._post[name])
        return ready

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

    def catalog(self) -> Catalog:
        """The chunk catalog, re-read when the database changed (a file-stat check otherwise); also picks
        up indexes another process saved. Reads only: bounded by the size of the chunks table."""
        catalog = self._catalog
        if catalog is not None and self._stamp is not None and self._stamp == self._db_stamp():
            return catalog
        with self._catalog_lock:
            stamp = self._db_stamp()
            with self.store.read() as conn:
                fingerprint = chunks_fingerprint(conn)
                if fingerprint.startswith("0:"):
                    raise EmptyIndexError(
                        f"nothing to search: the database {self.store.path} holds no chunks; ingest documents "
                        "first (fincortex ingest PATH, or Client.ingest)")
                if self._catalog is None or self._catalog.fingerprint != fingerprint:
                    self._catalog = Catalog.load(conn, with_texts=self.options.memory_texts)
            self.indexes.refresh()
            self._stamp = stamp
            return self._catalog

    # -- search ----------------------------------------------------------------------------------------
    def search(self, query: str, k: int = 10, filters: SearchFilters | None = None, mode: str = "hybrid",
               rerank: bool = True, query_vector: np.ndarray | None = None) -> SearchResults:
        """Top-k hits for one query; see the module docstring for the stages."""
        if not isinstance(query, str) or not query.strip():
            raise ValueError(f"query must be a non-empty string, got {query!r}")
        if not isinstance(k, int) or not 1 <= k <= MAX_K:
            raise ValueError(f"k must be an integer between 1 and {MAX_K}, got {k!r}")
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}; got {mode!r}")
        with limit_threads(self.options.query_threads):
            return self._search(query, k, filters or SearchFilters(), mode, rerank, query_vector)

    def _search(self, query: str, k: int, filters: SearchFilters, mode: str, rerank: bool,
                query_vector: np.ndarray | None) -> SearchResults:
        timings: dict[str, float] = {}
        notes: list[str] = []
        clock = time.perf_counter()
        catalog = self.catalog()
        timings["catalog"] = _ms(clock)
        stages = [self.indexes[name] for name in MODES[mode]]
        names = [s.name for s in stages]
        allowed = None
        if filters.active:
            clock = time.perf_counter()
            allowed = catalog.allowed(filters)
            timings["filter"] = _ms(clock)
            if len(allowed) == 0:
                notes.append(f"no chunk matches the filters ({filters.describe()})")
                return SearchResults(query=query, mode=mode, k=k, filters=filters, warnings=notes,
                                     timings_ms=timings, n_allowed=0, stages=names)

        post = self.post_stages(notes) if rerank else []
        depth = k if len(stages) == 1 else max(k, self.options.candidates)
        depth = max([depth] + [p.top_n for p in post])
        stage_query = StageQuery(query, query_vector, timings)  # a vector stage records "embed" in timings
        ranked: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        not_indexed: dict[str, int] = {}
        pool_sizes: dict[str, int] = {}
        unbuilt: list[str] = []
        for stage in stages:
            try:
                stage_allowed, missing = self._indexed_allowed(stage, catalog, allowed)
            except IndexNotBuiltError:
                # one index of a hybrid search not built yet (the demo embeds in the background after BM25):
                # the other stages answer, and the results say which one was left out
                if len(stages) == 1 or len(unbuilt) == len(stages) - 1:
                    raise
                unbuilt.append(stage.name)
                continue
            if missing:
                not_indexed[stage.name] = missing
            pool_sizes[stage.name] = len(catalog) if stage_allowed is None else len(stage_allowed)
            clock = time.perf_counter()
            ranked[stage.name] = stage.search(stage_query, depth, stage_allowed)
            timings[stage.name] = _ms(clock)
        matching = len(catalog) if allowed is None else len(allowed)
        if not_indexed:
            notes.append(_not_indexed_note(not_indexed, matching))
        if unbuilt:
            notes.append(f"the {' and '.join(unbuilt)} index is not built yet: this {mode} search ran on "
                         f"{' + '.join(ranked)} alone; {BUILD_HINT} to add it")
            not_indexed.update({name: matching for name in unbuilt})

        candidates = self._combine(ranked)
        pool = candidates[: max([k] + [p.top_n for p in post])] if post else candidates[:k]
        clock = time.perf_counter()
        rows = self._hydrate(catalog, [c.chunk_id for c in pool])
        timings["hydrate"] = _ms(clock)
        pool = [c for c in pool if c.chunk_id in rows]  # a chunk deleted since the catalog was read
        for stage in post:
            if not pool:
                break
            # only the top n are re-scored (as the option says); with k larger than that the rest follow in
            # the previous order, so an evaluation at depth 100 measures what search does at k=10
            clock = time.perf_counter()
            head, tail = pool[: stage.top_n], pool[stage.top_n:]
            scores = stage.score(query, [rows[c.chunk_id]["text"] for c in head])
            for candidate, score in zip(head, np.asarray(scores).tolist()):
                candidate.scores[stage.name] = float(score)
            pool = self._order(head, stage) + tail
            timings[stage.name] = _ms(clock)
        hits = [Hit(rank=rank, score=float(c.score), **rows[c.chunk_id], scores=dict(c.scores), ranks=dict(c.ranks))
                for rank, c in enumerate(pool[:k], start=1)]
        filling = [pool_sizes[s.name] for s in stages if s.fills_k and s.name in pool_sizes]
        if filters.active and filling and len(hits) < min(k, max(filling)):
            notes.append(f"only {len(hits)} of {min(k, max(filling))} matching chunks returned")
        return SearchResults(hits, query=query, mode=mode, k=k, filters=filters, reranked=bool(post),
                             warnings=notes, timings_ms=timings, n_allowed=None if allowed is None else int(len(allowed)),
                             stages=names + [p.name for p in post], not_indexed=not_indexed)

    def _indexed_allowed(self, stage: FirstStage, catalog: Catalog,
                         allowed: np.ndarray | None) -> tuple[np.ndarray | None, int]:
        """The allowed ids this stage's index holds, and how many allowed chunks it lacks. A current index
        (same fingerprint as the catalog) takes `allowed` as it is: the common case costs nothing."""
        fingerprint = stage.fingerprint()
        if fingerprint == catalog.fingerprint:
            return allowed, 0
        if allowed is None:
            cached = self._unfiltered.get(stage.name)
            if cached and cached[:2] == (catalog.fingerprint, fingerprint):
                return cached[2], cached[3]
        indexed = stage.indexed_ids()
        if len(indexed) == 0:
            raise IndexNotBuiltError(
                f"the {stage.name} index holds none of the {len(catalog)} chunks in {self.store.path} yet: "
                f"{BUILD_HINT}; later ingests keep it current")
        base = catalog.chunk_ids if allowed is None else allowed
        kept = base[np.isin(base, indexed, assume_unique=True)]
        missing = int(len(base) - len(kept))
        if allowed is None:
            self._unfiltered[stage.name] = (catalog.fingerprint, fingerprint, kept, missing)
        return kept, missing

    def _order(self, head: list[_Candidate], stage: PostStage) -> list[_Candidate]:
        """The head after a post stage: RRF of the previous order and the stage's, or the stage's alone."""
        by_stage = sorted(head, key=lambda c: -c.scores[stage.name])
        if self.options.rerank_fusion == "replace":
            for c in by_stage:
                c.score = c.scores[stage.name]
            return by_stage
        ids = {"first_stage": np.array([c.chunk_id for c in head]), stage.name: np.array([c.chunk_id for c in by_stage])}
        order = rrf({name: (chunk_ids, chunk_ids) for name, chunk_ids in ids.items()},
                    {"first_stage": 1.0, stage.name: stage.fusion_weight}, self.options.rrf_k)
        by_id = {c.chunk_id: c for c in head}
        for chunk_id, fused in order:
            by_id[chunk_id].scores["final"] = by_id[chunk_id].score = fused
        return [by_id[chunk_id] for chunk_id, _ in order]

    def fusion_weights(self, stages: tuple[str, ...]) -> dict[str, float]:
        """RRF weight per first stage: explicit options, else calibrated for this embedder, else 1."""
        from fincortex.retrieval.fusion import load_weights

        calibrated = load_weights(self._models_dir, self.embedder.key)
        return {name: self.options.stage_weight(name, calibrated) for name in stages}

    def _combine(self, ranked: dict[str, tuple[np.ndarray, np.ndarray]]) -> list[_Candidate]:
        by_id: dict[int, _Candidate] = {}
        for name, (ids, scores) in ranked.items():
            for rank, (chunk_id, score) in enumerate(zip(ids.tolist(), scores.tolist()), start=1):
                candidate = by_id.setdefault(chunk_id, _Candidate(chunk_id))
                candidate.scores[name] = float(score)
                candidate.ranks[name] = rank
        if len(ranked) > 1:
            weights = self.fusion_weights(tuple(ranked))
            order = rrf(ranked, weights, self.options.rrf_k)
            for chunk_id, fused in order:
                by_id[chunk_id].scores["fused"] = by_id[chunk_id].score = fused
            return [by_id[chunk_id] for chunk_id, _ in order]
        (name, (ids, _)), = ranked.items()
        out = [by_id[chunk_id] for chunk_id in ids.tolist()]
        for candidate in out:
            candidate.score = candidate.scores[name]
        return out

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


def _not_indexed_note(not_indexed: dict[str, int], matching: int) -> str:
    per_stage = ", ".join(f"{name} {n:,}" for name, n in not_indexed.items())
    return (f"{max(not_indexed.values()):,} of the {matching:,} chunks matching this search are not indexed yet "
            f"({per_stage}) and were left out: {BUILD_HINT} to add them")


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 3)
