"""Batch ingestion: origins (files or dataset files) -> Documents -> Chunks -> DuckDB.

One origin (a file, or one file of a public dataset) yields one or more Documents and is the unit of
idempotency: an origin whose sha256 is already stored is skipped; a changed one replaces every document
that came from it. Each batch of origins lands in one transaction with its per-file outcomes, so a run
killed at any moment leaves whole batches or nothing, and a re-run finishes the job without duplicates.
Very large origins stream their chunks in sub-batches inside their own transaction (bounded memory).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone

import pyarrow as pa

from fincortex.ingest.chunking import Chunker
from fincortex.ingest.documents import Document, IngestError, chunk_id_for, doc_id_for
from fincortex.progress import Progress, report as report_progress
from fincortex.store import ROW_GROUP_SIZE, Store

STREAM_THRESHOLD_BYTES = 32 << 20  # origins above this stream their chunks instead of batching
# one sub-batch = one full DuckDB row group: the checkpoint after each commit then writes whole new
# row groups and has nothing to merge (see fincortex/store.py ROW_GROUP_SIZE for the measurements)
CHUNK_SUB_BATCH = ROW_GROUP_SIZE


@dataclass
class Origin:
    """Something to ingest. `hash` and `parse` are lazy so unchanged origins cost one hash at most."""

    item: str  # what the report shows: a path or dataset file
    uri: str  # documents.uri: the identity of the origin
    size: int
    hash: Callable[[], str]
    parse: Callable[[str], list[Document]]
    error: str | None = None  # known bad before parsing (missing path, symlink loop, ...)
    skipped: str | None = None  # deliberately not ingested (hidden, unsupported type): why, for the report


@dataclass
class Outcome:
    item: str
    outcome: str  # added | replaced | unchanged | skipped | failed
    reason: str | None = None
    n_documents: int = 0
    n_chunks: int = 0
    n_bytes: int = 0
    seconds: float = 0.0


@dataclass
class IngestReport:
    run_id: str
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, *kinds: str) -> int:
        return sum(1 for o in self.outcomes if o.outcome in kinds)

    @property
    def ok(self) -> bool:
        return self.count("failed") == 0

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.outcome == "failed"]

    def summary(self) -> dict:
        return {
            "run_id": self.run_id,
            "items": len(self.outcomes),
            "added": self.count("added"),
            "replaced": self.count("replaced"),
            "unchanged": self.count("unchanged"),
            "skipped": self.count("skipped"),
            "failed": self.count("failed"),
            "documents": sum(o.n_documents for o in self.outcomes),
            "chunks": sum(o.n_chunks for o in self.outcomes),
            "bytes": sum(o.n_bytes for o in self.outcomes if o.outcome in ("added", "replaced")),
            "seconds": round(self.seconds, 3),
        }


@dataclass
class Prepared:
    origin: Origin
    origin_hash: str
    outcome: Outcome
    documents: list[tuple[Document, list]]  # (document, chunk rows)
    streamed: bool = False  # already written by the streaming path (nothing left to write)


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class IngestPipeline:
    def __init__(self, store: Store, chunker: Chunker, batch_docs: int = 64, batch_chunks: int = 20000) -> None:
        self.store = store
        self.chunker = chunker
        self.batch_docs = batch_docs
        self.batch_chunks = batch_chunks

    def run(
        self,
        origins: Iterable[Origin],
        args: dict | None = None,
        progress: Progress | None = None,
    ) -> IngestReport:
        """Ingest `origins`; each file's Outcome reaches `progress` as it lands (stage 'ingest', item=outcome)."""
        started = time.perf_counter()
        report = IngestReport(run_id=uuid.uuid4().hex[:12])
        self.start_run(report.run_id, args or {})
        known = self.known_origins()
        pending: list[Prepared] = []
        pending_chunks = 0

        def record(outcome: Outcome) -> None:
            report.outcomes.append(outcome)
            report_progress(progress, "ingest", len(report.outcomes), None, outcome.item, outcome)

        def flush() -> None:
            nonlocal pending, pending_chunks
            if pending:
                for outcome in self.write_batch(report.run_id, pending):
                    record(outcome)
            pending, pending_chunks = [], 0

        def stream(origin: Origin, origin_hash: str, outcome: Outcome) -> None:
            flush()  # a streamed file commits on its own: what is pending lands first, in order
            self.write_streaming(report.run_id, origin, origin_hash, outcome)

        for origin in origins:
            prepared = self.prepare_origin(origin, known, stream=stream)
            if prepared.outcome.outcome in ("added", "replaced"):
                known[origin.uri] = prepared.origin_hash
            if prepared.streamed:
                record(prepared.outcome)
                continue
            pending.append(prepared)
            pending_chunks += prepared.outcome.n_chunks
            if len(pending) >= self.batch_docs or pending_chunks >= self.batch_chunks:
                flush()
        flush()
        report.seconds = time.perf_counter() - started
        self.finish_run(report)
        return report

    # -- preparing ---------------------------------------------------------------------------------
    def prepare_origin(self, origin: Origin, known: dict[str, str],
                       stream: Callable[[Origin, str, Outcome], None] | None = None) -> Prepared:
        """Hash, parse and chunk one changed origin: the per-origin work of `run`, also used by engines
        that prepare elsewhere and write here (fincortex/ingest/ray_engine.py). With `stream`, a changed
        origin above STREAM_THRESHOLD_BYTES is handed to it (written in bounded memory) instead."""
        t0 = time.perf_counter()
        outcome = Outcome(origin.item, "failed", n_bytes=origin.size)
        origin_hash = ""
        documents: list[tuple[Document, list]] = []
        streamed = False
        try:
            if origin.error:
                raise IngestError(origin.error)
            if origin.skipped:
                outcome.outcome, outcome.reason = "skipped", origin.skipped
                outcome.seconds = time.perf_counter() - t0
                return Prepared(origin, "", outcome, [], False)
            origin_hash = origin.hash()
            if known.get(origin.uri) == origin_hash:
                outcome.outcome = "unchanged"
            elif stream is not None and origin.size > STREAM_THRESHOLD_BYTES:
                outcome.outcome = "replaced" if origin.uri in known else "added"
                stream(origin, origin_hash, outcome)
                streamed = True
            else:
                documents = self._prepare(origin, origin_hash, outcome)
                outcome.outcome = "replaced" if origin.uri in known else "added"
                outcome.n_documents = len(documents)
                outcome.n_chunks = sum(len(rows) for _, rows in documents)
        except (IngestError, OSError, ValueError) as exc:
            outcome.outcome, outcome.reason, origin_hash = "failed", str(exc) or exc.__class__.__name__, ""
        outcome.seconds = time.perf_counter() - t0
        return Prepared(origin, origin_hash, outcome, documents, streamed)

    def _chunk_rows(self, doc: Document, doc_id: int) -> Iterator[tuple]:
        for chunk in self.chunker.chunk(doc.sections):
            yield (
                chunk_id_for(doc.source_key, doc.content_hash, chunk.ordinal),
                doc_id,
                chunk.ordinal,
                chunk.text,
                chunk.n_tokens,
                chunk.page_start,
                chunk.page_end,
                chunk.is_table,
                doc.available_at,
            )

    def _prepare(self, origin: Origin, origin_hash: str, outcome: Outcome) -> list[tuple[Document, list]]:
        documents = origin.parse(origin_hash)
        _note_warnings(outcome, documents)
        seen: set[str] = set()
        prepared = []
        for doc in documents:
            if doc.source_key in seen:  # duplicate records in one origin: the first one wins
                continue
            seen.add(doc.source_key)
            rows = list(self._chunk_rows(doc, doc_id_for(doc.source_key)))
            if rows:
                prepared.append((doc, rows))
        if not prepared:
            raise IngestError("no text to index after parsing")
        return prepared

    # -- writing -----------------------------------------------------------------------------------
    def write_batch(self, run_id: str, batch: list[Prepared]) -> list[Outcome]:
        try:
            with self.store.write() as conn:
                for prepared in batch:
                    self._write_one(conn, run_id, prepared)
        except Exception as exc:  # noqa: BLE001 - isolate the origin that broke the batch
            if len(batch) == 1:
                batch[0].outcome.outcome = "failed"
                batch[0].outcome.reason = f"database write failed: {exc}"
                batch[0].documents = []
                with self.store.write() as conn:
                    self._log(conn, run_id, batch[0].outcome, None)
            else:
                for prepared in batch:
                    self.write_batch(run_id, [prepared])
        return [p.outcome for p in batch]

    def _write_one(self, conn, run_id: str, prepared: Prepared) -> None:
        outcome = prepared.outcome
        if outcome.outcome in ("added", "replaced"):
            self._delete_origin(conn, prepared.origin.uri)
            doc_rows, chunk_rows = [], []
            for doc, rows in prepared.documents:
                doc_rows.append(_document_row(doc, prepared.origin.uri, prepared.origin_hash, len(rows)))
                chunk_rows.extend(rows)
            _insert(conn, "documents", DOCUMENT_COLUMNS, doc_rows)
            _insert(conn, "chunks", CHUNK_COLUMNS, chunk_rows)
            for doc, _ in prepared.documents:
                _insert_statement_rows(conn, doc)
        first_doc = prepared.documents[0][0] if prepared.documents else None
        self._log(conn, run_id, outcome, doc_id_for(first_doc.source_key) if first_doc else None)

    def write_streaming(self, run_id: str, origin: Origin, origin_hash: str, outcome: Outcome) -> None:
        """Huge origins: chunks land in sub-batch transactions, the document row last.

        DuckDB keeps an open transaction's rows in memory, so one transaction per 200 MB file would
        not be bounded. Chunks without their document row are invisible (every reader joins
        documents) and a killed run's leftovers are removed by `_remove_orphan_chunks` on the next run.
        """
        documents = origin.parse(origin_hash)
        _note_warnings(outcome, documents)
        with self.store.write() as conn:
            self._delete_origin(conn, origin.uri)
        for doc in documents:
            doc_id = doc_id_for(doc.source_key)
            n = 0
            buffer: list[tuple] = []
            for row in self._chunk_rows(doc, doc_id):
                buffer.append(row)
                if len(buffer) >= CHUNK_SUB_BATCH:
                    with self.store.write() as conn:
                        _insert(conn, "chunks", CHUNK_COLUMNS, buffer)
                    n += len(buffer)
                    buffer = []
            if n + len(buffer) == 0:
                raise IngestError("no text to index after parsing")
            with self.store.write() as conn:
                _insert(conn, "chunks", CHUNK_COLUMNS, buffer)
                n += len(buffer)
                _insert(conn, "documents", DOCUMENT_COLUMNS, [_document_row(doc, origin.uri, origin_hash, n)])
                _insert_statement_rows(conn, doc)
            outcome.n_documents += 1
            outcome.n_chunks += n
        with self.store.write() as conn:
            self._log(conn, run_id, outcome, doc_id_for(documents[0].source_key) if documents else None)

    @staticmethod
    def _remove_orphan_chunks(conn) -> None:
        conn.execute("DELETE FROM chunks WHERE doc_id NOT IN (SELECT doc_id FROM documents)")

    @staticmethod
    def _delete_origin(conn, uri: str) -> None:
        conn.execute("DELETE FROM statement_rows WHERE doc_id IN (SELECT doc_id FROM documents WHERE uri = ?)", [uri])
        conn.execute("DELETE FROM chunks WHERE doc_id IN (SELECT doc_id FROM documents WHERE uri = ?)", [uri])
        conn.execute("DELETE FROM documents WHERE uri = ?", [uri])

    @staticmethod
    def _log(conn, run_id: str, outcome: Outcome, doc_id: int | None) -> None:
        conn.execute(
            "INSERT INTO ingest_files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [run_id, outcome.item, outcome.outcome, outcome.reason, doc_id, outcome.n_chunks,
             outcome.n_bytes, round(outcome.seconds, 4), _now()],
        )

    # -- run bookkeeping ---------------------------------------------------------------------------
    def known_origins(self) -> dict[str, str]:
        with self.store.read() as conn:
            return dict(conn.execute("SELECT uri, any_value(origin_hash) FROM documents GROUP BY uri").fetchall())

    def start_run(self, run_id: str, args: dict) -> None:
        with self.store.write() as conn:
            # runs left 'running' by a process that no longer exists were killed: say so
            for stale_id, pid in conn.execute(
                "SELECT run_id, pid FROM ingest_runs WHERE status = 'running'"
            ).fetchall():
                if pid is None or not _alive(pid):
                    # what the killed run committed is in its ingest_files rows: count it, not 0
                    conn.execute(
                        "UPDATE ingest_runs SET status = 'aborted', finished_at = ?, "
                        "n_ok = (SELECT count(*) FROM ingest_files f WHERE f.run_id = ? AND f.outcome IN ('added', 'replaced')), "
                        "n_unchanged = (SELECT count(*) FROM ingest_files f WHERE f.run_id = ? AND f.outcome = 'unchanged'), "
                        "n_failed = (SELECT count(*) FROM ingest_files f WHERE f.run_id = ? AND f.outcome = 'failed') "
                        "WHERE run_id = ?",
                        [_now(), stale_id, stale_id, stale_id, stale_id],
                    )
            self._remove_orphan_chunks(conn)
            conn.execute(
                "INSERT INTO ingest_runs (run_id, started_at, status, args, pid) VALUES (?, ?, 'running', ?, ?)",
                [run_id, _now(), json.dumps(args, default=str), os.getpid()],
            )

    def finish_run(self, report: IngestReport) -> None:
        with self.store.write() as conn:
            conn.execute(
                "UPDATE ingest_runs SET finished_at = ?, status = ?, n_ok = ?, n_unchanged = ?, n_failed = ? "
                "WHERE run_id = ?",
                [_now(), "ok" if report.ok else "failed", report.count("added", "replaced"),
                 report.count("unchanged"), report.count("failed"), report.run_id],
            )


