"""Computed answers: a metric question on a real filing answered from its statement rows by the calculator,
with the formula, every input and a citation to each input's page; the chat model's figures are never used;
a missing input is named instead of guessed."""

from __future__ import annotations

import pytest
from filings_support import ScriptedChat, sliced_3m_store

from fincortex.agents.analyst.graph import AnalystConfig, ask_question
from fincortex.agents.analyst.metrics import detect_metric
from fincortex.agents.common.deps import AgentDeps
from fincortex.agents.common.runs import audit_run

CONFIG = AnalystConfig(n_queries=0, answer_tokens=16)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return sliced_3m_store(tmp_path_factory.mktemp("fin3m"))


def test_computed_answer_cites_each_input_page(world):
    settings, store, _pdf = world
    chat = ScriptedChat(lambda messages: "3M's inventory turnover is 4.00 [1].")  # a wrong figure: overruled
    deps = AgentDeps.build(settings, store).with_chats(chat)
    answer = ask_question(deps, "What is 3M's FY2022 inventory turnover ratio? Inventory turnover ratio is defined as: "
                                "(FY2022 COGS) / (average inventory between FY2021 and FY2022). Round your answer to "
                                "two decimal places.", config=CONFIG)
    computed = answer.computed
    inputs = {u["name"]: u for u in computed["inputs"]}
    assert (inputs["cogs"]["value"], inputs["cogs"]["page"]) == (19232.0, 2)  # income statement, PDF page 2
    assert (inputs["inv"]["value"], inputs["inv_prev"]["value"], inputs["inv"]["page"]) == (5372.0, 4985.0, 3)
    assert computed["value"] == round(19232 / ((5372 + 4985) / 2), 2) == 3.71
    assert "cogs / ((inv + inv_prev) / 2)" in answer.answer and "3.71" in answer.answer and "4.00" not in answer.answer
    cited = {c["chunk_id"] for c in answer.citations}
    with store.read() as conn:
        for used in computed["inputs"]:
            assert used["chunk_id"] in cited  # each input's page is cited
            start, end = conn.execute("SELECT page_start, page_end FROM chunks WHERE chunk_id = ?",
                                      [used["chunk_id"]]).fetchone()
            assert start <= used["page"] <= end
    assert audit_run(store, answer.run_id)["clean"]  # the statement read is a recorded tool call


def test_a_missing_input_is_named_not_guessed(world):
    settings, store, _pdf = world
    deps = AgentDeps.build(settings, store).with_chats(ScriptedChat(lambda m: "The ratio is 0.83 [1]."))
    answer = ask_question(deps, "What is the FY2022 operating cash flow ratio for 3M? Operating cash flow ratio is "
                                "defined as: cash from operations / total current liabilities.", config=CONFIG)
    assert answer.computed["value"] is None
    assert answer.computed["missing"] == ["cash from operations (2022)"]  # the slice has no cash-flow statement
    assert "cash from operations (2022) not found" in answer.answer and "0.83" not in answer.answer


def test_metric_detection():
    assert detect_metric("What is FY2018 days payable outstanding (DPO) for Walmart?").name == "days payable outstanding"
    assert detect_metric("What is the FY2022 unadjusted EBITDA % margin for PepsiCo?").name == "EBITDA margin"
    assert detect_metric("Which segment dragged down 3M's growth?") is None


def _item(statement: str, name: str, period: str, value: float, page: int = 5):
    from datetime import datetime

    from fincortex.agents.analyst.statements import LineItem

    return LineItem(1, "JNJ_2022_10K", page, statement, name, None, period, 0, value, 1e6, "USD millions", str(value),
                    datetime(2023, 2, 1))


def test_a_53_week_year_reads_balance_columns_by_period_end_and_optional_inputs_say_so():
    from fincortex.agents.analyst.metrics import METRICS, compute_metric

    turnover = next(m for m in METRICS if m.name == "inventory turnover")
    rows = [_item("income", "Cost of products sold", "2022", 31089), _item("income", "Cost of products sold", "2021", 29855),
            _item("balance", "Inventories (Notes 1 and 3)", "2023", 12483), _item("balance", "Inventories (Notes 1 and 3)", "2022", 10387)]
    result = compute_metric(turnover, rows, 2022, "inventory turnover", period_end="2023-01-01")
    assert [u.value for u in result.inputs] == [31089, 12483, 10387] and result.value == round(31089 / 11435, 2)
    quick = next(m for m in METRICS if m.name == "quick ratio")
    rows = [_item("balance", "Cash and cash equivalents", "2022", 2605), _item("balance", "Accounts receivable", "2022", 25332),
            _item("balance", "Total current liabilities", "2022", 50171)]
    result = compute_metric(quick, rows, 2022, "quick ratio")
    assert result.absent_optional == ["short-term investments (2022)"] and result.value == round(27937 / 50171, 2)
