"""Claim verification by computing: a claim naming a metric is checked against the metric computed from the
filing's statement rows (3M's FY2022 10-K, sliced to its income statement and balance sheet): equal ->
supported with the formula and each input cited on its page; another figure -> refuted saying the computed
value; the change of a margin; which claim figures state the metric."""

from __future__ import annotations

import pytest
from filings_support import sliced_3m_store
from fincortex.agents.analyst.claim_metric import bind_figures, claim_metric
from fincortex.agents.analyst.metrics import METRICS
from fincortex.agents.analyst.verify import VerifyConfig, verify_claim
from fincortex.agents.common.deps import AgentDeps
from fincortex.agents.common.runs import audit_run

CONFIG = VerifyConfig(phrase=False, mode="bm25", rerank=False)


@pytest.fixture(scope="module")
def deps(tmp_path_factory):
    settings, store, _pdf = sliced_3m_store(tmp_path_factory.mktemp("verify3m"))
    return AgentDeps.build(settings, store)


def test_a_computed_metric_claim_is_supported_with_formula_and_each_input_page(deps):
    v = verify_claim(deps, "3M's FY2022 inventory turnover was 3.71 times.", config=CONFIG)  # 19,232 / avg(5,372, 4,985)
    assert v.verdict == "supported", v.facts
    (check,) = v.checks
    assert check["status"] == "computed" and check["rule"] == "computed metric equal"
    assert "cogs / ((inv + inv_prev) / 2)" in check["detail"] and "19,232" in check["detail"]
    assert {c["page"] for c in v.citations} == {2, 3}  # COGS on the income statement, inventories on the balance sheet
    assert all(c["document"] == "3M_2022_10K" and c["chunk_id"] for c in v.citations)
    assert audit_run(deps.store, v.run_id)["clean"]  # the statement read is a recorded, point-in-time tool call


def test_the_same_claim_with_a_wrong_figure_is_refuted_saying_the_computed_value(deps):
    v = verify_claim(deps, "3M's FY2022 inventory turnover was 5.20 times.", config=CONFIG)
    assert v.verdict == "refuted", v.facts
    assert v.checks[0]["rule"] == "computed metric differs" and "3.71" in v.facts and "5,372" in v.facts


def test_a_margin_and_its_change_are_computed_for_the_claimed_year(deps):
    # gross margin FY2022 = (34,229 - 19,232) / 34,229 = 43.8%; FY2021 = (35,355 - 18,795) / 35,355 = 46.8%
    assert verify_claim(deps, "3M's FY2022 gross margin was 43.8%.", config=CONFIG).verdict == "supported"
    fy21 = verify_claim(deps, "3M's FY2021 gross margin was 43.8%.", config=CONFIG)  # FY2022's value, FY2021's claim
    assert fy21.verdict == "refuted" and "46.8" in fy21.facts, fy21.facts
    change = verify_claim(deps, "3M's FY2022 gross margin decreased by 3.0% from FY2021 to FY2022.", config=CONFIG)
    assert change.verdict == "supported" and "change (percentage points)" in change.checks[0]["detail"], change.facts


def test_a_missing_input_falls_through_to_the_passages_and_says_so(deps):
    v = verify_claim(deps, "3M's FY2022 free cash flow was $5,000 million.", config=CONFIG)  # no cash-flow statement
    assert v.verdict != "supported"
    assert any("free cash flow" in n and "not computed" in n and "passage checks" in n for n in v.notes), v.notes
    assert all(c["status"] != "computed" for c in v.checks)


def test_which_claim_figures_state_the_metric():
    roa = next(m for m in METRICS if m.name == "return on assets")
    bound = bind_figures("Capex/revenue: 5.1%. Its ROA of only 1.82% in 2022 and 3.39% in 2021, and 5.6% later.", roa)
    assert [(b.figure.value, b.year, b.change) for b in bound] == [(1.82, 2022, False), (3.39, 2021, False)]
    margin, _figures = claim_metric("What drove operating margin change? Answer: it decreased by 1.7% on a lower gross margin.")
    assert margin.name == "operating margin"  # the metric named first, not the first of METRICS named anywhere
    assert claim_metric("It manages its CAPEX well: Return on Assets = 12.4%")[0] == roa  # capex states no amount
    assert [(b.figure.value, b.change) for b in bind_figures("operating margin decreased by 1.7%", margin)] == [(1.7, True)]
    assert [b.change for b in bind_figures("operating margin decreased to 21.7%", margin)] == [False]
    assert bind_figures("operating margin was 0.2", margin) == []  # a margin is a percentage
    capex, (b,) = claim_metric("What is the FY2021 capital expenditure (in USD billions) for PepsiCo? Answer: $4.60")
    assert capex.name == "capital expenditure" and b.figure.amount == 4.6e9  # the unit hint scales the figure
    growth, (g,) = claim_metric("Not a high growth company: sales grew by 1.3% in FY2022.")
    assert growth.name == "revenue growth" and (g.year, g.change) == (2022, False)  # a growth rate is the change


def _item(statement: str, name: str, period: str, value: float):
    from datetime import datetime

    from fincortex.agents.analyst.statements import LineItem

    return LineItem(1, "JNJ_2022_10K", 5, statement, name, None, period, 0, value, 1e6, "USD millions", str(value),
                    datetime(2023, 2, 1))


def test_a_53_week_year_whose_balance_columns_carry_fiscal_years_is_read_by_fiscal_year():
    from fincortex.agents.analyst.claim_metric import _value
    from fincortex.agents.analyst.scope import FilingRef

    turnover = next(m for m in METRICS if m.name == "inventory turnover")
    filing = FilingRef(1, "JNJ_2022_10K", "JNJ", None, "JNJ", "10-K", 2022, None, "2023-01-01")
    by_fiscal_year = [_item("income", "Cost of products sold", "2022", 31089),
                      _item("balance", "Inventories", "2022", 12483), _item("balance", "Inventories", "2021", 10387)]
    value, result, _expression = _value(turnover, by_fiscal_year, 2022, "inventory turnover", filing, None)
    assert [u.value for u in result.inputs] == [31089, 12483, 10387] and value == pytest.approx(31089 / 11435)
    by_period_end = [_item("income", "Cost of products sold", "2022", 31089),
                     _item("balance", "Inventories", "2023", 12483), _item("balance", "Inventories", "2022", 10387)]
    value, result, _expression = _value(turnover, by_period_end, 2022, "inventory turnover", filing, None)
    assert [u.value for u in result.inputs] == [31089, 12483, 10387]