def _note_warnings(outcome: Outcome, documents) -> None:
    """Problems a parser survived (e.g. broken JSONL lines it left out) become the outcome's reason."""
    notes = list(getattr(documents, "warnings", None) or [])
    if notes:
        outcome.reason = "; ".join(notes)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


DOCUMENT_COLUMNS = (
    "doc_id", "source_key", "content_hash", "title", "source", "doc_type", "ticker", "published_at",
    "available_at", "available_at_rule", "uri", "origin_hash", "n_pages", "n_chunks", "n_bytes", "meta",
    "ingested_at",
)
CHUNK_COLUMNS = (
    "chunk_id", "doc_id", "ordinal", "text", "n_tokens", "page_start", "page_end", "is_table", "available_at",
)
_ARROW_TYPES = {
    "doc_id": pa.int64(), "chunk_id": pa.int64(), "ordinal": pa.int32(), "n_tokens": pa.int32(),
    "page_start": pa.int32(), "page_end": pa.int32(), "n_pages": pa.int32(), "n_chunks": pa.int32(),
    "n_bytes": pa.int64(), "is_table": pa.bool_(), "published_at": pa.timestamp("us"),
    "available_at": pa.timestamp("us"), "ingested_at": pa.timestamp("us"),
    "page": pa.int32(), "table_index": pa.int32(), "row_index": pa.int32(), "column_index": pa.int32(),
    "value": pa.float64(), "scale": pa.float64(),
}


