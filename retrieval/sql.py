"""One helper: run SQL and get a pyarrow Table (DuckDB 2's relation API, which avoids a row copy)."""

from __future__ import annotations

import duckdb
import pyarrow as pa


def arrow(conn: duckdb.DuckDBPyConnection, query: str, params: list | None = None) -> pa.Table:
    return conn.sql(query, params=params or None).to_arrow_table()
