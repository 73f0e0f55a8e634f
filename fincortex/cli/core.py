"""Core commands: doctor, data (pull, list), prices import, ingest, stats."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from fincortex.cli import DbOption, MirrorOption, console, make_client
from fincortex.datasets.connector import KINDS
from fincortex.datasets.service import spec_help

data_app = typer.Typer(help="Public datasets: list, pull (download or copy from a mirror, sha256-verified).")
prices_app = typer.Typer(help="Price data.")


def _fail(message: str, code: int = 1) -> None:
    console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


def doctor(db: DbOption = None, mirror: MirrorOption = None, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Report Python, torch, CUDA/GPU, faiss build, models, database and data mirror / network status."""
    report = make_client(db, mirror).doctor()
    if as_json:
        print(json.dumps(report, indent=2, default=str))
        return
    from rich.table import Table

    table = Table(title="fincortex doctor", show_header=False)
    for key, value in report.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k}: {v}" for k, v in value.items())
        table.add_row(key, str(value))
    console.print(table)


def data_list(db: DbOption = None, mirror: MirrorOption = None) -> None:
    """Datasets fincortex knows (its connector registry): kind, size, licence, files present locally."""
    from rich.table import Table

    rows = make_client(db, mirror).list_datasets()
    table = Table(title="datasets")
    table.add_column("name", no_wrap=True, min_width=max(len(d["name"]) for d in rows))  # typed as is: never cut
    for column in ("kind", "files", "present", "MB", "licence", "description"):
        table.add_column(column)
    for d in rows:
        table.add_row(d["name"], d["kind"], str(d["files"]), str(d["present"]), f"{d['bytes'] / 1e6:.1f}",
                      "; ".join(d["licenses"]), d["description"])
    console.print(table)


def data_pull(
    name: Annotated[str, typer.Argument(help=f"dataset, optionally with a subset: {spec_help(KINDS)}")],
    db: DbOption = None,
    mirror: MirrorOption = None,
) -> None:
    """Download a dataset pinned to its source commit (or copy it from --mirror) and verify sha256."""
    from rich.progress import Progress

    from fincortex.datasets.registry import DatasetError

    client = make_client(db, mirror)
    try:
        with Progress(console=console) as progress:
            task = progress.add_task(f"pull {name}", total=None)
            pulled = client.pull(name, on_file=lambda f: progress.advance(task))
    except DatasetError as exc:
        _fail(str(exc))
    console.print(f"[green]{len(pulled.files)} files of {pulled.name} verified in {pulled.root}[/green]")


def prices_import(
    file: Annotated[Path, typer.Argument(help="CSV: long (date, open, high, low, close, volume) or wide (SYM:open ...)")],
    symbol: Annotated[str, typer.Option("--symbol", help="symbol to store (and to pick in a wide file)")],
    source: Annotated[Optional[str], typer.Option(help="source label (default: file name)")] = None,
    db: DbOption = None,
) -> None:
    """Load daily OHLCV bars into the prices table (re-importing replaces the same days)."""
    from fincortex.prices import PriceImportError

    try:
        result = make_client(db).import_prices(file, symbol, source)
    except PriceImportError as exc:
        _fail(str(exc))
    console.print(f"[green]{result.rows} bars of {result.symbol} ({result.first}..{result.last}) from "
                  f"{result.source}[/green]" + (f"; {result.skipped_empty} empty rows skipped" if result.skipped_empty else ""))


def ingest(
    paths: Annotated[Optional[list[Path]], typer.Argument(help="files and folders (PDF, HTML, TXT/MD, JSON/JSONL, CSV)")] = None,
    dataset: Annotated[Optional[str], typer.Option("--dataset", help=f"a public dataset instead: {spec_help()}")] = None,
    doc_type: Annotated[Optional[str], typer.Option("--doc-type")] = None,
    ticker: Annotated[Optional[str], typer.Option("--ticker")] = None,
    published_at: Annotated[Optional[str], typer.Option("--published-at", help="date or ISO time the files became public (default: now)")] = None,
    source: Annotated[str, typer.Option("--source")] = "file",
    encoding: Annotated[str, typer.Option("--encoding", help="text encoding of the files")] = "utf-8",
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
    engine: Annotated[str, typer.Option("--engine", help="local (this process) | ray (Ray Data stages: parse, chunk, embed)")] = "local",
    address: Annotated[Optional[str], typer.Option("--address", help="Ray cluster address (auto, ray://head:10001); default: a local Ray instance")] = None,
    db: DbOption = None,
    mirror: MirrorOption = None,
) -> None:
    """Ingest documents: parse, chunk with the embedding tokenizer, store in DuckDB (idempotent)."""
    from fincortex.cli.progress import bars
    from fincortex.datasets.registry import DatasetError
    from fincortex.ingest.documents import IngestError

    client = make_client(db, mirror)
    if not paths and not dataset:
        _fail("give files/folders to ingest or --dataset NAME", code=2)
    try:
        with bars(totals={"ingest": _count_items(paths, dataset, client)}, transient=False, disable=as_json) as progress:
            report = client.ingest(
                paths, dataset=dataset, doc_type=doc_type, ticker=ticker, published_at=published_at,
                source=source, encoding=encoding, progress=progress, engine=engine, ray_address=address,
            )
    except (IngestError, DatasetError, ValueError) as exc:
        _fail(str(exc), code=2)
    if as_json:
        print(json.dumps({"summary": report.summary(), "outcomes": [o.__dict__ for o in report.outcomes]}, default=str))
    else:
        _print_report(report)
    raise typer.Exit(0 if report.ok else 1)


