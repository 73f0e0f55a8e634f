"""Forecasts page (AppTest): a few questions of a real ForecastBench round, scored against the baselines,
with a reliability diagram and per-question rationale and evidence; bad uploads are explained.

The forecasting model is a tiny random chat model (fast on CPU): the page's plumbing is under test.
"""

from __future__ import annotations

import pytest

from fincortex.client import Client
from fincortex.ui.testing import app_test, build_demo_db, button, default_mirror, open_page, texts, ui_env, wait_for_job


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    from fincortex.models.llm.tiny import build_tiny_causal_lm

    return build_tiny_causal_lm(tmp_path_factory.mktemp("tiny") / "tiny-chat", seed=0)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    home = tmp_path_factory.mktemp("ui_forecasts")
    mp = pytest.MonkeyPatch()
    for name, value in ui_env(home).items():
        mp.setenv(name, value)
    client = Client()
    build_demo_db(client, default_mirror(), n_transcripts=2, news=False, prices=False)
    client.build_index()
    yield home
    mp.undo()


def run_job(at, label: str, kind: str, timeout_s: float):
    """Click `label`, then wait for its background job to finish cleanly."""
    button(at, label).click()
    at.run()
    assert not texts(at, "error"), texts(at, "error")
    job = wait_for_job(at, kind, timeout_s=timeout_s)
    assert job.state == "done", (job.error, job.log_tail)
    assert not at.exception, at.exception
    return job


def test_round_runs_and_shows_scores_reliability_and_evidence(env, tiny_model):
    at = open_page(app_test(timeout_s=180), "forecasts")
    assert not at.exception, at.exception
    rounds = at.selectbox(key="fc_round").options
    assert "2025-10-26" in rounds and len(rounds) == 9
    at.selectbox(key="fc_round").set_value("2025-10-26")
    at.number_input(key="fc_limit").set_value(1)
    at.number_input(key="fc_n_queries").set_value(0)
    at.number_input(key="fc_articles").set_value(1)
    at.text_input(key="fc_model").set_value(str(tiny_model))
    job = run_job(at, "Run forecasts", "forecast", timeout_s=600)
    report, rows = job.result["report"], job.result["rows"]
    assert report["n_targets"] == 1
    methods = {r["method"] for r in rows}
    assert {"agent", "agent_no_retrieval", "always_0.5"} <= methods
    scores = [d.value for d in at.dataframe if "brier" in d.value.columns][0]
    assert len(scores) == len(methods) and (scores["n"] == 1).all()
    assert at.get("plotly_chart"), "reliability diagram missing"
    per_question = [d.value for d in at.dataframe if "outcome" in d.value.columns and "agent" in d.value.columns][0]
    assert len(per_question) == 1 and set(per_question["source"]) == {"yfinance"}
    assert any(m.label == "agent probability" for m in at.metric)
    assert any("Question as the agent saw it" in m for m in texts(at, "markdown"))


def test_bad_uploads_are_explained(env):
    at = open_page(app_test(timeout_s=180), "forecasts")
    at.radio(key="fc_source").set_value("Upload files")
    at.run()
    button(at, "Run forecasts").click()
    at.run()
    assert any("upload both" in e for e in texts(at, "error"))
    at.file_uploader(key="fc_questions").set_value(("round.json", b"{not json", "application/json"))
    at.file_uploader(key="fc_resolutions").set_value(("res.json", b"", "application/json"))
    at.run()
    errors = texts(at, "error")
    assert any("round.json is not valid JSON" in e for e in errors), errors
    assert any("res.json is empty" in e for e in errors), errors
    assert "job_forecast" not in at.session_state
    assert not at.exception


def test_default_forecaster_shows_halves_weights_and_reliability(env):
    at = open_page(app_test(timeout_s=180), "forecasts")
    assert not at.exception, at.exception
    at.selectbox(key="fr_round").set_value("2025-11-09")
    at.multiselect(key="fr_members").set_value(["market", "base_rate", "series"])
    job = run_job(at, "Run the default forecaster", "forecast_round", timeout_s=900)
    assert job.result["history_rounds"] == ["2025-10-26"] and job.result["n_targets"] > 2000
    scores = [d.value for d in at.dataframe if "dataset half" in d.value.columns][0]
    assert {"default", "naive", "always_0.5", "market_freeze"} <= set(scores["method"])
    half = scores.set_index("method")
    assert half.loc["always_0.5", "dataset half"] == 0.25  # ForecastBench's halves, scored on the same rows
    weights = [d.value for d in at.dataframe if "family" in d.value.columns][0]
    assert {"market", "yfinance", "acled"} <= set(weights["family"])
    per_source = [d.value for d in at.dataframe if "source" in d.value.columns and "default" in d.value.columns]
    assert per_source and "polymarket" in set(per_source[0]["source"])
    assert at.get("plotly_chart"), "reliability diagram missing"
