"""Index synchronisation happens at ingest/build time, never inside a query (issue 15 pt 5, issue 19 pt 4).

- A search after an ingest answers from the current index at once, embeds nothing, and says how many
  matching chunks are not indexed yet (it used to embed every new chunk first: > 17 min once).
- A build killed with SIGKILL keeps what it embedded and indexed; a re-run only embeds what is missing.
- Nothing built yet is a clear error, not an empty result.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from retrieval_corpus import corpus, populated

from fincortex.retrieval import embedding_cache, service
from fincortex.retrieval.corpus_rows import write_documents
from fincortex.retrieval.embedder import Embedder
from fincortex.retrieval.filters import SearchFilters
from fincortex.retrieval.options import RetrievalOptions
from fincortex.retrieval.searcher import IndexNotBuiltError, Searcher


def fresh(settings, store) -> Searcher:
    return Searcher(store, settings.index_dir, service.get_embedder(settings.embedding_model), RetrievalOptions())


def db_ids(store) -> np.ndarray:
    with store.read() as conn:
        return np.array(sorted(r[0] for r in conn.execute("SELECT chunk_id FROM chunks").fetchall()), dtype=np.int64)


def test_search_after_ingest_answers_at_once_and_counts_what_is_not_indexed(tmp_path, monkeypatch):
    settings, store, _ = populated(tmp_path, n_docs=20)  # 60 chunks
    searcher = fresh(settings, store)
    searcher.sync()
    searcher.search("buyback", k=3, rerank=False)  # loaded, current
    new_docs = corpus(25)[20:]  # 5 documents, 15 chunks, ingested after the build
    write_documents(store, new_docs)
    new_texts = {text for doc in new_docs for text in doc.chunks}
    new_ids = {cid for doc in new_docs for cid in doc.chunk_ids()}

    encoded: list[str] = []
    real_encode = Embedder.encode

    def spy(self, texts, *args, **kwargs):
        encoded.extend(texts)
        return real_encode(self, texts, *args, **kwargs)

    monkeypatch.setattr(Embedder, "encode", spy)
    for searcher_now in (searcher, fresh(settings, store)):  # this process, and a restarted one
        for mode in ("hybrid", "dense", "bm25"):
            clock = time.perf_counter()
            results = searcher_now.search("report 22 quarterly revenue guidance", k=10, mode=mode, rerank=False)
            assert time.perf_counter() - clock < 20  # answers from the index as it is (the old code embedded first)
            assert not new_texts & set(encoded), "a search embedded chunks"
            stages = {"hybrid": ("dense", "bm25")}.get(mode, (mode,))
            assert results.not_indexed == {stage: 15 for stage in stages}
            note = next(w for w in results.warnings if "not indexed yet" in w)
            assert "15 of the 75 chunks" in note and "fincortex index build" in note
            assert results and not {h.chunk_id for h in results} & new_ids
    filtered = searcher.search("guidance", k=70, mode="dense", rerank=False,
                               filters=SearchFilters.build(as_of="2020-01-21"))  # docs 0..20: 63 chunks
    assert filtered.not_indexed == {"dense": 3} and filtered.n_allowed == 63 and len(filtered) == 60

    assert not service.index_status(store, settings)["up_to_date"]  # the searches wrote nothing
    monkeypatch.setattr(Embedder, "encode", real_encode)
    report = searcher.sync()
    assert report.embedded == 15 and report.stages["dense"].added == 15 and not report.stages["dense"].rebuilt
    assert service.index_status(store, settings)["up_to_date"]
    after = searcher.search("report 22 quarterly revenue guidance", k=10, mode="hybrid", rerank=False)
    assert not after.not_indexed and not any("not indexed" in w for w in after.warnings)
    assert {h.chunk_id for h in after} & new_ids


def test_removed_chunks_never_come_back_from_a_stale_index(tmp_path):
    from fincortex.retrieval.corpus_rows import delete_documents

    settings, store, docs = populated(tmp_path, n_docs=20)
    searcher = fresh(settings, store)
    searcher.sync()
    delete_documents(store, [docs[3].doc_id])
    gone = set(docs[3].chunk_ids())
    for mode in ("hybrid", "dense", "bm25"):
        hits = searcher.search("report 3 quarterly revenue", k=57, mode=mode, rerank=False)
        assert not {h.chunk_id for h in hits} & gone
        if mode != "bm25":
            assert len(hits) == 57  # every remaining chunk, k still filled


def test_nothing_built_yet_is_a_clear_error(tmp_path):
    settings, store, _ = populated(tmp_path, n_docs=5)
    with pytest.raises(IndexNotBuiltError, match="holds none of the 15 chunks.*fincortex index build"):
        fresh(settings, store).search("revenue", k=3, mode="bm25", rerank=False)
    fresh(settings, store).sync(stages=("bm25",))  # a lexical index only (as pair mining builds dense only)
    assert fresh(settings, store).search("revenue", k=3, mode="bm25", rerank=False)
    with pytest.raises(IndexNotBuiltError, match="the dense index"):
        fresh(settings, store).search("revenue", k=3, mode="dense", rerank=False)
    # hybrid while the dense index is still being built (the demo embeds in the background): BM25 answers,
    # and the results say the dense index was left out
    hits = fresh(settings, store).search("revenue", k=3, mode="hybrid", rerank=False)
    lexical = fresh(settings, store).search("revenue", k=3, mode="bm25", rerank=False)
    assert [h.chunk_id for h in hits] == [h.chunk_id for h in lexical] and hits.not_indexed == {"dense": 15}
    assert any("dense index is not built yet" in w and "bm25 alone" in w for w in hits.warnings)


KILLED_BUILD = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    from fincortex.config import Settings
    from fincortex.retrieval import embedding_cache, service, stage_dense
    from fincortex.store import Store

    embedding_cache.WRITE_BATCH = 8          # 60 chunks: 8 write batches
    stage_dense.CHECKPOINT_SECONDS = 0.0     # save the index after every batch
    real_insert, batches = embedding_cache._insert, []

    def insert(*args, **kwargs):
        real_insert(*args, **kwargs)
        batches.append(1)
        if len(batches) == 3:                # 3rd batch committed, not yet indexed: kill -9 here
            os.kill(os.getpid(), signal.SIGKILL)

    embedding_cache._insert = insert
    settings = Settings(home=Path(sys.argv[1]))
    service.build_index(Store(settings.db_path), settings)
    print("not killed")
""")


