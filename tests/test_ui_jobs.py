"""Background jobs: worker processes report progress and results through files; cancel and crash are seen.

Also: the dashboard keeps rendering while a batch ingestion runs in another process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fincortex.config import Settings
from fincortex.ui.jobs import JobError, JobRunner
from fincortex.ui.testing import app_test, default_mirror, open_page, texts, ui_env

MIRROR = default_mirror()


@pytest.fixture()
def env(tmp_path, monkeypatch):
    values = ui_env(tmp_path)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


@pytest.fixture()
def runner(env):
    return JobRunner(Settings.from_env().cache_dir / "ui-jobs")


def _start(runner: JobRunner, kind: str, params: dict) -> str:
    s = Settings.from_env()
    return runner.start(kind, params, label=f"test {kind}", db=s.db_path, mirror=s.mirror)


def test_ingest_job_reports_progress_and_result(runner, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    for name in sorted(p.name for p in (MIRROR / "transcripts/ectsum/val/ects").glob("*.txt"))[:3]:
        (folder / name).write_bytes((MIRROR / "transcripts/ectsum/val/ects" / name).read_bytes())
    (folder / "broken.pdf").write_bytes(b"%PDF-1.7 truncated")
    job_id = _start(runner, "ingest", {"paths": [str(folder)], "doc_type": "transcript"})
    assert runner.status(job_id).state == "running"
    job = runner.wait(job_id, timeout_s=120)
    assert job.state == "done", (job.error, job.log_tail)
    assert job.result["summary"]["added"] == 3 and job.result["summary"]["failed"] == 1
    assert job.progress.done == 4 and "3 added" in job.progress.message and "1 failed" in job.progress.message
    assert [j.job_id for j in runner.list("ingest")] == [job_id]


def test_failing_job_carries_the_sdk_error(runner):
    job = runner.wait(_start(runner, "pull", {"name": "no-such-dataset"}), timeout_s=60)
    assert job.state == "failed"
    assert "no-such-dataset" in job.error and "unknown dataset" in job.error


def test_unknown_kind_is_refused(runner):
    with pytest.raises(JobError, match="unknown job kind 'launch'"):
        _start(runner, "launch", {})


def test_cancel_and_crash_are_reported(runner):
    if not (MIRROR / "transcripts/ectsum/train/ects").is_dir():
        pytest.skip("ECTSum train split missing from the mirror")
    job_id = _start(runner, "ingest", {"dataset": "ectsum:train"})
    deadline = time.monotonic() + 60
    while runner.status(job_id).progress.done < 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    runner.cancel(job_id)
    job = runner.status(job_id)
    assert job.state == "cancelled" and job.finished

    crash_id = _start(runner, "ingest", {"dataset": "ectsum:train"})
    pid = int((runner.root / crash_id / "pid").read_text())
    time.sleep(1.0)
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while runner.status(crash_id).state == "running" and time.monotonic() < deadline:
        time.sleep(0.1)
    crashed = runner.status(crash_id)
    assert crashed.state == "failed" and "ended without a result" in crashed.error


def test_job_panel_shows_progress_then_result(env, tmp_path):
    """AppTest: a running job shows a progress element and a Cancel button; the finished one its table."""
    if not (MIRROR / "transcripts/ectsum/val/ects").is_dir():
        pytest.skip("ECTSum missing from the mirror")
    at = open_page(app_test(), "ingest")
    at.text_input(key="pull_subset").set_value("val")
    at.selectbox(key="pull_name").set_value("ectsum")
    [b for b in at.button if b.label == "Pull and ingest"][0].click()
    at.run()
    running = any(b.label == "Cancel" for b in at.button)
    if running:  # the worker may be quicker than this assertion on a fast machine
        assert at.get("status") or at.get("progress")
    job_id = at.session_state["job_ingest"]
    JobRunner(Settings.from_env().cache_dir / "ui-jobs").wait(job_id, timeout_s=180)
    at.run()
    assert not at.exception
    assert any("finished" in s for s in texts(at, "success"))
    table = [d.value for d in at.dataframe if "outcome" in d.value.columns][0]
    assert len(table) == 249 and set(table["outcome"]) == {"added"}


def test_dashboard_reads_while_another_process_ingests(env, tmp_path):
    """A batch ingestion (CLI, another process) writes in batches; the Data page keeps rendering."""
    if not (MIRROR / "transcripts/ectsum/val/ects").is_dir():
        pytest.skip("ECTSum missing from the mirror")
    from fincortex.client import Client

    Client().import_prices(MIRROR / "prices/btcusd_daily_2011_2022.csv", "BTC-USD")  # the db exists
    log = open(tmp_path / "ingest.log", "wb")  # a file, not a pipe: a full pipe would block the writer
    proc = subprocess.Popen(
        [sys.executable, "-c", "from fincortex.cli import main; main()", "ingest", "--dataset", "ectsum:val"],
        env={**os.environ, **env, "FINCORTEX_INGEST_BATCH_DOCS": "16"}, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        renders, counts = [], []
        at = open_page(app_test(timeout_s=120), "data")
        while proc.poll() is None and len(renders) < 400:
            t0 = time.perf_counter()
            at.run()
            renders.append(time.perf_counter() - t0)
            assert not at.exception, at.exception
            assert not texts(at, "error"), texts(at, "error")
            counts.append(int(next(m.value for m in at.metric if m.label == "documents").replace(",", "")))
        proc.wait(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
    assert proc.returncode == 0, (tmp_path / "ingest.log").read_text()[-2000:]
    final = Client().stats()["documents"]
    assert final == 249
    # the page rendered while batches were landing: it saw partial counts, growing
    assert any(0 < c < final for c in counts), counts
    assert counts == sorted(counts)
    assert max(renders) < 30, renders
    print(f"renders during ingestion: {len(renders)}, max {max(renders):.2f}s, "
          f"partial counts seen: {sorted(set(c for c in counts if 0 < c < final))}")
