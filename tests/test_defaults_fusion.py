"""Calibrated fusion weights: explicit options > the weights calibrated for the embedder > 1:1; hybrid with
a zero dense weight orders as BM25 does; calibration picks the best pair on its folder and saves it."""

from __future__ import annotations

import json

import pytest

from retrieval_corpus import populated


def test_stage_weight_precedence():
    from fincortex.retrieval.options import RetrievalOptions

    calibrated = {"weights": {"dense": 0.25, "bm25": 1.0}}
    assert RetrievalOptions().stage_weight("dense") == 1.0
    assert RetrievalOptions().stage_weight("dense", calibrated) == 0.25
    assert RetrievalOptions(dense_weight=0.75).stage_weight("dense", calibrated) == 0.75
    assert RetrievalOptions.from_env().dense_weight is None
    with pytest.raises(ValueError, match="dense_weight"):
        RetrievalOptions(dense_weight=-1)


def test_searcher_follows_the_calibrated_weights_file(tmp_path):
    from fincortex.retrieval import service
    from fincortex.retrieval.fusion import save_weights

    settings, store, _ = populated(tmp_path, n_docs=30, chunks_per_doc=2)
    service.build_index(store, settings)
    searcher = service.get_searcher(store, settings)
    query = "data center GPU demand guidance"
    bm25 = [h.chunk_id for h in searcher.search(query, k=8, mode="bm25", rerank=False)]
    assert searcher.fusion_weights(("dense", "bm25")) == {"dense": 1.0, "bm25": 1.0}
    save_weights(settings.models_dir, searcher.embedder.key, {"weights": {"dense": 0.0, "bm25": 1.0},
                                                              "source": "test"})
    assert searcher.fusion_weights(("dense", "bm25")) == {"dense": 0.0, "bm25": 1.0}  # picked up, no restart
    hybrid = [h.chunk_id for h in searcher.search(query, k=8, mode="hybrid", rerank=False)]
    assert hybrid[: len(bm25)] == bm25
    status = service.index_status(store, settings)
    assert status["fusion_weights"] == {"dense": 0.0, "bm25": 1.0} and status["fusion_weights_source"] == "test"
    service.clear_cache()


def test_a_broken_weights_file_is_an_error_naming_it(tmp_path):
    from fincortex.retrieval.fusion import load_weights, weights_path

    path = weights_path(tmp_path, "some-model-key")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"weights": {"dense": -1}}))
    with pytest.raises(ValueError, match=str(path)):
        load_weights(tmp_path, "some-model-key")


def _beir(folder, corpus, queries, qrels):
    folder.mkdir(parents=True)
    (folder / "qrels").mkdir()
    (folder / "corpus.jsonl").write_text("".join(json.dumps({"_id": k, "title": "", "text": v}) + "\n"
                                                 for k, v in corpus.items()))
    (folder / "queries.jsonl").write_text("".join(json.dumps({"_id": k, "text": v}) + "\n" for k, v in queries.items()))
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + "".join(
        f"{q}\t{d}\t1\n" for q, d in qrels.items()))


def test_calibration_scores_the_grid_and_saves_the_best(tmp_path):
    from fincortex.retrieval.calibration import GRID, calibrate
    from fincortex.retrieval.embedder import Embedder
    from fincortex.retrieval.fusion import load_weights

    # invented codes only BM25 can match exactly; the embedder sees near-identical sentences
    corpus = {f"d{i}": f"Segment report code ZX{i:03d}Q: revenue and margin were in line with guidance." for i in range(40)}
    queries = {f"q{i}": f"which report has code ZX{i:03d}Q" for i in range(0, 40, 2)}
    qrels = {f"q{i}": f"d{i}" for i in range(0, 40, 2)}
    _beir(tmp_path / "beir", corpus, queries, qrels)
    embedder = Embedder(backend="torch", models_dir=tmp_path / "models")
    record = calibrate(tmp_path / "beir", tmp_path / "cache", embedder, tmp_path / "models", {"name": "test codes"})
    assert len(record["grid"]) == len(GRID)
    best = max(row["ndcg@10"] for row in record["grid"])
    chosen = next(r for r in record["grid"] if r["weights"] == record["weights"])
    assert chosen["ndcg@10"] == best
    bm25_alone = next(r for r in record["grid"] if r["weights"] == {"dense": 0.0, "bm25": 1.0})
    assert chosen["ndcg@10"] >= bm25_alone["ndcg@10"] and record["weights"]["bm25"] > 0
    assert load_weights(tmp_path / "models", embedder.key)["weights"] == record["weights"]
