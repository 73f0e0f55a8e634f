"""ForecastBench's scoring rules against a hand-computed example, and the submission file round trip."""

from __future__ import annotations

import json
import math
from datetime import date

import pytest

from fincortex.agents.forecasting import scoring
from fincortex.agents.forecasting.rounds import Outcome, load_round, target_key
from fincortex.agents.forecasting.submission import read_submission, submission, write_submission


def _outcomes():
    d1, d2 = date(2020, 3, 8), date(2020, 4, 1)
    return {
        ("m1", "polymarket", "", ""): Outcome(1.0, True, d1),        # resolved Yes
        ("m2", "manifold", "", ""): Outcome(0.3, False, d2),         # unresolved: the market value on d2
        ("d1", "yfinance", str(d1), ""): Outcome(0.0, True, d1),
        ("d1", "yfinance", str(d2), ""): Outcome(1.0, True, d2),
        ("d2", "acled", str(d1), ""): Outcome(1.0, True, d1),
        ("d2", "acled", str(d2), ""): Outcome(0.0, False, d2),        # dataset row not resolved: not scored
    }


def test_rules_match_a_hand_computed_example():
    f = {("m1", "polymarket", "", ""): 0.8, ("m2", "manifold", "", ""): 0.5,
         ("d1", "yfinance", "2020-03-08", ""): 0.4, ("d1", "yfinance", "2020-04-01", ""): 0.6}
    # d2/acled 2020-03-08 has no forecast: imputed 0.5
    s = scoring.score(f, _outcomes())
    market = ((0.8 - 1) ** 2 + (0.5 - 0.3) ** 2) / 2                 # 0.04, 0.04 -> 0.04
    dataset = ((0.4 - 0) ** 2 + (0.6 - 1) ** 2 + (0.5 - 1) ** 2) / 3  # 0.16, 0.16, 0.25 -> 0.19
    assert s["market"] == {"n": 2, "brier": pytest.approx(0.04), "brier_index": pytest.approx(80.0)}
    assert s["dataset"]["n"] == 3 and s["dataset"]["brier"] == pytest.approx(0.19)
    assert s["overall"]["brier"] == pytest.approx((market + dataset) / 2)  # halves weighted equally, not pooled
    assert s["overall"]["brier_index"] == pytest.approx(100 * (1 - math.sqrt(0.115)))
    assert s["n_imputed"] == 1 and s["by_source"]["acled"] == {"n": 1, "brier": pytest.approx(0.25)}
    resolved_only = scoring.score(f, _outcomes(), market_resolved_only=True)["market"]
    assert resolved_only["n"] == 1 and resolved_only["brier"] == pytest.approx(0.04)
    assert scoring.brier_index(0.25) == pytest.approx(50.0) and scoring.brier_index(0.0) == 100.0
    with pytest.raises(ValueError, match="\\[0, 1\\]"):
        scoring.score({**f, ("m1", "polymarket", "", ""): 1.5}, _outcomes())


def test_bootstrap_ci_is_paired_and_brackets_the_estimate():
    outcomes = _outcomes()
    good = {k: o.resolved_to for k, o in outcomes.items()}  # perfect forecasts
    table = scoring.table({"perfect": good, "half": {k: 0.5 for k in outcomes}}, outcomes, reference="half", n_boot=200)
    assert table["perfect"]["overall"]["brier"] == 0.0 and table["perfect"]["overall"]["ci95"] == (0.0, 0.0)
    lo, hi = table["half"]["overall"]["ci95"]
    assert lo <= table["half"]["overall"]["brier"] <= hi
    vs = table["perfect"]["vs_half"]
    assert vs["diff"] < 0 and vs["ci95"][1] < 0 and vs["p_not_better"] == 0.0


def test_submission_round_trips_through_the_scorer(tmp_path):
    from agents_support import dataset_question, market_question, write_round

    combo = {**dataset_question("A"), "id": ["A", "B"], "question": "Both A and B up on {resolution_date}?"}
    qs = [market_question("m1", "Will A?", 0.7), dataset_question("A"), combo]
    rs = [{"id": "m1", "source": "polymarket", "direction": None, "resolution_date": "2020-03-20",
           "resolved_to": 1.0, "resolved": True},
          {"id": "A", "source": "yfinance", "direction": None, "resolution_date": "2020-03-08",
           "resolved_to": 0.0, "resolved": True},
          {"id": ["A", "B"], "source": "yfinance", "direction": [1, -1], "resolution_date": "2020-03-08",
           "resolved_to": 1.0, "resolved": True}]
    rnd = load_round(*write_round(tmp_path, date(2020, 3, 1), qs, rs))
    assert len(rnd.targets) == 1 + 1 + 4  # the combination: one target per direction
    probs = {target_key(t): 0.1 + 0.1 * i for i, t in enumerate(rnd.targets)}
    data = submission(rnd, probs, "fincortex", "test-model")
    path = write_submission(tmp_path / "sub.json", data)
    raw = json.loads(path.read_text())
    assert {k: raw[k] for k in ("organization", "model", "question_set", "forecast_due_date")} == \
        {"organization": "fincortex", "model": "test-model", "question_set": "2020-03-01-llm.json",
         "forecast_due_date": "2020-03-01"}
    market = next(f for f in raw["forecasts"] if f["source"] == "polymarket")
    assert market["resolution_date"] is None and market["direction"] is None
    combos = [f for f in raw["forecasts"] if isinstance(f["id"], list)]
    assert len(combos) == 4 and {tuple(f["direction"]) for f in combos} == {(1, 1), (1, -1), (-1, 1), (-1, -1)}
    due, back = read_submission(path)
    assert due == "2020-03-01" and back == pytest.approx(probs)
    assert scoring.score(back, rnd.outcomes) == scoring.score(probs, rnd.outcomes)
    with pytest.raises(ValueError, match="no forecast for"):
        submission(rnd, dict(list(probs.items())[:-1]), "fincortex", "m")
    (tmp_path / "bad.json").write_text(json.dumps({**raw, "forecasts": [{**market, "forecast": 2}]}))
    with pytest.raises(ValueError, match="forecasts\\[0\\]: forecast 2.0 outside"):
        read_submission(tmp_path / "bad.json")
