"""`fincortex backtest` end to end on synthetic bars: table, JSON report, PNG plot, stored runs, bad input."""

from __future__ import annotations

import json

from trading_support import make_client
from typer.testing import CliRunner

from fincortex.cli import app


def test_backtest_command_writes_json_plot_and_stores_run(tmp_path):
    client = make_client(tmp_path, n=150)
    db = str(client.settings.db_path)
    out, png = tmp_path / "r.json", tmp_path / "r.png"
    res = CliRunner().invoke(app, ["backtest", "--symbol", "test", "--start", "2020-03-01", "--end", "2020-05-01",
                                   "--agent", "sma,momentum", "--fees-bps", "20", "--json", str(out),
                                   "--plot", str(png), "--db", db])
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())  # rich wraps lines at the test terminal's width
    assert "leakage audit PASS" in text and "buyhold" in text, text
    report = json.loads(out.read_text())
    assert set(report["metrics"]) == {"buyhold", "sma", "momentum"}
    assert report["config"]["fees_bps"] == 20 and report["leakage"]["ok"] is True
    assert len(report["equity"]["ts"]) == 62 and png.stat().st_size > 10_000
    runs = CliRunner().invoke(app, ["backtest-runs", "--db", db])
    assert report["run_id"] in runs.output and "ok" in runs.output


def test_backtest_command_seeds_and_bad_input(tmp_path):
    client = make_client(tmp_path, n=80)
    db = str(client.settings.db_path)
    out = tmp_path / "s.json"
    res = CliRunner().invoke(app, ["backtest", "--symbol", "TEST", "--start", "2020-02-01", "--end", "2020-03-01",
                                   "--agent", "momentum", "--seeds", "0,1", "--json", str(out), "--db", db])
    assert res.exit_code == 0, res.output
    body = json.loads(out.read_text())
    assert len(body["runs"]) == 2 and body["seeds_summary"]["momentum"]["n_seeds"] == 2
    bad = CliRunner().invoke(app, ["backtest", "--symbol", "TEST", "--start", "2020-02-01", "--end", "2020-03-01",
                                   "--agent", "oracle", "--db", db])
    assert bad.exit_code == 2 and "unknown agent" in " ".join(bad.output.split())
    missing = CliRunner().invoke(app, ["backtest", "--symbol", "NOPE", "--start", "2020-02-01", "--end", "2020-03-01",
                                       "--db", db])
    assert missing.exit_code == 2 and "no prices for symbol 'NOPE'" in " ".join(missing.output.split())
