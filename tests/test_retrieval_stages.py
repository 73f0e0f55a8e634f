"""The stage registries are the only place a new stage goes: a post stage and a first stage registered
here (each a real, small retriever/reranker) run through the unchanged searcher, index set, status and
hit scores, as docs/retrieval.md ("Adding a retrieval stage / a reranker") says."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from retrieval_corpus import corpus, populated

from fincortex.retrieval import registry, service
from fincortex.retrieval.filters import SearchFilters, ids_fingerprint
from fincortex.retrieval.options import MODES, RetrievalOptions
from fincortex.retrieval.searcher import Searcher
from fincortex.retrieval.stages import (FirstStage, PostStage, StageContext, StageSync, StageUnavailable,
                                        record_build)


class WordOverlap:
    """Post stage: share of the query's words found in the passage (a crude but real lexical reranker)."""

    name = "overlap"

    def __init__(self, ctx: StageContext) -> None:
        self.top_n, self.fusion_weight = 6, 1.0

    def score(self, query: str, passages: list[str]) -> np.ndarray:
        words = set(query.lower().split())
        return np.array([len(words & set(p.lower().rstrip(".").split())) / len(words) for p in passages], np.float32)

    def describe(self) -> str:
        return "word overlap"


class Missing:
    name = "missing"

    def __init__(self, ctx: StageContext) -> None:
        raise StageUnavailable("no model for 'missing': train one first")


class Newest:
    """First stage: allowed chunks newest first (score = available_at in days), index = ids + times on disk."""

    name, fills_k = "newest", True

    def __init__(self, ctx: StageContext) -> None:
        self.ctx, self.folder = ctx, ctx.index_dir / "newest"
        self.ids, self.days = np.zeros(0, np.int64), np.zeros(0, np.float32)
        if (self.folder / "index.json").exists():
            data = json.loads((self.folder / "index.json").read_text())
            self.ids, self.days = np.array(data["ids"], np.int64), np.array(data["days"], np.float32)

    @classmethod
    def index_name(cls, model_key: str, options: RetrievalOptions) -> str:
        return "newest"

    def search(self, query, depth, allowed):
        keep = np.ones(len(self.ids), bool) if allowed is None else np.isin(self.ids, allowed)
        order = np.argsort(-self.days[keep], kind="stable")[:depth]
        return self.ids[keep][order], self.days[keep][order]

    def fingerprint(self) -> str:
        return ids_fingerprint(self.ids)

    def indexed_ids(self) -> np.ndarray:
        return self.ids

    def sync(self, chunks, rebuild, progress) -> StageSync:
        with self.ctx.store.read() as conn:
            rows = conn.execute("SELECT chunk_id, epoch(available_at) / 86400 FROM chunks ORDER BY 1").fetchall()
        self.ids = np.array([r[0] for r in rows], np.int64)
        self.days = np.array([r[1] for r in rows], np.float32)
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "index.json").write_text(json.dumps({"ids": self.ids.tolist(), "days": self.days.tolist()}))
        record_build(self.ctx.store, "newest", "newest", "available_at desc", str(self.folder), len(self.ids),
                     self.fingerprint(), time.time(), 0.0, None, None)
        return StageSync(added=len(self.ids), rebuilt=True, n_items=len(self.ids))

    def refresh(self) -> None:
        pass

    def status(self) -> dict:
        return {"name": "newest", "n_items": len(self.ids)}


@pytest.fixture()
def registered(monkeypatch):
    monkeypatch.setitem(registry.POST_STAGES, "overlap", WordOverlap)
    monkeypatch.setitem(registry.POST_STAGES, "missing", Missing)
    monkeypatch.setitem(registry.FIRST_STAGES, "newest", Newest)
    monkeypatch.setitem(MODES, "recent", ("newest", "bm25"))
    monkeypatch.setitem(MODES, "newest", ("newest",))


def test_a_registered_post_stage_reranks_and_reports_itself(tmp_path, registered):
    settings, store, _ = populated(tmp_path, n_docs=20)
    embedder = service.get_embedder(settings.embedding_model)
    searcher = Searcher(store, settings.index_dir, embedder, RetrievalOptions(post_stages="overlap,missing"))
    searcher.sync()
    with pytest.warns(UserWarning, match="missing unavailable"):
        results = searcher.search("share buyback programme", k=8, mode="hybrid", rerank=True)
    assert results.reranked and results.stages == ["dense", "bm25", "overlap"]
    assert isinstance(searcher._post["overlap"], PostStage)
    assert any("missing unavailable" in w and "train one first" in w for w in results.warnings)
    head, tail = results[:6], results[6:]
    assert all("overlap" in h.scores and h.reranked and "final" in h.scores for h in head)
    assert all("overlap" not in h.scores and not h.reranked for h in tail)
    # the head's order: RRF of its fused rank and its overlap rank (equal weights), as for the cross-encoder
    by_fused = sorted(head, key=lambda h: -h.scores["fused"])
    by_overlap = sorted(by_fused, key=lambda h: -h.scores["overlap"])
    expected = {h.chunk_id: 1 / (60 + by_fused.index(h) + 1) + 1 / (60 + by_overlap.index(h) + 1) for h in head}
    assert [h.score for h in head] == pytest.approx([expected[h.chunk_id] for h in head])
    assert [h.score for h in head] == sorted((h.score for h in head), reverse=True)
    plain = searcher.search("share buyback programme", k=8, mode="hybrid", rerank=False)
    assert not plain.reranked and {h.chunk_id for h in plain[:6]} == {h.chunk_id for h in head}


def test_a_registered_first_stage_is_built_searched_fused_and_listed(tmp_path, registered):
    settings, store, _ = populated(tmp_path, n_docs=20)
    embedder = service.get_embedder(settings.embedding_model)
    searcher = Searcher(store, settings.index_dir, embedder, RetrievalOptions())
    report = searcher.sync()
    assert set(report.stages) == {"bm25", "dense", "newest"} and report.stages["newest"].added == 60
    as_of = SearchFilters.build(as_of="2020-01-10")
    results = searcher.search("quarterly revenue", k=5, mode="recent", rerank=False, filters=as_of)
    assert results.stages == ["newest", "bm25"] and len(results) == 5
    assert all(h.available_at <= as_of.as_of and {"newest", "fused"} <= set(h.scores) for h in results)
    assert isinstance(searcher.indexes["newest"], FirstStage)
    newest = searcher.search("anything", k=4, mode="newest", rerank=False, filters=as_of)
    assert [h.available_at for h in newest] == sorted((h.available_at for h in newest), reverse=True)
    assert {h.doc_id for h in newest} <= {d.doc_id for d in corpus(20)[8:10]}  # docs 8, 9: the newest allowed
    assert [h.score for h in newest] == [h.scores["newest"] for h in newest]
    status = service.index_status(store, settings)
    assert "newest" in status["stages"] and any(i["stage"] == "newest" and i["up_to_date"] for i in status["indexes"])


def test_an_unknown_post_stage_is_named(tmp_path):
    settings, store, _ = populated(tmp_path, n_docs=2)
    with pytest.raises(ValueError, match=r"FINCORTEX_POST_STAGES\) \['llm'\] are not registered; known: rerank"):
        Searcher(store, settings.index_dir, service.get_embedder(settings.embedding_model),
                 RetrievalOptions(post_stages="rerank,llm"))
