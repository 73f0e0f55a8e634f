"""Crash and concurrency parts of benchmarks/reliability.py: kill -9 of ingest and index builds, readers
during writes. Every process here is started by this module and stopped by its own pid."""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb

INGEST = """
import sys
from fincortex import Client
from fincortex.config import Settings
settings = Settings.from_env(db=sys.argv[2], ingest_batch_docs=int(sys.argv[3]))
print(Client(settings=settings).ingest([sys.argv[1]]).summary())
"""
BUILD = """
import sys, torch
torch.set_num_threads(1)
from fincortex import Client
print(Client(db=sys.argv[1]).build_index())
"""
QUERIES = ("revenue guidance for the next quarter", "operating margin and cash flow", "dividend and buyback")


def copy_transcripts(mirror: Path, target: Path, n: int, offset: int = 0) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for src in sorted((mirror / "transcripts/ectsum/train/ects").glob("*.txt"))[offset:offset + n]:
        shutil.copy(src, target / src.name)
    return target


def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "FINCORTEX_HOME": str(home),
            "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}


def fingerprint(db: Path) -> dict:
    """What a finished ingest must equal: documents, chunks (text hashed), duplicates, orphans, runs.

    A file without a stated date becomes public at its run's clock (available_at = ingest time), so the
    documents' available_at differs between two runs by design; the rule that set it is compared instead."""
    with duckdb.connect(str(db), read_only=True) as conn:
        docs = conn.execute("SELECT source_key, content_hash, n_chunks, available_at_rule FROM documents ORDER BY 1").fetchall()
        chunks = conn.execute("SELECT chunk_id, doc_id, ordinal, md5(text) FROM chunks ORDER BY 1").fetchall()
        dupes = conn.execute("SELECT count(*) - count(DISTINCT chunk_id) FROM chunks").fetchall()[0][0]
        orphans = conn.execute("SELECT count(*) FROM chunks WHERE doc_id NOT IN (SELECT doc_id FROM documents)").fetchall()[0][0]
        runs = conn.execute("SELECT status, n_ok FROM ingest_runs ORDER BY started_at").fetchall()
    digest = hashlib.sha256(json.dumps([docs, chunks], default=str).encode()).hexdigest()
    return {"documents": len(docs), "chunks": len(chunks), "fingerprint": digest, "duplicates": dupes,
            "orphans": orphans, "runs": runs}


