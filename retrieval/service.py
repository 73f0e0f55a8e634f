"""Retrieval service functions: what the SDK, CLI, UI and ingestion call.

Searchers (an embedding model plus loaded indexes) are expensive to build, so they are kept per
(database, index dir, model, options) for the life of the process.
"""

from __future__ import annotations

import json
import threading
from datetime import date, datetime
from pathlib import Path

from fincortex.config import Settings
from fincortex.retrieval.embedder import Embedder, model_ref
from fincortex.retrieval.filters import SearchFilters, chunks_fingerprint
from fincortex.retrieval.options import RetrievalOptions
from fincortex.retrieval.searcher import SearchResults, Searcher
from fincortex.retrieval.stages import SyncReport
from fincortex.store import Store

_lock = threading.Lock()
_embedders: dict[str, Embedder] = {}
_searchers: dict[tuple, Searcher] = {}


def registered_path(store: Store, kind: str, name: str | None = None) -> tuple[str, str] | None:
    """(name, path) of the registered model of `kind` called `name`, or of the default one when name is
    None (by the one rule in `fincortex.queries.default_model`); None when there is none. Read from the
    shared `models` table through the ground layer, so retrieval does not import the models area."""
    from fincortex import queries

    row = queries.default_model(store, kind) if name is None else queries.registered_model(store, kind, name)
    return (row["name"], row["path"]) if row else None


def embedding_model_name(store: Store | None, settings: Settings) -> str:
    """The embedding model search uses, as a name or path Embedder understands.

    settings.embedding_model (FINCORTEX_EMBEDDING_MODEL) when it names something other than the packaged
    default (see `named_embedder`). When it is the packaged default, the registry's default embedder wins
    if one is set (`fincortex models set-default NAME --kind embedder`).
    """
    from fincortex.retrieval.embedder import DEFAULT_MODEL

    name = settings.embedding_model
    if store is None or name != DEFAULT_MODEL:
        return named_embedder(store, name)
    found = registered_path(store, "embedder")
    return _registered_folder(found, default=True) if found else name


def named_embedder(store: Store | None, name: str) -> str:
    """A folder, hub id or the packaged alias as given; the name of a registered `embedder` -> its folder."""
    from fincortex.retrieval.embedder import DEFAULT_MODEL

    if store is None or name == DEFAULT_MODEL or Path(name).expanduser().exists():
        return name
    found = registered_path(store, "embedder", name)
    return _registered_folder(found, default=False) if found else name


def _registered_folder(found: tuple[str, str], default: bool) -> str:
    from fincortex.retrieval.embedder import DEFAULT_MODEL, EmbeddingModelError

    registered, path = found
    if registered == DEFAULT_MODEL:
        return registered  # the packaged model registered as an embedder: keep its alias (and model key)
    if not Path(path).is_dir():
        raise EmbeddingModelError(
            f"the {'default ' if default else ''}embedder {registered!r} is registered at {path}, which is missing: "
            f"restore the folder, or switch back with `fincortex models set-default {DEFAULT_MODEL} --kind embedder`"
        )
    return path


def get_embedder(name: str, backend: str = "torch", models_dir: Path | None = None) -> Embedder:
    """One Embedder per (weights, backend); backend: torch | torch-bf16 | onnx | onnx-int8 (CPU)."""
    from fincortex.retrieval.onnx_backend import key_suffix

    with _lock:
        key = model_ref(name).key + key_suffix(backend)  # a retrained model in place gets a new key
        if key not in _embedders:
            _embedders[key] = Embedder(name, backend=backend, models_dir=models_dir)
        return _embedders[key]


def get_searcher(store: Store, settings: Settings, options: RetrievalOptions | None = None,
                 embedder: Embedder | None = None) -> Searcher:
    """The shared Searcher of a store for the current embedder (or `embedder`, e.g. a tuning miner)."""
    options = options or RetrievalOptions.from_env()
    embedder = embedder or get_embedder(embedding_model_name(store, settings), settings.embed_backend, settings.models_dir)
    key = (str(store.path.resolve()), str(settings.index_dir), embedder.key, options)
    with _lock:
        if key not in _searchers:
            _searchers[key] = Searcher(store, settings.index_dir, embedder, options)
        return _searchers[key]


def search(
    store: Store, settings: Settings, query: str, k: int = 10,
    as_of: datetime | date | str | None = None, tickers: list[str] | str | None = None,
    doc_types: list[str] | str | None = None, sources: list[str] | str | None = None,
    doc_ids: list[int] | None = None, mode: str = "hybrid", rerank: bool = True,
    options: RetrievalOptions | None = None,
) -> SearchResults:
    filters = SearchFilters.build(as_of=as_of, tickers=tickers, doc_types=doc_types, sources=sources, doc_ids=doc_ids)
    return get_searcher(store, settings, options).search(query, k=k, filters=filters, mode=mode, rerank=rerank)


def sync_indexes(store: Store, settings: Settings, progress=None, options: RetrievalOptions | None = None) -> SyncReport:
    """Bring every first stage's index level with the chunks table (what `build_index` runs)."""
    return get_searcher(store, settings, options).sync(progress=progress)


