"""Statement pages: a question about a statement reads the scoped filing's primary statement pages first
(found from its statement rows), point-in-time and recorded for the leakage audit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from filings_support import ScriptedChat, sliced_3m_store

from fincortex.agents.analyst.graph import AnalystConfig, ask_question
from fincortex.agents.analyst.statement_pages import primary_statement_pages, statements_asked
from fincortex.agents.common.deps import AgentDeps
from fincortex.agents.common.runs import audit_run

CONFIG = AnalystConfig(n_queries=0, answer_tokens=16)
CAPITAL = "Is 3M a capital-intensive business based on FY2022 data?"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    # cover, income statement (PDF 48), balance sheet (50), cash-flow statement (52) -> pages 1-4 of the slice
    return sliced_3m_store(tmp_path_factory.mktemp("fin3m_statements"), pages=(1, 48, 50, 52))


def test_statements_asked():
    assert statements_asked(CAPITAL) == ("income", "balance", "cashflow")
    assert statements_asked("What was the largest liability in American Express's Balance Sheet in 2022?") == ("balance",)
    assert statements_asked("Among operations, investing, and financing activities, which brought in the most cash?") == ("cashflow",)
    assert statements_asked("Does AMEX have an improving operating margin profile as of 2022?") == ("income",)
    assert statements_asked("Which debt securities are registered to trade on a national securities exchange?") == ()


def test_primary_statement_pages_of_a_real_filing(world):
    _settings, store, _pdf = world
    with store.read() as conn:
        doc_id, available = conn.execute("SELECT doc_id, available_at FROM documents").fetchone()
    assert primary_statement_pages(store, doc_id) == {"income": 2, "balance": 3, "cashflow": 4}
    assert primary_statement_pages(store, doc_id, as_of=available - timedelta(days=1)) == {}  # not public yet


def test_a_statement_question_reads_the_statement_pages_first(world):
    settings, store, _pdf = world
    deps = AgentDeps.build(settings, store).with_chats(ScriptedChat(lambda m: "It spends on plant [1]."))
    answer = ask_question(deps, CAPITAL, config=CONFIG)
    assert [(h["page_start"], h["rank"]) for h in answer.hits[:3]] == [(2, 0), (3, 0), (4, 0)]  # rank 0: pinned
    assert all(h["rank"] >= 1 for h in answer.hits[3:])  # search hits follow, the pinned pages not repeated
    assert len({h["chunk_id"] for h in answer.hits}) == len(answer.hits)
    assert audit_run(store, answer.run_id)["clean"]  # the statement read is a recorded tool call
    plain = ask_question(deps, CAPITAL, config=AnalystConfig(n_queries=0, answer_tokens=16, statement_pages=False))
    assert plain.hits and all(h["rank"] >= 1 for h in plain.hits)
    other = ask_question(deps, "Who signed 3M's FY2022 annual report?", config=CONFIG)
    assert other.hits and all(h["rank"] >= 1 for h in other.hits)  # names no statement: nothing pinned


def test_page_diverse_order_covers_more_pages_and_drops_nothing():
    from fincortex.agents.analyst.graph import page_diverse

    hits = [{"chunk_id": i, "doc_id": doc, "page_start": page} for i, (doc, page) in
            enumerate([(1, 64), (1, 64), (1, 62), (1, 64), (2, 64), (1, None), (1, None), (1, 32)])]
    out = page_diverse(hits)
    assert [h["chunk_id"] for h in out] == [0, 2, 4, 5, 6, 7, 1, 3]  # pageless hits are never merged
    assert sorted(h["chunk_id"] for h in out) == list(range(len(hits)))
