"""Idempotency, replacement, crash safety (SIGKILL) and reading while another process writes."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb

INGEST_SCRIPT = """
import sys
from fincortex import Client
from fincortex.config import Settings
settings = Settings.from_env(db=sys.argv[2], ingest_batch_docs=int(sys.argv[3]))
report = Client(settings=settings).ingest([sys.argv[1]])
print(report.summary())
"""


def _copy_transcripts(mirror: Path, target: Path, n: int) -> Path:
    target.mkdir(parents=True)
    for src in sorted((mirror / "transcripts/ectsum/train/ects").glob("*.txt"))[:n]:
        shutil.copy(src, target / src.name)
    return target


def _rows(db: Path) -> tuple[set, set]:
    with duckdb.connect(str(db), read_only=True) as conn:
        docs = set(conn.execute("SELECT source_key, content_hash, n_chunks FROM documents").fetchall())
        chunks = set(conn.execute("SELECT chunk_id, doc_id, ordinal, text FROM chunks").fetchall())
    return docs, chunks


def test_reingest_is_idempotent_and_changes_replace(client, tmp_path, mirror):
    folder = _copy_transcripts(mirror, tmp_path / "calls", 5)
    first = client.ingest([folder])
    assert first.count("added") == 5
    before = _rows(client.store.path)
    again = client.ingest([folder])
    assert again.count("unchanged") == 5 and again.count("added", "replaced") == 0
    assert _rows(client.store.path) == before

    changed = sorted(folder.iterdir())[0]
    old_chunk_ids = {c[0] for c in before[1]}
    changed.write_text("Revenue fell 40% this quarter.\nWe withdraw guidance.\n")
    third = client.ingest([folder])
    assert third.count("replaced") == 1 and third.count("unchanged") == 4
    docs, chunks = _rows(client.store.path)
    assert len(docs) == 5
    with client.store.read() as conn:
        texts = conn.execute(
            "SELECT c.text FROM chunks c JOIN documents d USING (doc_id) WHERE d.uri = ?", [str(changed.resolve())]
        ).fetchall()
    assert texts == [("Revenue fell 40% this quarter. We withdraw guidance.",)]
    assert len(old_chunk_ids - {c[0] for c in chunks}) > 0  # the old version's chunks are gone


def test_sigkill_midway_then_rerun_equals_clean_run(tmp_path, mirror, home):
    folder = _copy_transcripts(mirror, tmp_path / "calls", 120)
    clean_db, killed_db = tmp_path / "clean.duckdb", tmp_path / "killed.duckdb"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    subprocess.run([sys.executable, "-c", INGEST_SCRIPT, str(folder), str(clean_db), "8"], check=True, env=env,
                   capture_output=True)

    proc = subprocess.Popen([sys.executable, "-c", INGEST_SCRIPT, str(folder), str(killed_db), "8"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    landed = 0
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.3)
        try:
            with duckdb.connect(str(killed_db), read_only=True) as conn:
                landed = conn.execute("SELECT count(*) FROM documents").fetchone()[0]
        except duckdb.Error:
            continue  # the writer holds the lock right now
        if landed >= 16:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 0 < landed < 120, f"kill should land midway, saw {landed} documents"

    partial_docs, partial_chunks = _rows(killed_db)
    with duckdb.connect(str(killed_db), read_only=True) as conn:
        # no partial documents: every stored document has exactly its n_chunks chunks
        mismatched = conn.execute(
            "SELECT count(*) FROM documents d WHERE n_chunks != (SELECT count(*) FROM chunks c WHERE c.doc_id = d.doc_id)"
        ).fetchone()[0]
        orphans = conn.execute("SELECT count(*) FROM chunks WHERE doc_id NOT IN (SELECT doc_id FROM documents)").fetchone()[0]
    assert mismatched == 0 and orphans == 0

    subprocess.run([sys.executable, "-c", INGEST_SCRIPT, str(folder), str(killed_db), "8"], check=True, env=env,
                   capture_output=True)
    assert _rows(killed_db) == _rows(clean_db)
    with duckdb.connect(str(killed_db), read_only=True) as conn:
        statuses = [r[0] for r in conn.execute("SELECT status FROM ingest_runs ORDER BY started_at").fetchall()]
    assert statuses == ["aborted", "ok"]


def test_reader_process_keeps_reading_while_ingestion_writes(tmp_path, mirror, home):
    """The dashboard (another process) reads while a batch ingestion writes: no errors, counts only grow."""
    from fincortex.store import Store

    folder = _copy_transcripts(mirror, tmp_path / "calls", 80)
    db = tmp_path / "shared.duckdb"
    Store(db).ensure_schema()
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    writer = subprocess.Popen([sys.executable, "-c", INGEST_SCRIPT, str(folder), str(db), "4"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    reader = Store(db, lock_timeout_s=30)
    counts = []
    while writer.poll() is None:
        with reader.read() as conn:
            counts.append(conn.execute("SELECT count(*) FROM documents").fetchone()[0])
        time.sleep(0.05)
    assert writer.returncode == 0, writer.stderr.read()
    with reader.read() as conn:
        counts.append(conn.execute("SELECT count(*) FROM documents").fetchone()[0])
    assert counts == sorted(counts) and counts[-1] == 80
    assert len(set(counts)) > 2, f"reads should interleave with the writer's batches: {counts}"
