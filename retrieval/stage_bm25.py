"""First stage "bm25": bm25s over the chunk texts (bm25_index.py).

bm25s has no incremental add, so a changed chunk set rebuilds the index (tokenising is the cost:
seconds per 100k chunks). The rebuild goes into a new BM25Index that replaces the live one only once it
is saved, so a query never sees a model and an id list from two different builds.
"""

from __future__ import annotations

import time

import numpy as np

from fincortex.progress import report
from fincortex.retrieval import bm25_index
from fincortex.retrieval.bm25_index import BM25Index, BM25Meta
from fincortex.retrieval.filters import chunks_fingerprint
from fincortex.retrieval.options import RetrievalOptions
from fincortex.retrieval.sql import arrow
from fincortex.retrieval.stages import (ChunkSnapshot, Progress, Ranked, StageContext, StageQuery, StageSync,
                                        file_stamp, record_build)


class BM25Stage:
    name = "bm25"
    fills_k = False  # only chunks sharing a term with the query score above zero

    def __init__(self, ctx: StageContext) -> None:
        self.ctx = ctx
        self._index: BM25Index | None = None
        self._stamp: tuple | None = None

    @classmethod
    def index_name(cls, model_key: str, options: RetrievalOptions) -> str:
        return bm25_index.index_name()

    @property
    def index(self) -> BM25Index:
        if self._index is None:
            self._index = BM25Index.open(self.ctx.index_dir)
            self._stamp = file_stamp(self._index.folder / "meta.json")
        return self._index

    def refresh(self) -> None:
        if self._index is not None and file_stamp(self._index.folder / "meta.json") != self._stamp:
            self._index = None

    def fingerprint(self) -> str:
        return self.index.meta.fingerprint

    def indexed_ids(self) -> np.ndarray:
        return self.index.chunk_ids  # stored in ascending chunk id order

    def search(self, query: StageQuery, depth: int, allowed: np.ndarray | None) -> Ranked:
        return self.index.search(query.text, depth, allowed)

    def sync(self, chunks: ChunkSnapshot, rebuild: bool, progress: Progress | None) -> StageSync:
        """Rebuild from the texts of one fresh read (`chunks` only decided that a sync is due)."""
        start = time.perf_counter()
        with self.ctx.store.read() as conn:  # texts and their fingerprint from one snapshot
            table = arrow(conn, "SELECT chunk_id, text FROM chunks ORDER BY chunk_id")
            fingerprint = chunks_fingerprint(conn)
        ids = table.column("chunk_id").to_numpy()
        report(progress, "bm25", 0, len(ids))
        fresh = BM25Index(self.index.folder, BM25Meta(spec=bm25_index.tokenizer_spec()), None, np.zeros(0, np.int64))
        fresh.rebuild(ids, table.column("text").to_pylist(), fingerprint)
        self._index, self._stamp = fresh, file_stamp(fresh.folder / "meta.json")
        report(progress, "bm25", len(ids), len(ids))
        seconds = time.perf_counter() - start
        record_build(self.ctx.store, "bm25", fresh.name, fresh.meta.spec, str(fresh.folder), fresh.meta.n_docs,
                     fingerprint, fresh.meta.built_at, seconds, None, None)
        return StageSync(added=len(ids), rebuilt=True, n_items=len(ids), seconds=seconds)

    def status(self) -> dict:
        return self.index.status()
