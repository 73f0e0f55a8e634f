"""The embedding cache in DuckDB: one vector per (chunk_id, model_key), filled in length-sorted batches.

Why in DuckDB: it is the system of record and travels with the database, so an index rebuild (new
faiss spec, lost index folder) reloads vectors instead of re-running the model, and a BEIR run on
the same store pays for the corpus once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import pyarrow as pa

from fincortex.retrieval.sql import arrow
from fincortex.retrieval.embedder import Embedder
from fincortex.store import Store

WRITE_BATCH = 2048  # chunks embedded between two short write transactions


def register_model(store: Store, embedder: Embedder, dim: int | None = None) -> None:
    """`dim` when known (vectors computed elsewhere) spares loading the model for `embedder.dim`."""
    with store.write() as conn:
        conn.execute(
            "INSERT INTO embedding_models VALUES (?, ?, ?, ?, ?, now()) ON CONFLICT (model_key) DO NOTHING",
            [embedder.key, embedder.name, str(embedder.ref.path), dim or embedder.dim, embedder.ref.weights_sha256],
        )


def missing_chunks(store: Store, model_key: str, chunk_ids: np.ndarray | None = None) -> tuple[np.ndarray, list[str]]:
    """Chunks (optionally among chunk_ids) that have no cached vector for this model."""
    with store.read() as conn:
        where = ""
        if chunk_ids is not None:
            conn.register("wanted_ids", pa.table({"chunk_id": pa.array(chunk_ids, pa.int64())}))
            where = "WHERE c.chunk_id IN (SELECT chunk_id FROM wanted_ids)"
        rows = arrow(
            conn,
            f"""SELECT c.chunk_id, c.text FROM chunks c {where}
                AND NOT EXISTS (SELECT 1 FROM chunk_embeddings e
                                WHERE e.chunk_id = c.chunk_id AND e.model_key = ?)"""
            if where
            else """SELECT c.chunk_id, c.text FROM chunks c
                    WHERE NOT EXISTS (SELECT 1 FROM chunk_embeddings e
                                      WHERE e.chunk_id = c.chunk_id AND e.model_key = ?)""",
            [model_key],
        )
    return rows.column("chunk_id").to_numpy(), rows.column("text").to_pylist()


def ensure_embeddings(
    store: Store,
    embedder: Embedder,
    chunk_ids: np.ndarray | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Embed every chunk that lacks a cached vector; returns how many were embedded now."""
    return sum(len(ids) for ids, _ in embed_missing(store, embedder, chunk_ids, progress))


def embed_missing(
    store: Store,
    embedder: Embedder,
    chunk_ids: np.ndarray | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Embed chunks without a cached vector in write batches, yielding (ids, vectors) of each batch
    after it is committed: a killed caller keeps every batch already yielded, and a re-run skips them.

    Batches go in chunk-id order (the encoder groups similar lengths inside each one), so an index that
    adds them as they come holds its vectors in the order a build from the cache gives: equal scores
    (identical texts) then rank the same way however the index was built."""
    ids, texts = missing_chunks(store, embedder.key, chunk_ids)
    if len(ids) == 0:
        return
    register_model(store, embedder)
    order = np.argsort(ids, kind="stable")
    done = 0
    for start in range(0, len(order), WRITE_BATCH):
        part = order[start : start + WRITE_BATCH]
        vectors = embedder.encode([texts[i] for i in part])  # outside any connection: may take a while
        _insert(store, embedder.key, ids[part], vectors)
        done += len(part)
        if progress:
            progress(done, len(order))
        yield ids[part], vectors


def _insert(store: Store, model_key: str, ids: np.ndarray, vectors: np.ndarray) -> None:
    dim = vectors.shape[1]
    flat = pa.array(np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1))
    batch = pa.table(
        {"chunk_id": pa.array(ids, pa.int64()), "vector": pa.FixedSizeListArray.from_arrays(flat, dim)}
    )
    with store.write() as conn:
        conn.register("new_vectors", batch)
        conn.execute(
            """INSERT INTO chunk_embeddings
               SELECT chunk_id, ?, vector::FLOAT[], now() FROM new_vectors
               ON CONFLICT (chunk_id, model_key) DO NOTHING""",
            [model_key],
        )
        conn.unregister("new_vectors")


def insert_vectors(store: Store, model_key: str, ids: np.ndarray, vectors: np.ndarray) -> None:
    """Store vectors computed elsewhere (the Ray engine's embed stage); existing rows are kept."""
    _insert(store, model_key, ids, vectors)


def load_embeddings(
    store: Store, model_key: str, chunk_ids: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(ids, vectors) for cached chunks that still exist, ordered by chunk_id."""
    with store.read() as conn:
        join = ""
        if chunk_ids is not None:
            conn.register("wanted_ids", pa.table({"chunk_id": pa.array(chunk_ids, pa.int64())}))
            join = "JOIN wanted_ids w ON w.chunk_id = e.chunk_id"
        table = arrow(
            conn,
            f"""SELECT e.chunk_id, e.vector FROM chunk_embeddings e
                JOIN chunks c ON c.chunk_id = e.chunk_id {join}
                WHERE e.model_key = ? ORDER BY e.chunk_id""",
            [model_key],
        )
    ids = table.column("chunk_id").to_numpy()
    if len(ids) == 0:
        return ids.astype(np.int64), np.zeros((0, 0), dtype=np.float32)
    vectors = table.column("vector").combine_chunks()
    flat = vectors.flatten().to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
    return ids.astype(np.int64), flat.reshape(len(ids), -1)


def prune_orphans(store: Store) -> int:
    """Drop cached vectors of chunks that no longer exist (a replaced or deleted document)."""
    with store.write() as conn:
        n = conn.execute(
            "SELECT count(*) FROM chunk_embeddings e WHERE NOT EXISTS "
            "(SELECT 1 FROM chunks c WHERE c.chunk_id = e.chunk_id)"
        ).fetchall()[0][0]
        if n:
            conn.execute(
                "DELETE FROM chunk_embeddings WHERE chunk_id NOT IN (SELECT chunk_id FROM chunks)"
            )
    return int(n)


def cache_stats(store: Store) -> list[dict]:
    with store.read() as conn:
        rows = conn.execute(
            """SELECT m.model_key, m.name, m.dim, count(e.chunk_id)
               FROM embedding_models m LEFT JOIN chunk_embeddings e USING (model_key)
               GROUP BY ALL ORDER BY 1"""
        ).fetchall()
    return [{"model_key": r[0], "name": r[1], "dim": r[2], "n_vectors": r[3]} for r in rows]