def _document_row(doc: Document, uri: str, origin_hash: str, n_chunks: int) -> tuple:
    return (
        doc_id_for(doc.source_key), doc.source_key, doc.content_hash, doc.title, doc.source, doc.doc_type,
        doc.ticker, doc.published_at, doc.available_at, doc.available_at_rule, uri, origin_hash,
        doc.n_pages, n_chunks, doc.n_bytes, json.dumps(doc.meta) if doc.meta else None, _now(),
    )


STATEMENT_COLUMNS = (
    "doc_id", "page", "table_index", "statement", "title", "row_index", "line_item", "section", "period",
    "column_index", "value", "raw", "scale", "unit", "available_at",
)


def _insert_statement_rows(conn, doc: Document) -> None:
    """The statement rows a PDF parser read (ingest/filings.py), keyed by the document, dated like it."""
    rows = getattr(doc, "statement_rows", None)
    if not rows:
        return
    doc_id = doc_id_for(doc.source_key)
    _insert(conn, "statement_rows", STATEMENT_COLUMNS, [
        (doc_id, r.page, r.table_index, r.statement, r.title, r.row_index, r.line_item, r.section, r.period,
         r.column_index, r.value, r.raw, r.scale, r.unit, doc.available_at) for r in rows])


def _insert(conn, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Columnar insert through Arrow: orders of magnitude faster than executemany in DuckDB."""
    if not rows:
        return
    arrays = [
        pa.array([row[i] for row in rows], type=_ARROW_TYPES.get(name, pa.string()))
        for i, name in enumerate(columns)
    ]
    batch = pa.table(arrays, names=list(columns))
    view = f"_new_{table}"
    conn.register(view, batch)
    try:
        conn.execute(f"INSERT INTO {table} ({', '.join(columns)}) SELECT * FROM {view}")
    finally:
        conn.unregister(view)
