"""Calibration: Platt / isotonic maps, fitted only on forecasts resolved before the forecast date, persisted."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import numpy as np
import pytest

from fincortex.agents.forecasting.calibration import (MIN_TRAIN, CalibrationUnavailable, Calibrator, fit_for_date, load,
                                          training_rows)
from fincortex.config import Settings
from fincortex.store import Store

D = datetime(2025, 12, 7)


@pytest.fixture()
def store(tmp_path):
    s = Store(Settings(home=tmp_path).db_path)
    s.ensure_schema()
    return s


def insert(store, rows):
    """rows: (question_id, resolution_date, forecast_date, raw_p, outcome, agent_key)."""
    with store.write() as conn:
        conn.executemany(
            "INSERT INTO forecasts (eval_id, method, question_id, source, resolution_date, forecast_date, agent_key, "
            "raw_probability, probability, outcome, created_at) VALUES ('e', 'agent', ?, 'test', ?, ?, ?, ?, ?, ?, now())",
            [[q, r, f, k, p, p, y] for q, r, f, p, y, k in rows])


def history(rng, n, start: date, forecast_date: datetime, key="A"):
    """Over-confident forecaster: outcome ~ Bernoulli(0.5 + (p - 0.5) / 2)."""
    rows = []
    for i in range(n):
        p = float(rng.uniform(0.02, 0.98))
        y = float(rng.uniform() < 0.5 + (p - 0.5) / 2)
        rows.append((f"q{i}", start + timedelta(days=i % 20), forecast_date, p, y, key))
    return rows


@pytest.mark.parametrize("method", ["platt", "isotonic"])
def test_fitted_only_on_questions_resolved_before_the_date(store, method):
    rng = np.random.default_rng(0)
    before = history(rng, 80, date(2025, 11, 1), datetime(2025, 10, 26))  # resolved 11-01 .. 11-20
    # planted: resolved on/after D (outcome not yet known at D), adversarial outcomes, same agent
    after = [(f"late{i}", date(2025, 12, 7) + timedelta(days=i % 5), datetime(2025, 10, 26), p, 1.0 - y, "A")
             for i, (_, _, _, p, y, _) in enumerate(history(rng, 200, date(2025, 1, 1), D))]
    # another agent's history, and a forecast made after D about a question resolved before D
    other = [(q, r, f, p, 1.0 - y, "B") for q, r, f, p, y, _ in history(rng, 50, date(2025, 11, 1), D)]
    made_later = [("made-later", date(2025, 11, 5), D + timedelta(days=1), 0.99, 0.0, "A")]
    insert(store, before + after + other + made_later)

    cal = fit_for_date(store, "A", D, method)
    expected = Calibrator.fit([r[3] for r in before], [r[4] for r in before], method)
    assert cal.params == pytest.approx(expected.params) if method == "platt" else cal.params == expected.params
    with store.read() as conn:
        n, max_date, keys, fitted_for = conn.execute(
            "SELECT n_train, max_resolution_date, train_keys, fitted_for FROM calibration_models "
            "WHERE calibration_id = ?", [cal.calibration_id]).fetchone()
    assert n == 80 and max_date < D.date() and fitted_for == D
    assert {k[1] for k in json.loads(keys)} == {r[0] for r in before}
    assert load(store, cal.calibration_id).params == cal.params


def test_a_question_resolving_on_the_forecast_date_is_excluded(store):
    insert(store, [("same-day", D.date(), datetime(2025, 11, 1), 0.5, 1.0, "A"),
                   ("day-before", D.date() - timedelta(days=1), datetime(2025, 11, 1), 0.5, 1.0, "A")])
    assert [r[1] for r in training_rows(store, "A", D)] == ["day-before"]


def test_too_little_history_is_reported_not_hidden(store):
    rng = np.random.default_rng(1)
    insert(store, history(rng, MIN_TRAIN - 1, date(2025, 11, 1), datetime(2025, 10, 26)))
    with pytest.raises(CalibrationUnavailable, match="only 19 resolved forecasts"):
        fit_for_date(store, "A", D)
    with pytest.raises(CalibrationUnavailable, match="only 0"):
        fit_for_date(store, "nobody", D)


def test_one_class_only_is_refused():
    with pytest.raises(CalibrationUnavailable, match="same outcome"):
        Calibrator.fit(np.linspace(0.1, 0.9, 30), np.ones(30))


def test_platt_corrects_overconfidence_and_isotonic_is_monotone():
    rng = np.random.default_rng(2)
    p = rng.uniform(0.01, 0.99, 4000)
    y = (rng.uniform(size=p.size) < 0.5 + (p - 0.5) / 2).astype(float)
    platt = Calibrator.fit(p, y, "platt")
    assert 0 < platt.params["coef"] < 1  # shrinks towards 0.5
    assert platt(0.95) == pytest.approx(0.5 + 0.45 / 2, abs=0.05)
    iso = Calibrator.fit(p, y, "isotonic")
    grid = np.linspace(0, 1, 101)
    assert np.all(np.diff(iso(grid)) >= 0)
    from sklearn.isotonic import IsotonicRegression

    reference = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(p, y)
    assert iso(grid) == pytest.approx(np.clip(reference.predict(grid), 1e-4, 1 - 1e-4))


@pytest.mark.parametrize("raw, outcomes, match", [
    ([0.5] * 30, [2] * 30, "0 or 1"), ([1.5] * 30, [1] * 30, r"\[0, 1\]"), ([0.5] * 3, [1] * 2, "equal length"),
])
def test_bad_input_is_named(raw, outcomes, match):
    with pytest.raises(ValueError, match=match):
        Calibrator.fit(raw, outcomes)
