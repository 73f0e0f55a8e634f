"""Ingestion on Ray Data: prepare (hash, parse, chunk) and embed run as Ray Data stages on the
cluster's workers; the driver writes every batch through the in-process engine's writer.

Why the driver writes: DuckDB allows one writing process, so workers return rows and the driver
commits them in the same per-batch transactions as `IngestPipeline.run`. The stages call the same
functions (`IngestPipeline.prepare_origin`, the embedder's `encode`), rows come back in input order, so the
same input gives the same documents, chunk ids and vectors (equal up to float rounding of a different
batch padding). Workers must be able to read the input paths: a shared filesystem, or the dataset
cache at the same path on every node. Origins above STREAM_THRESHOLD_BYTES are streamed by the driver
itself (as in-process), so no worker ever holds a huge file's chunks in the object store.
The embed stage comes from the layer above (`fincortex.retrieval.ray_embed`): ingestion knows no embedders.
"""

from __future__ import annotations

import logging
import pickle
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, Protocol

import numpy as np

from fincortex.ingest.documents import IngestError
from fincortex.ingest.pipeline import (
    STREAM_THRESHOLD_BYTES,
    IngestPipeline,
    IngestReport,
    Origin,
    Outcome,
    Prepared,
)
from fincortex.progress import Progress, report as report_progress

INSTALL_HINT = "the Ray engine needs the ray extra: pip install 'fincortex[ray]'"


