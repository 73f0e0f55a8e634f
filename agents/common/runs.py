"""Recording agent runs: the run row, every tool call, and every chunk id a call returned.

Why in DuckDB: a forecast or an analyst answer must be auditable after the fact. `audit_run` re-reads
the chunks table and proves that no chunk a run saw became public after the as_of its tool call was
bound to (and that no call was bound past the run's own point in time).
Every write is one short transaction (see fincortex/store.py), so a slow LLM never holds the lock.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from fincortex.agents.common.leakage import LeakageError  # noqa: F401  (re-exported: one error type for every agent)
from fincortex.store import Store


def to_json(value: Any) -> str:
    def default(o: Any) -> Any:
        if isinstance(o, (datetime, date)):
            return o.isoformat()
        if hasattr(o, "as_dict"):
            return o.as_dict()
        if hasattr(o, "tolist"):
            return o.tolist()
        return str(o)

    return json.dumps(value, default=default, ensure_ascii=False)


@dataclass(frozen=True)
class SeenChunk:
    chunk_id: int
    rank: int
    score: float | None
    available_at: datetime
    scores: dict[str, float] = field(default_factory=dict)  # each retrieval stage's score (in memory only)


@dataclass
class RunRecorder:
    """One agent run: `start()` writes the row, `tool_call()` logs calls, `finish()` closes it.

    store=None records in memory only (used by callers that opt out of persistence, e.g. benchmarks
    of the graph alone); the in-memory log is always kept so the graph can cite what it saw.
    """

    store: Store | None
    kind: str
    question: str
    as_of: datetime
    model: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    thread_id: str | None = None
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    calls: list[dict[str, Any]] = field(default_factory=list)
    _t0: float = field(default_factory=time.perf_counter)

    def start(self) -> "RunRecorder":
        if self.store is not None:
            with self.store.write() as conn:
                conn.execute(
                    "INSERT INTO agent_runs (run_id, kind, thread_id, created_at, status, as_of, question, model, "
                    "config) VALUES (?, ?, ?, now(), 'running', ?, ?, ?, ?)",
                    [self.run_id, self.kind, self.thread_id, self.as_of, self.question, self.model,
                     to_json(self.config)])
        return self

    def tool_call(self, tool: str, args: dict[str, Any], *, as_of: datetime | None = None, ok: bool = True,
                  error: str | None = None, summary: str | None = None, chunks: list[SeenChunk] = (),
                  started_at: datetime | None = None, ms: float | None = None) -> int:
        seq = len(self.calls)
        record = {"seq": seq, "tool": tool, "args": args, "as_of": as_of, "ok": ok, "error": error,
                  "summary": summary, "chunks": list(chunks), "ms": ms}
        self.calls.append(record)
        if self.store is not None:
            with self.store.write() as conn:
                conn.execute(
                    "INSERT INTO agent_tool_calls VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [self.run_id, seq, tool, to_json(args), as_of, ok, error, (summary or "")[:2000],
                     len(record["chunks"]), started_at or datetime.now(), ms])
                if record["chunks"]:
                    conn.executemany(
                        "INSERT INTO agent_tool_chunks VALUES (?, ?, ?, ?, ?, ?)",
                        [[self.run_id, seq, c.chunk_id, c.rank, c.score, c.available_at] for c in record["chunks"]])
        return seq

    def seen_chunk_ids(self) -> set[int]:
        return {c.chunk_id for call in self.calls for c in call["chunks"]}

    def finish(self, result: Any = None, error: str | None = None) -> None:
        wall = time.perf_counter() - self._t0
        if self.store is None:
            return
        with self.store.write() as conn:
            conn.execute(
                "UPDATE agent_runs SET finished_at = now(), status = ?, result = ?, error = ?, wall_s = ? "
                "WHERE run_id = ?",
                ["failed" if error else "ok", to_json(result), error, wall, self.run_id])


def run_chunk_ids(store: Store, run_id: str) -> list[int]:
    """Every chunk id the run's tools returned, in call order."""
    with store.read() as conn:
        rows = conn.execute("SELECT chunk_id FROM agent_tool_chunks WHERE run_id = ? ORDER BY seq, rank",
                            [run_id]).fetchall()
    return [r[0] for r in rows]


def audit_run(store: Store, run_id: str) -> dict[str, Any]:
    """Re-check a run against the source tables: chunk available_at (as stored now) <= the call's as_of
    <= the run's as_of. Returns counts and the violations (empty = clean)."""
    with store.read() as conn:
        run = conn.execute("SELECT as_of FROM agent_runs WHERE run_id = ?", [run_id]).fetchone()
        if run is None:
            raise KeyError(f"no agent run {run_id!r}")
        rows = conn.execute(
            "SELECT t.seq, t.as_of, k.chunk_id, c.available_at, d.available_at "
            "FROM agent_tool_chunks k JOIN agent_tool_calls t USING (run_id, seq) "
            "LEFT JOIN chunks c ON c.chunk_id = k.chunk_id LEFT JOIN documents d ON d.doc_id = c.doc_id "
            "WHERE k.run_id = ?", [run_id]).fetchall()
        bad_calls = conn.execute(
            "SELECT seq, as_of FROM agent_tool_calls WHERE run_id = ? AND tool = 'search' "
            "AND (as_of IS NULL OR as_of > ?)", [run_id, run[0]]).fetchall()
    violations = []
    for seq, call_as_of, chunk_id, chunk_at, doc_at in rows:
        if chunk_at is None:
            violations.append({"seq": seq, "chunk_id": chunk_id, "problem": "chunk no longer exists"})
        elif chunk_at > call_as_of or (doc_at is not None and doc_at > call_as_of):
            violations.append({"seq": seq, "chunk_id": chunk_id, "problem": "available after as_of",
                               "available_at": str(max(chunk_at, doc_at or chunk_at)), "as_of": str(call_as_of)})
    for seq, call_as_of in bad_calls:
        violations.append({"seq": seq, "problem": "search bound past the run's as_of", "as_of": str(call_as_of)})
    return {"run_id": run_id, "as_of": str(run[0]), "n_chunks": len(rows), "violations": violations,
            "clean": not violations}


def list_runs(store: Store, kind: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
    return store.rows(
        "SELECT run_id, kind, thread_id, created_at, status, as_of, question, model, wall_s FROM agent_runs "
        "WHERE (? IS NULL OR kind = ?) ORDER BY created_at DESC LIMIT ?", [kind, kind, limit])
