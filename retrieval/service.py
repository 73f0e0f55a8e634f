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
from fincortex.retrieval.embedder import Embedder, cuda_available, model_ref
from fincortex.retrieval.filters import SearchFilters, chunks_fingerprint
from fincortex.retrieval.onnx_backend import resolve_backend
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


_backend_choice: dict[tuple[str, str], str] = {}


def embed_backend(store: Store | None, settings: Settings, name: str) -> str:
    """The embedder backend search and builds use: settings.embed_backend unless it is "auto". Auto keeps
    the backend this model's existing dense index was built with (an upgraded install neither re-embeds
    its corpus nor fails its searches), else `onnx_backend.resolve_backend` (int8 on a CPU with
    onnxruntime, torch on CUDA). Remembered per (database, model) for the process; a build refreshes it."""
    from fincortex.retrieval.onnx_backend import AUTO, BACKENDS, key_suffix

    if settings.embed_backend != AUTO or store is None or not store.path.exists():
        return settings.embed_backend
    ref = model_ref(name)
    memo = (str(store.path.resolve()), ref.key)
    if memo in _backend_choice:
        return _backend_choice[memo]
    with store.read() as conn:
        keys = {row[0] for row in conn.execute(
            "SELECT model_key FROM retrieval_indexes WHERE kind = 'faiss' AND n_items > 0").fetchall()}
    built = [b for b in BACKENDS if ref.key + key_suffix(b) in keys]
    auto = Embedder.resolve(AUTO)
    choice = auto if not built or auto in built else built[0]
    _backend_choice[memo] = choice
    return choice


def get_embedder(name: str, backend: str = "auto", models_dir: Path | None = None) -> Embedder:
    """One Embedder per (weights, backend); backend: auto | torch | torch-bf16 | onnx | onnx-int8."""
    from fincortex.retrieval.onnx_backend import key_suffix

    backend = Embedder.resolve(backend)
    with _lock:
        key = model_ref(name).key + key_suffix(backend)  # a retrained model in place gets a new key
        if key not in _embedders:
            _embedders[key] = Embedder(name, backend=backend, models_dir=models_dir)
        return _embedders[key]


def get_searcher(store: Store, settings: Settings, options: RetrievalOptions | None = None,
                 embedder: Embedder | None = None) -> Searcher:
    """The shared Searcher of a store for the current embedder (or `embedder`, e.g. a tuning miner)."""
    options = options or RetrievalOptions.from_env()
    if embedder is None:
        name = embedding_model_name(store, settings)
        embedder = get_embedder(name, embed_backend(store, settings, name), settings.models_dir)
    key = (str(store.path.resolve()), str(settings.index_dir), str(settings.models_dir), embedder.key, options)
    with _lock:
        if key not in _searchers:
            _searchers[key] = Searcher(store, settings.index_dir, embedder, options, models_dir=settings.models_dir)
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
                progress=None, options: RetrievalOptions | None = None,
                stages: tuple[str, ...] | None = None) -> dict:
    """Build (or incrementally update) the indexes; `rebuild` starts over from the embedding cache;
    `stages` builds only those ('bm25': seconds, no model; the dense index can follow later).

    This, not a query, is where chunks get embedded and indexed; it commits as it goes, so an
    interrupted build keeps its work and a re-run continues (stage_dense.py)."""
    options = (options or RetrievalOptions.from_env()).with_(**({"index_spec": spec} if spec else {}))
    if rebuild:  # a rebuild may change which backend "auto" keeps
        _backend_choice.pop((str(store.path.resolve()), model_ref(embedding_model_name(store, settings)).key), None)
    searcher = get_searcher(store, settings, options)
    if stages is not None:
        known = searcher.indexes.names
        unknown = [s for s in stages if s not in known]
        if unknown or not stages:
            raise ValueError(f"index stages {', '.join(unknown) or '(none)'} unknown: choose from {', '.join(known)}")
    report = searcher.sync(rebuild=rebuild, stages=tuple(stages) if stages else None, progress=progress)
    return {"sync": report.as_dict(), **searcher.indexes.status()}


def index_status(store: Store, settings: Settings, options: RetrievalOptions | None = None) -> dict:
    """What is built, from how many chunks, whether it is current; loads no model."""
    from fincortex.retrieval import embedding_cache
    from fincortex.retrieval.faiss_index import faiss_backend

    options = options or RetrievalOptions.from_env()
    name = embedding_model_name(store, settings)
    ref = model_ref(name)
    backend = Embedder.resolve(embed_backend(store, settings, name))
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

    model_key = ref.key + key_suffix(backend)
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
    from fincortex.retrieval.fusion import load_weights

    embedder_device = "cuda" if cuda_available() else "cpu"
    rerank_runs, rerank_why = resolve_backend(options.rerank_backend, embedder_device)
    calibrated = load_weights(settings.models_dir, model_key)
    return {
        "database": str(store.path), "index_dir": str(settings.index_dir), "n_chunks": int(fingerprint.split(":")[0]),
        "backend": faiss_backend(),
        "embedding_model": {"name": ref.name, "key": model_key, "path": str(ref.path), "backend": backend,
                            "backend_setting": settings.embed_backend,
                            "backend_reason": _embed_reason(settings.embed_backend, backend, embedder_device)},
        "reranker_backend": {"backend": rerank_runs, "setting": options.rerank_backend, "reason": rerank_why},
        "fusion_weights": {name: options.stage_weight(name, calibrated) for name in active.values()},
        "fusion_weights_source": (calibrated or {}).get("source", "default 1:1 (not calibrated: run "
                                                               "`fincortex index calibrate`)"),
        "index_spec": options.index_spec, "reranker": reranker, "indexes": indexes,
        "stages": list(active.values()), "up_to_date": current == set(active.values()),
        "embedding_cache": embedding_cache.cache_stats(store),
    }


def _embed_reason(setting: str, backend: str, device: str) -> str:
    from fincortex.retrieval.onnx_backend import AUTO, resolve_backend

    if setting != AUTO:
        return "set explicitly (FINCORTEX_EMBED_BACKEND / --embed-backend)"
    auto, why = resolve_backend(AUTO, device)
    return why if backend == auto else f"auto: kept {backend}, the backend this model's dense index was built with"


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
    embedder = get_embedder(embedder_name, settings.embed_backend, settings.models_dir)  # auto: the default
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
        _backend_choice.clear()
