"""Suite runs in DuckDB: a run row, one row per finished unit, and its paired items.

A unit is written in one transaction when it finishes (never half), which is what makes a killed run
resumable and a unit reusable by fingerprint."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from fincortex.store import Store


class SuiteRunError(LookupError):
    """No such suite run (the message names the id and how to list runs)."""


@dataclass
class UnitResult:
    """What a part returns for one unit."""

    summary: dict[str, Any]
    items: dict[str, dict[str, float | None]] = field(default_factory=dict)  # series -> {item: value}
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass
class StoredUnit:
    unit: str
    part: str
    fingerprint: str
    summary: dict[str, Any]
    payload: dict[str, Any]
    wall_s: float
    reused_from: str | None
    items: dict[str, dict[str, float | None]]


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def new_run_id() -> str:
    return f"suite-{_now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"


def start_run(store: Store, run_id: str, label: str, profile: str, config: dict[str, Any]) -> bool:
    """Record the run; False when it already exists (a resume: same id, its finished units are kept)."""
    with store.write() as conn:
        if conn.execute("SELECT 1 FROM eval_suite_runs WHERE run_id = ?", [run_id]).fetchone():
            conn.execute("UPDATE eval_suite_runs SET status = 'running', error = NULL WHERE run_id = ?", [run_id])
            return False
        conn.execute("INSERT INTO eval_suite_runs (run_id, created_at, status, label, profile, config) "
                     "VALUES (?, ?, 'running', ?, ?, ?)", [run_id, _now(), label, profile, json.dumps(config, default=str)])
    return True


def finish_run(store: Store, run_id: str, status: str, wall_s: float, error: str | None = None) -> None:
    with store.write() as conn:
        conn.execute("UPDATE eval_suite_runs SET status = ?, finished_at = ?, wall_s = coalesce(wall_s, 0) + ?, "
                     "error = ? WHERE run_id = ?", [status, _now(), wall_s, error, run_id])


def save_unit(store: Store, run_id: str, unit: str, part: str, fp: str, result: UnitResult, wall_s: float,
              reused_from: str | None = None) -> None:
    rows = [(run_id, unit, series, str(item), None if v is None else float(v))
            for series, values in result.items.items() for item, v in values.items()]
    with store.write() as conn:  # one transaction: the unit lands whole or not at all
        conn.execute("DELETE FROM eval_suite_items WHERE run_id = ? AND unit = ?", [run_id, unit])
        conn.execute("DELETE FROM eval_suite_units WHERE run_id = ? AND unit = ?", [run_id, unit])
        conn.execute("INSERT INTO eval_suite_units VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     [run_id, unit, part, fp, json.dumps(result.summary, default=str),
                      json.dumps(result.payload, default=str), wall_s, reused_from, _now()])
        if rows:  # a DataFrame scan: executemany over ~10^4 rows is seconds, this is milliseconds
            import pandas as pd

            frame = pd.DataFrame(rows, columns=["run_id", "unit", "series", "item", "value"])  # noqa: F841
            conn.execute("INSERT INTO eval_suite_items SELECT * FROM frame")


def _items(store: Store, run_id: str, unit: str) -> dict[str, dict[str, float | None]]:
    out: dict[str, dict[str, float | None]] = {}
    for row in store.rows("SELECT series, item, value FROM eval_suite_items WHERE run_id = ? AND unit = ?",
                          [run_id, unit]):
        out.setdefault(row["series"], {})[row["item"]] = row["value"]
    return out


def _stored(store: Store, row: dict[str, Any]) -> StoredUnit:
    return StoredUnit(row["unit"], row["part"], row["fingerprint"], json.loads(row["summary"]),
                      json.loads(row["payload"] or "{}"), float(row["wall_s"]), row["reused_from"],
                      _items(store, row["run_id"], row["unit"]))


def finished_unit(store: Store, run_id: str, unit: str) -> StoredUnit | None:
    rows = store.rows("SELECT * FROM eval_suite_units WHERE run_id = ? AND unit = ?", [run_id, unit])
    return _stored(store, rows[0]) if rows else None


def unit_by_fingerprint(store: Store, fp: str, exclude_run: str) -> tuple[str, StoredUnit] | None:
    """The newest finished unit with this fingerprint in another run (what can be reused)."""
    rows = store.rows("SELECT * FROM eval_suite_units WHERE fingerprint = ? AND run_id <> ? AND reused_from IS NULL "
                      "ORDER BY finished_at DESC LIMIT 1", [fp, exclude_run])
    return (rows[0]["run_id"], _stored(store, rows[0])) if rows else None


def get_run(store: Store, run_id: str) -> dict[str, Any]:
    rows = store.rows("SELECT * FROM eval_suite_runs WHERE run_id = ?", [run_id])
    if not rows:
        raise SuiteRunError(f"no suite run {run_id!r} in {store.path} (list them with `fincortex eval runs`)")
    run = dict(rows[0])
    run["config"] = json.loads(run["config"])
    units = store.rows("SELECT * FROM eval_suite_units WHERE run_id = ? ORDER BY unit", [run_id])
    run["units"] = {u["unit"]: _stored(store, u) for u in units}
    return run


def list_runs(store: Store, limit: int = 50) -> list[dict[str, Any]]:
    rows = store.rows("SELECT r.run_id, r.created_at, r.finished_at, r.status, r.label, r.profile, r.wall_s, "
                      "count(u.unit) AS units FROM eval_suite_runs r LEFT JOIN eval_suite_units u USING (run_id) "
                      "GROUP BY ALL ORDER BY r.created_at DESC LIMIT ?", [limit])
    return [dict(r) for r in rows]
