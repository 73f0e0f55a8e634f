"""Ingestion entry points shared by the SDK, the CLI and the UI."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from pathlib import Path

from fincortex.config import Settings
from fincortex.datasets.connector import DocumentConnector, PriceConnector, PriceSeries, RecordConnector
from fincortex.datasets.manifest import DatasetFile
from fincortex.datasets.registry import get_connector
from fincortex.datasets.service import split_spec
from fincortex.ingest.chunking import Chunker
from fincortex.ingest.documents import IngestError
from fincortex.ingest.parsers import FileOptions
from fincortex.ingest.pipeline import IngestPipeline, IngestReport, Outcome
from fincortex.ingest.sources import file_origins
from fincortex.ingest.tokens import load_tokenizer
from fincortex.prices import write_bars
from fincortex.progress import Progress, report as report_progress
from fincortex.store import Store


ENGINES = ("local", "ray")


def make_pipeline(settings: Settings, store: Store) -> IngestPipeline:
    chunker = Chunker(load_tokenizer(settings.embedding_model), settings.chunk_tokens, settings.chunk_overlap)
    return IngestPipeline(store, chunker, batch_docs=settings.ingest_batch_docs)


def run_engine(settings: Settings, store: Store, origins, args: dict, progress: Progress | None,
               engine: str = "local", ray_options=None) -> IngestReport:
    """`local`: this process; `ray`: Ray Data stages (fincortex/ingest/ray_engine.py), same writer. The Ray
    embed stage comes in `ray_options.embed` from the layer above (the SDK builds it with
    `fincortex.retrieval.ray_embed.ray_options`); without it vectors come at the next index sync."""
    if engine not in ENGINES:
        raise IngestError(f"unknown ingest engine {engine!r}; choose one of {', '.join(ENGINES)}")
    pipeline = make_pipeline(settings, store)
    if engine == "local":
        return pipeline.run(origins, args, progress)
    from fincortex.ingest.ray_engine import RayOptions, run_on_ray

    return run_on_ray(pipeline, origins, ray_options or RayOptions(), args, progress)


def ingest_paths(
    settings: Settings,
    store: Store,
    paths: Iterable[str | Path],
    options: FileOptions,
    progress: Progress | None = None,
    engine: str = "local",
    ray_options=None,
) -> IngestReport:
    paths = [Path(p) for p in paths]
    if not paths:
        raise IngestError("nothing to ingest: give files or folders, or a dataset")
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    options = FileOptions(**{**options.__dict__, "ingested_at": options.ingested_at or now})
    args = {"paths": [str(p) for p in paths], **{k: v for k, v in options.__dict__.items() if v is not None}}
    return run_engine(settings, store, file_origins(paths, options), args, progress, engine, ray_options)


def ingest_dataset(
    settings: Settings,
    store: Store,
    spec: str,
    progress: Progress | None = None,
    on_file: Callable[[DatasetFile], None] | None = None,
    engine: str = "local",
    ray_options=None,
) -> IngestReport:
    """Pull NAME[:SUBSET] and store it as its connector's kind says: documents or price bars."""
    name, subset = split_spec(spec)
    connector = get_connector(name)
    if isinstance(connector, RecordConnector):
        raise IngestError(f"dataset {name!r} {connector.consumer}")
    if not isinstance(connector, (DocumentConnector, PriceConnector)):
        raise IngestError(f"dataset {name!r} is of kind {connector.kind!r}, which ingestion does not store")
    pulled = connector.pull(subset, mirror=settings.mirror, cache_dir=settings.cache_dir, on_file=on_file)
    if isinstance(connector, PriceConnector):
        return _import_series(store, connector.transform_data(pulled), progress)
    origins = list(connector.transform_data(pulled))
    return run_engine(settings, store, origins, {"dataset": spec}, progress, engine, ray_options)


def _import_series(store: Store, series: Iterable[PriceSeries], progress: Progress | None) -> IngestReport:
    report = IngestReport(run_id=uuid.uuid4().hex[:12])
    for one in series:
        t0 = time.perf_counter()
        frame, skipped = one.bars()
        result = write_bars(store, frame, one.symbol, one.source, skipped)
        outcome = Outcome(one.item, "added", f"{result.rows} daily bars {result.first}..{result.last}",
                          seconds=time.perf_counter() - t0)
        report.outcomes.append(outcome)
        report_progress(progress, "ingest", len(report.outcomes), None, outcome.item, outcome)
    return report
