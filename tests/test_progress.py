"""The one progress protocol: jobs send ProgressEvents (ingest carries each file's outcome, a backtest each
simulated day, a forecaster each graph node); the CLI and the dashboard each read them through one adapter."""

from __future__ import annotations

from fincortex.progress import ProgressEvent, report


def test_report_sends_one_event_and_none_is_no_receiver():
    seen: list[ProgressEvent] = []
    report(seen.append, "embed", 3, 10, "batch 1", item={"n": 3})
    report(None, "embed", 4, 10)  # no receiver: nothing to call, no error
    assert seen == [ProgressEvent("embed", 3, 10, "batch 1", {"n": 3})]
    assert seen[0].fraction == 0.3 and ProgressEvent("ingest", 5).fraction is None


def test_ingest_sends_each_file_outcome(client, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    for i in range(3):
        (folder / f"note{i}.txt").write_text(f"Revenue grew {i + 5} percent in the quarter.\n", encoding="utf-8")
    seen: list[ProgressEvent] = []
    report_ = client.ingest([folder, tmp_path / "missing.txt"], progress=seen.append)
    outcomes = [e.item for e in seen if e.stage == "ingest"]
    assert [o.outcome for o in outcomes] == [o.outcome for o in report_.outcomes]  # every file, as it landed
    assert sorted(o.outcome for o in outcomes) == ["added", "added", "added", "failed"]
    assert [e.done for e in seen if e.stage == "ingest"] == [1, 2, 3, 4]
    assert {e.message for e in seen if e.stage == "ingest"} == {o.item for o in report_.outcomes}


def test_backtest_sends_one_event_per_simulated_day(tmp_path):
    from trading_support import make_client

    client = make_client(tmp_path, n=60)
    seen: list[ProgressEvent] = []
    client.backtest("TEST", "2020-01-20", "2020-02-20", ("buyhold", "sma"), progress=seen.append)
    assert seen and {e.stage for e in seen} == {"backtest"}
    assert [e.done for e in seen] == list(range(1, len(seen) + 1)) and seen[-1].done == seen[-1].total
    assert seen[0].message.startswith("TEST 2020-01-2")


def test_the_dashboard_adapter_tallies_outcomes_and_names_stages():
    from types import SimpleNamespace

    from fincortex.ui.tasks import events

    lines: list[tuple] = []
    receiver = events(lambda done, total, message: lines.append((done, total, message)), {"ingest": 3})
    for kind, name in (("added", "a.txt"), ("failed", "b.pdf"), ("added", "c.md")):
        receiver(ProgressEvent("ingest", 0, None, name, SimpleNamespace(outcome=kind)))
    receiver(ProgressEvent("embed", 5, 8))
    assert lines[:3] == [(1, 3, "1 added · last: a.txt"), (2, 3, "1 added, 1 failed · last: b.pdf"),
                         (3, 3, "2 added, 1 failed · last: c.md")]
    assert lines[3] == (5, 8, "embed")


def test_the_cli_adapter_draws_a_bar_per_stage():
    from fincortex.cli import console
    from fincortex.cli.progress import bars

    with console.capture() as captured:
        with bars(totals={"ingest": 2}, transient=False) as progress:
            progress(ProgressEvent("ingest", 1, None, "a.txt"))
            progress(ProgressEvent("ingest", 2, None, "b.txt"))
            progress(ProgressEvent("embed", 4, 4))
    text = captured.get()
    assert "ingest: b.txt" in text and "2/2" in text and "embed" in text and "4/4" in text
