"""The retrieval commands and Client methods, as a user calls them."""

from __future__ import annotations

import json

from retrieval_corpus import make_settings, make_store, populated
from typer.testing import CliRunner

from fincortex.cli import app
from fincortex.client import Client

runner = CliRunner()


def test_client_search_and_index_methods(tmp_path):
    settings, store, _ = populated(tmp_path, n_docs=10)
    client = Client(db=settings.db_path)
    built = client.build_index()
    assert built["sync"]["dense_added"] == 30 and built["n_chunks"] == 30
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