def test_a_killed_build_keeps_its_work_and_a_rerun_continues(tmp_path):
    settings, store, _ = populated(tmp_path, n_docs=20)  # 60 chunks
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", KILLED_BUILD, str(tmp_path)], env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == -9, done.stdout + done.stderr
    embedder = service.get_embedder(settings.embedding_model)
    cached, _ = embedding_cache.load_embeddings(store, embedder.key)
    assert len(cached) == 24  # three committed write batches survived the kill

    searcher = fresh(settings, store)  # a restarted process: what the checkpoints left on disk
    assert len(searcher.indexes["dense"].indexed_ids()) == 16  # two batches indexed and saved
    assert len(searcher.indexes["bm25"].indexed_ids()) == 60  # BM25 syncs first and finished
    results = searcher.search("quarterly revenue", k=5, mode="hybrid", rerank=False)
    assert len(results) == 5 and results.not_indexed == {"dense": 44}
    status = {i["stage"]: i for i in service.index_status(store, settings)["indexes"] if i["active"]}
    assert status["dense"]["n_items"] == 16 and not status["dense"]["up_to_date"] and status["bm25"]["up_to_date"]

    report = searcher.sync()
    assert report.embedded == 60 - 24  # only what the killed build had not embedded
    assert report.stages["dense"].added == 44 and "bm25" not in report.stages  # BM25 was current
    assert np.array_equal(searcher.indexes["dense"].indexed_ids(), db_ids(store))
    assert service.index_status(store, settings)["up_to_date"]
    assert not searcher.search("quarterly revenue", k=5, mode="hybrid", rerank=False).not_indexed
