"""The dense index: a faiss factory index wrapped in IndexIDMap2 (ids = chunk ids), kept in sync
with the chunks table, persisted under the index dir, searched on the GPU when one is usable.

Identity = (embedding model key, factory spec): a different model or spec is a different folder, so
switching back and forth never mixes vectors. Cosine similarity = inner product of unit vectors.

The spec "auto" picks the factory string by corpus size at each (re)build (`auto_factory`) and, for an
approximate index, calibrates nprobe on the corpus itself so recall@10 against exact search stays at
or above TARGET_RECALL.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import faiss
import numpy as np

from fincortex.retrieval.options import AUTO_APPROXIMATE_FROM, REFINE_K_FACTOR

EXACT_BELOW = 4096  # allowed sets this small are scored exactly from cached vectors (cheaper than a scan)
AUTO_SPEC = "auto"
TARGET_RECALL = 0.95
DEFAULT_NPROBE = 32
NPROBE_LADDER = (4, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)
CALIBRATION_QUERIES = 256


class IndexSpecError(ValueError):
    """The faiss factory string cannot be built or trained with the data at hand."""


def gpu_count() -> int:
    """GPUs faiss itself can use (0 for faiss-cpu builds or without CUDA)."""
    if not hasattr(faiss, "StandardGpuResources"):
        return 0
    try:
        return int(faiss.get_num_gpus())
    except Exception:
        return 0


def faiss_backend() -> str:
    """What search runs on, for `fincortex doctor` and `index status`."""
    n = gpu_count()
    if n:
        return f"faiss-gpu ({n} GPU{'s' if n > 1 else ''}, faiss {faiss.__version__})"
    reason = "faiss build has no GPU support" if not hasattr(faiss, "StandardGpuResources") else "no CUDA device"
    return f"faiss-cpu (faiss {faiss.__version__}; {reason})"


def index_name(model_key: str, spec: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "_", spec).strip("_").lower()
    return f"faiss-{model_key}-{slug}-{hashlib.sha1(spec.encode()).hexdigest()[:6]}"


@dataclass
class DenseMeta:
    model_key: str
    spec: str
    dim: int
    fingerprint: str = ""
    n_vectors: int = 0
    built_at: float = 0.0
    updated_at: float = 0.0
    build_seconds: float = 0.0
    history: list = field(default_factory=list)  # last syncs: {"added", "removed", "rebuilt", "at"}
    factory: str = ""  # the faiss factory string built ("" = spec; differs only for "auto")
    nprobe: int = 0  # calibrated IVF nprobe (0 = none: DEFAULT_NPROBE)
    calibration: dict = field(default_factory=dict)  # {"nprobe", "recall@10", "queries"} of the last one


def auto_factory(n: int, dim: int, approximate_from: int = AUTO_APPROXIMATE_FROM, gpu: bool = False) -> str:
    """Flat below `approximate_from` vectors. Above, on CPU: IVF with 4-bit fast-scan PQ codes and an
    exact re-rank of the top hits, the fastest spec at recall@10 >= 0.95 on 100k real chunk vectors
    (13x flat QPS, benchmarks/results/ann_cpu.json); on a GPU: IVF-Flat, which faiss can move there."""
    if n < approximate_from:
        return "Flat"
    nlist = 1 << max(round(np.log2(4 * np.sqrt(n))), 0)  # ~4 sqrt(n) lists, a power of two
    nlist = max(min(nlist, 1 << int(np.log2(max(n // 39, 1)))), 1)  # faiss wants >= 39 points per list
    if gpu or dim % 4:
        return f"IVF{nlist},Flat"
    return f"IVF{nlist},PQ{dim // 4}x4fs,RFlat"


class DenseIndex:
    """One faiss index on disk (index.faiss + meta.json) and in memory."""

    def __init__(self, folder: Path, meta: DenseMeta, index: faiss.Index,
                 approximate_from: int = AUTO_APPROXIMATE_FROM) -> None:
        self.folder = folder
        self.meta = meta
        self.index = index
        self.approximate_from = approximate_from
        self._gpu_index = None
        self._gpu_stale = True
        self._gpu_nprobe = 0
        self._gpu_unsupported = ""  # why this index type stays on the CPU when a GPU is present

    # -- lifecycle ---------------------------------------------------------------------------
    @classmethod
    def open(cls, index_dir: Path, model_key: str, spec: str, dim: int,
             approximate_from: int = AUTO_APPROXIMATE_FROM) -> "DenseIndex":
        """Load the persisted index for (model, spec), or start an empty one."""
        folder = Path(index_dir) / index_name(model_key, spec)
        meta_file, index_file = folder / "meta.json", folder / "index.faiss"
        if meta_file.exists() and index_file.exists():
            meta = DenseMeta(**json.loads(meta_file.read_text()))
            if meta.dim == dim and meta.spec == spec and meta.model_key == model_key:
                return cls(folder, meta, faiss.read_index(str(index_file)), approximate_from)
        meta = DenseMeta(model_key=model_key, spec=spec, dim=dim, factory="Flat" if spec == AUTO_SPEC else "")
        return cls(folder, meta, new_index(meta.factory or spec, dim), approximate_from)

    @property
    def factory(self) -> str:
        return self.meta.factory or self.meta.spec

    def planned_factory(self, n: int) -> str:
        """What a build of n vectors would use: the spec itself, or auto's choice for that size."""
        if self.meta.spec != AUTO_SPEC:
            return self.meta.spec
        return auto_factory(n, self.meta.dim, self.approximate_from, gpu=gpu_count() > 0)

    def reset(self, n_expected: int = 0) -> None:
        """Empty the index; an "auto" index also re-chooses its factory for the n_expected vectors."""
        if self.meta.spec == AUTO_SPEC:
            self.meta.factory = self.planned_factory(n_expected)
        self.meta.nprobe, self.meta.calibration = 0, {}
        self.index = new_index(self.factory, self.meta.dim)
        self.meta.fingerprint, self.meta.n_vectors = "", 0
        self._gpu_stale, self._gpu_unsupported = True, ""

    def calibrate(self, ids: np.ndarray, vectors: np.ndarray, refine_k: int = REFINE_K_FACTOR) -> None:
        """Smallest nprobe whose recall@10 against exact search reaches TARGET_RECALL, with stored chunks
        as queries (each one's own id left out of both lists). Why on the corpus itself: the right nprobe
        depends on how the corpus clusters, which no fixed default knows."""
        try:
            faiss.extract_index_ivf(faiss.downcast_index(self.index.index))
        except RuntimeError:
            return  # not an IVF index: nothing to calibrate
        rng = np.random.default_rng(0)
        picks = rng.choice(len(ids), min(CALIBRATION_QUERIES, len(ids)), replace=False)
        queries = np.ascontiguousarray(vectors[picks], dtype=np.float32)
        _, positions = faiss.knn(queries, np.ascontiguousarray(vectors, dtype=np.float32), 11,
                                 metric=faiss.METRIC_INNER_PRODUCT)
        truth = [set(ids[[q for q in row if q >= 0 and q != p][:10]].tolist()) for row, p in zip(positions, picks)]
        recall = 0.0
        for nprobe in NPROBE_LADDER:
            _, found = self.index.search(queries, 11, params=self._params(None, nprobe, 128, refine_k))
            got = [set([i for i in row.tolist() if i >= 0 and i != ids[p]][:10]) for row, p in zip(found, picks)]
            recall = float(np.mean([len(g & t) / max(len(t), 1) for g, t in zip(got, truth)]))
            if recall >= TARGET_RECALL:
                break
        self.meta.nprobe = nprobe
        self.meta.calibration = {"nprobe": nprobe, "recall@10": round(recall, 4), "queries": len(picks)}

    def save(self) -> None:
        """Write atomically: a reader never sees half an index."""
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / f"index.faiss.tmp{os.getpid()}"
        faiss.write_index(self.index, str(tmp))
        os.replace(tmp, self.folder / "index.faiss")
        self.meta.n_vectors = int(self.index.ntotal)
        tmp_meta = self.folder / f"meta.json.tmp{os.getpid()}"
        tmp_meta.write_text(json.dumps(asdict(self.meta), indent=1))
        os.replace(tmp_meta, self.folder / "meta.json")

    @property
    def name(self) -> str:
        return self.folder.name

    @property
    def exact(self) -> bool:
        return self.factory.strip().lower() in ("flat", "idmap,flat", "idmap2,flat")

    def ids(self) -> np.ndarray:
        return faiss.vector_to_array(self.index.id_map).astype(np.int64) if self.index.ntotal else np.zeros(0, np.int64)

    # -- updates -------------------------------------------------------------------------------
    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids) == 0:
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if not self.index.is_trained:
            self._train(vectors)
        self.index.add_with_ids(vectors, np.ascontiguousarray(ids, dtype=np.int64))
        self._gpu_stale = True

    def _train(self, vectors: np.ndarray) -> None:
        needed = _min_training_points(self.factory)
        if len(vectors) < needed:
            raise IndexSpecError(
                f"index spec {self.factory!r} needs at least {needed} vectors to train, only "
                f"{len(vectors)} chunks exist; use 'Flat' (exact) until the corpus is larger"
            )
        self.index.train(vectors)

    def remove(self, ids: np.ndarray) -> bool:
        """Remove ids; False when this index type must be rebuilt instead. IndexIDMap2 compacts its id
        map after a removal, which is right only for flat-code indexes (Flat, PQ, SQ) that compact their
        storage the same way: IVF keeps its internal ids, so a removal there would shift every later
        hit onto the wrong chunk. HNSW cannot remove at all."""
        if len(ids) == 0:
            return True
        if not isinstance(faiss.downcast_index(self.index.index), faiss.IndexFlatCodes):
            return False
        try:
            self.index.remove_ids(faiss.IDSelectorBatch(np.ascontiguousarray(ids, dtype=np.int64)))
        except RuntimeError:
            return False
        self._gpu_stale = True
        return True

    # -- search --------------------------------------------------------------------------------
    def search(
        self,
        query: np.ndarray,
        k: int,
        allowed: np.ndarray | None = None,
        exact_vectors: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None,
        nprobe: int = 0,
        ef_search: int = 128,
        use_gpu: bool = True,
        refine_k: int = REFINE_K_FACTOR,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (ids, scores) among `allowed` ids (all when None); never fewer than min(k, |allowed|).

        Flat: an IDSelector restricts the scan, which is exact. Approximate specs (IVF/HNSW/PQ) may
        miss allowed vectors outside the probed region; then the allowed set is scored exactly from
        `exact_vectors` (the embedding cache) instead of returning fewer than k. nprobe=0: the
        calibrated value of this index, else DEFAULT_NPROBE.
        """
        nprobe = nprobe or self.meta.nprobe or DEFAULT_NPROBE
        q = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
        n_pool = self.index.ntotal if allowed is None else len(allowed)
        want = min(k, n_pool)
        if want <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        if allowed is not None and not self.exact and len(allowed) <= EXACT_BELOW and exact_vectors:
            return _exact_topk(q, want, *exact_vectors(allowed))
        if use_gpu and gpu_count():
            found = self._gpu_search(q, want, allowed, nprobe)
            if found is not None:
                return found
        params = self._params(allowed, nprobe, ef_search, refine_k)
        scores, ids = self.index.search(q, want, params=params)
        keep = ids[0] >= 0
        ids, scores = ids[0][keep], scores[0][keep]
        if len(ids) < want and exact_vectors is not None:
            pool = allowed if allowed is not None else self.ids()
            return _exact_topk(q, want, *exact_vectors(pool))
        return ids, scores

    def _params(self, allowed: np.ndarray | None, nprobe: int, ef_search: int, refine_k: int = REFINE_K_FACTOR):
        """Search parameters for the inner index type; the Python objects the C++ parameters point to
        (selector, base-index parameters) ride along in `referenced_objects` so they outlive the call."""
        sel = faiss.IDSelectorBatch(allowed) if allowed is not None else None
        inner = faiss.downcast_index(self.index.index)
        if isinstance(inner, faiss.IndexRefine):  # e.g. IVF1024,PQ96x4fs,RFlat: codes first, exact re-rank
            base = _base_params(faiss.downcast_index(inner.base_index), sel, nprobe, ef_search)
            params = faiss.IndexRefineSearchParameters(k_factor=float(max(refine_k, 1)), base_index_params=base)
            keep = [sel, base]
        else:
            params, keep = _base_params(inner, sel, nprobe, ef_search), [sel]
        if params is not None:
            params.referenced_objects = keep
        return params

    def _gpu_search(self, q: np.ndarray, want: int, allowed: np.ndarray | None, nprobe: int = DEFAULT_NPROBE):
        """GPU indexes take no IDSelector: search wider, keep allowed ids, and hand back to the CPU
        path (None) when the widened list still holds fewer than `want` allowed hits, or when faiss
        cannot put this index type on a GPU (fast-scan PQ, refine, HNSW): `status()` then says so."""
        if self._gpu_unsupported:
            return None
        if self._gpu_stale or self._gpu_index is None or self._gpu_nprobe != nprobe:
            try:  # the GPU clone takes nprobe from the CPU index at copy time
                faiss.extract_index_ivf(self.index.index).nprobe = nprobe
            except RuntimeError:
                pass
            res = faiss.StandardGpuResources()
            co = faiss.GpuClonerOptions()
            co.useFloat16 = False
            try:
                self._gpu_index = faiss.index_cpu_to_gpu(res, 0, self.index, co)
            except RuntimeError as exc:
                self._gpu_unsupported = f"{self.factory} cannot run on a GPU in faiss: {str(exc).splitlines()[0]}"
                logging.getLogger(__name__).warning("dense search stays on the CPU: %s", self._gpu_unsupported)
                return None
            self._gpu_res, self._gpu_stale, self._gpu_nprobe = res, False, nprobe
        if allowed is None:
            scores, ids = self._gpu_index.search(q, want)
            keep = ids[0] >= 0
            return (ids[0][keep], scores[0][keep]) if keep.sum() >= want else None
        fraction = max(len(allowed) / max(self.index.ntotal, 1), 1e-6)
        wide = int(min(self.index.ntotal, 2048, max(want * 4, want / fraction * 2)))
        scores, ids = self._gpu_index.search(q, wide)
        mask = np.isin(ids[0], allowed)
        if mask.sum() < want:
            return None
        return ids[0][mask][:want], scores[0][mask][:want]

    def status(self) -> dict:
        return {
            "name": self.name, "spec": self.meta.spec, "factory": self.factory, "nprobe": self.meta.nprobe or None,
            "calibration": self.meta.calibration or None, "model_key": self.meta.model_key, "dim": self.meta.dim,
            "n_vectors": int(self.index.ntotal), "exact": self.exact, "path": str(self.folder),
            "backend": (f"faiss-cpu ({self._gpu_unsupported})" if self._gpu_unsupported
                        else faiss_backend() if gpu_count() else "faiss-cpu"),
            "built_at": self.meta.built_at, "updated_at": self.meta.updated_at,
            "build_seconds": self.meta.build_seconds,
        }


def new_index(spec: str, dim: int) -> faiss.Index:
    try:
        inner = faiss.index_factory(dim, spec, faiss.METRIC_INNER_PRODUCT)
    except RuntimeError as exc:
        raise IndexSpecError(f"faiss cannot build index spec {spec!r} for dim {dim}: {str(exc).splitlines()[0]}") from exc
    return faiss.IndexIDMap2(inner)


def _base_params(inner: faiss.Index, sel, nprobe: int, ef_search: int):
    if isinstance(inner, faiss.IndexHNSW):
        return faiss.SearchParametersHNSW(sel=sel, efSearch=max(ef_search, 1))
    try:
        faiss.extract_index_ivf(inner)
        return faiss.SearchParametersIVF(sel=sel, nprobe=nprobe)
    except RuntimeError:
        pass
    return faiss.SearchParameters(sel=sel) if sel is not None else None


def _min_training_points(spec: str) -> int:
    match = re.search(r"IVF(\d+)", spec)
    needed = int(match.group(1)) if match else 1
    if re.search(r"PQ(\d+)", spec):
        needed = max(needed, 256)  # 8-bit PQ codebooks need 256 points per sub-quantizer
    return needed


def _exact_topk(q: np.ndarray, want: int, ids: np.ndarray, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if len(ids) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    scores = vectors @ q[0]
    want = min(want, len(ids))
    top = np.argpartition(-scores, want - 1)[:want]
    top = top[np.argsort(-scores[top], kind="stable")]
    return ids[top].astype(np.int64), scores[top].astype(np.float32)


def timed() -> Callable[[], float]:
    start = time.perf_counter()
    return lambda: time.perf_counter() - start
