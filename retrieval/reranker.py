"""Cross-encoder reranking, and where the reranker comes from.

No pretrained cross-encoder installs offline, so until one is trained (the model-tuning issue) or
configured, reranking is *unavailable* and says so; it never invents scores. Resolution order:
explicit argument > FINCORTEX_RERANKER > the default `reranker` row of the models registry >
any lookup another module registers with `register_reranker_lookup`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

from fincortex.retrieval.stages import StageUnavailable
from fincortex.store import Store


RERANK_EXPORT_HEAD = "cross-encoder"  # its ONNX export folder never collides with an embedder's of the same weights


class RerankerUnavailable(StageUnavailable):
    """No usable cross-encoder: the message says how to get one."""


UNAVAILABLE_HINT = (
    "no reranker configured: train one with `fincortex tune reranker` (the default once search scores higher with it), or point "
    "FINCORTEX_RERANKER at a sentence-transformers CrossEncoder folder or hub id"
)

_lookups: list[Callable[[Store], str | None]] = []


def register_reranker_lookup(lookup: Callable[[Store], str | None]) -> None:
    """Let another area (the model registry) supply the reranker path for a store."""
    if lookup not in _lookups:
        _lookups.append(lookup)


def _registry_default(store: Store) -> str | None:
    """The path of the default reranker (the one rule: `fincortex.queries.default_model`)."""
    from fincortex import queries

    row = queries.default_model(store, "reranker")
    return row["path"] if row else None


def resolve_reranker(store: Store | None, configured: str | None) -> str:
    """The reranker id/path to use, or RerankerUnavailable with what to do."""
    if configured:
        return configured
    if store is not None:
        for lookup in (_registry_default, *_lookups):
            found = lookup(store)
            if found:
                return found
    raise RerankerUnavailable(UNAVAILABLE_HINT)


def has_trained_head(path: Path) -> bool:
    """A CrossEncoder folder has a sequence-classification head; a plain embedding model does not
    (loading one as a CrossEncoder gives a randomly initialised head, i.e. meaningless scores)."""
    config = path / "config.json"
    if not config.exists():
        return False
    architectures = json.loads(config.read_text()).get("architectures") or []
    return any("SequenceClassification" in a for a in architectures)


class Reranker:
    """A sentence-transformers CrossEncoder scoring (query, passage) pairs, higher = more relevant.
    `backend`: auto (onnx-int8 on a CPU with onnxruntime, torch on CUDA) or one of onnx_backend.BACKENDS."""

    def __init__(self, model: str, device: str | None = None, max_length: int = 256,
                 allow_untrained_head: bool = False, backend: str = "auto", models_dir: Path | None = None) -> None:
        local = Path(model).expanduser()
        if not local.exists() and (local.is_absolute() or model.startswith((".", "~"))):
            raise RerankerUnavailable(f"reranker folder {local} does not exist (moved or deleted?); " + UNAVAILABLE_HINT)
        if local.exists() and not allow_untrained_head and not has_trained_head(local):
            raise RerankerUnavailable(
                f"reranker {model!r} has no trained classification head (config.json architectures lack "
                "*ForSequenceClassification); its scores would be random. " + UNAVAILABLE_HINT
            )
        from sentence_transformers import CrossEncoder

        from fincortex.retrieval.embedder import cuda_available

        self.name = model
        self.device = device or ("cuda" if cuda_available() else "cpu")
        try:
            self._model = CrossEncoder(str(local) if local.exists() else model, device=self.device,
                                       num_labels=1, max_length=max_length, local_files_only=True)
        except Exception as exc:
            raise RerankerUnavailable(f"cannot load reranker {model!r}: {exc}") from exc
        if self.device.startswith("cuda"):
            self._model.model.half()
        from fincortex.retrieval.onnx_backend import resolve_backend

        # auto: int8 ONNX Runtime on a CPU (p95 hybrid + rerank at 100k chunks 426 -> 133 ms, same quality)
        self.backend, self.backend_reason = resolve_backend(backend, self.device)
        backend = self.backend
        if backend != "torch":
            _use_cpu_backend(self._model, model, backend, self.device, models_dir)
        self._lock = threading.Lock()

    def describe(self) -> dict:
        return {"name": self.name, "device": self.device, "backend": self.backend, "backend_reason": self.backend_reason}

    def score(self, query: str, passages: list[str], batch_size: int | None = None) -> np.ndarray:
        if not passages:
            return np.zeros(0, dtype=np.float32)
        import torch

        if batch_size is None:
            from fincortex.retrieval.onnx_backend import ONNX_RERANK_BATCH_SIZE

            batch_size = ONNX_RERANK_BATCH_SIZE if self.backend.startswith("onnx") else 32

        with self._lock, torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.backend == "torch-bf16"):
            scores = self._model.predict([(query, p) for p in passages], batch_size=batch_size,
                                         convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(scores, dtype=np.float32).reshape(-1)


def _use_cpu_backend(cross_encoder, model: str, backend: str, device: str, models_dir: Path | None) -> None:
    """torch-bf16 | onnx | onnx-int8 on CPU (see onnx_backend.py); the ONNX export is cached by weight hash."""
    from fincortex.retrieval import onnx_backend
    from fincortex.retrieval.embedder import _default_models_dir, model_ref

    onnx_backend.check_backend(backend)
    if device != "cpu":
        raise onnx_backend.BackendError(f"reranker backend {backend!r} is a CPU backend; the device here is {device}")
    if backend.startswith("onnx"):
        path = onnx_backend.ensure_export(cross_encoder, model_ref(model).weights_sha256,
                                          models_dir or _default_models_dir(), quantize=backend == "onnx-int8",
                                          head=RERANK_EXPORT_HEAD)
        onnx_backend.attach_onnx(cross_encoder, path)
