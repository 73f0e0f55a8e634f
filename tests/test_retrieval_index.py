"""Index lifecycle: persistence across restarts, incremental add, removal on replace, rebuild, GPU."""

from __future__ import annotations

import numpy as np
import pytest
from retrieval_corpus import START, corpus, populated

from fincortex.retrieval import embedding_cache, service
from fincortex.retrieval.corpus_rows import DocRow, delete_documents, write_documents
from fincortex.retrieval.faiss_index import IndexSpecError, faiss_backend, gpu_count
from fincortex.retrieval.options import RetrievalOptions
from fincortex.retrieval.searcher import Searcher


def fresh_searcher(settings, store, **options) -> Searcher:
    """A new Searcher = what a restarted process sees (indexes are read from disk)."""
    return Searcher(store, settings.index_dir, service.get_embedder(settings.embedding_model),
                    RetrievalOptions(**options))


def db_ids(store) -> np.ndarray:
    with store.read() as conn:
        return np.array(sorted(r[0] for r in conn.execute("SELECT chunk_id FROM chunks").fetchall()), dtype=np.int64)


def test_index_survives_restart_without_reembedding(tmp_path):
    settings, store, _ = populated(tmp_path, n_docs=20)
    first = fresh_searcher(settings, store).sync()
    assert first.embedded == 60 and first.stages["dense"].added == 60 and first.stages["bm25"].rebuilt
    before = fresh_searcher(settings, store).search("buyback", k=5, mode="hybrid", rerank=False)

    restarted = fresh_searcher(settings, store)
    again = restarted.sync()
    assert not again.changed and again.embedded == 0
    assert np.array_equal(np.sort(restarted.indexes["dense"].index.ids()), db_ids(store))
    after = restarted.search("buyback", k=5, mode="hybrid", rerank=False)
    assert [h.chunk_id for h in after] == [h.chunk_id for h in before]


def test_incremental_add_embeds_only_new_chunks(tmp_path):
    settings, store, _ = populated(tmp_path, n_docs=20)
    fresh_searcher(settings, store).sync()
    new = corpus(25)[20:]  # 5 more documents, 15 chunks
    write_documents(store, new)
    report = fresh_searcher(settings, store).sync()
    dense = report.stages["dense"]
    assert report.embedded == 15 and dense.added == 15 and dense.removed == 0 and not dense.rebuilt
    searcher = fresh_searcher(settings, store)
    assert np.array_equal(np.sort(searcher.indexes["dense"].index.ids()), db_ids(store))
    assert np.array_equal(searcher.indexes["bm25"].index.chunk_ids, db_ids(store))


def test_search_picks_up_chunks_indexed_by_someone_else(tmp_path):
    """A searcher sees another process's ingest (as not indexed yet) and, once that process builds, its
    indexes, without syncing anything itself."""
    settings, store, _ = populated(tmp_path, n_docs=10)
    searcher = fresh_searcher(settings, store)
    searcher.sync()
    searcher.search("revenue", k=3, rerank=False)
    write_documents(store, [DocRow(source_key="late", chunks=["Zebra logistics announced a zebra merger."],
                                   available_at=START, available_at_rule="test", source="test", doc_type="news")])
    for mode in ("dense", "bm25"):
        hits = searcher.search("zebra merger", k=1, mode=mode, rerank=False)
        assert hits.not_indexed == {mode: 1} and all("Zebra" not in h.text for h in hits)
    fresh_searcher(settings, store).sync()  # the other process's `fincortex index build`
    for mode in ("dense", "bm25"):
        hits = searcher.search("zebra merger", k=1, mode=mode, rerank=False)
        assert "Zebra" in hits[0].text and not hits.not_indexed


# HNSW cannot remove_ids; IVF can, but not compacting its ids the way IndexIDMap2 assumes: both rebuild
@pytest.mark.parametrize("spec", ["Flat", "HNSW16", "IVF4,Flat"])
def test_replacing_or_deleting_a_document_removes_its_vectors(tmp_path, spec):
    settings, store, docs = populated(tmp_path, n_docs=20)
    searcher = fresh_searcher(settings, store, index_spec=spec)
    searcher.sync()
    old_ids = set(docs[3].chunk_ids())
    replaced = DocRow(**{**docs[3].__dict__, "chunks": ["Completely rewritten: a quokka sanctuary opened."]})
    write_documents(store, [replaced])
    delete_documents(store, [docs[4].doc_id])
    gone = old_ids | set(docs[4].chunk_ids())

    report = searcher.sync()
    assert report.stages["dense"].removed == 6 or report.stages["dense"].rebuilt
    index_ids = set(searcher.indexes["dense"].index.ids().tolist())
    assert not index_ids & gone and set(replaced.chunk_ids()) <= index_ids
    assert not set(searcher.indexes["bm25"].index.chunk_ids.tolist()) & gone
    assert np.array_equal(np.sort(searcher.indexes["dense"].index.ids()), db_ids(store))
    ids, _ = embedding_cache.load_embeddings(store, searcher.embedder.key)
    with store.read() as conn:
        cached = {r[0] for r in conn.execute("SELECT chunk_id FROM chunk_embeddings").fetchall()}
    assert not cached & gone and len(ids) == len(db_ids(store))
    for mode in ("dense", "bm25", "hybrid"):
        hits = searcher.search("report 3 quarterly revenue", k=60, mode=mode, rerank=False)
        assert not {h.chunk_id for h in hits} & gone
    assert "quokka" in searcher.search("quokka sanctuary", k=1, mode="hybrid", rerank=False)[0].text
    for chunk_id, vector in zip(ids, embedding_cache.load_embeddings(store, searcher.embedder.key, ids)[1]):
        found, _ = searcher.indexes["dense"].index.search(vector, 1, nprobe=4)  # every vector maps back to its own id
        assert found[0] == chunk_id


