"""Ingest page (AppTest): uploads run as a background job with per-file outcomes; bad input is explained."""

from __future__ import annotations

from pathlib import Path

import pytest

from fincortex.ui.testing import app_test, button, default_mirror, open_page, texts, ui_env, wait_for_job

MIRROR = default_mirror()


@pytest.fixture()
def home(tmp_path, monkeypatch):
    for name, value in ui_env(tmp_path).items():
        monkeypatch.setenv(name, value)
    return tmp_path


def _transcript() -> tuple[str, bytes]:
    files = sorted((MIRROR / "transcripts/ectsum/val/ects").glob("*.txt"))
    if not files:
        pytest.skip(f"no ECTSum transcripts under {MIRROR}")
    return files[0].name, files[0].read_bytes()


def test_upload_good_and_corrupt_files_shows_per_file_outcomes(home):
    at = open_page(app_test(), "ingest")
    assert not at.exception
    name, content = _transcript()
    at.file_uploader(key="upload_files").set_value(
        [(name, content, "text/plain"), ("broken.pdf", b"%PDF-1.4 this is not really a pdf", "application/pdf")]
    )
    button(at, "Ingest uploads").click()
    at.run()
    assert not at.exception
    job = wait_for_job(at, "ingest", timeout_s=120)
    assert job.state == "done", job.error
    assert not at.exception
    # the corrupt upload is named with its reason; the good one was added
    errors = texts(at, "error")
    assert any("broken.pdf" in e and "PDF" in e for e in errors), errors
    outcomes = {Path(r["item"]).name: r["outcome"] for r in job.result["outcomes"]}
    assert outcomes == {name: "added", "broken.pdf": "failed"}
    tables = [d.value for d in at.dataframe if "outcome" in d.value.columns]
    assert set(tables[0]["outcome"]) == {"added", "failed"}
    assert any("finished" in s for s in texts(at, "success"))

    # the same upload again is recognised as unchanged (uploads keep their place under <home>/uploads)
    at.file_uploader(key="upload_files").set_value([(name, content, "text/plain")])
    button(at, "Ingest uploads").click()
    at.run()
    job = wait_for_job(at, "ingest", timeout_s=120)
    assert [r["outcome"] for r in job.result["outcomes"]] == ["unchanged"]


def test_bad_input_is_explained_and_page_stays_usable(home):
    at = open_page(app_test(), "ingest")
    button(at, "Ingest uploads").click()
    at.run()
    assert "Choose at least one file to upload." in texts(at, "error")

    at.file_uploader(key="upload_files").set_value(("empty.txt", b"", "text/plain"))
    button(at, "Ingest uploads").click()
    at.run()
    assert any("empty.txt" in e and "empty" in e for e in texts(at, "error"))

    at.text_input(key="up_ticker").set_value("NOT A TICKER!")
    at.file_uploader(key="upload_files").set_value(("a.txt", b"hello", "text/plain"))
    button(at, "Ingest uploads").click()
    at.run()
    assert any("is not a ticker symbol" in e for e in texts(at, "error"))

    at.text_input(key="folder_path").set_value(str(home / "does-not-exist"))
    button(at, "Ingest folder").click()
    at.run()
    assert any("does not exist" in e for e in texts(at, "error"))
    assert not at.exception
    # nothing was started by bad input
    assert "job_ingest" not in at.session_state


def test_price_import_job(home):
    csv = MIRROR / "prices/btcusd_daily_2011_2022.csv"
    if not csv.exists():
        pytest.skip(f"{csv} missing")
    at = open_page(app_test(), "ingest")
    at.text_input(key="price_path").set_value(str(csv))
    at.text_input(key="price_symbol").set_value("btc-usd")
    button(at, "Import prices").click()
    at.run()
    job = wait_for_job(at, "import_prices", timeout_s=120)
    assert job.state == "done", job.error
    assert job.result["summary"]["symbol"] == "BTC-USD"
    assert job.result["summary"]["rows"] > 3000
