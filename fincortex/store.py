"""The DuckDB system of record, designed around DuckDB's process model.

DuckDB lets one process write a database file, or many processes read it, never both at once. So
fincortex never holds a connection open: every read and every write batch opens a short-lived
connection and closes it, which releases the file lock between batches. A reader (the dashboard)
that meets a writer's lock, or a writer that meets readers, waits with backoff (bounded by
`lock_timeout_s`) instead of failing. Inside one process, DuckDB refuses to open the same file
read-only and read-write at the same time, so connections are shared per process and mode changes
wait for the other mode's users to finish.

Memory: the file is attached with a small ROW_GROUP_SIZE (see `ROW_GROUP_SIZE`) because DuckDB's
checkpoint rewrites and merges whole row groups in memory, and a default row group of ~1 KB chunk
texts is ~120 MB.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb

_LOCK_ERROR = re.compile(r"lock|conflicting", re.IGNORECASE)

# Every checkpoint (one runs when the last connection closes, i.e. after each write batch) rewrites the
# row groups a commit touched, and vacuums (merges) under-filled neighbours into full row groups, in
# memory. With DuckDB's default 122,880-row groups and ~1 KB chunk texts one row group is ~120 MB, so
# streaming a 200 MB file in sub-batches peaked at +360 MB (+570 MB at 300 MB) in those merges. Row
# groups of 8,192 rows (~8 MB of chunk text) bound each checkpoint's working set; writers that stream
# commit exactly this many rows per transaction so each commit adds full row groups and nothing needs
# merging. Measured on 300 MB of synthetic chunk rows: peak RSS 713 -> 228 MB, insert time 27 -> 9 s,
# file 226 -> 160 MB, full-text scan unchanged; Client.ingest of 60/120/200/400 MB text files: peak
# over a 1 MB file's +35/+47/+52/+58 MB (was +7/+83/+226/+366 MB). The size is an ATTACH option that DuckDB does not
# store in the file, hence the ATTACH below instead of duckdb.connect(path).
ROW_GROUP_SIZE = 8192
# the in-memory instance that the file is attached to already owns these catalog names
_TAKEN_CATALOGS = {"memory", "system", "temp"}


class StoreError(RuntimeError):
    """A database problem described for the user (path, cause, what to do)."""


class StoreBusyError(StoreError):
    """Another process held the database lock for longer than the timeout."""


@dataclass
class _Shared:
    """Per-process state for one database file: the open instance, its mode and its users."""

    cond: threading.Condition
    conn: duckdb.DuckDBPyConnection | None = None
    read_only: bool = True
    users: int = 0
    migrated: bool = False


_registry_lock = threading.Lock()
_shared_by_path: dict[str, _Shared] = {}


def _shared(path: Path) -> _Shared:
    key = str(path.resolve())
    with _registry_lock:
        if key not in _shared_by_path:
            _shared_by_path[key] = _Shared(cond=threading.Condition())
        return _shared_by_path[key]


def _migrations() -> list[tuple[int, str, str]]:
    folder = resources.files("fincortex") / "migrations"
    found = []
    for entry in folder.iterdir():
        match = re.fullmatch(r"(\d{3})_(\w+)\.sql", entry.name)
        if match:
            found.append((int(match.group(1)), match.group(2), entry.read_text(encoding="utf-8")))
    versions = [v for v, _, _ in found]
    if len(versions) != len(set(versions)):
        raise StoreError(f"duplicate migration numbers in {folder}: {sorted(versions)}")
    return sorted(found)


class Store:
    """Short-lived DuckDB connections with lock waiting, plus numbered schema migrations."""

    def __init__(self, path: Path | str, lock_timeout_s: float = 60.0) -> None:
        self.path = Path(path).expanduser()
        self.lock_timeout_s = lock_timeout_s
        self._state = _shared(self.path)

    # -- connections -------------------------------------------------------------------------
    @contextmanager
    def read(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection for queries; shares a write connection if this process has one open."""
        self.ensure_schema()
        with self._use(read_only=True) as conn:
            yield conn

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """One query's rows as dicts keyed by column name: the one cursor-to-dicts helper of the code base.
        Inside an open `with store.read():` block it rides on that connection (no second file attach)."""
        with self.read() as conn:
            cursor = conn.execute(sql, list(params))
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row)) for row in cursor.fetchall()]

    @contextmanager
    def write(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection inside one transaction: everything in the block lands, or nothing does."""
        self.ensure_schema()
        with self._use(read_only=False) as conn:
            conn.execute("BEGIN TRANSACTION")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @contextmanager
    def _use(self, read_only: bool) -> Iterator[duckdb.DuckDBPyConnection]:
        state = self._state
        with state.cond:
            # a read may ride on an open write connection; a write must wait for readers to leave
            while state.conn is not None and state.read_only and not read_only:
                state.cond.wait()
            if state.conn is None:
                state.conn = self._open(read_only)
                state.read_only = read_only
            state.users += 1
            cursor = state.conn.cursor()
            cursor.execute(f"USE {_quote(self.catalog)}")  # a cursor starts in the in-memory catalog
        try:
            yield cursor
        finally:
            cursor.close()
            with state.cond:
                state.users -= 1
                if state.users == 0 and state.conn is not None:
                    state.conn.close()
                    state.conn = None
                    state.cond.notify_all()

    def _open(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        if read_only and not self.path.exists():
            raise StoreError(f"no database at {self.path}: ingest or pull something first")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self.lock_timeout_s
        delay = 0.01
        while True:
            try:
                return _attach(self.path, self.catalog, read_only)
            except duckdb.Error as exc:  # IOException on a held lock
                if not _LOCK_ERROR.search(str(exc)):
                    raise StoreError(f"cannot open database {self.path}: {exc}") from exc
                if time.monotonic() > deadline:
                    raise StoreBusyError(
                        f"database {self.path} stayed locked by another process for "
                        f"{self.lock_timeout_s:.0f}s ({exc}); wait for it to finish or raise "
                        "FINCORTEX_LOCK_TIMEOUT_S"
                    ) from exc
                time.sleep(delay)
                delay = min(delay * 1.5, 0.25)

    @property
    def catalog(self) -> str:
        """Catalog name of the file in SQL: its stem, as duckdb.connect(path) would name it."""
        stem = self.path.stem
        return f"{stem}_db" if stem.lower() in _TAKEN_CATALOGS else stem

    # -- schema --------------------------------------------------------------------------------
    def ensure_schema(self) -> None:
        """Apply any numbered migration the file has not recorded yet (once per process)."""
        state = self._state
        if state.migrated:
            return
        pending = _migrations()
        if self.path.exists():
            with self._use(read_only=True) as conn:
                applied = _applied_versions(conn)
            pending = [m for m in pending if m[0] not in applied]
        if pending:
            with self._use(read_only=False) as conn:
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations ("
                    "version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMP)"
                )
                applied = _applied_versions(conn)
                for version, name, sql in pending:
                    if version in applied:
                        continue
                    conn.execute("BEGIN TRANSACTION")
                    try:
                        conn.execute(sql)
                        conn.execute(
                            "INSERT INTO schema_migrations VALUES (?, ?, now())", [version, name]
                        )
                    except duckdb.Error as exc:
                        conn.execute("ROLLBACK")
                        raise StoreError(f"migration {version:03d}_{name} failed: {exc}") from exc
                    conn.execute("COMMIT")
        state.migrated = True

    def schema_version(self) -> int:
        with self.read() as conn:
            return max(_applied_versions(conn), default=0)


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _attach(path: Path, catalog: str, read_only: bool) -> duckdb.DuckDBPyConnection:
    """The file attached to an in-memory instance: the only way to give it a ROW_GROUP_SIZE."""
    conn = duckdb.connect()
    options = "READ_ONLY" if read_only else f"ROW_GROUP_SIZE {ROW_GROUP_SIZE}"
    quoted = str(path).replace("'", "''")
    try:
        conn.execute(f"ATTACH '{quoted}' AS {_quote(catalog)} ({options})")
        conn.execute(f"USE {_quote(catalog)}")
    except BaseException:
        conn.close()
        raise
    return conn


def _applied_versions(conn: duckdb.DuckDBPyConnection) -> set[int]:
    exists = conn.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_migrations'"
    ).fetchone()
    if not exists or not exists[0]:
        return set()
    return {row[0] for row in conn.execute("SELECT version FROM schema_migrations").fetchall()}