def _kill_at(cmd: list[str], env: dict, delay_s: float) -> bool:
    """Start `cmd`, SIGKILL it after `delay_s`; True if it was still running (a real kill)."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        proc.wait(timeout=delay_s)
        return False
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        return True


def kill_ingest(mirror: Path, work: Path, kills: int, n_files: int, seed: int) -> dict:
    """Kill -9 at `kills` random points of one ingest (each re-run resumes it), finish, compare with a clean run.

    The kill points are drawn over the work still to do (the re-runs skip what landed), after the
    process start-up measured by a run over the finished clean database (every file unchanged)."""
    folder = copy_transcripts(mirror, work / "calls", n_files)
    clean_db, killed_db = work / "clean.duckdb", work / "killed.duckdb"
    cmd = [sys.executable, "-c", INGEST, str(folder)]
    started = time.perf_counter()
    subprocess.run(cmd + [str(clean_db), "8"], env=_env(work), check=True, capture_output=True)
    clean_s = time.perf_counter() - started
    before = fingerprint(clean_db)["fingerprint"]
    started = time.perf_counter()
    subprocess.run(cmd + [str(clean_db), "8"], env=_env(work), check=True, capture_output=True)
    startup_s = time.perf_counter() - started  # every file unchanged: start-up plus hashing
    idempotent = fingerprint(clean_db)["fingerprint"] == before
    work_s = max(1.0, clean_s - startup_s)
    rng = random.Random(seed)
    points, effective = [], 0
    for _ in range(kills):
        landed = fingerprint(killed_db)["documents"] if killed_db.exists() else 0
        left = max(0.05, 1 - landed / n_files)
        delay = startup_s * 0.8 + rng.uniform(0.0, 1.0) * work_s * left
        killed = _kill_at(cmd + [str(killed_db), "8"], _env(work), delay)
        effective += killed
        after = fingerprint(killed_db)["documents"] if killed_db.exists() else 0
        points.append({"after_s": round(delay, 2), "killed": killed, "documents_before": landed, "documents_after": after})
    subprocess.run(cmd + [str(killed_db), "8"], env=_env(work), check=True, capture_output=True)
    clean, final = fingerprint(clean_db), fingerprint(killed_db)
    aborted = [r for r in final["runs"] if r[0] == "aborted"]
    still_running = [r for r in final["runs"] if r[0] == "running"]
    return {
        "files": n_files, "clean_run_s": round(clean_s, 2), "startup_s": round(startup_s, 2), "kill_points": points,
        "kills": effective, "rerun_of_clean_is_idempotent": idempotent,
        "clean": {k: clean[k] for k in ("documents", "chunks", "duplicates", "orphans")},
        "after_kills_and_rerun": {k: final[k] for k in ("documents", "chunks", "duplicates", "orphans")},
        "identical_fingerprint": clean["fingerprint"] == final["fingerprint"],
        "aborted_runs_marked": len(aborted), "aborted_runs_with_n_ok": sum(1 for r in aborted if (r[1] or 0) > 0),
        "runs_left_running": len(still_running),
        "survived": clean["fingerprint"] == final["fingerprint"] and final["duplicates"] == 0 and final["orphans"] == 0
        and not still_running and idempotent,
    }


def _search_ids(db: Path, home: Path) -> dict:
    code = ("import sys, json; from fincortex import Client; c = Client(db=sys.argv[1]); "
            f"print(json.dumps({{q: [h.chunk_id for h in c.search(q, k=10, rerank=False)] for q in {QUERIES!r}}})); "
            "print(json.dumps(c.index_status(), default=str))")
    out = subprocess.run([sys.executable, "-c", code, str(db)], env=_env(home), check=True, capture_output=True,
                         text=True).stdout.strip().splitlines()
    return {"hits": json.loads(out[-2]), "status": out[-1]}


def kill_index(mirror: Path, work: Path, kills: int, n_files: int, seed: int) -> dict:
    folder = copy_transcripts(mirror, work / "calls", n_files)
    base = work / "base.duckdb"
    subprocess.run([sys.executable, "-c", INGEST, str(folder), str(base), "8"], env=_env(work), check=True,
                   capture_output=True)
    clean_db, killed_db = work / "clean_index.duckdb", work / "killed_index.duckdb"
    shutil.copy(base, clean_db)
    shutil.copy(base, killed_db)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", BUILD, str(clean_db)], env=_env(work), check=True, capture_output=True)
    clean_s = time.perf_counter() - started
    rng = random.Random(seed + 1)
    points, effective = [], 0
    for _ in range(kills):
        delay = rng.uniform(1.0, max(2.0, clean_s * 0.95))
        killed = _kill_at([sys.executable, "-c", BUILD, str(killed_db)], _env(work), delay)
        effective += killed
        points.append({"after_s": round(delay, 2), "killed": killed})
    rerun = subprocess.run([sys.executable, "-c", BUILD, str(killed_db)], env=_env(work), capture_output=True, text=True)
    clean, final = _search_ids(clean_db, work), _search_ids(killed_db, work)
    return {
        "files": n_files, "chunks": fingerprint(base)["chunks"], "clean_build_s": round(clean_s, 2),
        "kill_points": points, "kills": effective, "rerun_ok": rerun.returncode == 0,
        "rerun_error": rerun.stderr[-400:] if rerun.returncode else None,
        "same_search_results": clean["hits"] == final["hits"],
        "status_clean": clean["status"][:400], "status_after_kills": final["status"][:400],
        "survived": rerun.returncode == 0 and clean["hits"] == final["hits"],
    }


READER = """
import json, sys, time, subprocess
from fincortex import Client
db, stop_file, kinds = sys.argv[1], sys.argv[2], sys.argv[3].split(',')
c = Client(db=db)
out = []
def timed(kind, fn):
    t = time.perf_counter()
    try:
        r = fn(); out.append((kind, time.perf_counter() - t, None, getattr(r, 'not_indexed', None)))
    except Exception as e:
        out.append((kind, time.perf_counter() - t, type(e).__name__ + ': ' + str(e)[:200], None))
