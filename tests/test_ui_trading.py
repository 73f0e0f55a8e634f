"""Trading page (AppTest): a short backtest runs in the background; charts, metrics, fills, decisions."""

from __future__ import annotations

import datetime as dt

import pytest

from fincortex.client import Client
from fincortex.ui.testing import app_test, button, default_mirror, open_page, texts, ui_env, wait_for_job


@pytest.fixture()
def prices_db(tmp_path, monkeypatch):
    for name, value in ui_env(tmp_path).items():
        monkeypatch.setenv(name, value)
    csv = default_mirror() / "prices/btcusd_daily_2011_2022.csv"
    if not csv.exists():
        pytest.skip(f"{csv} missing")
    Client().import_prices(csv, "BTC-USD")
    return tmp_path


def _configure(at, start: dt.date, end: dt.date, agents=("sma", "momentum")) -> None:
    at.date_input(key="bt_start").set_value(start)
    at.date_input(key="bt_end").set_value(end)
    at.multiselect(key="bt_agents").set_value(list(agents))


def test_short_backtest_shows_curves_metrics_and_decisions(prices_db):
    at = open_page(app_test(timeout_s=120), "trading")
    assert not at.exception, at.exception
    assert any("BTC-USD: 4,154 daily bars" in c for c in texts(at, "caption"))
    _configure(at, dt.date(2021, 1, 1), dt.date(2021, 3, 31))
    button(at, "Run backtest").click()
    at.run()
    assert not texts(at, "error")
    job = wait_for_job(at, "backtest", timeout_s=300)
    assert job.state == "done", (job.error, job.log_tail)
    assert not at.exception, at.exception
    run = job.result["runs"][0]
    assert set(run["metrics"]) == {"buyhold", "sma", "momentum"}
    assert len(run["curves"]["buyhold"]) == 90  # 2021-01-01 .. 2021-03-31, daily crypto bars
    assert any("Leakage audit passed" in s for s in texts(at, "success"))
    # two plotly charts: equity/drawdown and the Sharpe intervals
    assert len(at.get("plotly_chart")) == 2
    metric_rows = [d.value for d in at.dataframe if "sharpe_ci_low" in d.value.columns][0]
    assert list(metric_rows["agent"]) == ["buyhold", "sma", "momentum"]
    assert (metric_rows["sharpe_ci_low"] <= metric_rows["sharpe"]).all()
    assert (metric_rows["sharpe"] <= metric_rows["sharpe_ci_high"]).all()
    labels = [m.label for m in at.metric]
    assert "buy-and-hold return" in labels and "sma return" in labels
    # buy-and-hold: its one buy shows in the fills; every decision lists what it saw
    fills = [d.value for d in at.dataframe if "fill_price" in d.value.columns][0]
    assert "buyhold" in set(fills["agent"])
    decisions = [d.value for d in at.dataframe if "bars seen" in d.value.columns][0]
    assert len(decisions) >= 1
    assert any("price bars seen" in c for c in texts(at, "caption"))


def test_invalid_window_is_refused_and_page_stays_usable(prices_db):
    at = open_page(app_test(timeout_s=120), "trading")
    _configure(at, dt.date(2021, 3, 1), dt.date(2021, 1, 1))
    button(at, "Run backtest").click()
    at.run()
    assert any("Invalid window" in e and "after end" in e for e in texts(at, "error"))
    assert "job_backtest" not in at.session_state
    # the date pickers are bounded by the symbol's data (a date outside cannot be picked)
    assert at.date_input(key="bt_start").proto.min == "2011-08-18"
    assert at.date_input(key="bt_end").proto.max == "2022-12-31"
    # the page still runs a valid request afterwards
    _configure(at, dt.date(2022, 12, 1), dt.date(2022, 12, 10), agents=())
    button(at, "Run backtest").click()
    at.run()
    job = wait_for_job(at, "backtest", timeout_s=300)
    assert job.state == "done", job.error
    assert set(job.result["runs"][0]["metrics"]) == {"buyhold"}
    assert not at.exception


def test_no_prices_says_where_to_get_them(tmp_path, monkeypatch):
    for name, value in ui_env(tmp_path).items():
        monkeypatch.setenv(name, value)
    Client().ingest([default_mirror() / "transcripts/ectsum/val/ects/IBM_q4_2021.txt"]
                    if (default_mirror() / "transcripts/ectsum/val/ects/IBM_q4_2021.txt").exists()
                    else sorted((default_mirror() / "transcripts/ectsum/val/ects").glob("*.txt"))[:1])
    at = open_page(app_test(), "trading")
    assert not at.exception
    assert any("No prices in the database yet" in i for i in texts(at, "info"))
