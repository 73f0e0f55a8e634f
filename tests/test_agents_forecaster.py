"""Forecasting agent: never sees a chunk published after the forecast date (planted future documents),
aggregation, market-value handling, evaluation with baselines, calibration across rounds, CLI."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime, timedelta

import numpy as np
import pytest
from agents_support import (FORECAST_DATE, dataset_question, future_chunk_ids, make_world, market_question,
                            write_round)

from fincortex.agents.common.deps import AgentDeps
from fincortex.agents.common.runs import LeakageError, audit_run, run_chunk_ids
from fincortex.agents.forecasting.evaluation import EvalOptions, evaluate
from fincortex.agents.forecasting.forecastbench import ForecastQuestion
from fincortex.agents.common.graph import clean_query_lines
from fincortex.agents.forecasting.graph import (ForecastConfig, Forecaster, parse_probability,
                                               trimmed_mean)
from fincortex.retrieval import service

FAST = ForecastConfig(models=("tiny",), samples=2, reasoning_tokens=8, summary_tokens=8, n_queries=1, k_per_query=8,
                      max_articles=3, relevance_threshold=0.0)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return make_world(tmp_path_factory.mktemp("forecaster"))


@pytest.fixture(scope="module")
def tiny_chat(tmp_path_factory, world):
    from fincortex.models.llm.factory import get_chat_model
    from fincortex.models.llm.tiny import build_tiny_causal_lm

    path = build_tiny_causal_lm(tmp_path_factory.mktemp("tiny") / "tiny-chat", seed=0)
    return get_chat_model(world[0], str(path))


def question(**changes) -> ForecastQuestion:
    q = ForecastQuestion(id="apple-rev", source="polymarket", forecast_date=FORECAST_DATE,
                         question="Will Apple revenue, dividend and buyback collapse after the supply chain halt?",
                         background="Apple quarterly revenue, iPhone sales, dividend, share buyback, China supply chain.",
                         resolution_criteria="Yes if Apple reports a revenue decline.", market_value=0.3,
                         resolution_date=date(2020, 4, 30))
    return replace(q, **changes)


def test_forecaster_never_sees_a_chunk_after_the_forecast_date(world, tiny_chat):
    settings, store = world
    agent = Forecaster(AgentDeps.build(settings, store).with_chats({"tiny": tiny_chat}), FAST)
    steps = []
    result = agent.forecast(question(), progress=lambda event: steps.append(event.message))
    assert steps == ["make_queries", "retrieve", "rate_relevance", "summarize", "reason", "aggregate", "calibrate"]
    seen = run_chunk_ids(store, result.run_id)
    future = future_chunk_ids(store)
    assert len(future) == 3 and len(seen) >= 8  # retrieval ran, and the planted future documents match the words
    assert not set(seen) & future
    with store.read() as conn:
        latest = conn.execute("SELECT max(available_at) FROM agent_tool_chunks WHERE run_id = ?",
                              [result.run_id]).fetchone()[0]
    assert latest <= FORECAST_DATE
    assert {e.chunk_id for e in result.evidence} <= set(seen) and len(result.evidence) == 3
    assert all(e.available_at <= FORECAST_DATE for e in result.evidence)
    assert audit_run(store, result.run_id)["clean"]
    # the same question a week later may see the first planted document, proving the filter is what kept it out
    later = agent.forecast(question(forecast_date=FORECAST_DATE + timedelta(days=7)))
    assert set(run_chunk_ids(store, later.run_id)) & future


def test_forecaster_with_a_leaky_search_fails(world, tiny_chat):
    settings, store = world
    leaky = lambda query, **kw: service.search(store, settings, query, **{**kw, "as_of": None})  # noqa: E731
    with pytest.raises(LeakageError):
        Forecaster(AgentDeps.build(settings, store).with_search(leaky).with_chats({"tiny": tiny_chat}), FAST).forecast(
            question())
    with store.read() as conn:
        assert conn.execute("SELECT status FROM agent_runs ORDER BY created_at DESC LIMIT 1").fetchone()[0] == "failed"


def test_probability_market_delta_and_samples(world, tiny_chat):
    settings, store = world
    deps = AgentDeps.build(settings, store).with_search(None).with_chats({"tiny": tiny_chat})
    agent = Forecaster(deps, replace(FAST, retrieval=False, samples=3))
    result = agent.forecast(question())
    probs = [s.probability for s in result.samples]
    assert len(probs) == 3 and all(0 < p < 1 for p in probs) and [s.seed for s in result.samples] == [0, 1, 2]
    assert result.raw_probability == pytest.approx(trimmed_mean(probs, FAST.trim))
    assert result.probability == result.raw_probability and result.calibration_id is None
    assert result.moved_from_market == pytest.approx(result.probability - 0.3)
    assert result.n_retrieved == 0 and result.evidence == [] and "Evidence: none used" in result.rationale
    prompt = agent.reasoning_prompt(question(), [])
    assert "The crowd forecast" in prompt and "30%" in prompt
    data_q = question(source="fred", market_value=None, freeze_value="5.13", freeze_value_explanation="Latest yield")
    assert "Latest value (Latest yield): 5.13" in agent.reasoning_prompt(data_q, [])


def test_ensemble_over_two_backends_pools_samples(world, tiny_chat, tmp_path):
    from fincortex.models.llm.factory import get_chat_model
    from fincortex.models.llm.tiny import build_tiny_causal_lm

    other = get_chat_model(world[0], str(build_tiny_causal_lm(tmp_path / "tiny2", seed=1)))
    cfg = replace(FAST, retrieval=False, models=("tiny", "tiny2"), samples=2)
    deps = AgentDeps.build(*world).with_search(None).with_chats({"tiny": tiny_chat, "tiny2": other})
    result = Forecaster(deps, cfg).forecast(question())
    assert [s.model for s in result.samples] == ["tiny", "tiny", "tiny2", "tiny2"]
    assert result.raw_probability == pytest.approx(trimmed_mean([s.probability for s in result.samples], cfg.trim))


def test_helpers():
    assert trimmed_mean([0.0, 0.5, 0.5, 0.5, 1.0], 0.2) == pytest.approx(0.5)
    assert trimmed_mean([0.1, 0.2], 0.1) == pytest.approx(0.15)
    assert parse_probability("so I think... Probability: 72%") == pytest.approx(0.72)
    assert parse_probability("probability = 0.3") == pytest.approx(0.3)
    assert parse_probability("no number here") is None
    assert clean_query_lines("1. Apple revenue 2020\n- \"iPhone sales China\"\nok\n3) x", 5) == [
        "Apple revenue 2020", "iPhone sales China"]
    with pytest.raises(ValueError, match="prob_from"):
        ForecastConfig(prob_from="vibes")


# -- evaluation ---------------------------------------------------------------------------------------
def round_files(tmp_path, due: date, n_dataset: int, resolution: date, seed: int = 0):
    rng = np.random.default_rng(seed)
    questions = [market_question("m1", "Will Apple revenue collapse?", 0.2),
                 market_question("m2", "Will Apple raise its dividend?", 0.7, source="manifold")]
    questions += [dataset_question(f"T{i}") for i in range(n_dataset)]
    resolutions = [{"id": "m1", "source": "polymarket", "direction": None, "resolution_date": str(resolution),
                    "resolved_to": 0.0, "resolved": True},
                   {"id": "m2", "source": "manifold", "direction": None, "resolution_date": str(resolution),
                    "resolved_to": 0.63, "resolved": False}]  # unresolved market: dropped
    resolutions += [{"id": f"T{i}", "source": "yfinance", "direction": None, "resolution_date": str(resolution),
                     "resolved_to": float(rng.uniform() < 0.5), "resolved": True} for i in range(n_dataset)]
    return write_round(tmp_path / str(due), due, questions, resolutions)


def test_evaluation_scores_agent_and_baselines_and_stores_them(world, tiny_chat, tmp_path):
    settings, store = world
    qfile, rfile = round_files(tmp_path, FORECAST_DATE.date(), 3, date(2020, 3, 8))
    report = evaluate(AgentDeps.build(settings, store).with_chats({"tiny": tiny_chat}), qfile, rfile,
                      replace(FAST, samples=1), EvalOptions(limit=3), json_out=tmp_path / "r.json", plot=tmp_path / "r.png")
    assert report.counts["targets"] == 4 and report.counts["unresolved"] == 1 and report.n_targets == 3
    assert set(report.metrics) == {"agent", "agent_no_retrieval", "market", "always_0.5"}
    assert report.metrics["always_0.5"]["overall"]["brier"] == pytest.approx(0.25)
    assert report.metrics["market"]["overall"] == pytest.approx(  # polymarket m1 only: p=0.2, outcome 0
        {**report.metrics["market"]["overall"], "n": 1, "brier": 0.04})
    assert set(report.metrics["agent"]["by_source"]) == {"polymarket", "yfinance"}
    assert not report.calibration["fitted"] and "no calibration" in report.calibration["reason"]
    saved = json.loads((tmp_path / "r.json").read_text())
    assert saved["metrics"]["agent"]["overall"]["n"] == 3 and saved["questions_per_minute"] > 0
    assert (tmp_path / "r.png").read_bytes()[:4] == b"\x89PNG"
    with store.read() as conn:
        rows = conn.execute("SELECT method, count(*) FROM forecasts WHERE eval_id = ? GROUP BY ALL ORDER BY 1",
                            [report.eval_id]).fetchall()
        status = conn.execute("SELECT status FROM forecast_evals WHERE eval_id = ?", [report.eval_id]).fetchone()[0]
        runs = [r[0] for r in conn.execute("SELECT run_id FROM forecasts WHERE eval_id = ? AND run_id IS NOT NULL",
                                           [report.eval_id]).fetchall()]
    assert dict(rows) == {"agent": 3, "agent_no_retrieval": 3, "always_0.5": 3, "market": 1} and status == "ok"
    assert all(audit_run(store, run_id)["clean"] for run_id in runs)  # every agent run of the round: no leakage
    from fincortex.agents.forecasting.evaluation import eval_rows, metrics_table, plot_eval

    assert metrics_table(eval_rows(store, report.eval_id))["agent"]["overall"] == pytest.approx(
        report.metrics["agent"]["overall"])  # the stored rows reproduce the report
    assert plot_eval(store, report.eval_id, tmp_path / "again.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(KeyError, match="no forecasts stored"):
        eval_rows(store, "nope")


def test_calibration_in_a_later_round_uses_only_earlier_resolutions(world, tiny_chat, tmp_path):
    settings, store = world
    cfg = replace(FAST, retrieval=False, samples=1, reasoning_tokens=4)
    opts = EvalOptions(no_retrieval_baseline=False)
    deps = AgentDeps.build(settings, store).with_chats({"tiny": tiny_chat})
    q1, r1 = round_files(tmp_path, date(2020, 3, 1), 20, date(2020, 3, 8), seed=1)
    first = evaluate(deps, q1, r1, cfg, opts)
    assert not first.calibration["fitted"]  # nothing resolved before 2020-03-01
    q2, r2 = round_files(tmp_path, date(2020, 3, 15), 2, date(2020, 3, 22), seed=2)
    second = evaluate(deps, q2, r2, cfg, opts)
    cal = second.calibration
    assert cal["fitted"] and cal["n_train"] == 21 and cal["max_resolution_date"] == "2020-03-08"
    assert {"agent", "agent_raw"} <= set(second.metrics)
    with store.read() as conn:
        used = conn.execute("SELECT DISTINCT calibration_id FROM forecasts WHERE eval_id = ? AND method = 'agent'",
                            [second.eval_id]).fetchall()
    assert used == [(cal["calibration_id"],)]
    # a round dated on the first round's resolution day may not use those outcomes
    q3, r3 = round_files(tmp_path, date(2020, 3, 8), 1, date(2020, 3, 20), seed=3)
    third = evaluate(deps, q3, r3, cfg, opts)
    assert not third.calibration["fitted"]


def test_forecast_cli(world, tiny_chat, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from fincortex.cli import app

    settings, store = world
    monkeypatch.setenv("FINCORTEX_HOME", str(settings.home))
    qfile, rfile = round_files(tmp_path, FORECAST_DATE.date(), 2, date(2020, 3, 8))
    args = ["forecast", "--questions", str(qfile), "--resolutions", str(rfile), "--model", tiny_chat.path,
            "--samples", "1", "--limit", "2", "--no-retrieval", "--skip-blind-baseline", "--db", str(store.path),
            "--json", str(tmp_path / "out.json")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "always_0.5" in result.output and "Brier by question source" in result.output
    assert json.loads((tmp_path / "out.json").read_text())["n_targets"] == 2
    bad = CliRunner().invoke(app, ["forecast", "--questions", str(rfile), "--resolutions", str(rfile), "--db",
                                   str(store.path)])
    assert bad.exit_code == 2 and "questions" in bad.output