def build_index(store: Store, settings: Settings, spec: str | None = None, rebuild: bool = False,
                progress=None, options: RetrievalOptions | None = None) -> dict:
    """Build (or incrementally update) the indexes; `rebuild` starts over from the embedding cache.

    This, not a query, is where chunks get embedded and indexed; it commits as it goes, so an
    interrupted build keeps its work and a re-run continues (stage_dense.py)."""
    options = (options or RetrievalOptions.from_env()).with_(**({"index_spec": spec} if spec else {}))
    searcher = get_searcher(store, settings, options)
    report = searcher.sync(rebuild=rebuild, progress=progress)
    return {"sync": report.as_dict(), **searcher.indexes.status()}


def index_status(store: Store, settings: Settings, options: RetrievalOptions | None = None) -> dict:
    """What is built, from how many chunks, whether it is current; loads no model."""
    from fincortex.retrieval import embedding_cache
    from fincortex.retrieval.faiss_index import faiss_backend

    options = options or RetrievalOptions.from_env()
    ref = model_ref(embedding_model_name(store, settings))
    with store.read() as conn:
        fingerprint = chunks_fingerprint(conn)
        recorded = conn.execute(
            "SELECT index_name, kind, model_key, spec, n_items, chunks_fingerprint, backend, built_at, updated_at, "
            "build_seconds FROM retrieval_indexes ORDER BY kind, index_name").fetchall()
    columns = ("name", "kind", "model_key", "spec", "n_items", "fingerprint", "backend", "built_at", "updated_at",
               "build_seconds")
    indexes = []
    for row in recorded:
        item = dict(zip(columns, row))
        item["up_to_date"] = item.pop("fingerprint") == fingerprint
        item["on_disk"] = (settings.index_dir / item["name"]).exists()
        for key in ("built_at", "updated_at"):
            item[key] = item[key].isoformat(sep=" ", timespec="seconds") if item[key] else None
        indexes.append(item)
    from fincortex.retrieval.indexes import indexed_stage_names
    from fincortex.retrieval.onnx_backend import key_suffix
    from fincortex.retrieval.registry import FIRST_STAGES

    model_key = ref.key + key_suffix(settings.embed_backend)
    active = {FIRST_STAGES[name].index_name(model_key, options): name for name in indexed_stage_names()}
    for item in indexes:
        item["active"] = item["name"] in active
        item["stage"] = active.get(item["name"])
    current = {i["stage"] for i in indexes if i["active"] and i["up_to_date"] and i["on_disk"]}
    reranker: str | None
    try:
        from fincortex.retrieval.reranker import resolve_reranker

        reranker = resolve_reranker(store, options.reranker)
    except Exception as exc:  # RerankerUnavailable: say why
        reranker = f"unavailable: {exc}"
    return {
        "database": str(store.path), "index_dir": str(settings.index_dir), "n_chunks": int(fingerprint.split(":")[0]),
        "backend": faiss_backend(), "embedding_model": {"name": ref.name, "key": ref.key, "path": str(ref.path)},
        "index_spec": options.index_spec, "reranker": reranker, "indexes": indexes,
        "stages": list(active.values()), "up_to_date": current == set(active.values()),
        "embedding_cache": embedding_cache.cache_stats(store),
    }


def evaluate_retrieval(settings: Settings, beir_dir: Path | str, modes: tuple[str, ...] = ("dense", "bm25", "hybrid"),
                       rerank: bool = False, json_out: Path | str | None = None, store_path: Path | None = None,
                       max_queries: int | None = None, options: RetrievalOptions | None = None,
                       progress=None, embedder: str | None = None, reranker: str | None = None) -> dict:
    """`embedder`/`reranker`: a registered name, folder or id; default: what search uses for the database."""
    from fincortex.retrieval.evaluation import evaluate_beir

    store = Store(settings.db_path, lock_timeout_s=settings.lock_timeout_s) if settings.db_path.exists() else None
    embedder_name = named_embedder(store, embedder) if embedder else embedding_model_name(store, settings)
    options = options or RetrievalOptions.from_env()
    if reranker:
        found = registered_path(store, "reranker", reranker) if store is not None else None
        options = options.with_(reranker=found[1] if found else reranker)
    elif rerank and not options.reranker and store is not None:
        found = registered_path(store, "reranker")  # the default reranker of the user's database
        options = options.with_(reranker=found[1]) if found else options
    embedder = get_embedder(embedder_name, settings.embed_backend, settings.models_dir)
    report = evaluate_beir(beir_dir, settings.cache_dir, embedder, modes=tuple(modes), rerank=rerank,
                           options=options, store_path=store_path, max_queries=max_queries, progress=progress)
    if json_out:
        Path(json_out).parent.mkdir(parents=True, exist_ok=True)
        Path(json_out).write_text(json.dumps(report, indent=2, default=str))
    return report


def clear_cache() -> None:
    """Forget loaded searchers (tests; a process that swapped databases)."""
    with _lock:
        _searchers.clear()
