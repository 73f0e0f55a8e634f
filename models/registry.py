"""The `models` table: every chat model, embedder or reranker fincortex built or adopted.

Shared by all areas (the embedder/reranker tuning registers here too): `register(store, card, path)`
after writing a lineage card, `get_default(store, kind)` to resolve "the default chat model".
At most one default per kind: `set_default` clears the others in the same transaction. What counts as
the default is decided once, in `fincortex.queries.default_model` (retrieval asks there too).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fincortex import queries
from fincortex.models.merging.lineage import LineageCard
from fincortex.store import Store

_COLUMNS = ("kind", "name", "path", "sha256", "method", "params", "parents", "data_summary",
            "hyperparams", "seed", "metrics", "fincortex_version", "is_default", "created_at")
_JSON = {"params", "parents", "data_summary", "hyperparams", "metrics"}


class RegistryError(LookupError):
    """A model asked for by kind/name is not registered."""


@dataclass(frozen=True)
class ModelRecord:
    kind: str
    name: str
    path: str
    sha256: str | None
    method: str
    params: dict[str, Any]
    parents: list[dict[str, Any]]
    data_summary: dict[str, Any]
    hyperparams: dict[str, Any]
    seed: int | None
    metrics: dict[str, Any]
    fincortex_version: str | None
    is_default: bool
    created_at: datetime


def _record(row: dict[str, Any]) -> ModelRecord:
    values = {k: row[k] for k in _COLUMNS}
    for k in _JSON:
        values[k] = json.loads(values[k]) if values[k] else ({} if k != "parents" else [])
    return ModelRecord(**values)


def register(store: Store, card: LineageCard, path: str, *, make_default: bool = False) -> ModelRecord:
    """Insert or replace the (kind, name) row from a lineage card; optionally make it the kind's default."""
    with store.write() as conn:
        was_default = conn.execute(
            "SELECT is_default FROM models WHERE kind = ? AND name = ?", [card.kind, card.name]
        ).fetchone()
        keep_default = bool(was_default and was_default[0])
        if make_default:
            conn.execute("UPDATE models SET is_default = FALSE WHERE kind = ? AND is_default", [card.kind])
        conn.execute(
            f"INSERT OR REPLACE INTO models ({', '.join(_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(_COLUMNS))})",
            [card.kind, card.name, str(path), card.sha256, card.method,
             json.dumps(card.params), json.dumps([p.__dict__ for p in card.parents]),
             json.dumps(card.data_summary), json.dumps(card.hyperparams), card.seed,
             json.dumps(card.metrics), card.fincortex_version, make_default or keep_default,
             datetime.fromisoformat(card.created_at) if card.created_at else datetime.now()],
        )
    return get(store, card.kind, card.name)


def list_models(store: Store, kind: str | None = None) -> list[ModelRecord]:
    sql = f"SELECT {', '.join(_COLUMNS)} FROM models"
    args: list[Any] = []
    if kind:
        sql += " WHERE kind = ?"
        args.append(kind)
    return [_record(r) for r in store.rows(sql + " ORDER BY kind, created_at, name", args)]


def find(store: Store, kind: str, name: str) -> ModelRecord | None:
    row = queries.registered_model(store, kind, name)
    return _record(row) if row else None


def get(store: Store, kind: str, name: str) -> ModelRecord:
    rec = find(store, kind, name)
    if rec is None:
        known = ", ".join(r.name for r in list_models(store, kind)) or "none"
        raise RegistryError(f"no {kind} model named {name!r} is registered (registered: {known})")
    return rec


def get_default(store: Store, kind: str) -> ModelRecord | None:
    """The default model of `kind` by the one rule in `fincortex.queries.default_model`."""
    row = queries.default_model(store, kind)
    return _record(row) if row else None


def set_default(store: Store, kind: str, name: str) -> ModelRecord:
    get(store, kind, name)  # clear error if unknown
    with store.write() as conn:
        conn.execute("UPDATE models SET is_default = FALSE WHERE kind = ? AND is_default", [kind])
        conn.execute("UPDATE models SET is_default = TRUE WHERE kind = ? AND name = ?", [kind, name])
    return get(store, kind, name)


def update_metrics(store: Store, kind: str, name: str, metrics: dict[str, Any]) -> ModelRecord:
    rec = get(store, kind, name)
    merged = {**rec.metrics, **metrics}
    with store.write() as conn:
        conn.execute("UPDATE models SET metrics = ? WHERE kind = ? AND name = ?",
                     [json.dumps(merged), kind, name])
    return get(store, kind, name)
