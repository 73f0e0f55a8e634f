"""Batch ingestion: parse -> Document -> chunk -> DuckDB, idempotent by content hash."""