class Encoder(Protocol):
    def encode(self, texts: list[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class EmbedStage:
    """The embed stage: `make_encoder()` runs once in each Ray actor (so it must pickle: a module-level
    function or a partial of one); `store_vectors(ids, vectors)` runs on the driver after each batch commits."""

    make_encoder: Callable[[], Encoder]
    store_vectors: Callable[[np.ndarray, np.ndarray], Any]


@dataclass(frozen=True)
class RayOptions:
    address: str | None = None  # a running cluster ("auto", "ray://head:10001"); None = start a local one
    num_cpus: int | None = None  # local instance only
    origins_per_task: int = 8  # origins one prepare task handles
    embed_actors: int = 1  # embedder replicas (each loads the model once)
    embed_gpus: float = 0.0  # GPUs per embed actor: > 0 puts the embed stage on GPU workers
    embed_memory_mb: int = 1024  # memory each embed actor reserves (model + batch activations)
    embed: EmbedStage | None = None  # None: no embed stage (vectors come at the next index sync)


def ensure_ray(options: RayOptions):
    try:
        import ray
    except ImportError as exc:
        raise IngestError(f"{INSTALL_HINT} ({exc})") from exc
    if not ray.is_initialized():
        kwargs = {"num_cpus": options.num_cpus} if options.address is None else {}
        try:
            ray.init(address=options.address, include_dashboard=False, log_to_driver=False, **kwargs)
        except ConnectionError as exc:
            raise IngestError(f"cannot reach the Ray cluster at {options.address!r}: {exc}") from exc
    return ray


def _prepare_stage(batch: dict, chunker_ref, origins_ref, known_ref) -> dict:
    """Ray task: prepare a few origins; results travel pickled (Documents hold datetimes and dicts)."""
    import ray

    chunker, origins, known = ray.get([chunker_ref[0], origins_ref[0], known_ref[0]])
    pipeline = IngestPipeline(None, chunker)  # type: ignore[arg-type]  # preparing never touches the store
    out = []
    for i in batch["i"]:
        p = pipeline.prepare_origin(origins[i], known)
        documents = [(replace(doc, sections=()), rows) for doc, rows in p.documents]  # chunked: sections done
        out.append(pickle.dumps((p.origin_hash, p.outcome, documents)))  # the Origin stays on the driver
    return {"i": batch["i"], "prepared": np.array(out, dtype=object)}


class _EmbedStage:
    """Ray actor: loads the embedder once, then encodes the chunks of each batch of prepared origins."""

    def __init__(self, make_encoder: Callable[[], Encoder]) -> None:
        self.embedder = make_encoder()

    def __call__(self, batch: dict) -> dict:
        prepared = [pickle.loads(blob) for blob in batch["prepared"]]  # (hash, outcome, documents)
        texts = [row[3] for _, _, documents in prepared for _, rows in documents for row in rows]  # row[3]: text
        vectors = self.embedder.encode(texts) if texts else np.zeros((0, 0), np.float32)
        out, start = [], 0
        for _, _, documents in prepared:
            n = sum(len(rows) for _, rows in documents)
            out.append(pickle.dumps(vectors[start:start + n]))
            start += n
        return {**batch, "vectors": np.array(out, dtype=object)}


def run_on_ray(
    pipeline: IngestPipeline,
    origins: Iterable[Origin],
    options: RayOptions,
    args: dict | None = None,
    progress: Progress | None = None,
) -> IngestReport:
    """Ingest `origins` with Ray Data stages; same report, runs table and rows as `pipeline.run`."""
    ray = ensure_ray(options)
    started = time.perf_counter()
    report = IngestReport(run_id=uuid.uuid4().hex[:12])
    pipeline.start_run(report.run_id, {**(args or {}), "engine": "ray", "ray_address": options.address})
    known = pipeline.known_origins()
    origins = list(origins)
    small = [i for i, o in enumerate(origins) if o.error or o.size <= STREAM_THRESHOLD_BYTES]
    writer = _Writer(pipeline, report, options.embed, progress)

    if small:
        context = ray.data.DataContext.get_current()
        context.execution_options.preserve_order = True  # write in input order, as in-process
        context.enable_progress_bars = False  # the caller reports progress per outcome
        logging.getLogger("ray.data").setLevel(logging.WARNING)
        refs = {name: (ray.put(value),) for name, value in
                (("chunker_ref", pipeline.chunker), ("origins_ref", origins), ("known_ref", known))}
        dataset = ray.data.from_items([{"i": i} for i in small]).map_batches(
            _prepare_stage, batch_size=options.origins_per_task, batch_format="numpy", fn_kwargs=refs)
        if options.embed is not None:
            dataset = dataset.map_batches(
                _EmbedStage, fn_constructor_kwargs={"make_encoder": options.embed.make_encoder}, batch_size=options.origins_per_task,
                batch_format="numpy", compute=ray.data.ActorPoolStrategy(size=options.embed_actors),
                num_gpus=options.embed_gpus or None,
                # the model's memory, declared: also keeps Ray from fusing prepare into the embed actors,
                # so parsing runs in parallel tasks instead of inside the (few) embedder replicas
                memory=options.embed_memory_mb << 20)
        for row in dataset.iter_rows():
            origin_hash, outcome, documents = pickle.loads(row["prepared"])
            vectors = pickle.loads(row["vectors"]) if "vectors" in row else None
            writer.add(Prepared(origins[int(row["i"])], origin_hash, outcome, documents), vectors)
        writer.flush()
    streamed = set(range(len(origins))) - set(small)
    for i in sorted(streamed):
        writer.stream(origins[i], known)
    report.seconds = time.perf_counter() - started
    pipeline.finish_run(report)
    return report


class _Writer:
    """The driver side: batches prepared origins into the pipeline's transactions, then their vectors."""

    def __init__(self, pipeline: IngestPipeline, report: IngestReport, embed: EmbedStage | None,
                 progress: Progress | None) -> None:
        self.pipeline, self.report, self.embed, self.progress = pipeline, report, embed, progress
        self.pending: list[tuple[Prepared, np.ndarray | None]] = []
        self.n_chunks = 0

    def add(self, prepared: Prepared, vectors: np.ndarray | None) -> None:
        self.pending.append((prepared, vectors))
        self.n_chunks += prepared.outcome.n_chunks
        if len(self.pending) >= self.pipeline.batch_docs or self.n_chunks >= self.pipeline.batch_chunks:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        outcomes = self.pipeline.write_batch(self.report.run_id, [p for p, _ in self.pending])
        ids, blocks = [], []
        for (prepared, vectors), outcome in zip(self.pending, outcomes):
            self._record(outcome)
            if vectors is not None and len(vectors) and outcome.outcome in ("added", "replaced"):
                ids.extend(row[0] for _, rows in prepared.documents for row in rows)
                blocks.append(vectors)
        if blocks:
            self.embed.store_vectors(np.asarray(ids, dtype=np.int64), np.concatenate(blocks))
        self.pending, self.n_chunks = [], 0

    def stream(self, origin: Origin, known: dict[str, str]) -> None:
        """A huge origin: the in-process streaming writer, on the driver (its vectors come at index sync)."""
        t0 = time.perf_counter()
        outcome = Outcome(origin.item, "failed", n_bytes=origin.size)
        try:
            origin_hash = origin.hash()
            if known.get(origin.uri) == origin_hash:
                outcome.outcome = "unchanged"
                self.pipeline.write_batch(self.report.run_id, [Prepared(origin, origin_hash, outcome, [])])
            else:
                outcome.outcome = "replaced" if origin.uri in known else "added"
                self.pipeline.write_streaming(self.report.run_id, origin, origin_hash, outcome)
        except (IngestError, OSError, ValueError) as exc:
            outcome.outcome, outcome.reason = "failed", str(exc) or exc.__class__.__name__
            self.pipeline.write_batch(self.report.run_id, [Prepared(origin, "", outcome, [])])
        outcome.seconds = time.perf_counter() - t0
        self._record(outcome)

    def _record(self, outcome: Outcome) -> None:
        self.report.outcomes.append(outcome)
        report_progress(self.progress, "ingest", len(self.report.outcomes), None, outcome.item, outcome)
