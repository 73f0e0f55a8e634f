"""The retrieval commands and Client methods, as a user calls them."""

from __future__ import annotations

import json

from retrieval_corpus import corpus, make_settings, make_store, populated
from typer.testing import CliRunner

from fincortex.cli import app
from fincortex.client import Client
from fincortex.retrieval.corpus_rows import write_documents

runner = CliRunner()


def test_client_search_and_index_methods(tmp_path):
    settings, store, _ = populated(tmp_path, n_docs=10)
    client = Client(db=settings.db_path)
    built = client.build_index()
    assert built["sync"]["stages"]["dense"]["added"] == 30 and built["n_chunks"] == 30
    hits = client.search("share buyback", k=3, as_of="2020-01-08", tickers=["MSFT", "AAPL"], rerank=False)
    assert len(hits) == 3 and all(h.ticker in ("MSFT", "AAPL") for h in hits)
    assert client.index_status()["n_chunks"] == 30


def test_cli_search_index_and_export(tmp_path):
    settings, store, _ = populated(tmp_path, n_docs=10)
    db = str(settings.db_path)
    result = runner.invoke(app, ["index", "build", "--db", db])
    assert result.exit_code == 0, result.output
    assert "30 chunks" in result.output
    result = runner.invoke(app, ["search", "cloud costs", "--k", "2", "--mode", "dense", "--json", "--db", db,
                                 "--as-of", "2020-01-05"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert len(payload["hits"]) == 2 and all(h["available_at"] <= "2020-01-05T23:59:59" for h in payload["hits"])
    result = runner.invoke(app, ["search", "buyback", "--db", db])  # rerank asked, none configured
    assert result.exit_code == 0 and "rerank unavailable" in result.output
    result = runner.invoke(app, ["index", "status", "--json", "--db", db])
    assert result.exit_code == 0 and json.loads(result.output)["n_chunks"] == 30
    result = runner.invoke(app, ["search", "x", "--mode", "sparse", "--db", db])
    assert result.exit_code == 1 and "mode must be one of" in result.output


def test_client_ingest_keeps_a_built_index_current(tmp_path):
    """Client.ingest(update_index=True) syncs the indexes after the ingest (the search never does)."""
    settings, _, _ = populated(tmp_path, n_docs=10)
    client = Client(db=settings.db_path)
    client.build_index()
    memo = tmp_path / "memo.txt"
    memo.write_text("The zebra logistics board approved a zebra merger.")
    assert client.ingest([memo]).ok
    hits = client.search("zebra merger", k=1, rerank=False)
    assert "zebra" in hits[0].text and not hits.not_indexed
    other = tmp_path / "other.txt"
    other.write_text("A quokka sanctuary was opened by the company.")
    assert client.ingest([other], update_index=False).ok
    hits = client.search("quokka sanctuary", k=1, rerank=False)
    assert hits.not_indexed == {"dense": 1, "bm25": 1} and "quokka" not in hits[0].text
    assert not client.index_status()["up_to_date"]


def test_cli_search_json_stage_scores_and_not_indexed(tmp_path):
    settings, store, _ = populated(tmp_path, n_docs=10)
    db = str(settings.db_path)
    result = runner.invoke(app, ["search", "buyback", "--db", db])
    assert result.exit_code == 1 and "fincortex index build" in result.output  # nothing built yet
    assert runner.invoke(app, ["index", "build", "--db", db]).exit_code == 0
    write_documents(store, corpus(12)[10:])  # 6 chunks ingested after the build
    result = runner.invoke(app, ["search", "buyback", "--json", "--no-rerank", "--db", db])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["not_indexed"] == {"dense": 6, "bm25": 6} and payload["stages"] == ["dense", "bm25"]
    assert any("6 of the 36 chunks" in w and "fincortex index build" in w for w in payload["warnings"])
    assert all(set(h["scores"]) <= {"dense", "bm25", "fused"} and "fused" in h["scores"] for h in payload["hits"])
    assert all(set(h["ranks"]) == set(h["scores"]) - {"fused"} for h in payload["hits"])
    result = runner.invoke(app, ["index", "status", "--db", db])
    assert result.exit_code == 0 and "not indexed yet" in result.output


def test_cli_empty_database_message(tmp_path):
    settings = make_settings(tmp_path)
    make_store(settings)
    result = runner.invoke(app, ["search", "revenue", "--db", str(settings.db_path)])
    assert result.exit_code == 1 and "holds no chunks" in result.output


def test_cli_export_beir_bad_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    result = runner.invoke(app, ["data", "export-beir", str(tmp_path / "out"), "--tatqa", str(bad)])
    assert result.exit_code == 1 and "expected a JSON list" in result.output
