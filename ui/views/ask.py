"""Ask: the analyst agent as a chat. Answers carry numbered citations that expand to the source chunk,
its document, page and date; an as-of date bounds everything the agent may read."""

from __future__ import annotations

import datetime as dt
import inspect
from typing import Any

import streamlit as st

from fincortex.ui import common, doc_view, inproc
from fincortex.ui.answer_view import render_answer
from fincortex.ui.serialize import to_jsonable

st.title("Ask")
if st.radio("Mode", ["Ask a question", "Verify a claim"], horizontal=True, key="ask_mode") == "Verify a claim":
    from fincortex.ui import verify_view  # supported / refuted / not enough evidence (Client.verify)

    verify_view.page()
    st.stop()


def _ask(question: str, as_of: dt.datetime, tickers: list[str], thread_id: str | None,
         options: dict[str, Any]) -> str:
    client = common.client()
    method = client.ask
    accepts = inspect.signature(method).parameters

    def work(step) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"as_of": as_of, "tickers": tickers or None, **options}
        if "thread_id" in accepts:
            kwargs["thread_id"] = thread_id
        kwargs["progress"] = lambda event: step(event.message)  # one ProgressEvent per finished node
        answer = method(question, **kwargs)
        payload = to_jsonable(answer.as_dict() if hasattr(answer, "as_dict") else answer)
        ids = [int(p["chunk_id"]) for p in payload.get("passages") or [] if "chunk_id" in p]
        payload["chunk_rows"] = to_jsonable(client.chunks(ids)) if ids and common.has("chunks") else []
        return payload

    return inproc.runner().submit(f"ask: {question[:60]}", work)


def _history() -> list[dict[str, Any]]:
    return st.session_state.setdefault("ask_messages", [])


def _poll(task_id: str) -> None:
    @st.fragment(run_every=0.7)
    def follow() -> None:
        task = inproc.runner().get(task_id)
        if task is None or task.done:
            st.rerun()
        steps = " → ".join(task.steps) or "starting"
        with st.status(f"Thinking ({time_since(task.started_at)}): {steps}", state="running"):
            st.caption("The page stays usable; the answer appears here when ready.")

    follow()


def time_since(t0: float) -> str:
    import time

    return f"{time.time() - t0:,.0f}s"


def _collect(task_id: str) -> None:
    """Move a finished answer (or its error) into the conversation."""
    task = inproc.runner().get(task_id)
    st.session_state.pop("ask_task", None)
    if task is None:
        _history().append({"role": "assistant", "error": "the answer was lost (the server restarted?)"})
        return
    if task.error():
        _history().append({"role": "assistant", "error": task.error()})
        return
    payload = task.result()
    st.session_state["ask_thread"] = payload.get("thread_id")
    _history().append({"role": "assistant", "payload": payload})


if common.require("ask") and common.db_ready():
    c1, c2, c3 = st.columns([1, 2, 1])
    as_of_day = c1.date_input("As of (end of day, UTC)", value=dt.date.today(), min_value=common.EARLIEST_DATE,
                              max_value=dt.date.today(),
                              key="ask_as_of", help="The agent only reads what was public by then.")
    tickers = c2.text_input("Tickers (optional, comma separated)", key="ask_tickers")
    with st.expander("Agent options"):
        o1, o2, o3 = st.columns(3)
        n_queries = o1.number_input("Extra search queries written by the model", min_value=0, max_value=5, value=2,
                                    key="ask_n_queries")
        max_passages = o2.number_input("Passages given to the model", min_value=1, max_value=12, value=5,
                                       key="ask_passages")
        answer_tokens = o3.number_input("Answer length (tokens)", min_value=16, max_value=1024, value=160,
                                        key="ask_tokens")
        model = st.text_input("Chat model (empty: the default; a registered name, a model folder, or "
                              "openai:<base_url>#<model>)", key="ask_model").strip()
    options = {"n_queries": int(n_queries), "max_passages": int(max_passages), "answer_tokens": int(answer_tokens)}
    if model:
        options["model"] = model
    if c3.button("New conversation", key="ask_reset"):
        st.session_state["ask_messages"] = []
        st.session_state.pop("ask_thread", None)
        st.session_state.pop("ask_open", None)

    pending = st.session_state.get("ask_task")
    if pending and (inproc.runner().get(pending) is None or inproc.runner().get(pending).done):
        _collect(pending)
        pending = None

    for i, msg in enumerate(_history()):
        with st.chat_message(msg["role"]):
            if msg["role"] == "user":
                st.markdown(msg["content"])
                st.caption(f"as of {msg.get('as_of')}" + (f" · tickers {msg['tickers']}" if msg.get("tickers") else ""))
            elif msg.get("error"):
                st.error(f"The analyst could not answer: {msg['error']}")
            else:
                render_answer(msg["payload"], key=str(i))

    question = st.chat_input("Ask about the ingested filings, calls and news", key="ask_input",
                             disabled=bool(pending))
    if question is not None:
        if not question.strip():
            st.error("Type a question first: it was empty.")
        elif as_of_day is None:
            st.error("Pick an as-of date.")
        elif as_of_day > dt.date.today():
            st.error(f"As-of date {as_of_day} is in the future; pick today or earlier.")
        else:
            as_of = common.as_of_to_datetime(as_of_day)
            tick = common.parse_list(tickers)
            _history().append({"role": "user", "content": question.strip(), "as_of": str(as_of_day),
                               "tickers": ", ".join(tick)})
            st.session_state["ask_task"] = _ask(question.strip(), as_of, tick, st.session_state.get("ask_thread"),
                                                options)
            st.rerun()
    if pending:
        _poll(pending)

    opened = st.session_state.get("ask_open")
    if opened:
        st.divider()
        doc_view.show_document(opened[0], highlight_chunk=opened[1])
