"""Point-in-time history: an outcome is usable only from its resolution date + the source's lag, a
planted late resolution never reaches a member or the stack, and the audit re-proves it."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest
from agents_support import dataset_question, market_question, write_round

from fincortex.agents.forecasting.history import PUBLICATION_LAG_DAYS, HistoryView, audit_stack_fits, import_history, template
from fincortex.agents.forecasting.rounds import load_round, target_key
from fincortex.agents.forecasting.walkforward import forecast_round, naive_forecast, training_rows
from fincortex.store import Store

R1, R2, R3 = date(2020, 3, 1), date(2020, 3, 15), date(2020, 3, 29)
DATES = {R1: ["2020-03-08", "2020-03-21"], R2: ["2020-03-22", "2020-04-04"], R3: ["2020-04-05", "2020-04-18"]}


def _world(tmp_path, late_value: float):
    """Three rounds of one yfinance question 'X' and one market. Round 1's 7-day outcome (2020-03-08,
    public 03-09) is known to round 2; its 20-day outcome resolves 2020-03-21 (public 03-22): known to
    round 3 but NOT to round 2 - the planted late resolution, whose value the test varies."""
    folder = tmp_path / f"fb_{late_value}"
    for due in (R1, R2, R3):
        q = {**dataset_question("X"), "resolution_dates": DATES[due]}
        m = market_question(f"m{due.day}", "Will it rain?", 0.6)
        rs = [{"id": "X", "source": "yfinance", "direction": None, "resolution_date": q["resolution_dates"][0],
               "resolved_to": 1.0, "resolved": True},
              {"id": "X", "source": "yfinance", "direction": None, "resolution_date": q["resolution_dates"][1],
               "resolved_to": late_value if due == R1 else 0.0, "resolved": True},
              {"id": m["id"], "source": "polymarket", "direction": None, "resolution_date": "2020-03-10",
               "resolved_to": 1.0, "resolved": True}]
        qfile, rfile = write_round(folder, due, [q, m], rs)
        (folder / "question_sets").mkdir(exist_ok=True)
        (folder / "resolution_sets").mkdir(exist_ok=True)
        qfile.rename(folder / "question_sets" / qfile.name)
        rfile.rename(folder / "resolution_sets" / rfile.name)
    store = Store(tmp_path / f"db_{late_value}.duckdb")
    store.ensure_schema()
    import_history(store, folder)
    return store, folder


def test_outcomes_become_available_after_resolution_plus_lag(tmp_path):
    store, _ = _world(tmp_path, 1.0)
    with store.read() as conn:
        rows = conn.execute("SELECT source, resolution_date, available_at, lag_days FROM fb_outcomes "
                            "WHERE round_due = ? ORDER BY resolution_date", [R1]).fetchall()
    for source, resolved, available, lag in rows:
        assert lag == PUBLICATION_LAG_DAYS[source] and (available.date() - resolved).days == lag
    view = HistoryView.load(store, datetime(2020, 3, 15))
    assert set(view.outcomes["resolution_date"].astype(str)) == {"2020-03-08", "2020-03-10"}  # 03-21 not yet public
    assert set(view.questions["round_due"].astype(str)) == {"2020-03-01"}  # its own and later sets excluded
    assert (view.outcomes["available_at"] < datetime(2020, 3, 15)).all()


def test_a_planted_late_resolution_is_not_used(tmp_path):
    """Flip the late outcome: every forecast due before it became public is identical; after, it moves."""
    runs = {}
    for value in (0.0, 1.0):
        store, folder = _world(tmp_path, value)
        names = ("market", "base_rate", "own_history", "series")
        out = {}
        for due in (R1, R2, R3):
            rnd = load_round(folder / "question_sets" / f"{due}-llm.json", folder / "resolution_sets" / f"{due}_resolution_set.json")
            fc = forecast_round(store, rnd, names)
            out[due] = (fc.probabilities, fc.members, naive_forecast(rnd, HistoryView.load(store, rnd.forecast_date)))
        train_r2 = training_rows(store, datetime(2020, 3, 15), {n: n for n in names})
        runs[value] = (out, train_r2, store)
    for due in (R1, R2):
        assert runs[0.0][0][due] == runs[1.0][0][due]  # members, stack and naive blind to the late outcome
    assert runs[0.0][0][R3][1]["own_history"] != runs[1.0][0][R3][1]["own_history"]  # public by R3: used
    keys = [k for rows in runs[1.0][1].values() for k, *_ in rows]
    assert keys and not any(k[3] == "2020-03-21" for k in keys)  # the stack's rows for R2 exclude it
    audit = audit_stack_fits(runs[1.0][2])
    assert audit["clean"] and audit["n_fits"] > 0


def test_audit_catches_a_fit_that_used_a_future_outcome(tmp_path):
    store, _ = _world(tmp_path, 1.0)
    with store.write() as conn:
        conn.execute("INSERT INTO fb_stack_fits VALUES ('bad', ?, 'yfinance', 'stack', 1, NULL, '{}', ?, now())",
                     [datetime(2020, 3, 15), json.dumps([["2020-03-01", "X", "yfinance", "2020-03-21", ""]])])
    audit = audit_stack_fits(store)
    assert not audit["clean"] and audit["n_violations"] == 1 and "2020-03-21" in audit["violations"][0]


def test_template_masks_names_numbers_and_dates():
    assert template("Will there be more than ten times as many 'Riots' in Chad for the 30 days before {resolution_date}?") \
        == template("Will there be more than ten times as many 'Protests' in Mali for the 30 days before 2025-01-02?")
    assert "<NUM>" in template("at least 1% higher on {resolution_date}")


def test_bad_history_folder_is_named(tmp_path):
    from fincortex.agents.forecasting.forecastbench import ForecastBenchError

    store = Store(tmp_path / "x.duckdb")
    store.ensure_schema()
    with pytest.raises(ForecastBenchError, match="no question_sets/ folder"):
        import_history(store, tmp_path)


def test_cli_imports_history_forecasts_a_round_and_writes_a_submission(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from fincortex.cli import app

    _, folder = _world(tmp_path, 1.0)
    db = str(tmp_path / "cli.duckdb")
    monkeypatch.setenv("FINCORTEX_HOME", str(tmp_path / "home"))
    runner = CliRunner()
    out = runner.invoke(app, ["forecast", "history", "import", str(folder), "--db", db])
    assert out.exit_code == 0, out.output
    assert "2020-03-01-llm.json: 2 questions, 3 outcome rows" in out.output
    sub = tmp_path / "sub.json"
    out = runner.invoke(app, ["forecast", "--questions", str(folder / "question_sets" / f"{R3}-llm.json"),
                              "--resolutions", str(folder / "resolution_sets" / f"{R3}_resolution_set.json"),
                              "--members", "market,base_rate,own_history", "--submission", str(sub), "--db", db])
    assert out.exit_code == 0, out.output
    text = " ".join(out.output.split())  # rich wraps long lines
    assert "2 earlier rounds in the history" in text and "naive" in text
    data = json.loads(sub.read_text())
    assert data["forecast_due_date"] == str(R3) and len(data["forecasts"]) == 3
    assert runner.invoke(app, ["forecast", "history", "audit", "--db", db]).exit_code == 0
    bad = runner.invoke(app, ["forecast", "--questions", str(sub), "--members", "oracle", "--db", db])
    assert bad.exit_code == 2 and "unknown forecaster member 'oracle'" in " ".join(bad.output.split())