i = 0
import os
while not os.path.exists(stop_file) or i == 0:
    kind = kinds[i % len(kinds)]
    if kind == 'stats': timed('stats', c.stats)
    elif kind == 'documents': timed('documents', lambda: c.documents(limit=20))
    elif kind == 'search': timed('search', lambda: c.search('revenue guidance', k=5, rerank=False))
    elif kind == 'cli': timed('cli', lambda: subprocess.run([sys.executable, '-c', 'from fincortex.cli import main; main()',
                             'stats', '--db', db, '--json'], check=True, capture_output=True))
    elif kind == 'ui':
        from fincortex.ui.testing import app_test, open_page
        def page():
            at = open_page(app_test(), 'data')
            if at.exception: raise RuntimeError(str(at.exception[0].message))
        timed('ui', page)
    i += 1
print(json.dumps(out))
"""


def readers_during_writes(mirror: Path, work: Path, n_files: int) -> dict:
    """An ingest (and then an index build) writes while a reader process loops SDK, search, CLI and UI reads."""
    base_folder = copy_transcripts(mirror, work / "first", 20)
    db = work / "shared.duckdb"
    subprocess.run([sys.executable, "-c", INGEST, str(base_folder), str(db), "8"], env=_env(work), check=True,
                   capture_output=True)
    subprocess.run([sys.executable, "-c", BUILD, str(db)], env=_env(work), check=True, capture_output=True)
    more = copy_transcripts(mirror, work / "more", n_files, offset=20)
    stop = work / "stop"
    env = {**_env(work), "FINCORTEX_DB": str(db), "FINCORTEX_UI_HOST": "127.0.0.1"}
    reader = subprocess.Popen([sys.executable, "-c", READER, str(db), str(stop), "stats,documents,search,cli,ui"],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    time.sleep(2.0)
    started = time.perf_counter()
    writes = [subprocess.run([sys.executable, "-c", INGEST, str(more), str(db), "4"], env=_env(work), capture_output=True),
              subprocess.run([sys.executable, "-c", BUILD, str(db)], env=_env(work), capture_output=True)]
    write_s = time.perf_counter() - started
    stop.touch()
    out, _ = reader.communicate(timeout=600)
    reads = json.loads(out.strip().splitlines()[-1])
    by_kind: dict[str, dict] = {}
    for kind, seconds, error, not_indexed in reads:
        entry = by_kind.setdefault(kind, {"reads": 0, "errors": 0, "latencies": [], "first_errors": [],
                                          "max_not_indexed": 0})
        entry["reads"] += 1
        entry["latencies"].append(seconds)
        if error:
            entry["errors"] += 1
            entry["first_errors"] = (entry["first_errors"] + [error])[:3]
        if not_indexed:  # {stage: chunks matching the filters that its index does not hold yet}
            count = sum(not_indexed.values()) if isinstance(not_indexed, dict) else int(not_indexed)
            entry["max_not_indexed"] = max(entry["max_not_indexed"], count)
    for entry in by_kind.values():
        lat = sorted(entry.pop("latencies"))
        entry.update(p50_ms=round(lat[len(lat) // 2] * 1000, 1), p95_ms=round(lat[int(len(lat) * 0.95)] * 1000, 1),
                     max_ms=round(lat[-1] * 1000, 1))
    return {"write_s": round(write_s, 2), "writes_ok": all(w.returncode == 0 for w in writes),
            "reads": sum(e["reads"] for e in by_kind.values()), "errors": sum(e["errors"] for e in by_kind.values()),
            "by_kind": by_kind}

