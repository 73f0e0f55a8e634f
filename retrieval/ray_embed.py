"""The embed stage of the Ray ingest engine, given to it from the retrieval layer.

Ingestion does not know embedders (it sits below retrieval), so `fincortex.ingest.ray_engine` takes an
`EmbedStage`: a picklable encoder factory that each Ray actor calls once, and a driver-side writer of the
vectors into the embedding cache. With the embedder search uses, the next index sync embeds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from fincortex.config import Settings
from fincortex.ingest.ray_engine import EmbedStage, RayOptions
from fincortex.retrieval import embedding_cache
from fincortex.retrieval.embedder import Embedder
from fincortex.store import Store


def make_embedder(model: str, backend: str = "auto", models_dir: str | None = None,
                  batch_size: int | None = None) -> Embedder:
    """Runs inside each embed actor (module-level so Ray pickles it by reference)."""
    return Embedder(model, batch_size=batch_size, backend=backend,
                    models_dir=Path(models_dir) if models_dir else None)


@dataclass
class CacheWriter:
    """Driver side: vectors from the actors into the DuckDB embedding cache under the embedder's key."""

    store: Store
    model: str
    backend: str = "auto"
    models_dir: str | None = None
    _embedder: Embedder | None = None

    def __call__(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if self._embedder is None:  # lazy: the driver only needs the key, it loads no weights
            self._embedder = make_embedder(self.model, self.backend, self.models_dir)
            embedding_cache.register_model(self.store, self._embedder, dim=vectors.shape[1])
        embedding_cache.insert_vectors(self.store, self._embedder.key, ids, vectors)


def embed_stage(store: Store, model: str, backend: str = "auto", models_dir: str | None = None,
                batch_size: int | None = None) -> EmbedStage:
    return EmbedStage(partial(make_embedder, model, backend, models_dir, batch_size),
                      CacheWriter(store, model, backend, models_dir))


def ray_options(settings: Settings, store: Store, address: str | None = None, embed: bool = True) -> RayOptions:
    """Ray options for a store, embedding with the embedder search uses."""
    from fincortex.retrieval.service import embed_backend, embedding_model_name

    name = embedding_model_name(store, settings)
    stage = embed_stage(store, name, embed_backend(store, settings, name), str(settings.models_dir)) if embed else None
    return RayOptions(address=address, embed=stage)
