"""Search filters turned into the exact set of chunk ids they allow, read from DuckDB.

Why resolve filters to ids first: the vector and BM25 stages then search *only* allowed chunks
(faiss IDSelector / a BM25 score mask), so a restrictive filter can never under-fill k the way
"search top-k, then drop what does not match" does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone

import duckdb
import numpy as np

from fincortex.retrieval.sql import arrow

@dataclass(frozen=True)
class SearchFilters:
    as_of: datetime | None = None  # only chunks with available_at <= as_of (naive UTC)
    tickers: tuple[str, ...] = ()
    doc_types: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    doc_ids: tuple[int, ...] = ()

    @classmethod
    def build(
        cls,
        as_of: datetime | date | str | None = None,
        tickers: list[str] | tuple[str, ...] | str | None = None,
        doc_types: list[str] | tuple[str, ...] | str | None = None,
        sources: list[str] | tuple[str, ...] | str | None = None,
        doc_ids: list[int] | tuple[int, ...] | None = None,
    ) -> "SearchFilters":
        return cls(
            as_of=parse_as_of(as_of),
            tickers=tuple(t.upper() for t in _tuple(tickers, "tickers")),
            doc_types=_tuple(doc_types, "doc_types"),
            sources=_tuple(sources, "sources"),
            doc_ids=tuple(int(d) for d in (doc_ids or ())),
        )

    @property
    def active(self) -> bool:
        return bool(self.as_of or self.tickers or self.doc_types or self.sources or self.doc_ids)

    def where_sql(self) -> tuple[str, list]:
        """WHERE clause over chunks c JOIN documents d, with its parameters."""
        clauses, params = [], []
        if self.as_of is not None:
            clauses.append("c.available_at <= ? AND d.available_at <= ?")
            params += [self.as_of, self.as_of]
        for column, values in (("upper(d.ticker)", self.tickers), ("d.doc_type", self.doc_types),
                               ("d.source", self.sources), ("d.doc_id", self.doc_ids)):
            if values:
                clauses.append(f"{column} IN ({', '.join('?' * len(values))})")
                params += list(values)
        return (" AND ".join(clauses) or "TRUE"), params

    def describe(self) -> str:
        parts = []
        if self.as_of:
            parts.append(f"as_of={self.as_of.isoformat(sep=' ')}")
        for name in ("tickers", "doc_types", "sources", "doc_ids"):
            if getattr(self, name):
                parts.append(f"{name}={list(getattr(self, name))}")
        return ", ".join(parts) or "none"


def _tuple(value, name: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    items = tuple(str(v).strip() for v in value if str(v).strip())
    if len(items) != len(list(value)):
        raise ValueError(f"{name}: empty values are not allowed ({list(value)!r})")
    return items


def parse_as_of(value: datetime | date | str | None) -> datetime | None:
    """A datetime, date or ISO string -> naive UTC datetime; a bare date means the end of that day."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError as exc:
            raise ValueError(f"as_of {value!r} is not an ISO date or datetime (e.g. 2020-03-31 or 2020-03-31T16:00)") from exc
        if len(text) == 10:  # a date: everything public by the end of that day
            parsed = parsed.replace(hour=23, minute=59, second=59, microsecond=999999)
        value = parsed
    elif isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, 23, 59, 59, 999999)
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def allowed_chunk_ids(conn: duckdb.DuckDBPyConnection, filters: SearchFilters) -> np.ndarray:
    """Sorted int64 ids of every chunk the filters allow."""
    where, params = filters.where_sql()
    table = arrow(
            conn,
        f"SELECT c.chunk_id FROM chunks c JOIN documents d ON d.doc_id = c.doc_id WHERE {where} ORDER BY 1",
        params,
    )
    return table.column("chunk_id").to_numpy().astype(np.int64, copy=False)


def chunks_fingerprint(conn: duckdb.DuckDBPyConnection) -> str:
    """Cheap identity of the chunk set (count + xor of ids): any add or delete changes it."""
    count, xor = conn.execute("SELECT count(*), coalesce(bit_xor(chunk_id), 0) FROM chunks").fetchall()[0]
    return f"{count}:{xor}"


def ids_fingerprint(ids: np.ndarray) -> str:
    """`chunks_fingerprint` of an id array (an index's own ids): equal strings = equal chunk sets."""
    ids = np.asarray(ids, dtype=np.int64)
    return f"{len(ids)}:{int(np.bitwise_xor.reduce(ids)) if len(ids) else 0}"


def all_chunk_ids(conn: duckdb.DuckDBPyConnection) -> np.ndarray:
    table = arrow(conn, "SELECT chunk_id FROM chunks ORDER BY 1")
    return table.column("chunk_id").to_numpy().astype(np.int64, copy=False)
