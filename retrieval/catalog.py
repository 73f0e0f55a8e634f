"""An in-memory snapshot of the chunk metadata (and texts) that search needs per query.

Why: opening a DuckDB connection costs tens of milliseconds, more than a whole flat search over 100k
vectors, and the store never keeps one open (another process may need the write lock). So a searcher
reads this snapshot once per change of the chunks table, then resolves filters (the same rules as
filters.SearchFilters.where_sql, vectorised) and builds hits without touching the database. Texts
are kept as one Arrow string array (no per-string Python object), about the size of the text itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb
import numpy as np
import pyarrow as pa

from fincortex.retrieval.filters import SearchFilters, chunks_fingerprint
from fincortex.retrieval.sql import arrow

_EPOCH = np.datetime64(0, "us")


def _micros(values: pa.ChunkedArray) -> np.ndarray:
    return values.cast(pa.timestamp("us")).to_numpy(zero_copy_only=False).astype("datetime64[us]").astype(np.int64)


@dataclass
class Catalog:
    fingerprint: str
    chunk_ids: np.ndarray  # sorted int64
    available_us: np.ndarray  # greatest(chunk.available_at, document.available_at), µs since epoch
    doc_pos: np.ndarray  # row of each chunk's document in `docs`
    page_start: np.ndarray  # int32, -1 = none
    page_end: np.ndarray
    texts: pa.Array | None  # None when the catalog was loaded without texts
    docs: pa.Table  # doc_id, title, source, doc_type, ticker, uri
    doc_columns: dict[str, np.ndarray]  # doc_id, upper-case ticker, doc_type, source: for filters

    @classmethod
    def load(cls, conn: duckdb.DuckDBPyConnection, with_texts: bool = True) -> "Catalog":
        fingerprint = chunks_fingerprint(conn)
        docs = arrow(conn, "SELECT doc_id, title, source, doc_type, ticker, uri FROM documents ORDER BY doc_id")
        text_col = "c.text" if with_texts else "NULL::VARCHAR AS text"
        chunks = arrow(
            conn,
            f"""SELECT c.chunk_id, c.doc_id, greatest(c.available_at, d.available_at) AS available_at,
                       coalesce(c.page_start, -1) AS page_start, coalesce(c.page_end, -1) AS page_end, {text_col}
                FROM chunks c JOIN documents d ON d.doc_id = c.doc_id ORDER BY c.chunk_id""",
        )
        doc_ids = docs.column("doc_id").to_numpy()
        chunk_doc = chunks.column("doc_id").to_numpy()
        doc_columns = {
            "doc_id": doc_ids,
            "ticker": np.array([(t or "").upper() for t in docs.column("ticker").to_pylist()], dtype=object),
            "doc_type": np.array(docs.column("doc_type").to_pylist(), dtype=object),
            "source": np.array(docs.column("source").to_pylist(), dtype=object),
        }
        return cls(
            fingerprint=fingerprint,
            chunk_ids=chunks.column("chunk_id").to_numpy().astype(np.int64),
            available_us=_micros(chunks.column("available_at")),
            doc_pos=np.searchsorted(doc_ids, chunk_doc),
            page_start=chunks.column("page_start").to_numpy().astype(np.int32),
            page_end=chunks.column("page_end").to_numpy().astype(np.int32),
            texts=chunks.column("text").combine_chunks() if with_texts else None,
            docs=docs,
            doc_columns=doc_columns,
        )

    def __len__(self) -> int:
        return len(self.chunk_ids)

    def allowed(self, filters: SearchFilters) -> np.ndarray:
        """Sorted chunk ids the filters allow (same semantics as filters.allowed_chunk_ids in SQL)."""
        doc_mask = np.ones(self.docs.num_rows, dtype=bool)
        for column, values in (("doc_type", filters.doc_types), ("source", filters.sources),
                               ("ticker", filters.tickers)):
            if values:
                doc_mask &= np.isin(self.doc_columns[column], np.array(values, dtype=object))
        if filters.doc_ids:
            doc_mask &= np.isin(self.doc_columns["doc_id"], np.array(filters.doc_ids, dtype=np.int64))
        mask = doc_mask[self.doc_pos]
        if filters.as_of is not None:
            as_of_us = int((np.datetime64(filters.as_of, "us") - _EPOCH).astype(np.int64))
            mask &= self.available_us <= as_of_us
        return self.chunk_ids[mask]

    def rows(self, chunk_ids: list[int]) -> dict[int, dict]:
        """Hit fields for chunk ids still in the snapshot."""
        positions = np.searchsorted(self.chunk_ids, np.asarray(chunk_ids, dtype=np.int64))
        out: dict[int, dict] = {}
        for chunk_id, pos in zip(chunk_ids, positions.tolist()):
            if pos >= len(self.chunk_ids) or self.chunk_ids[pos] != chunk_id:
                continue
            doc = self.docs.slice(int(self.doc_pos[pos]), 1).to_pylist()[0]
            out[chunk_id] = {
                "chunk_id": int(chunk_id), "doc_id": doc["doc_id"],
                "text": self.texts[pos].as_py() if self.texts is not None else None,
                "title": doc["title"], "source": doc["source"], "doc_type": doc["doc_type"], "ticker": doc["ticker"],
                "page_start": int(self.page_start[pos]) if self.page_start[pos] >= 0 else None,
                "page_end": int(self.page_end[pos]) if self.page_end[pos] >= 0 else None,
                "available_at": datetime(1970, 1, 1) + np.timedelta64(int(self.available_us[pos]), "us").item(),
                "uri": doc["uri"],
            }
        return out

    def nbytes(self) -> int:
        arrays = (self.chunk_ids, self.available_us, self.doc_pos, self.page_start, self.page_end)
        return int(sum(a.nbytes for a in arrays) + (self.texts.nbytes if self.texts is not None else 0)
                   + self.docs.nbytes)
