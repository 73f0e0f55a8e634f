"""BEIR reading/writing, TAT-QA conversion, ranx metrics, and the evaluation run end to end."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from retrieval_corpus import make_settings

from fincortex.retrieval import service
from fincortex.retrieval.beir import BeirFormatError, export_tatqa, load_beir, write_beir
from fincortex.retrieval.evaluation import compute_metrics

MIRROR = Path(os.environ.get("FINCORTEX_DATA_MIRROR") or Path(__file__).resolve().parents[2] / "shared" / "data")


def tiny_tatqa(path: Path) -> Path:
    """Two annual-report contexts in TAT-QA's shape (invented numbers)."""
    contexts = [
        {
            "table": {"uid": "t1", "table": [["", "2019", "2018"], ["Revenue", "$ 120.5", "$ 99.1"],
                                             ["Net income", "14.2", "11.0"]]},
            "paragraphs": [
                {"uid": "p1", "order": 1, "text": "Revenue increased due to higher subscription sales in Europe."},
                {"uid": "p2", "order": 2, "text": "The company repurchased shares under its buyback programme."},
            ],
            "questions": [
                {"uid": "q1", "question": "Why did revenue increase?", "answer_from": "text", "rel_paragraphs": ["1"]},
                {"uid": "q2", "question": "What was net income in 2019?", "answer_from": "table", "rel_paragraphs": []},
                {"uid": "q3", "question": "What was the change in revenue?", "answer_from": "table-text",
                 "rel_paragraphs": ["1"]},
            ],
        },
        {
            "table": {"uid": "t2", "table": [["", "2019"], ["Oil output (kbbl/d)", "310"]]},
            "paragraphs": [{"uid": "p3", "order": 1, "text": "Oil output fell after field maintenance in Norway."}],
            "questions": [{"uid": "q4", "question": "Why did oil output fall?", "answer_from": "text",
                           "rel_paragraphs": ["1"]}],
        },
    ]
    path.write_text(json.dumps(contexts))
    return path


def test_tatqa_export_maps_tables_paragraphs_and_qrels(tmp_path):
    summary = export_tatqa(tiny_tatqa(tmp_path / "tatqa.json"), tmp_path / "beir")
    assert summary["n_docs"] == 5 and summary["n_queries"] == 4
    data = load_beir(tmp_path / "beir")
    assert data.qrels == {"q1": {"p1": 1}, "q2": {"t1": 1}, "q3": {"p1": 1, "t1": 1}, "q4": {"p3": 1}}
    assert "Revenue | $ 120.5 | $ 99.1" in data.corpus["t1"][1]


def test_metrics_are_computed_by_ranx_on_known_rankings():
    qrels = {"a": {"d1": 1}, "b": {"d2": 1, "d3": 1}}
    perfect = compute_metrics(qrels, {"a": {"d1": 1.0, "x": 0.5}, "b": {"d2": 1.0, "d3": 0.9}})
    assert perfect["ndcg@10"] == pytest.approx(1.0) and perfect["map"] == pytest.approx(1.0)
    second = compute_metrics(qrels, {"a": {"x": 1.0, "d1": 0.5}, "b": {}})  # b returned nothing
    assert second["mrr@10"] == pytest.approx(0.25) and second["recall@1"] == 0.0 and second["recall@5"] == 0.5


def test_bad_beir_folder_is_named(tmp_path):
    with pytest.raises(BeirFormatError, match="does not exist"):
        load_beir(tmp_path / "nope")
    write_beir(tmp_path / "b", [{"_id": "d1", "text": "x"}], [{"_id": "q1", "text": "y"}], [("q1", "d9", 1)])
    with pytest.raises(BeirFormatError, match="corpus-id 'd9'"):
        load_beir(tmp_path / "b")
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "corpus.jsonl").write_text('{"_id": "d1", "text": "x"}\nnot json\n')
    with pytest.raises(BeirFormatError, match=r"corpus.jsonl:2: not JSON"):
        load_beir(tmp_path / "c")


def test_evaluation_runs_the_search_pipeline_end_to_end(tmp_path):
    export_tatqa(tiny_tatqa(tmp_path / "tatqa.json"), tmp_path / "beir")
    settings = make_settings(tmp_path)
    report = service.evaluate_retrieval(settings, tmp_path / "beir", modes=("dense", "bm25", "hybrid"),
                                        json_out=tmp_path / "out.json")
    assert set(report["results"]) == {"dense", "bm25", "hybrid"}
    for result in report["results"].values():
        assert set(result["metrics"]) >= {"ndcg@10", "mrr@10", "recall@1", "recall@5", "recall@10", "recall@100", "map"}
        assert 0.0 <= result["metrics"]["ndcg@10"] <= 1.0
    # 5 documents, every relevant one is retrieved within 100 by dense search
    assert report["results"]["dense"]["metrics"]["recall@100"] == pytest.approx(1.0)
    assert report["results"]["bm25"]["metrics"]["mrr@10"] > 0.5  # the questions share words with the answers
    assert json.loads((tmp_path / "out.json").read_text())["dataset"]["n_docs"] == 5
    again = service.evaluate_retrieval(settings, tmp_path / "beir", modes=("dense",))
    assert again["chunks_embedded_now"] == 0  # the corpus store and its vectors are reused
    with pytest.raises(RuntimeError, match="rerank"):
        service.evaluate_retrieval(settings, tmp_path / "beir", modes=("dense",), rerank=True)


@pytest.mark.skipif(not (MIRROR / "tatqa" / "tatqa_dataset_dev.json").exists(), reason="needs the data mirror")
def test_tatqa_dev_export_from_the_mirror(tmp_path):
    summary = export_tatqa(MIRROR / "tatqa" / "tatqa_dataset_dev.json", tmp_path / "tatqa")
    assert summary["n_tables"] == 278 and summary["n_queries"] == 1668 and summary["n_docs"] > 1000
    assert load_beir(tmp_path / "tatqa").summary()["n_qrels"] == summary["n_qrels"]
