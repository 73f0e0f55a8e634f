"""Every kind of bad input gets a clear per-file error while the rest of the batch lands."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest


def _write_batch(folder: Path, mirror: Path) -> dict[str, Path]:
    folder.mkdir()
    files = {
        "good_txt": folder / "good.txt",
        "good_md": folder / "notes.md",
        "good_csv": folder / "news.csv",
        "good_jsonl": folder / "items.jsonl",
        "good_html": folder / "page.html",
        "empty": folder / "empty.txt",
        "binary": folder / "garbage.txt",
        "truncated_pdf": folder / "truncated.pdf",
        "latin1": folder / "latin1.txt",
        "unsupported": folder / "sheet.xyz",
        "csv_missing": folder / "prices_like.csv",
    }
    transcript = (mirror / "transcripts/ectsum/val/ects").glob("*.txt").__next__().read_text()
    files["good_txt"].write_text(transcript)
    files["good_md"].write_text("# Outlook\n\nRevenue grew 12% to $4.1 billion. Margins expanded.\n")
    files["good_csv"].write_text('headline,date,ticker\n"Acme beats estimates",2020-05-01,ACME\n"Beta misses",2020-05-02,BETA\n')
    files["good_jsonl"].write_text('{"id": "a", "text": "Cash flow was strong.", "date": "2021-01-04"}\n')
    files["good_html"].write_text("<html><title>Q</title><body><p>Guidance raised to $2.00 per share.</p>"
                                  "<table><tr><th>Year</th><th>EPS</th></tr><tr><td>2020</td><td>1.9</td></tr></table></body></html>")
    files["empty"].write_bytes(b"")
    files["binary"].write_bytes(bytes(range(256)) * 64)
    pdf = (mirror / "filings/NIKE_2017_10K.pdf").read_bytes()
    files["truncated_pdf"].write_bytes(pdf[: len(pdf) // 3])
    files["latin1"].write_bytes("Caf\xe9 revenue rose \xa3 5 million.".encode("latin-1"))
    files["unsupported"].write_text("a,b\n1,2\n")
    files["csv_missing"].write_text("open,high,low\n1,2,3\n")
    return files


def test_bad_files_fail_clearly_and_good_files_land(client, tmp_path, mirror):
    files = _write_batch(tmp_path / "batch", mirror)
    missing = tmp_path / "does-not-exist.pdf"
    report = client.ingest([tmp_path / "batch", files["unsupported"], missing])
    by_item = {Path(o.item).name: o for o in report.outcomes}

    expected_reasons = {
        "empty.txt": "empty file",
        "garbage.txt": "binary content",
        "truncated.pdf": "corrupt or truncated pdf",
        "latin1.txt": "not valid utf-8",
        "sheet.xyz": "unsupported file type .xyz",
        "does-not-exist.pdf": "no such file or directory",
        "prices_like.csv": "lacks a text column",
    }
    for name, reason in expected_reasons.items():
        assert by_item[name].outcome == "failed", name
        assert reason in by_item[name].reason.lower(), (name, by_item[name].reason)
    for name in ("good.txt", "notes.md", "news.csv", "items.jsonl", "page.html"):
        assert by_item[name].outcome == "added", (name, by_item[name].reason)
        assert by_item[name].n_chunks > 0
    assert not report.ok

    with client.store.read() as conn:
        logged = dict(conn.execute(
            "SELECT item, outcome FROM ingest_files WHERE run_id = ?", [report.run_id]).fetchall())
        docs = conn.execute("SELECT count(*) FROM documents").fetchone()[0]
    assert len(logged) == len(report.outcomes)
    assert docs == 1 + 1 + 2 + 1 + 1  # txt, md, 2 csv rows, jsonl, html
    # the operator can fix the encoding and retry just that file
    assert client.ingest([files["latin1"]], encoding="latin-1").ok


def test_html_table_kept_whole(client, tmp_path, mirror):
    files = _write_batch(tmp_path / "batch", mirror)
    client.ingest([files["good_html"]])
    with client.store.read() as conn:
        tables = conn.execute("SELECT text FROM chunks WHERE is_table").fetchall()
    assert tables == [("Year | EPS\n2020 | 1.9",)]


STREAM_SCRIPT = """
import resource, sys
from fincortex import Client
report = Client(db=sys.argv[2]).ingest([sys.argv[1]])
assert report.ok, report.failures
print(report.outcomes[0].n_chunks, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _ingest_in_subprocess(path: Path, db: Path) -> tuple[int, int]:
    out = subprocess.run([sys.executable, "-c", STREAM_SCRIPT, str(path), str(db)],
                         capture_output=True, text=True, check=True)
    chunks, peak_kib = out.stdout.split()
    return int(chunks), int(peak_kib) * 1024


@pytest.mark.slow
def test_200mb_text_file_streams_with_bounded_memory(tmp_path, mirror):
    paragraph = (mirror / "transcripts/ectsum/train/ects").glob("*.txt").__next__().read_text()
    small, big = tmp_path / "small.txt", tmp_path / "big.txt"
    small.write_text(paragraph * 20)  # ~1-2 MB
    with open(big, "w") as handle:
        while handle.tell() < 200 * 1024 * 1024:
            handle.write(paragraph + "\n\n")
    small_chunks, small_peak = _ingest_in_subprocess(small, tmp_path / "s.duckdb")
    big_chunks, big_peak = _ingest_in_subprocess(big, tmp_path / "b.duckdb")
    assert big_chunks > 50 * small_chunks
    # the process never holds the file, and DuckDB's checkpoints stay bounded by one small row group
    # (fincortex/store.py ROW_GROUP_SIZE): peak memory grows far less than the 200 MB it read
    assert big_peak - small_peak < 150 * 1024 * 1024, (small_peak, big_peak)
