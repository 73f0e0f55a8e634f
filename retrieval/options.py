"""Retrieval knobs in one typed object, each overridable by a FINCORTEX_* environment variable.

Why separate from fincortex.config.Settings: these only matter to the retrieval stages, and keeping
them here lets the retrieval area evolve its knobs without touching the shared core settings.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace

# a mode is a named list of first stages (registry.FIRST_STAGES); more than one are fused by RRF
MODES: dict[str, tuple[str, ...]] = {
    "hybrid": ("dense", "bm25"),
    "dense": ("dense",),
    "bm25": ("bm25",),
}
# index_spec "auto" stays exact below this many vectors: a flat scan of 100k x 384 answers one query in
# ~27 ms on two cores (benchmarks/results/search.json), so only larger corpora trade recall for speed.
AUTO_APPROXIMATE_FROM = 250_000
REFINE_K_FACTOR = 8  # ',RFlat' specs re-rank this many times k compressed-code hits exactly
RERANK_FUSIONS = ("rrf", "replace")


@dataclass(frozen=True)
class RetrievalOptions:
    index_spec: str = "Flat"  # FINCORTEX_INDEX_SPEC: faiss factory string (Flat, IVF1024,Flat, HNSW32, ...) or "auto"
    reranker: str | None = None  # FINCORTEX_RERANKER: CrossEncoder id or path; None = registry lookup
    post_stages: str = "rerank"  # FINCORTEX_POST_STAGES: comma-separated registry.POST_STAGES run with rerank=True
    rerank_top_n: int = 20  # fused candidates re-scored by the cross-encoder
    rerank_max_length: int = 256  # cross-encoder tokens per (query, passage) pair
    # FINCORTEX_RERANK_BACKEND: auto (onnx-int8 on CPU with onnxruntime, torch on CUDA) | torch | torch-bf16 |
    # onnx | onnx-int8
    rerank_backend: str = "auto"
    # how the re-scored top n are ordered: "rrf" fuses the first-stage rank with the cross-encoder's rank
    # (a small tuned cross-encoder alone loses to hybrid on held-apart TAT-QA; fused it wins, docs/tuning.md);
    # "replace" orders by the cross-encoder score alone
    rerank_fusion: str = "rrf"
    rerank_weight: float = 1.0  # the cross-encoder's RRF weight (the first stage has 1.0)
    candidates: int = 100  # per-stage list length fed into fusion
    rrf_k: int = 60  # reciprocal rank fusion constant (Cormack et al. 2009)
    # RRF weights of the first stages; None = the weights calibrated for this embedder (fusion.load_weights,
    # `fincortex index calibrate`), else 1. Why calibrated: the packaged general embedder fused 1:1 with BM25
    # scores below BM25 alone on financial text (held-apart TAT-QA), a tuned one above it.
    dense_weight: float | None = None
    bm25_weight: float | None = None
    ivf_nprobe: int = 0  # IVF lists probed per query; 0 = the value calibrated when the index was built
    hnsw_ef_search: int = 128
    auto_approximate_from: int = AUTO_APPROXIMATE_FROM  # index_spec "auto": exact below this many vectors
    refine_k_factor: int = REFINE_K_FACTOR
    query_threads: int = 1  # torch/faiss threads per query (0 = library default); see threads.py
    memory_texts: bool = True  # keep chunk texts in memory for hits (False: read them per query)
    use_gpu: bool = True  # use a GPU faiss index when CUDA and faiss GPU support are both present

    @classmethod
    def from_env(cls, **overrides: object) -> "RetrievalOptions":
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = os.environ.get(f"FINCORTEX_{f.name.upper()}")
            if raw is None or raw == "":
                continue
            values[f.name] = _coerce(f.name, str(f.type), raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]

    def __post_init__(self) -> None:
        if self.rerank_fusion not in RERANK_FUSIONS:
            raise ValueError(f"rerank_fusion must be one of {', '.join(RERANK_FUSIONS)}; got {self.rerank_fusion!r}")
        if self.rerank_weight < 0:
            raise ValueError(f"rerank_weight must be >= 0, got {self.rerank_weight}")
        for name in ("dense_weight", "bm25_weight"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must be >= 0, got {value}")

    def post_stage_names(self) -> tuple[str, ...]:
        return tuple(name.strip() for name in self.post_stages.split(",") if name.strip())

    def stage_weight(self, stage: str, calibrated: dict | None = None) -> float:
        """RRF weight of a first stage: the `<stage>_weight` knob when set, else the calibrated weight
        (`calibrated["weights"]`, fusion.load_weights), else 1."""
        value = getattr(self, f"{stage}_weight", None)
        if value is not None:
            return float(value)
        return float(((calibrated or {}).get("weights") or {}).get(stage, 1.0))

    def with_(self, **changes: object) -> "RetrievalOptions":
        return replace(self, **changes)  # type: ignore[arg-type]


def _coerce(name: str, type_name: str, raw: str) -> object:
    try:
        if type_name.startswith("bool"):
            return raw.strip().lower() in {"1", "true", "yes", "on"}
        if type_name.startswith("int"):
            return int(raw)
        if type_name.startswith("float"):
            return float(raw)
    except ValueError as exc:
        raise ValueError(f"FINCORTEX_{name.upper()}={raw!r} is not a valid {type_name}") from exc
    return raw
