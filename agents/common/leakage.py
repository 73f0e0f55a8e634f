"""Leakage audit: prove from the database that no agent saw anything from after its decision time.

Run after every backtest on the stored evidence, re-checked against the source tables rather than
trusting what the run recorded:
- price views: the recorded max available_at <= decision time, and the prices table holds exactly
  `n_bars` bars of that symbol in [first_ts, last_ts] with available_at <= decision time (a view that
  had held a future bar would count more bars than the point-in-time set);
- news chunks: each chunk exists in `chunks` and its available_at there (and as recorded) is <= the
  decision time;
- memory items: each exists in `memory_items` of the run and was available by the decision time.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from fincortex.store import Store


class LeakageError(RuntimeError):
    """A backtest agent saw data from its future: the run's results must not be used."""


@dataclass
class LeakageReport:
    run_id: str
    n_decisions: int
    n_price_views: int
    n_price_bars: int
    n_chunks: int
    n_distinct_chunks: int
    n_memory: int
    n_violations: int
    violations: list[str] = field(default_factory=list)  # the first few, human-readable

    @property
    def ok(self) -> bool:
        return self.n_violations == 0

    def as_dict(self) -> dict:
        return {**asdict(self), "ok": self.ok}

    def summary(self) -> str:
        verdict = "PASS" if self.ok else f"FAIL ({self.n_violations} violations)"
        return (
            f"leakage audit {verdict}: {self.n_decisions} decisions; {self.n_price_views} price views "
            f"({self.n_price_bars} bars); {self.n_chunks} news chunks ({self.n_distinct_chunks} distinct); "
            f"{self.n_memory} memory recalls; every item's available_at <= its decision time"
            + ("" if self.ok else " is FALSE")
        )


_PRICE_VIOLATIONS = """
WITH v AS (
  SELECT e.*, (SELECT count(*) FROM prices p
               WHERE p.symbol = e.symbol AND p.ts BETWEEN e.first_ts AND e.last_ts
                 AND p.available_at <= e.decision_ts) AS n_visible
  FROM decision_price_evidence e WHERE e.run_id = ? AND e.n_bars > 0)
SELECT agent, decision_ts, symbol, n_bars, n_visible, max_available_at FROM v
WHERE max_available_at > decision_ts OR last_ts > decision_ts OR n_visible <> n_bars
ORDER BY decision_ts, agent
"""

_CHUNK_VIOLATIONS = """
SELECT e.agent, e.decision_ts, e.chunk_id, e.available_at, c.available_at AS db_available_at
FROM decision_chunk_evidence e LEFT JOIN chunks c USING (chunk_id)
WHERE e.run_id = ? AND (c.chunk_id IS NULL OR c.available_at > e.decision_ts
                        OR e.available_at > e.decision_ts)
ORDER BY e.decision_ts, e.agent
"""

_MEMORY_VIOLATIONS = """
SELECT e.agent, e.decision_ts, e.item_id, m.available_at
FROM decision_memory_evidence e
LEFT JOIN memory_items m ON m.run_id = e.run_id AND m.agent = e.agent AND m.item_id = e.item_id
WHERE e.run_id = ? AND (m.item_id IS NULL OR m.available_at > e.decision_ts
                        OR e.available_at > e.decision_ts)
ORDER BY e.decision_ts, e.agent
"""


def audit_run(store: Store, run_id: str, max_listed: int = 20) -> LeakageReport:
    with store.read() as conn:
        (n_decisions,) = conn.execute(
            "SELECT count(*) FROM agent_decisions WHERE run_id = ?", [run_id]).fetchone()
        n_views, n_bars = conn.execute(
            "SELECT count(*), coalesce(sum(n_bars), 0) FROM decision_price_evidence WHERE run_id = ?",
            [run_id]).fetchone()
        n_chunks, n_distinct = conn.execute(
            "SELECT count(*), count(DISTINCT chunk_id) FROM decision_chunk_evidence WHERE run_id = ?",
            [run_id]).fetchone()
        (n_memory,) = conn.execute(
            "SELECT count(*) FROM decision_memory_evidence WHERE run_id = ?", [run_id]).fetchone()
        price_bad = conn.execute(_PRICE_VIOLATIONS, [run_id]).fetchall()
        chunk_bad = conn.execute(_CHUNK_VIOLATIONS, [run_id]).fetchall()
        memory_bad = conn.execute(_MEMORY_VIOLATIONS, [run_id]).fetchall()
    if n_decisions == 0:
        raise LeakageError(f"run {run_id!r} has no stored decisions to audit")
    listed = (
        [f"{a} at {d}: {s} view of {n} bars, {v} of them point-in-time, latest available_at {m}"
         for a, d, s, n, v, m in price_bad]
        + [f"{a} at {d}: chunk {c} available_at {av} (database: {db})" for a, d, c, av, db in chunk_bad]
        + [f"{a} at {d}: memory item {i} available_at {av}" for a, d, i, av in memory_bad]
    )
    return LeakageReport(
        run_id, int(n_decisions), int(n_views), int(n_bars), int(n_chunks), int(n_distinct),
        int(n_memory), len(listed), listed[:max_listed],
    )
