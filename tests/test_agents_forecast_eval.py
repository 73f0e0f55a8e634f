"""ForecastBench reader (real mirror rounds + synthetic edge cases) and the forecast metrics."""

from __future__ import annotations

import json
from datetime import date, datetime

import numpy as np
import pytest
from agents_support import dataset_question, market_question, write_round

from fincortex.agents.forecasting.evaluation import brier, brier_decomposition, ece, log_loss, metrics_table, reliability_plot
from fincortex.agents.forecasting.forecastbench import ForecastBenchError, load_questions, load_targets, take

ROUND = "2025-10-26"


@pytest.fixture(scope="module")
def real_round(mirror):
    folder = mirror / "forecastbench"
    return folder / "question_sets" / f"{ROUND}-llm.json", folder / "resolution_sets" / f"{ROUND}_resolution_set.json"


def test_real_round_joins_on_id_and_source(real_round):
    qfile, rfile = real_round
    due, questions = load_questions(qfile)
    assert due == datetime(2025, 10, 26) and len(questions) == 500
    loaded = load_targets(qfile, rfile)
    raw = json.loads(rfile.read_text())["resolutions"]
    resolved = [r for r in raw if r["resolved"] and r["resolved_to"] in (0, 1)]
    keys = {(q.id, q.source) for q in questions}
    assert loaded.counts["targets"] == sum((r["id"], r["source"]) in keys for r in resolved) == len(loaded.targets)
    assert loaded.counts["unresolved"] == sum(1 for r in raw if not (r["resolved"] and r["resolved_to"] in (0, 1))
                                              and (r["id"], r["source"]) in keys)
    assert all(t.outcome in (0.0, 1.0) and t.forecast_date == due for t in loaded.targets)
    by_source = loaded.by_source()
    assert {"yfinance", "fred", "acled"} <= set(by_source)
    # dataset questions: one target per resolution date, dates filled into the text, no market probability
    yf = [t for t in loaded.targets if t.source == "yfinance"]
    assert yf and all("{resolution_date}" not in t.question and str(t.resolution_date) in t.question for t in yf)
    assert all(t.market_value is None and t.freeze_value is not None for t in yf)
    assert len({t.resolution_date for t in yf}) >= 2
    markets = [t for t in loaded.targets if t.source in ("polymarket", "manifold", "metaculus", "infer")]
    assert all(t.market_value is None or 0 <= t.market_value <= 1 for t in markets)
    assert sum(t.market_value is not None for t in markets) >= 0.8 * len(markets)


def test_take_spreads_a_limit_over_sources(real_round):
    loaded = load_targets(*real_round)
    picked = take(loaded.targets, 20)
    assert len(picked) == 20 and len({t.source for t in picked}) == min(20, len(loaded.by_source()))
    assert take(loaded.targets, 20) == picked  # deterministic
    only = load_targets(*real_round, sources=["yfinance"])
    assert {t.source for t in only.targets} == {"yfinance"}
    with pytest.raises(ForecastBenchError, match="not in"):
        load_targets(*real_round, sources=["astrology"])


def test_combination_questions_with_list_ids(tmp_path):
    qs = [market_question("a", "Will A?", 0.4), dataset_question("B"),
          {**market_question("x", "Will A and B both happen?", 0.2), "id": ["a", "B"]}]
    rs = [{"id": ["a", "B"], "source": "polymarket", "direction": [1, -1], "resolution_date": "2020-03-05",
           "resolved_to": 1.0, "resolved": True},
          {"id": ["a", "zzz"], "source": "polymarket", "direction": [1, 1], "resolution_date": "2020-03-05",
           "resolved_to": 0.0, "resolved": True},
          {"id": "a", "source": "polymarket", "direction": None, "resolution_date": "2020-03-05", "resolved_to": 0.4,
           "resolved": True}]  # resolved_to not in {0, 1}: dropped
    loaded = load_targets(*write_round(tmp_path, date(2020, 3, 1), qs, rs))
    assert [(t.id, t.direction, t.outcome) for t in loaded.targets] == [("a|B", (1, -1), 1.0)]
    assert loaded.counts["no_matching_question"] == 1 and loaded.counts["unresolved"] == 1


