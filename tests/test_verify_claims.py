"""Claim verification on a tiny corpus of real PDFs: supported, refuted (figure and period), derived
figures, not enough evidence, the point-in-time rule (a later filing is never read), bad input, CLI."""

from __future__ import annotations

import json

import pytest
from fincortex.agents.analyst.claim_parse import hedged, parse_claim
from fincortex.agents.analyst.verify import (
    VerifyConfig,
    phrasing_problem,
    resolve_company,
)
from fincortex.agents.common.runs import audit_run, run_chunk_ids
from verify_support import AFTER_2023_FILING, BEFORE_2023_FILING, make_world


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    return make_world(tmp_path_factory.mktemp("verify"))


def verify(client, claim, as_of=BEFORE_2023_FILING):
    return client.verify(claim, as_of=as_of, phrase=False)


def later_chunk_ids(client, as_of):
    with client.store.read() as conn:
        return {r[0] for r in conn.execute("SELECT chunk_id FROM chunks WHERE available_at > ?", [as_of]).fetchall()}


def test_a_true_figure_is_supported_with_document_page_and_chunk(client):
    v = verify(client, "ACME's FY2022 net sales were $1,250 million.")
    assert v.verdict == "supported", v.facts
    assert v.company == "ACME" and v.years == [2022]
    assert v.checks[0]["status"] == "matched"
    cite = v.citations[0]
    assert cite["document"] == "ACME_2022_10K" and cite["page"] == 2 and cite["chunk_id"]


def test_a_wrong_figure_is_refuted_and_says_what_the_filing_reports(client):
    v = verify(client, "ACME's FY2022 net sales were $1,400 million.")
    assert v.verdict == "refuted", v.facts
    assert "1,250" in v.facts and v.citations[0]["document"] == "ACME_2022_10K"


def test_the_right_figure_for_the_wrong_period_is_refuted(client):
    v = verify(client, "ACME's FY2021 net sales were $1,250 million.")  # 1,250 is FY2022; FY2021 was 1,100
    assert v.verdict == "refuted", v.facts


def test_a_ratio_computed_from_two_line_items_is_supported_with_its_formula(client):
    v = verify(client, "ACME's FY2022 operating margin was 24%.")  # 300 / 1,250
    assert v.verdict == "supported", v.facts
    assert v.checks[0]["status"] == "derived" and "/" in v.checks[0]["detail"]
    # these PDFs carry no statement table the extractor reads (no statement_rows), so no metric is computed:
    # a wrong margin meets rows with other numbers, which is not a contradiction (tests/test_verify_computed.py
    # refutes it by computing)
    wrong = verify(client, "ACME's FY2022 operating margin was 31%.")
    assert wrong.verdict == "not enough evidence" and wrong.checks[0]["status"] == "unmatched", wrong.facts


def test_a_figure_is_not_refuted_because_another_row_carries_another_number(client):
    # "Operating income 300 250" is a relevant row with another value for FY2022, but not the same line item
    v = verify(client, "ACME's FY2022 adjusted operating profit was $340 million.")
    assert v.verdict == "not enough evidence", v.facts
    assert v.checks[0]["status"] == "unmatched" and v.checks[0]["rule"] == "unmatched"
    # the same line item for the claimed period with another value does contradict
    same = verify(client, "ACME's FY2022 operating income was $340 million.")
    assert same.verdict == "refuted" and same.checks[0]["rule"] == "same line item, other value", same.facts


def test_a_claim_the_filings_do_not_speak_about_is_not_enough_evidence(client):
    assert verify(client, "ACME's FY2022 employee headcount was 5,000.").verdict == "not enough evidence"
    before_all = verify(client, "ACME's FY2022 net sales were $1,250 million.", as_of="2020-01-01")
    assert before_all.verdict == "not enough evidence" and not before_all.citations and not before_all.passages


