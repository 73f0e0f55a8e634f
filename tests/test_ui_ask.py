"""Ask page (AppTest): the analyst answers on a background thread; sources are numbered and expand to
the chunk, its document, page and date; bad input is explained.

The answering model here is a tiny random chat model (fast on CPU): the page's plumbing is what is
tested. The real default model (SmolLM2) answers in the browser test.
"""

from __future__ import annotations

import datetime as dt

import pytest

from fincortex.client import Client
from fincortex.ui import inproc
from fincortex.ui.testing import app_test, build_demo_db, default_mirror, open_page, texts, ui_env
from fincortex.ui.answer_view import numbered


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    from fincortex.models.llm.tiny import build_tiny_causal_lm

    return build_tiny_causal_lm(tmp_path_factory.mktemp("tiny") / "tiny-chat", seed=0)


@pytest.fixture(scope="module")
def indexed_db(tmp_path_factory):
    home = tmp_path_factory.mktemp("ui_ask")
    mp = pytest.MonkeyPatch()
    for name, value in ui_env(home).items():
        mp.setenv(name, value)
    client = Client()
    build_demo_db(client, default_mirror(), n_transcripts=3, news=False, prices=False)
    client.build_index()
    yield home
    mp.undo()


def _ask(at, question: str, tiny_model) -> None:
    at.text_input(key="ask_model").set_value(str(tiny_model))
    at.number_input(key="ask_n_queries").set_value(0)
    at.number_input(key="ask_tokens").set_value(24)
    at.chat_input(key="ask_input").set_value(question)
    at.run()


def _wait(at, timeout_s: float = 300.0) -> None:
    task_id = at.session_state["ask_task"]
    inproc.runner().wait(task_id, timeout_s=timeout_s)
    at.run()


def test_numbering_follows_the_passages():
    assert numbered("A [chunk 7] B [chunk 9] [chunk 7].", {7: 2, 9: 1}) == "A [2] B [1] [2]."


def test_ask_shows_answer_and_numbered_sources(indexed_db, tiny_model):
    at = open_page(app_test(timeout_s=120), "ask")
    assert not at.exception, at.exception
    _ask(at, "What did management say about dividends?", tiny_model)
    assert not at.exception, at.exception
    assert [m.name for m in at.chat_message] == ["user"]
    _wait(at)
    assert not at.exception, at.exception
    assert [m.name for m in at.chat_message] == ["user", "assistant"]
    assert "ask_task" not in at.session_state
    payload = at.session_state["ask_messages"][-1]["payload"]
    passages = payload["passages"]
    assert passages, payload.get("notes")
    labels = [e.label for e in at.expander if e.label.startswith("[")]
    assert len(labels) == len(passages)
    first = min(passages, key=lambda p: p["ref"])
    assert any(label.startswith(f"[{first['ref']}] ") and "available 20" in label for label in labels)
    # every source expands to its chunk text, chunk id and document
    assert any(f"chunk {first['chunk_id']} · document {first['doc_id']}" in c for c in texts(at, "caption"))
    assert any(f"as of {dt.date.today()}" in c for c in texts(at, "caption"))

    # a follow-up continues the same conversation thread
    thread = payload["thread_id"]
    _ask(at, "And about buybacks?", tiny_model)
    _wait(at)
    assert at.session_state["ask_messages"][-1]["payload"]["thread_id"] == thread
    assert len(at.chat_message) == 4


def test_point_in_time_bounds_the_sources(indexed_db, tiny_model):
    at = open_page(app_test(timeout_s=120), "ask")
    calls = sorted(d["available_at"] for d in Client().documents(doc_type="transcript"))
    at.date_input(key="ask_as_of").set_value(calls[0].date())
    _ask(at, "What was said about revenue?", tiny_model)
    _wait(at)
    payload = at.session_state["ask_messages"][-1]["payload"]
    assert payload["passages"]
    bound = dt.datetime.combine(calls[0].date(), dt.time(23, 59, 59))
    assert all(dt.datetime.fromisoformat(p["available_at"]) <= bound for p in payload["passages"])

    at.date_input(key="ask_as_of").set_value(dt.date(2015, 1, 1))  # before every document
    _ask(at, "What was said about revenue?", tiny_model)
    _wait(at)
    payload = at.session_state["ask_messages"][-1]["payload"]
    assert payload["passages"] == []
    assert any("no chunk available by" in n for n in texts(at, "info"))


def test_bad_input_is_explained_and_page_stays_usable(indexed_db, tiny_model):
    at = open_page(app_test(timeout_s=120), "ask")
    at.chat_input(key="ask_input").set_value("   ")
    at.run()
    assert any("Type a question first" in e for e in texts(at, "error"))
    assert at.session_state["ask_messages"] == []
    # a model spec that does not exist: the failure is the assistant's message, the chat goes on
    at.text_input(key="ask_model").set_value("no-such-model-anywhere")
    at.chat_input(key="ask_input").set_value("What about revenue?")
    at.run()
    _wait(at)
    assert any("could not answer" in e and "no-such-model-anywhere" in e for e in texts(at, "error"))
    _ask(at, "What about revenue?", tiny_model)
    _wait(at)
    assert "payload" in at.session_state["ask_messages"][-1]
    assert not at.exception
