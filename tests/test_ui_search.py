"""Search page (AppTest) over a small real database: filters, per-stage scores, document view, bad input."""

from __future__ import annotations

import datetime as dt

import pytest

from fincortex.client import Client
from fincortex.ui.testing import app_test, build_demo_db, button, default_mirror, open_page, texts, ui_env, wait_for_job


@pytest.fixture(scope="module")
def indexed_db(tmp_path_factory):
    home = tmp_path_factory.mktemp("ui_search")
    mp = pytest.MonkeyPatch()
    for name, value in ui_env(home).items():
        mp.setenv(name, value)
    client = Client()
    built = build_demo_db(client, default_mirror(), n_transcripts=4, news=False, prices=False)
    client.build_index()
    yield built
    mp.undo()


def _search(at, query: str, **fields) -> None:
    at.text_input(key="search_query").set_value(query)
    for key, value in fields.items():
        widget = at.get_by_key(key) if hasattr(at, "get_by_key") else None
        (widget or _widget(at, key)).set_value(value)
    button(at, "Search").click()
    at.run()


def _widget(at, key):
    for kind in ("text_input", "checkbox", "date_input", "selectbox", "number_input", "multiselect"):
        for w in getattr(at, kind):
            if w.key == key:
                return w
    raise LookupError(key)


def test_search_shows_hits_with_stage_scores_and_opens_the_document(indexed_db):
    at = open_page(app_test(timeout_s=180), "search")
    assert not at.exception
    assert any("up to date" in e.label for e in at.expander), [e.label for e in at.expander]
    _search(at, "dividend and share repurchases")
    assert not at.exception, at.exception
    payload = at.session_state["search_results"]
    hits = payload["hits"]
    assert len(hits) == 8
    assert all("dense" in h["scores"] or "bm25" in h["scores"] for h in hits)
    assert {h["ticker"] for h in hits} <= {"IBM", "MCD", "KO", "WMT"}
    assert at.get("plotly_chart"), "per-stage score chart missing"
    headers = [m for m in texts(at, "markdown") if m.startswith("**#1 · ")]
    assert headers and hits[0]["title"] in headers[0]

    button(at, "Open document").click()  # the first hit's button
    at.run()
    assert not at.exception
    assert any("(the hit)" in m for m in texts(at, "markdown"))
    assert any(hits[0]["text"] == i for i in texts(at, "info"))


def test_filters_point_in_time_and_tickers(indexed_db):
    at = open_page(app_test(timeout_s=180), "search")
    # every demo call was published in 2021-2022: as of 2020 nothing may come back
    _search(at, "revenue", search_use_as_of=True, search_as_of=dt.date(2020, 12, 31))
    assert not at.exception
    assert at.session_state["search_results"]["hits"] == []
    assert any("No results" in i for i in texts(at, "info"))
    assert any("no chunk matches the filters" in w for w in texts(at, "warning"))

    _search(at, "revenue", search_use_as_of=False, search_tickers="ko")
    hits = at.session_state["search_results"]["hits"]
    assert hits and {h["ticker"] for h in hits} == {"KO"}

    # as of a date between the calls: only the calls available by then
    calls = Client().documents(doc_type="transcript")
    cutoff = sorted(c["available_at"] for c in calls)[1]
    _search(at, "revenue", search_tickers="", search_use_as_of=True, search_as_of=cutoff.date())
    hits = at.session_state["search_results"]["hits"]
    assert hits and all(dt.datetime.fromisoformat(h["available_at"]) <= cutoff.replace(hour=23, minute=59, second=59)
                        for h in hits)


def test_bad_input_is_explained(indexed_db):
    at = open_page(app_test(timeout_s=180), "search")
    _search(at, "   ")
    assert "Type a query first." in texts(at, "error")
    future = dt.date.today() + dt.timedelta(days=30)
    _search(at, "revenue", search_use_as_of=True, search_as_of=future)
    assert any("is in the future" in e for e in texts(at, "error"))
    # asking for reranking without a reranker says so (the hits come back unreranked)
    _search(at, "revenue", search_use_as_of=False, search_rerank=True)
    assert not at.exception
    assert any("rerank unavailable" in w for w in texts(at, "warning"))
    assert at.session_state["search_results"]["hits"]


def test_index_update_runs_as_a_job(tmp_path, monkeypatch):
    for name, value in ui_env(tmp_path).items():
        monkeypatch.setenv(name, value)
    build_demo_db(Client(), default_mirror(), n_transcripts=1, news=False, prices=False, index=False)
    at = open_page(app_test(timeout_s=180), "search")
    assert any("needs an update" in e.label for e in at.expander)
    _search(at, "revenue")  # nothing built yet: said, not an empty result
    assert not at.exception and any("fincortex index build" in e for e in texts(at, "error"))
    button(at, "Update index in the background").click()
    at.run()
    job = wait_for_job(at, "index", timeout_s=300)
    assert job.state == "done", job.error
    assert job.result["sync"]["embedded"] > 5
    assert any("up to date" in e.label for e in at.expander)
    memo = tmp_path / "memo.txt"
    memo.write_text("The board approved a zebra merger and a quokka sanctuary.")
    Client().ingest([memo], update_index=False)
    at = open_page(app_test(timeout_s=180), "search")
    assert any("needs an update" in e.label for e in at.expander)
    _search(at, "zebra merger")  # answers from the index as built, and says what it lacks
    assert not at.exception and at.session_state["search_results"]["not_indexed"] == {"dense": 1, "bm25": 1}
    assert any("not indexed yet" in w for w in texts(at, "warning"))
