"""The app frame: navigation, settings sidebar, every page rendering; `fincortex ui` serving it."""

from __future__ import annotations

import urllib.request

import pytest

from fincortex.client import Client
from fincortex.ui.testing import APP_PATH, app_test, default_mirror, open_page, serve, texts, ui_env

PAGES = ["ask", "search", "forecasts", "trading", "ingest", "data", "models"]


@pytest.fixture()
def env(tmp_path, monkeypatch):
    values = ui_env(tmp_path)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def test_navigation_lists_every_page_and_sidebar_shows_the_database(env, tmp_path):
    at = app_test().run()
    assert not at.exception
    assert texts(at, "title") == ["Ask"]  # the default page
    sidebar = " ".join(str(c.value) for c in at.sidebar.caption)
    assert str(tmp_path / "ui.duckdb") in sidebar and "not created yet" in sidebar
    assert at.text_input(key="cfg_db").value == str(tmp_path / "ui.duckdb")
    assert at.text_input(key="cfg_mirror").value == str(default_mirror())
    for page in PAGES:
        assert (APP_PATH.parent / "views" / f"{page}.py").is_file()


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_on_an_empty_home(env, page):
    at = open_page(app_test(), page)
    assert not at.exception, at.exception
    assert texts(at, "title") == [page.capitalize()]
    # an empty home: each page either works (Ingest) or says where to start / what is not available yet
    notices = texts(at, "warning") + texts(at, "info")
    if page != "ingest":
        assert any("No database at" in n or "Not available yet" in n for n in notices), notices


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_on_a_database(env, page):
    Client().import_prices(default_mirror() / "prices/btcusd_daily_2011_2022.csv", "BTC-USD")
    at = open_page(app_test(), page)
    assert not at.exception, at.exception
    assert not texts(at, "error"), texts(at, "error")


def test_sidebar_switches_database(env, tmp_path):
    other = tmp_path / "other.duckdb"
    Client(db=other).import_prices(default_mirror() / "prices/btcusd_daily_2011_2022.csv", "BTC-USD")
    at = open_page(app_test(), "data")
    assert any("No database at" in w for w in texts(at, "warning"))
    at.text_input(key="cfg_db").set_value(str(other))
    at.run()
    assert not texts(at, "warning")
    assert {m.label: m.value for m in at.metric}["price series"] == "1"


def test_bad_mirror_setting_is_flagged(env, tmp_path):
    at = app_test().run()
    at.text_input(key="cfg_mirror").set_value(str(tmp_path / "nowhere"))
    at.run()
    assert any("is not a folder" in w for w in texts(at, "warning"))


def test_fincortex_ui_serves_the_app(env):
    with serve(env) as url:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=10) as resp:
            assert resp.read() == b"ok"
        with urllib.request.urlopen(url, timeout=10) as resp:
            assert b"<title>" in resp.read().lower() or resp.status == 200