def test_full_rebuild_reuses_the_embedding_cache(tmp_path):
    settings, store, _ = populated(tmp_path, n_docs=10)
    fresh_searcher(settings, store).sync()
    report = fresh_searcher(settings, store).sync(rebuild=True)
    dense, bm25 = report.stages["dense"], report.stages["bm25"]
    assert dense.rebuilt and bm25.rebuilt and report.embedded == 0 and dense.added == 30


def test_ivf_spec_needs_enough_vectors(tmp_path):
    settings, store, _ = populated(tmp_path, n_docs=5)
    with pytest.raises(IndexSpecError, match="needs at least 1024 vectors"):
        fresh_searcher(settings, store, index_spec="IVF1024,Flat").sync()
    with pytest.raises(IndexSpecError, match="cannot build index spec"):
        fresh_searcher(settings, store, index_spec="NotAnIndex").sync()


def test_status_reports_backend_and_freshness(tmp_path):
    settings, store, _ = populated(tmp_path, n_docs=5)
    service.clear_cache()
    service.build_index(store, settings)
    status = service.index_status(store, settings)
    assert status["n_chunks"] == 15 and status["backend"].startswith(("faiss-cpu", "faiss-gpu"))
    assert {i["kind"] for i in status["indexes"] if i["active"] and i["up_to_date"]} == {"faiss", "bm25"}
    write_documents(store, corpus(6)[5:])
    stale = service.index_status(store, settings)
    assert not any(i["up_to_date"] for i in stale["indexes"])
    assert faiss_backend() == status["backend"]


@pytest.mark.gpu
@pytest.mark.skipif(gpu_count() == 0, reason="needs CUDA and a GPU-enabled faiss build")
def test_gpu_search_matches_cpu(tmp_path):
    settings, store, _ = populated(tmp_path, n_docs=30)
    gpu = fresh_searcher(settings, store, use_gpu=True)
    gpu.sync()
    cpu = fresh_searcher(settings, store, use_gpu=False)
    assert "faiss-gpu" in faiss_backend()
    for filters in (None,):
        a = gpu.search("GPU demand guidance", k=10, mode="dense", rerank=False, filters=filters)
        b = cpu.search("GPU demand guidance", k=10, mode="dense", rerank=False, filters=filters)
        assert [h.chunk_id for h in a] == [h.chunk_id for h in b]


def test_auto_spec_follows_corpus_size_and_calibrates_nprobe(tmp_path):
    """'auto' is exact while the corpus is small, rebuilds as IVF-PQ with an exact re-rank once it
    outgrows the threshold, and calibrates nprobe on the corpus to recall@10 >= 0.95 against exact."""
    from fincortex.retrieval.faiss_index import NPROBE_LADDER, TARGET_RECALL, auto_factory

    assert auto_factory(100_000, 384) == "Flat"
    assert auto_factory(1_000_000, 384) == "IVF4096,PQ96x4fs,RFlat"
    assert auto_factory(1_000_000, 384, gpu=True) == "IVF4096,Flat"
    settings, store, _ = populated(tmp_path, n_docs=60)  # 180 chunks
    small = fresh_searcher(settings, store, index_spec="auto", auto_approximate_from=250)
    small.sync()
    assert small.indexes["dense"].index.factory == "Flat" and small.indexes["dense"].index.exact
    write_documents(store, corpus(100)[60:])  # 300 chunks: past the threshold
    grown = fresh_searcher(settings, store, index_spec="auto", auto_approximate_from=250)
    report = grown.sync()
    dense = grown.indexes["dense"].index
    assert report.stages["dense"].rebuilt and dense.factory == auto_factory(300, dense.meta.dim, 250)
    assert dense.factory.startswith("IVF") and dense.factory.endswith(",RFlat") and not dense.exact
    assert dense.meta.nprobe in NPROBE_LADDER
    assert dense.meta.calibration["recall@10"] >= TARGET_RECALL or dense.meta.nprobe == NPROBE_LADDER[-1]
    exact = fresh_searcher(settings, store, index_spec="Flat")
    exact.sync()
    for query in ("data center GPU demand", "share buyback programme", "dividend increase"):
        got = {h.chunk_id for h in grown.search(query, k=10, mode="dense", rerank=False)}
        want = {h.chunk_id for h in exact.search(query, k=10, mode="dense", rerank=False)}
        assert len(got & want) >= 8, query
    restarted = fresh_searcher(settings, store, index_spec="auto", auto_approximate_from=250)
    assert not restarted.sync().changed and restarted.indexes["dense"].index.meta.nprobe == dense.meta.nprobe
    status = service.index_status(store, settings)
    assert any(i["kind"] == "faiss" and "auto: IVF" in i["spec"] and "nprobe" in i["spec"] for i in status["indexes"]), status["indexes"]
