"""The follow-up leak is closed: an earlier answer of a thread re-enters the prompt only when every document it
was built from was available by the follow-up's as_of (agents/analyst/graph.py `visible_history`)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from agents_support import FORECAST_DATE, make_world
from filings_support import ScriptedChat, prompt_text
from langchain_core.messages import AIMessage, HumanMessage

from fincortex.agents.analyst.graph import AnalystConfig, ask_question, visible_history
from fincortex.agents.common.deps import AgentDeps

CONFIG = AnalystConfig(n_queries=0, answer_tokens=16, max_passages=3)
LATE = FORECAST_DATE + timedelta(days=10)  # the planted FUTURE LEAK documents are public by then


def echo_first_passage(messages) -> str:
    """Answer with the first passage's text, so the answer is text built from that passage."""
    human = messages[-1][1]
    first = human.split("Passages:\n", 1)[1].split("\n", 1)[0]
    return first.split(") ", 1)[1] + " [1]"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return make_world(tmp_path_factory.mktemp("followup"))


def test_follow_up_with_an_earlier_as_of_never_sees_a_later_answer(world):
    settings, store = world
    chat = ScriptedChat(echo_first_passage)
    deps = AgentDeps.build(settings, store).with_chats(chat)
    first = ask_question(deps, "Did Apple cut its dividend and cancel the buyback?", as_of=LATE, config=CONFIG)
    assert "FUTURE LEAK" in first.answer  # the first turn was built from the later documents

    chat.prompts.clear()
    second = ask_question(deps, "And what about the dividend?", as_of=FORECAST_DATE, config=CONFIG,
                          thread_id=first.thread_id)
    assert chat.prompts and not any("FUTURE LEAK" in prompt_text(p) for p in chat.prompts)
    assert "FUTURE LEAK" not in second.answer
    assert any("left out of the prompt" in n for n in second.notes)

    chat.prompts.clear()  # a follow-up at a later as_of may read the earlier answers
    ask_question(deps, "And the buyback?", as_of=LATE, config=CONFIG, thread_id=first.thread_id)
    assert any(first.answer[:40] in prompt_text(p) for p in chat.prompts)


def test_visible_history_rules():
    early, late = "2020-03-01 00:00:00", "2020-03-11 00:00:00"
    messages = [HumanMessage("q1"), AIMessage("from late docs", additional_kwargs={"latest_source": late}),
                HumanMessage("q2"), AIMessage("from early docs", additional_kwargs={"latest_source": early}),
                HumanMessage("q3"), AIMessage("no documents", additional_kwargs={"latest_source": ""}),
                AIMessage("unknown provenance")]
    shown, dropped = visible_history(messages, "2020-03-05 00:00:00")
    assert shown == [("human", "q1"), ("human", "q2"), ("ai", "from early docs"), ("human", "q3"), ("ai", "no documents")]
    assert dropped == 2