def _count_items(paths, dataset, client) -> int | None:
    if dataset:
        return None
    from fincortex.ingest.parsers import PARSERS

    total = 0
    for p in paths or []:
        p = Path(p)
        total += sum(1 for f in p.rglob("*") if f.is_file() and f.suffix.lower() in PARSERS) if p.is_dir() else 1
    return total


def _print_report(report) -> None:
    from rich.table import Table

    failures = report.failures
    if failures:
        table = Table(title=f"{len(failures)} failed")
        table.add_column("item", overflow="fold")
        table.add_column("reason", overflow="fold")
        for outcome in failures[:200]:
            table.add_row(outcome.item, outcome.reason or "")
        console.print(table)
    for outcome in report.outcomes:
        if outcome.outcome != "failed" and outcome.reason:
            console.print(f"{outcome.item}: {outcome.reason}")
    summary = report.summary()
    table = Table(title=f"ingest run {summary['run_id']}", show_header=False)
    table.add_column("", style="bold")
    table.add_column("", justify="right")
    for key in ("items", "added", "replaced", "unchanged", "skipped", "failed", "documents", "chunks", "bytes", "seconds"):
        style = "red" if key == "failed" and summary[key] else ""
        table.add_row(key, f"[{style}]{summary[key]}[/{style}]" if style else str(summary[key]))
    console.print(table)


def stats(db: DbOption = None, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """What the database holds: documents and chunks by source, price series, runs."""
    from fincortex.store import StoreError

    try:
        result = make_client(db).stats()
    except StoreError as exc:
        _fail(str(exc))
    if as_json:
        print(json.dumps(result, default=str, indent=2))
        return
    from rich.table import Table

    console.print(f"{result['db']}: {result['documents']} documents, {result['chunks']} chunks, "
                  f"available {result['available_from']} .. {result['available_to']}")
    for title, key, columns in (("by source", "by_source", ("source", "doc_type", "documents", "chunks")),
                                ("prices", "prices", ("symbol", "bars", "first", "last"))):
        if result[key]:
            table = Table(title=title)
            for column in columns:
                table.add_column(column)
            for row in result[key]:
                table.add_row(*(str(row[c]) for c in columns))
            console.print(table)


def cpu_backends(
    embed_backend: Annotated[Optional[str], typer.Option(
        "--embed-backend", help="Embedding backend: auto (default: onnx-int8 on CPU, torch on CUDA) | torch | torch-bf16 | onnx | onnx-int8 (env FINCORTEX_EMBED_BACKEND)")] = None,
    rerank_backend: Annotated[Optional[str], typer.Option(
        "--rerank-backend", help="CPU reranker backend, same choices (env FINCORTEX_RERANK_BACKEND)")] = None,
) -> None:
    """fincortex: retrieval-augmented financial agents."""
    import os

    from fincortex.retrieval.onnx_backend import AUTO, BACKENDS

    for name, value in (("FINCORTEX_EMBED_BACKEND", embed_backend), ("FINCORTEX_RERANK_BACKEND", rerank_backend)):
        if value is not None:
            if value not in (AUTO, *BACKENDS):
                _fail(f"{name.split('_', 1)[1].lower().replace('_', '-')} {value!r} is unknown; choose one of "
                      f"{AUTO}, {', '.join(BACKENDS)}", code=2)
            os.environ[name] = value  # every command reads its settings from the environment


def register(app: typer.Typer) -> None:
    app.callback()(cpu_backends)
    app.command()(doctor)
    app.command()(ingest)
    app.command()(stats)
    data_app.command("list")(data_list)
    data_app.command("pull")(data_pull)
    prices_app.command("import")(prices_import)
    app.add_typer(data_app, name="data")
    app.add_typer(prices_app, name="prices")