@pytest.mark.parametrize("content, match", [
    ("not json", "not valid JSON"), ("[]", "a JSON object with a 'questions' list"),
    ('{"questions": []}', "forecast_due_date"),
    ('{"forecast_due_date": "2020-01-01", "questions": [{"id": 3.5, "source": "x", "question": "q"}]}', "id must be"),
    ('{"forecast_due_date": "2020-01-01", "questions": [{"id": "a", "source": "x"}]}', "missing 'question'"),
])
def test_bad_question_files_are_named(tmp_path, content, match):
    path = tmp_path / "q.json"
    path.write_text(content)
    with pytest.raises(ForecastBenchError, match=match) as info:
        load_questions(path)
    assert str(path) in str(info.value)


def test_mismatched_rounds_are_refused(tmp_path, real_round):
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"forecast_due_date": "2025-11-09", "resolutions": []}))
    with pytest.raises(ForecastBenchError, match="matching pair"):
        load_targets(real_round[0], other)
    with pytest.raises(ForecastBenchError, match="no such file"):
        load_targets(tmp_path / "missing.json", other)


# -- metrics ------------------------------------------------------------------------------------------
def test_scores_match_sklearn_and_known_values():
    from sklearn.metrics import brier_score_loss, log_loss as sk_log_loss

    rng = np.random.default_rng(0)
    p = rng.uniform(0, 1, 500)
    y = (rng.uniform(size=500) < p).astype(float)
    assert brier(p, y) == pytest.approx(brier_score_loss(y, p))
    assert log_loss(p, y) == pytest.approx(sk_log_loss(y, p))
    assert brier(np.full(4, 0.5), np.array([0, 1, 1, 0.0])) == 0.25
    assert log_loss(np.full(2, 0.5), np.array([0, 1.0])) == pytest.approx(np.log(2))


def test_ece_and_decomposition():
    y = np.array([1, 0, 1, 0, 1, 1, 0, 0, 0, 0], dtype=float)
    p = np.array([0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.05, 0.05])
    # bins: 0.5 -> freq 0.5 (calibrated); 0.25 -> freq 0.5; 0.05 -> freq 0
    assert ece(p, y) == pytest.approx(0.4 * 0 + 0.4 * 0.25 + 0.2 * 0.05)
    d = brier_decomposition(p, y)
    base = 0.4
    assert d["uncertainty"] == pytest.approx(base * (1 - base))
    assert d["reliability"] == pytest.approx(0.4 * 0 + 0.4 * 0.0625 + 0.2 * 0.0025)
    assert d["resolution"] == pytest.approx(0.4 * 0.01 + 0.4 * 0.01 + 0.2 * 0.16)
    assert d["residual"] == pytest.approx(0.0, abs=1e-12)  # forecasts constant within bins: identity exact
    assert brier(p, y) == pytest.approx(d["reliability"] - d["resolution"] + d["uncertainty"])


def test_metrics_table_and_plot(tmp_path):
    rows = [{"method": m, "source": s, "probability": p, "outcome": y}
            for m, s, p, y in [("agent", "a", 0.9, 1), ("agent", "b", 0.2, 0), ("always_0.5", "a", 0.5, 1),
                               ("always_0.5", "b", 0.5, 0)]]
    table = metrics_table(rows)
    assert list(table) == ["agent", "always_0.5"]
    assert table["agent"]["overall"]["brier"] == pytest.approx((0.01 + 0.04) / 2)
    assert table["agent"]["by_source"]["b"]["n"] == 1
    png = reliability_plot(rows, tmp_path / "sub" / "rel.png")
    assert png.read_bytes()[:4] == b"\x89PNG"
