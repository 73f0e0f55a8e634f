"""Search pipeline: point-in-time filtering, exact-k filtered search, empty index, rerank plumbing."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest
from retrieval_corpus import START, corpus, make_settings, make_store, populated

from fincortex.retrieval import faiss_index, service
from fincortex.retrieval.corpus_rows import DocRow, write_documents
from fincortex.retrieval.filters import SearchFilters, allowed_chunk_ids
from fincortex.retrieval.options import RetrievalOptions
from fincortex.retrieval.reranker import Reranker, RerankerUnavailable
from fincortex.retrieval.searcher import EmptyIndexError, RerankUnavailableWarning, Searcher

MODES = ("dense", "bm25", "hybrid")


def searcher_for(settings, store, built: bool = True, **options) -> Searcher:
    """A Searcher whose indexes were built (as `fincortex index build` does; a search never builds)."""
    embedder = service.get_embedder(settings.embedding_model)
    searcher = Searcher(store, settings.index_dir, embedder, RetrievalOptions(**options))
    if built:
        searcher.sync()
    return searcher


@pytest.fixture()
def world(tmp_path):
    settings, store, docs = populated(tmp_path)
    return settings, store, docs, searcher_for(settings, store)


def test_empty_database_gives_clear_message(tmp_path):
    settings = make_settings(tmp_path)
    store = make_store(settings)
    with pytest.raises(EmptyIndexError, match="holds no chunks.*ingest"):
        searcher_for(settings, store, built=False).search("revenue", k=3)


@pytest.mark.parametrize("mode", MODES)
def test_as_of_never_returns_a_future_chunk(world, mode):
    settings, store, docs, searcher = world
    as_of = datetime(2020, 1, 10, 12, 0)  # docs 0..8 are public (each at 21:00 of its day)
    hits = searcher.search("revenue guidance margin buyback", k=50, filters=SearchFilters(as_of=as_of),
                           mode=mode, rerank=False)
    assert hits, "some chunks are public before as_of"
    assert all(h.available_at <= as_of for h in hits)
    if mode != "bm25":  # dense and fusion fill k from the allowed set: exactly the 27 public chunks
        assert len(hits) == 9 * 3


def test_as_of_through_rerank(world):
    settings, store, docs, _ = world
    # a real cross-encoder architecture (MiniLM + fresh head): scores are meaningless, which is fine
    # here: the test is that reranking only reorders already-filtered candidates
    embedder = service.get_embedder(settings.embedding_model)
    reranker = Reranker(str(embedder.ref.path), allow_untrained_head=True, backend="torch")  # order, not speed
    searcher = Searcher(store, settings.index_dir, embedder, RetrievalOptions(rerank_top_n=30), reranker=reranker)
    as_of = datetime(2020, 1, 5, 22, 0)
    hits = searcher.search("share buyback", k=10, filters=SearchFilters(as_of=as_of), mode="hybrid", rerank=True)
    assert hits.reranked and len(hits) == 10
    assert all(h.available_at <= as_of for h in hits)
    assert all(h.scores.get("rerank") is not None and h.scores.get("fused") is not None for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_rerank_fusion_orders(world):
    """rrf: the head is ordered by 1/(k + first-stage rank) + w/(k + rerank rank); replace: by rerank score."""
    settings, store, docs, _ = world
    embedder = service.get_embedder(settings.embedding_model)
    reranker = Reranker(str(embedder.ref.path), allow_untrained_head=True, backend="torch")  # order, not speed
    results = {}
    for fusion in ("rrf", "replace"):
        searcher = Searcher(store, settings.index_dir, embedder,
                            RetrievalOptions(rerank_top_n=12, rerank_fusion=fusion), reranker=reranker)
        results[fusion] = searcher.search("share buyback", k=12, mode="hybrid", rerank=True)
    replaced = results["replace"]
    assert [h.score for h in replaced] == [h.scores["rerank"] for h in replaced]
    assert [h.scores["rerank"] for h in replaced] == sorted((h.scores["rerank"] for h in replaced), reverse=True)
    first_rank = {h.chunk_id: i for i, h in enumerate(sorted(replaced, key=lambda h: -h.scores["fused"]), 1)}
    rerank_rank = {h.chunk_id: i for i, h in enumerate(replaced, 1)}
    expected = {c: 1 / (60 + first_rank[c]) + 1 / (60 + rerank_rank[c]) for c in first_rank}
    fused = results["rrf"]
    assert {h.chunk_id for h in fused} == set(expected)
    assert [h.score for h in fused] == pytest.approx([expected[h.chunk_id] for h in fused])
    assert [h.score for h in fused] == sorted((h.score for h in fused), reverse=True)


def test_bad_rerank_fusion_is_refused():
    with pytest.raises(ValueError, match="rerank_fusion must be one of rrf, replace"):
        RetrievalOptions(rerank_fusion="max")
    with pytest.raises(ValueError, match="rerank_weight must be >= 0"):
        RetrievalOptions(rerank_weight=-1)


def test_plain_embedding_model_is_refused_as_reranker(world):
    settings = world[0]
    path = service.get_embedder(settings.embedding_model).ref.path
    with pytest.raises(RerankerUnavailable, match="no trained classification head"):
        Reranker(str(path))


def test_rerank_without_a_reranker_says_so(world, monkeypatch):
    monkeypatch.delenv("FINCORTEX_RERANKER", raising=False)
    searcher = world[3]
    with pytest.warns(RerankUnavailableWarning):
        hits = searcher.search("buyback", k=3, rerank=True)
    assert not hits.reranked and any("rerank unavailable" in w for w in hits.warnings)
    assert all("rerank" not in h.scores for h in hits) and len(hits) == 3


@pytest.mark.parametrize("mode", ("dense", "hybrid"))
def test_restrictive_filter_returns_exactly_k(tmp_path, mode):
    settings, store, _ = populated(tmp_path, n_docs=60)
    rare = [DocRow(source_key=f"rare-{i}", chunks=[f"Weather in Lisbon was mild on day {i}."],
                   available_at=START, available_at_rule="test", source="test", doc_type="memo", ticker="RARE")
            for i in range(7)]
    write_documents(store, rare)
    searcher = searcher_for(settings, store)
    # the query matches the 180 finance chunks far better than the 7 RARE ones: a post-filter on the
    # global top-k would return none of them
    for k, expected in ((5, 5), (7, 7), (20, 7)):
        hits = searcher.search("data center GPU demand guidance", k=k, filters=SearchFilters(tickers=("RARE",)),
                               mode=mode, rerank=False)
        assert len(hits) == expected and {h.ticker for h in hits} == {"RARE"}


def test_restrictive_filter_bm25_returns_every_lexical_match(tmp_path):
    settings, store, _ = populated(tmp_path, n_docs=60)
    searcher = searcher_for(settings, store)
    filters = SearchFilters(tickers=("NVDA",), doc_types=("news",), as_of=datetime(2020, 2, 1))
    hits = searcher.search("guidance", k=100, filters=filters, mode="bm25", rerank=False)
    with store.read() as conn:
        rows = conn.execute("SELECT count(*) FROM chunks c JOIN documents d USING (doc_id) WHERE d.ticker='NVDA' "
                            "AND d.doc_type='news' AND c.available_at <= '2020-02-01' AND c.text ILIKE '%guidance%'"
                            ).fetchall()
    assert len(hits) == rows[0][0] > 0
    assert all(h.ticker == "NVDA" and h.doc_type == "news" and "guidance" in h.text for h in hits)


def test_approximate_index_falls_back_to_exact_instead_of_underfilling(tmp_path, monkeypatch):
    settings, store, _ = populated(tmp_path, n_docs=60)
    monkeypatch.setattr(faiss_index, "EXACT_BELOW", 0)  # force the IVF selector path first
    searcher = searcher_for(settings, store, index_spec="IVF8,Flat", ivf_nprobe=1)
    filters = SearchFilters(tickers=("XOM",), as_of=datetime(2020, 1, 31))
    allowed = searcher.search("oil", k=1, mode="dense", rerank=False, filters=filters).n_allowed
    hits = searcher.search("share buyback programme", k=allowed, filters=filters, mode="dense", rerank=False)
    assert len(hits) == allowed and {h.ticker for h in hits} == {"XOM"}
    exact = searcher_for(settings, store).search("share buyback programme", k=allowed, filters=filters,
                                                 mode="dense", rerank=False)
    assert [h.chunk_id for h in hits] == [h.chunk_id for h in exact]


def test_catalog_filters_match_sql(world):
    settings, store, _, searcher = world
    catalog = searcher.catalog()
    cases = [
        SearchFilters(),
        SearchFilters(as_of=datetime(2020, 1, 3, 21, 0)),  # boundary: exactly available_at is allowed
        SearchFilters(tickers=("aapl".upper(), "JPM"), doc_types=("news",)),
        SearchFilters(sources=("test",), as_of=datetime(2020, 1, 20)),
        SearchFilters(doc_ids=(corpus(3)[2].doc_id,)),
        SearchFilters(tickers=("NONE",)),
    ]
    for filters in cases:
        with store.read() as conn:
            expected = allowed_chunk_ids(conn, filters)
        assert np.array_equal(catalog.allowed(filters), expected), filters


def test_hits_carry_citation_fields_and_stage_scores(world):
    hits = world[3].search("cloud costs operating margin", k=5, mode="hybrid", rerank=False)
    assert [h.rank for h in hits] == [1, 2, 3, 4, 5]
    top = hits[0]
    assert top.title and top.source == "test" and top.ticker in ("AAPL", "MSFT", "NVDA", "JPM", "XOM")
    assert "fused" in top.scores and ("dense" in top.scores or "bm25" in top.scores)
    assert "cloud" in top.text and top.citation.startswith("[")


def test_bad_input_is_named(world):
    searcher = world[3]
    with pytest.raises(ValueError, match="mode"):
        searcher.search("x", mode="sparse")
    with pytest.raises(ValueError, match="k must"):
        searcher.search("x", k=0)
    with pytest.raises(ValueError, match="query"):
        searcher.search("   ")
    with pytest.raises(ValueError, match="as_of"):
        SearchFilters.build(as_of="last tuesday")


def test_service_search_parses_filters(world):
    settings, store, _, _ = world
    service.clear_cache()
    hits = service.search(store, settings, "buyback", k=4, as_of="2020-01-06", tickers="aapl", rerank=False)
    assert hits and all(h.ticker == "AAPL" and h.available_at <= datetime(2020, 1, 6, 23, 59, 59) for h in hits)


def test_refine_spec_reranks_compressed_hits_exactly(tmp_path, monkeypatch):
    """IVF-PQ with an exact refine stage (the fastest spec at recall@10 >= 0.95 in benchmarks/ann.py)
    takes its own search parameters: IVF parameters alone are refused by faiss's IndexRefine."""
    settings, store, _ = populated(tmp_path, n_docs=100)
    monkeypatch.setattr(faiss_index, "EXACT_BELOW", 0)  # filters go through the refine index's selector
    refine = searcher_for(settings, store, index_spec="IVF8,PQ16x4fs,RFlat", ivf_nprobe=8, refine_k_factor=8)
    exact = searcher_for(settings, store)
    queries = ("data center GPU demand", "share buyback programme", "oil price guidance", "dividend increase")
    overlap = []
    for query in queries:
        got = refine.search(query, k=10, mode="dense", rerank=False)
        want = exact.search(query, k=10, mode="dense", rerank=False)
        overlap.append(len({h.chunk_id for h in got} & {h.chunk_id for h in want}) / 10)
    assert np.mean(overlap) >= 0.9, overlap
    filters = SearchFilters(tickers=("XOM",), as_of=datetime(2020, 1, 31))
    hits = refine.search("share buyback programme", k=5, filters=filters, mode="dense", rerank=False)
    assert len(hits) == 5 and {h.ticker for h in hits} == {"XOM"}
