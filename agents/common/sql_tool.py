"""Read-only SQL for agents, safe by construction: the statement runs where nothing else exists.

Layers, each enough on its own against a different class of attack:
1. parse (agents/common/sql_guard.py): exactly one SELECT; every table reference resolved with SQL
   scoping must be an allowed table; no table functions, no SHOW, size arguments bounded.
2. isolation: the statement never touches the store's connection. It runs on a fresh in-memory DuckDB
   instance that has attached, read-only, a *replica* file holding copies of the allowed tables and
   nothing else (built from the store, cached by a fingerprint of those tables). On that connection
   DuckDB's own switches are set before the statement: enable_external_access=false (no files, globs,
   replacement scans, ATTACH, COPY, INSTALL), autoinstall/autoload of extensions off, community
   extensions off, a memory limit, one thread, and lock_configuration=true (no SET can undo them).
3. READ ONLY transaction, an interrupt after `timeout_s`, and row and byte limits on the result
   (bytes are counted on Arrow batches before anything becomes Python objects).
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from fincortex.agents.common.errors import ToolError
from fincortex.agents.common.runs import RunRecorder
from fincortex.agents.common.sql_guard import SqlPolicy, SqlRefused, check_statement
from fincortex.store import Store

DEFAULT_SQL_TABLES = ("documents", "chunks", "prices", "statement_rows")
REPLICA_BATCH_ROWS = 8192
_TEXT_TYPES = ("VARCHAR", "BLOB", "JSON")
_build_lock = threading.Lock()


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


@dataclass
class AgentReplica:
    """A DuckDB file holding only the allowed tables of a store, rebuilt when they change.

    Why a copy: DuckDB has no per-table grants, and a connection that can see the store file can read
    every table in it. Files are content-addressed by a fingerprint of the allowed tables (row count and
    a hash of the non-text columns, whose ids change whenever a chunk's text does), so readers and a
    rebuilding process never see a half-written replica. Disk cost: one copy of those tables.
    """

    store: Store
    tables: tuple[str, ...]
    folder: Path | None = None

    def __post_init__(self) -> None:
        if self.folder is None:
            self.folder = self.store.path.parent / f"{self.store.path.stem}.agent-sql"

    def path(self) -> Path:
        """The replica for the store as it is now (built if missing)."""
        with self.store.read() as conn:
            conn.execute("BEGIN TRANSACTION")  # fingerprint and copy read one snapshot
            try:
                fingerprint = self._fingerprint(conn)
                target = self.folder / f"{fingerprint}.duckdb"
                if not target.exists():
                    with _build_lock:
                        if not target.exists():
                            self._build(conn, target)
            finally:
                conn.execute("ROLLBACK")
        return target

    def _fingerprint(self, conn) -> str:
        digest = hashlib.sha256("|".join(self.tables).encode())
        for table in self.tables:
            columns = conn.execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? "
                "AND table_catalog = current_database() AND table_schema = 'main' ORDER BY ordinal_position",
                [table]).fetchall()
            if not columns:
                raise ToolError(f"table {table!r} is not in the store {self.store.path}")
            keyed = [c for c, t in columns if not t.upper().startswith(_TEXT_TYPES)] or [c for c, _ in columns]
            row = conn.execute(f"SELECT count(*), bit_xor(hash({', '.join(map(_quote, keyed))})) "
                               f"FROM {_quote(table)}").fetchall()[0]  # fetchall: a half-read result blocks conn.sql()
            digest.update(f"{table}:{columns}:{row}".encode())
        return digest.hexdigest()[:24]

    def _build(self, conn, target: Path) -> None:
        import duckdb

        self.folder.mkdir(parents=True, exist_ok=True)
        partial = self.folder / f".{target.stem}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
        out = duckdb.connect(str(partial))
        try:
            for table in self.tables:
                reader = conn.sql(f"SELECT * FROM {_quote(table)}").to_arrow_reader(REPLICA_BATCH_ROWS)
                out.register("_source", reader)
                out.execute(f"CREATE TABLE {_quote(table)} AS SELECT * FROM _source")
                out.unregister("_source")
            out.execute("CHECKPOINT")
        finally:
            out.close()
        os.replace(partial, target)
        for old in self.folder.glob("*.duckdb"):  # earlier states; an open reader keeps its file (POSIX)
            if old != target:
                old.unlink(missing_ok=True)
        for wal in self.folder.glob(".*.tmp.wal"):
            wal.unlink(missing_ok=True)


def isolated_connection(replica: Path, catalog: str, memory_limit: str, threads: int = 1):
    """A connection that can read the replica and nothing else, with its configuration locked."""
    import duckdb

    conn = duckdb.connect(":memory:", config={
        "autoinstall_known_extensions": False, "autoload_known_extensions": False,
        "allow_community_extensions": False, "allow_unsigned_extensions": False,
        "threads": threads, "memory_limit": memory_limit,
    })
    try:
        path = str(replica).replace("'", "''")
        conn.execute(f"ATTACH '{path}' AS {_quote(catalog)} (READ_ONLY)")
        conn.execute(f"USE {_quote(catalog)}")
        conn.execute("SET enable_external_access = false")  # after the ATTACH: from here no file is reachable
        conn.execute("SET lock_configuration = true")
    except BaseException:
        conn.close()
        raise
    return conn


@dataclass
class ReadOnlySQL:
    """SELECT over allow-listed tables of the store, nothing else (the module doc lists the layers)."""

    store: Store
    recorder: RunRecorder | None = None
    tables: tuple[str, ...] = DEFAULT_SQL_TABLES
    max_rows: int = 200
    max_bytes: int = 1 << 20  # of the returned result, counted on Arrow batches
    timeout_s: float = 10.0
    memory_limit: str = "512MB"
    replica_folder: Path | None = None

    def __post_init__(self) -> None:
        self._replica = AgentReplica(self.store, tuple(self.tables), self.replica_folder)

    @property
    def policy(self) -> SqlPolicy:
        return SqlPolicy(tuple(self.tables), self.store.catalog, self.max_bytes)

    def check(self, sql: str) -> None:
        """Raise ToolError unless `sql` is one SELECT reading only allowed tables (no execution)."""
        try:
            check_statement(sql, self.policy)
        except SqlRefused as exc:
            raise ToolError(str(exc)) from None

    def __call__(self, sql: str) -> dict[str, Any]:
        started, clock = datetime.now(), time.perf_counter()
        try:
            self.check(sql)
            result = self._execute(sql)
        except Exception as exc:
            if self.recorder is not None:
                self.recorder.tool_call("sql", {"sql": sql}, ok=False, error=f"{type(exc).__name__}: {exc}",
                                        started_at=started, ms=_ms(clock))
            if isinstance(exc, ToolError):
                raise
            raise ToolError(f"sql failed: {exc}") from exc
        if self.recorder is not None:
            self.recorder.tool_call("sql", {"sql": sql}, summary=f"{len(result['rows'])} rows"
                                    + (" (truncated)" if result["truncated"] else ""), started_at=started, ms=_ms(clock))
        return result

    def _execute(self, sql: str) -> dict[str, Any]:
        conn = isolated_connection(self._replica.path(), self.store.catalog, self.memory_limit)
        timer = threading.Timer(self.timeout_s, conn.interrupt)
        try:
            conn.execute("BEGIN TRANSACTION READ ONLY")
            timer.start()
            try:
                reader = conn.sql(sql).to_arrow_reader(min(self.max_rows + 1, 1024))
            except Exception as exc:
                if "INTERRUPT" in str(exc).upper():
                    raise ToolError(f"sql stopped after the {self.timeout_s:g}s time limit") from None
                raise
            columns, rows, size, truncated = list(reader.schema.names), [], 0, False
            for batch in reader:
                if size + batch.nbytes > self.max_bytes:
                    if not rows and batch.num_rows and batch.slice(0, 1).nbytes > self.max_bytes:
                        raise ToolError(f"one result row is larger than the {self.max_bytes:,}-byte limit")
                    batch = _fit(batch, self.max_bytes - size)
                    truncated = True
                size += batch.nbytes
                rows.extend(map(list, zip(*(column.to_pylist() for column in batch.columns))))
                if truncated or len(rows) > self.max_rows:
                    break
        finally:
            timer.cancel()
            conn.close()
        if len(rows) > self.max_rows:
            rows, truncated = rows[: self.max_rows], True
        return {"columns": columns, "rows": rows, "truncated": truncated}


def _ms(clock: float) -> float:
    return round((time.perf_counter() - clock) * 1000, 3)


def _fit(batch, budget: int):
    """The longest prefix of `batch` within `budget` bytes (binary search on Arrow slices)."""
    low, high = 0, batch.num_rows
    while low < high:
        mid = (low + high + 1) // 2
        if batch.slice(0, mid).nbytes <= budget:
            low = mid
        else:
            high = mid - 1
    return batch.slice(0, low)
