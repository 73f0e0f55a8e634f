"""The read layer: the SQL readers the SDK, the CLI and the dashboard show, over `Store.rows`.

Why a module of its own: `Client` only wires settings and the store into service functions, so the
SQL it used to hold lives here, in the ground layer, beside the one rule for "which model of a kind is
the default" that retrieval (embedder, reranker) and the model registry (chat) both need and that
neither may import from the other.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from fincortex.store import Store

if TYPE_CHECKING:
    import pandas as pd

_CHUNK_COLUMNS = "chunk_id, ordinal, text, n_tokens, page_start, page_end, is_table"


# -- models: the one default rule ---------------------------------------------------------------
def default_model(store: Store, kind: str) -> dict[str, Any] | None:
    """The default model of `kind` ('chat', 'embedder', 'reranker') as its `models` row, or None.

    The rule, for every kind and every caller: the default is the row the registry marked `is_default`
    (`set_default` and `register(make_default=True)` keep at most one per kind). Nothing else is a
    default: not the newest row, not the only row.
    """
    found = store.rows("SELECT * FROM models WHERE kind = ? AND is_default", [kind])
    return found[0] if found else None


def registered_model(store: Store, kind: str, name: str) -> dict[str, Any] | None:
    """The `models` row of (kind, name), or None when no such model is registered."""
    found = store.rows("SELECT * FROM models WHERE kind = ? AND name = ?", [kind, name])
    return found[0] if found else None


# -- corpus -------------------------------------------------------------------------------------
def stats(store: Store) -> dict[str, Any]:
    """Row counts and spans: what the database holds."""
    with store.read():  # one connection for the five reads
        docs = store.rows("SELECT count(*) AS n, min(available_at) AS first, max(available_at) AS last "
                          "FROM documents")[0]
        by_source = store.rows("SELECT source, doc_type, count(*) AS documents, sum(n_chunks) AS chunks "
                               "FROM documents GROUP BY ALL ORDER BY documents DESC")
        prices = store.rows("SELECT symbol, count(*) AS bars, min(ts)::DATE AS first, max(ts)::DATE AS last "
                            "FROM prices GROUP BY symbol ORDER BY symbol")
        runs = store.rows("SELECT count(*) AS n FROM ingest_runs")[0]["n"]
        chunks = store.rows("SELECT count(*) AS n FROM chunks")[0]["n"]
    return {
        "db": str(store.path),
        "db_bytes": store.path.stat().st_size if store.path.exists() else 0,
        "documents": docs["n"],
        "chunks": chunks,
        "available_from": docs["first"],
        "available_to": docs["last"],
        "by_source": by_source,
        "prices": prices,
        "ingest_runs": runs,
    }


def documents(store: Store, limit: int = 100, offset: int = 0, source: str | None = None,
              ticker: str | None = None, doc_type: str | None = None) -> list[dict[str, Any]]:
    """Documents newest first, optionally filtered (for browsing; search is the retrieval service)."""
    where, params = [], []
    for column, value in (("source", source), ("ticker", ticker), ("doc_type", doc_type)):
        if value:
            where.append(f"{column} = ?")
            params.append(value)
    sql = ("SELECT doc_id, title, source, doc_type, ticker, available_at, n_pages, n_chunks, uri "
           "FROM documents" + (" WHERE " + " AND ".join(where) if where else "") +
           " ORDER BY available_at DESC, doc_id LIMIT ? OFFSET ?")
    return store.rows(sql, [*params, limit, offset])


def document(store: Store, doc_id: int) -> dict[str, Any]:
    """One document with its chunks in order; KeyError names a missing id."""
    with store.read():
        found = store.rows("SELECT * FROM documents WHERE doc_id = ?", [doc_id])
        if not found:
            raise KeyError(f"no document with id {doc_id}")
        doc = found[0]
        doc["chunks"] = store.rows(f"SELECT {_CHUNK_COLUMNS} FROM chunks WHERE doc_id = ? ORDER BY ordinal", [doc_id])
    return doc


def chunks(store: Store, chunk_ids: list[int]) -> list[dict[str, Any]]:
    """Chunks by id, in the order asked, with their document's title/ticker/source (an agent's evidence)."""
    ids = [int(i) for i in chunk_ids]
    if not ids:
        return []
    found = store.rows(
        "SELECT c.chunk_id, c.doc_id, c.ordinal, c.text, c.page_start, c.page_end, c.available_at, "
        "d.title, d.source, d.doc_type, d.ticker FROM chunks c JOIN documents d USING (doc_id) "
        f"WHERE c.chunk_id IN ({', '.join('?' * len(ids))})", ids)
    by_id = {row["chunk_id"]: row for row in found}
    return [by_id[i] for i in ids if i in by_id]


def prices(store: Store, symbol: str, start: datetime | str | None = None,
           end: datetime | str | None = None) -> "pd.DataFrame":
    """Daily bars of a symbol (ts, open, high, low, close, volume, available_at), oldest first."""
    with store.read() as conn:  # a DataFrame straight from DuckDB: no detour through dicts
        return conn.execute(
            "SELECT ts, open, high, low, close, volume, available_at FROM prices WHERE symbol = ? "
            "AND (? IS NULL OR ts >= ?) AND (? IS NULL OR ts <= ?) ORDER BY ts",
            [symbol.upper(), start, start, end, end],
        ).df()


def has_index(store: Store) -> bool:
    """Whether any retrieval index was ever built for this database (ingest then keeps it current)."""
    return bool(store.rows("SELECT count(*) AS n FROM retrieval_indexes")[0]["n"])


# -- agent runs -----------------------------------------------------------------------------------
def agent_run(store: Store, run_id: str) -> dict[str, Any]:
    """An analyst/forecaster run as recorded: question, as_of, result, and each tool call with the
    chunks it returned (text, title, available_at) - the evidence behind an answer or a forecast."""
    with store.read():
        found = store.rows("SELECT * FROM agent_runs WHERE run_id = ?", [run_id])
        if not found:
            raise KeyError(f"no agent run {run_id!r}")
        run = found[0]
        calls = store.rows("SELECT seq, tool, args, as_of, ok, error, summary, n_chunks, ms "
                           "FROM agent_tool_calls WHERE run_id = ? ORDER BY seq", [run_id])
        seen = store.rows(
            "SELECT k.seq, k.rank, k.score, k.chunk_id, k.available_at, c.text, c.page_start, c.page_end, "
            "d.doc_id, d.title, d.source, d.ticker FROM agent_tool_chunks k "
            "LEFT JOIN chunks c USING (chunk_id) LEFT JOIN documents d ON d.doc_id = c.doc_id "
            "WHERE k.run_id = ? ORDER BY k.seq, k.rank", [run_id])
    for call in calls:
        call["chunks"] = [c for c in seen if c["seq"] == call["seq"]]
    run["tool_calls"] = calls
    return run
