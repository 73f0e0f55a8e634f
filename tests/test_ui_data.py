"""Data page (AppTest): stats, price chart, document browser over a small real database."""

from __future__ import annotations

import datetime as dt

import pytest

from fincortex.client import Client
from fincortex.ui.testing import app_test, build_demo_db, default_mirror, open_page, texts, ui_env


@pytest.fixture(scope="module")
def demo_env(tmp_path_factory):
    home = tmp_path_factory.mktemp("ui_data")
    env = ui_env(home)
    mp = pytest.MonkeyPatch()
    for name, value in env.items():
        mp.setenv(name, value)
    built = build_demo_db(Client(), default_mirror(), n_transcripts=3)
    yield home, built
    mp.undo()


def test_empty_database_tells_where_to_start(tmp_path, monkeypatch):
    for name, value in ui_env(tmp_path).items():
        monkeypatch.setenv(name, value)
    at = open_page(app_test(), "data")
    assert not at.exception
    assert any("No database at" in w and "Ingest" in w for w in texts(at, "warning"))


def test_stats_prices_and_documents(demo_env):
    home, built = demo_env
    at = open_page(app_test(), "data")
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    stats = Client().stats()
    assert metrics["documents"] == f"{stats['documents']:,}"
    assert metrics["chunks"] == f"{stats['chunks']:,}"
    assert stats["documents"] > 400  # 3 calls + CNBC headlines

    # the price chart of BTC-USD over the default window (last year of data)
    charts = at.get("plotly_chart")
    assert len(charts) == 1
    assert any("bars; last close" in c for c in texts(at, "caption"))

    # an inverted window is refused with a clear message, the page keeps working
    at.date_input(key="data_window_BTC-USD").set_value((dt.date(2020, 6, 1), dt.date(2020, 1, 1)))
    at.run()
    assert any("Invalid window" in e for e in texts(at, "error"))
    at.date_input(key="data_window_BTC-USD").set_value((dt.date(2020, 1, 1), dt.date(2020, 6, 1)))
    at.run()
    assert not texts(at, "error")
    assert any("last close" in c and "2020-06-01" in c for c in texts(at, "caption"))

    # document browser: filter to transcripts, open one, see its chunks
    at.selectbox(key="doc_type").set_value("transcript")
    at.run()
    table = [d.value for d in at.dataframe if "doc_id" in d.value.columns][0]
    assert set(table["doc_type"]) == {"transcript"}
    assert len(table) == 3
    at.selectbox(key="doc_open").set_value(int(table["doc_id"].iloc[0]))
    at.run()
    assert not at.exception
    assert any("chunks" in c for c in texts(at, "caption"))
    assert len(at.text) >= 2  # chunk texts
