"""What a search returns: hits with citations and every stage's score, plus what happened."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime

from fincortex.retrieval.filters import SearchFilters


COMBINED_SCORES = ("fused", "final")  # RRF of first stages; RRF of the order before a post stage and its own


@dataclass
class Hit:
    rank: int
    score: float  # the score the final order is by (post-stage fusion > post stage > fusion > the one stage)
    chunk_id: int
    doc_id: int
    text: str
    title: str | None
    source: str
    doc_type: str
    ticker: str | None
    page_start: int | None
    page_end: int | None
    available_at: datetime
    uri: str | None
    # per stage: first stages by name ("dense", "bm25"), "fused" (RRF of several first stages), each post
    # stage by name ("rerank"), "final" (RRF of the order before a post stage and its scores)
    scores: dict[str, float] = field(default_factory=dict)
    ranks: dict[str, int] = field(default_factory=dict)  # rank in each first stage's own list, from 1

    @property
    def reranked(self) -> bool:
        """A post stage (reranker) scored this hit: a score that is neither a first stage's (those have
        ranks) nor a fusion of others."""
        return any(name not in self.ranks and name not in COMBINED_SCORES for name in self.scores)

    @property
    def citation(self) -> str:
        where = self.title or self.uri or f"doc {self.doc_id}"
        if self.page_start:
            pages = f"p. {self.page_start}" if self.page_end in (None, self.page_start) else f"pp. {self.page_start}-{self.page_end}"
            where += f", {pages}"
        return f"[{where}; {self.source}; available {self.available_at:%Y-%m-%d %H:%M}; chunk {self.chunk_id}]"

    def as_dict(self) -> dict:
        out = asdict(self)
        out["available_at"] = self.available_at.isoformat()
        out["citation"] = self.citation
        return out


class SearchResults(list):
    """A list of Hit, plus what happened: mode, stages, filters, warnings, per-stage milliseconds, and how
    many chunks matching the filters each stage's index does not hold yet (`not_indexed`)."""

    def __init__(self, hits=(), *, query: str = "", mode: str = "", k: int = 0, filters: SearchFilters | None = None,
                 reranked: bool = False, warnings: list[str] | None = None, timings_ms: dict | None = None,
                 n_allowed: int | None = None, stages: list[str] | None = None,
                 not_indexed: dict[str, int] | None = None) -> None:
        super().__init__(hits)
        self.query, self.mode, self.k, self.filters = query, mode, k, filters or SearchFilters()
        self.reranked, self.warnings = reranked, list(warnings or [])
        self.timings_ms, self.n_allowed = dict(timings_ms or {}), n_allowed
        self.stages, self.not_indexed = list(stages or []), dict(not_indexed or {})

    def as_dict(self) -> dict:
        return {"query": self.query, "mode": self.mode, "stages": self.stages, "k": self.k,
                "filters": self.filters.describe(), "reranked": self.reranked, "warnings": self.warnings,
                "timings_ms": self.timings_ms, "n_allowed": self.n_allowed, "not_indexed": self.not_indexed,
                "hits": [h.as_dict() for h in self]}