def test_point_in_time_a_later_filing_is_never_used(client):
    claim = "ACME's FY2023 net sales were $1,500 million."
    early = verify(client, claim, as_of=BEFORE_2023_FILING)
    assert early.verdict == "not enough evidence", early.facts
    seen = set(run_chunk_ids(client.store, early.run_id))
    assert seen and not seen & later_chunk_ids(client, BEFORE_2023_FILING)
    assert all(p["document"] != "ACME_2023_10K" for p in early.passages)
    assert audit_run(client.store, early.run_id)["clean"]
    late = verify(client, claim, as_of=AFTER_2023_FILING)
    assert late.verdict == "supported" and late.citations[0]["document"] == "ACME_2023_10K"
    # the FY2023 filing also reports FY2022's 1,250: before it was public, the FY2022 filing is the evidence
    v = verify(client, "ACME's FY2022 net sales were $1,250 million.", as_of=BEFORE_2023_FILING)
    assert {c["document"] for c in v.citations} == {"ACME_2022_10K"}


def test_the_named_company_restricts_the_evidence(client):
    v = verify(client, "BETA's FY2022 net sales were $1,250 million.")  # ACME's figure, BETA's claim
    assert v.company == "BETA" and v.verdict == "refuted"
    assert {p["ticker"] for p in v.passages} == {"BETA"}


@pytest.mark.parametrize("claim, as_of, needle", [
    ("", None, "claim"), ("   ", None, "claim"), ("ACME's net sales were $1 million.", "not-a-date", "as_of"),
    ("ACME's net sales were $1 million.", "2023-13-45", "as_of")])
def test_bad_input_is_a_clear_error(client, claim, as_of, needle):
    with pytest.raises(ValueError, match=needle):
        client.verify(claim, as_of=as_of, phrase=False)


def test_bad_config_names_the_field():
    with pytest.raises(ValueError, match="rel_tol"):
        VerifyConfig(rel_tol=2)
    with pytest.raises(ValueError, match="approx_tol"):
        VerifyConfig(approx_tol=-0.1)


def test_claim_parsing_scales_percent_and_company_names():
    p = parse_claim("What is the FY2018 capital expenditure (in USD millions) for 3M? Answer: $1577.00")
    assert p.years == [2018] and [(f.value, f.scale) for f in p.figures] == [(1577.0, 1e6)]
    assert [(f.value, f.percent) for f in parse_claim("Margin fell 1.7% to $4.6 billion").figures] == [(1.7, True), (4.6, False)]
    # a date's day and an enumeration marker are not figures; a negative in parentheses is
    assert [f.value for f in parse_claim("On May 26, 2023 it rose by $400 million: (1) pricing, (2,724) net").figures] \
        == [400.0, -2724.0]
    hedge = "The quick ratio was approximately 0.54; it sold its inventory 2.7 times"
    assert [hedged(hedge, f) for f in parse_claim(hedge).figures] == [True, False]
    companies = {"johnsonjohnson": "JOHNSON_JOHNSON", "jpmorgan": "JPMORGAN", "3m": "3M"}
    assert resolve_company("Johnson & Johnson's FY2022 sales", companies) == "JOHNSON_JOHNSON"
    assert resolve_company("JPM's 2021 Q1 revenue", companies) == "JPMORGAN"
    assert resolve_company("the company's revenue", companies) is None


def test_a_model_phrasing_that_adds_figures_or_flips_the_verdict_is_rejected():
    facts = "ACME_2022_10K p. 2 reports 1,250 for Net sales (2022)"
    assert phrasing_problem("ACME's 2022 net sales of 1,250 match the filing.", "supported", facts) is None
    assert "figures" in phrasing_problem("Net sales were 1,900 in 2022.", "supported", facts)
    assert "contradicts" in phrasing_problem("The claim is refuted by the filing.", "supported", facts)


def test_verify_cli_json_and_bad_date(client, monkeypatch):
    from typer.testing import CliRunner

    from fincortex.cli import app

    monkeypatch.setenv("FINCORTEX_HOME", str(client.settings.home))
    db = str(client.store.path)
    ok = CliRunner().invoke(app, ["verify", "ACME's FY2022 net sales were $1,250 million.", "--as-of", "2023-06-01",
                                  "--no-phrase", "--json", "--db", db])
    assert ok.exit_code == 0, ok.output
    out = json.loads(ok.output[ok.output.index("{"):])
    assert out["verdict"] == "supported" and out["citations"][0]["page"] == 2
    bad = CliRunner().invoke(app, ["verify", "ACME's sales were $1 million.", "--as-of", "someday", "--db", db])
    assert bad.exit_code == 2 and "as_of" in bad.output
    empty = CliRunner().invoke(app, ["verify", " ", "--db", db])
    assert empty.exit_code == 2 and "claim" in empty.output
