"""Lexical search with bm25s over the same chunks as the dense index, persisted beside it.

bm25s has no incremental add, so a changed chunk set triggers a rebuild (tokenising is the cost:
seconds per 100k chunks). Documents are stored in chunk_id order, so a filter's allowed ids map to
positions with one searchsorted and the score mask is exact.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import bm25s
import numpy as np

TOKENIZER_SPEC = "bm25s-lucene;lower;en-stopwords;snowball-en"  # change = new index folder


def _stemmer():
    try:
        import Stemmer  # PyStemmer: optional, but part of the default recipe

        return Stemmer.Stemmer("english")
    except ImportError:  # pragma: no cover - PyStemmer is a declared dependency
        return None


def tokenizer_spec() -> str:
    return TOKENIZER_SPEC if _stemmer() is not None else TOKENIZER_SPEC.replace(";snowball-en", "")


def index_name() -> str:
    return "bm25-" + tokenizer_spec().replace(";", "_").replace("-", "")


def tokenize(texts: list[str]) -> list[list[str]]:
    return bm25s.tokenize(texts, stopwords="en", stemmer=_stemmer(), return_ids=False, show_progress=False)


@dataclass
class BM25Meta:
    spec: str
    fingerprint: str = ""
    n_docs: int = 0
    built_at: float = 0.0
    build_seconds: float = 0.0


class BM25Index:
    def __init__(self, folder: Path, meta: BM25Meta, model: bm25s.BM25 | None, ids: np.ndarray) -> None:
        self.folder, self.meta, self.model, self.chunk_ids = folder, meta, model, ids

    @classmethod
    def open(cls, index_dir: Path) -> "BM25Index":
        folder = Path(index_dir) / index_name()
        meta_file = folder / "meta.json"
        if meta_file.exists() and (folder / "chunk_ids.npy").exists():
            meta = BM25Meta(**json.loads(meta_file.read_text()))
            if meta.spec == tokenizer_spec():
                ids = np.load(folder / "chunk_ids.npy")
                model = bm25s.BM25.load(str(folder / "model"), show_progress=False) if len(ids) else None
                return cls(folder, meta, model, ids)
        return cls(folder, BM25Meta(spec=tokenizer_spec()), None, np.zeros(0, np.int64))

    @property
    def name(self) -> str:
        return self.folder.name

    def rebuild(self, chunk_ids: np.ndarray, texts: list[str], fingerprint: str, seconds_so_far: float = 0.0) -> None:
        """Index `texts` (must be in ascending chunk_id order) and persist atomically."""
        import time

        start = time.perf_counter()
        chunk_ids = np.asarray(chunk_ids, dtype=np.int64)
        if len(chunk_ids) and np.any(np.diff(chunk_ids) <= 0):
            raise ValueError("BM25 rebuild needs chunk ids in strictly ascending order")
        model = None
        if len(chunk_ids):
            model = bm25s.BM25()
            model.index(tokenize(texts), show_progress=False)
        self.model, self.chunk_ids = model, chunk_ids
        self.meta.fingerprint, self.meta.n_docs = fingerprint, len(chunk_ids)
        self.meta.built_at = time.time()
        self.meta.build_seconds = seconds_so_far + time.perf_counter() - start
        self._save()

    def _save(self) -> None:
        tmp = self.folder.with_name(self.folder.name + f".tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if self.model is not None:
            self.model.save(str(tmp / "model"), show_progress=False)
        np.save(tmp / "chunk_ids.npy", self.chunk_ids)
        (tmp / "meta.json").write_text(json.dumps(asdict(self.meta), indent=1))
        old = self.folder.with_name(self.folder.name + f".old{os.getpid()}")
        if self.folder.exists():
            os.replace(self.folder, old)
        os.replace(tmp, self.folder)
        shutil.rmtree(old, ignore_errors=True)

    def search(self, query: str, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (ids, scores) among allowed ids with a positive BM25 score (a lexical match)."""
        if self.model is None or k <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        tokens = [t for t in tokenize([query])[0] if t in self.model.vocab_dict]
        if not tokens:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        scores = self.model.get_scores(tokens).astype(np.float32, copy=True)
        if allowed is not None:
            mask = np.zeros(len(scores), dtype=bool)
            pos = np.searchsorted(self.chunk_ids, allowed)
            inside = pos < len(self.chunk_ids)
            pos, wanted = pos[inside], allowed[inside]
            mask[pos[self.chunk_ids[pos] == wanted]] = True
            scores[~mask] = 0.0
        candidates = np.flatnonzero(scores > 0)
        if len(candidates) == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        want = min(k, len(candidates))
        top = candidates[np.argpartition(-scores[candidates], want - 1)[:want]]
        top = top[np.argsort(-scores[top], kind="stable")]
        return self.chunk_ids[top], scores[top]

    def status(self) -> dict:
        return {"name": self.name, "spec": self.meta.spec, "n_docs": self.meta.n_docs, "path": str(self.folder),
                "built_at": self.meta.built_at, "build_seconds": self.meta.build_seconds}
