"""Ingestion never skips silently: every folder entry gets an outcome with a reason; UTF-16 with a BOM
ingests; a NUL anywhere rejects a text file; a broken JSONL line costs only that line; a killed run's
committed files are counted."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import datetime
from pathlib import Path

from fincortex.ingest.pipeline import IngestPipeline

TEXT = "Revenue grew 12% to $4.1 billion while margins expanded across every segment.\n"


def _outcomes(report) -> dict[str, tuple[str, str | None]]:
    return {Path(o.item).name: (o.outcome, o.reason) for o in report.outcomes}


def test_every_folder_entry_gets_an_outcome_with_a_reason(client, tmp_path):
    folder = tmp_path / "batch"
    (folder / "sub").mkdir(parents=True)
    (folder / "good.txt").write_text(TEXT)
    (folder / "sheet.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    (folder / "memo.docx").write_bytes(b"PK\x03\x04 not really a document")
    (folder / ".hidden.txt").write_text(TEXT)
    (folder / ".git").mkdir()
    (folder / ".git" / "config").write_text("[core]\n")
    (folder / "sub" / "inner.md").write_text("# Note\n\n" + TEXT)
    (folder / "sub" / "loop").symlink_to(folder, target_is_directory=True)
    (folder / "broken.txt").symlink_to(tmp_path / "gone.txt")
    report = client.ingest([folder])
    seen = _outcomes(report)
    assert seen["good.txt"][0] == "added" and seen["inner.md"][0] == "added"
    assert seen["sheet.xlsx"] == ("skipped", seen["sheet.xlsx"][1]) and "unsupported file type .xlsx" in seen["sheet.xlsx"][1]
    assert "unsupported file type .docx" in seen["memo.docx"][1]
    assert seen[".hidden.txt"][0] == "skipped" and "hidden" in seen[".hidden.txt"][1]
    assert seen[".git"][0] == "skipped" and "hidden folder" in seen[".git"][1]
    assert seen["loop"][0] == "failed" and "loop" in seen["loop"][1]
    assert seen["broken.txt"][0] == "failed" and "broken symbolic link" in seen["broken.txt"][1]
    assert report.summary()["skipped"] == 4
    with client.store.read() as conn:
        logged = dict(conn.execute("SELECT item, outcome FROM ingest_files WHERE run_id = ?", [report.run_id]).fetchall())
    assert {Path(k).name for k in logged} == set(seen)  # every outcome is in the run's log too


def test_utf16_with_a_bom_ingests_by_flag_and_by_detection(client, tmp_path):
    body = "Umsatz stieg um 12 % auf 4,1 Mrd. € — 年報 " + TEXT
    flagged, detected, utf8_bom = tmp_path / "flag.txt", tmp_path / "detect.txt", tmp_path / "bom8.txt"
    flagged.write_text(body, encoding="utf-16")
    detected.write_text(body, encoding="utf-16")
    utf8_bom.write_text(body, encoding="utf-8-sig")
    assert _outcomes(client.ingest([flagged], encoding="utf-16"))["flag.txt"][0] == "added"
    assert _outcomes(client.ingest([detected, utf8_bom]))["detect.txt"][0] == "added"
    with client.store.read() as conn:
        texts = [r[0] for r in conn.execute(
            "SELECT string_agg(c.text, ' ' ORDER BY c.ordinal) FROM chunks c JOIN documents d USING (doc_id) "
            "GROUP BY d.uri ORDER BY d.uri").fetchall()]
    assert len(texts) == 3 and all("年報" in t and "€" in t and not t.startswith("\ufeff") for t in texts)
    contradicted = tmp_path / "contradicted.txt"
    contradicted.write_text("Another " + body, encoding="utf-16")
    refused = client.ingest([contradicted], encoding="cp1252")  # a BOM that contradicts the flag: said so
    assert "byte-order mark" in refused.outcomes[0].reason


def test_a_nul_byte_anywhere_rejects_a_text_file(client, tmp_path):
    early, late = tmp_path / "early.txt", tmp_path / "late.txt"
    early.write_bytes(b"\x00" + TEXT.encode() * 10)
    late.write_bytes(TEXT.encode() * 300 + b"\x00tail\n")  # the NUL is past the first 8 KB
    assert late.stat().st_size > 8192 + 100
    seen = _outcomes(client.ingest([early, late]))
    assert seen["early.txt"][0] == seen["late.txt"][0] == "failed"
    assert "binary content" in seen["early.txt"][1] and "binary content" in seen["late.txt"][1]


def test_a_broken_jsonl_line_keeps_the_good_records(client, tmp_path):
    path = tmp_path / "items.jsonl"
    lines = [json.dumps({"id": "a", "text": "Cash flow was strong.", "date": "2021-01-04"}), '{"id": "b", "text": ',
             json.dumps({"id": "c", "text": "Debt was refinanced.", "date": "2021-01-05"}), "[1, 2]",
             json.dumps({"id": "d", "text": "Capex fell.", "date": "2021-01-06"})]
    path.write_text("\n".join(lines) + "\n")
    outcome = client.ingest([path]).outcomes[0]
    assert outcome.outcome == "added" and outcome.n_documents == 3
    assert "line 2: invalid JSON" in outcome.reason and "line 4: not a JSON object" in outcome.reason


def test_an_aborted_run_records_what_it_committed(client, tmp_path):
    """The state a kill -9 leaves: a 'running' run of a dead process with committed ingest_files rows."""
    store = client.store
    store.ensure_schema()
    dead = subprocess.Popen(["true"])
    dead.wait()
    with store.write() as conn:
        conn.execute("INSERT INTO ingest_runs (run_id, started_at, status, args, pid) VALUES "
                     "('killed', ?, 'running', '{}', ?)", [datetime(2026, 1, 1), dead.pid])
        for i, kind in enumerate(["added", "added", "replaced", "unchanged", "failed"]):
            conn.execute("INSERT INTO ingest_files VALUES ('killed', ?, ?, NULL, NULL, 0, 0, 0, now())", [f"f{i}", kind])
    assert not os.path.exists(f"/proc/{dead.pid}")
    (tmp_path / "a.txt").write_text(TEXT)
    client.ingest([tmp_path / "a.txt"])
    with store.read() as conn:
        row = conn.execute("SELECT status, n_ok, n_unchanged, n_failed FROM ingest_runs WHERE run_id = 'killed'").fetchone()
    assert row == ("aborted", 3, 1, 1)
    assert IngestPipeline  # the pipeline is what marks it (fincortex/ingest/pipeline.py _start_run)
