"""LLM response cache in DuckDB: deterministic replay of chat completions and choice scores.

Why: agent runs (backtests, forecasts) must be reproducible and cheap to re-run. A response is keyed
by (model hash, messages or prompt, generation parameters, seed); a hit is served from the
`llm_cache` table without loading the model or calling the endpoint. Every lookup and insert uses a
short-lived store connection (see fincortex/store.py), so a long generation never holds the lock.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from fincortex.store import Store


def cache_key(kind: str, model_hash: str, request: dict[str, Any]) -> str:
    """sha256 over canonical JSON; `request` must hold messages/prompt, parameters and seed."""
    blob = json.dumps({"kind": kind, "model_hash": model_hash, "request": request},
                      sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class LLMCache:
    """Get/put responses by key in the `llm_cache` table of one DuckDB file."""

    store: Store

    def get(self, key: str) -> dict[str, Any] | None:
        with self.store.read() as conn:
            row = conn.execute("SELECT response FROM llm_cache WHERE cache_key = ?", [key]).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, key: str, kind: str, model: str, model_hash: str,
            request: dict[str, Any], response: dict[str, Any]) -> None:
        with self.store.write() as conn:
            conn.execute(
                "INSERT INTO llm_cache VALUES (?, ?, ?, ?, ?, ?, now()) ON CONFLICT DO NOTHING",
                [key, kind, model, model_hash, json.dumps(request, ensure_ascii=False),
                 json.dumps(response, ensure_ascii=False)],
            )

    def count(self, model_hash: str | None = None) -> int:
        with self.store.read() as conn:
            if model_hash is None:
                return conn.execute("SELECT count(*) FROM llm_cache").fetchone()[0]
            return conn.execute(
                "SELECT count(*) FROM llm_cache WHERE model_hash = ?", [model_hash]
            ).fetchone()[0]

    def clear(self, model_hash: str | None = None) -> int:
        """Delete cached responses (all, or one model's); returns how many were deleted."""
        n = self.count(model_hash)
        with self.store.write() as conn:
            if model_hash is None:
                conn.execute("DELETE FROM llm_cache")
            else:
                conn.execute("DELETE FROM llm_cache WHERE model_hash = ?", [model_hash])
        return n
