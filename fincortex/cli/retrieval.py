"""Retrieval commands: search, index build|status, eval retrieval, data export-beir."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from fincortex.cli import DbOption, MirrorOption, console, group, make_client
from fincortex.cli.options import JsonFlag
from fincortex.cli.progress import bars

index_app = typer.Typer(help="Dense (FAISS) and BM25 indexes derived from the chunks table.")
eval_app = typer.Typer(help="Quality evaluations.")


def _fail(message: str, code: int = 1) -> None:
    console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


def search(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    k: Annotated[int, typer.Option("--k", "-k", help="Number of hits.")] = 10,
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="Only what was public by then (ISO date/time, UTC).")] = None,
    ticker: Annotated[Optional[list[str]], typer.Option("--ticker", help="Repeatable.")] = None,
    doc_type: Annotated[Optional[list[str]], typer.Option("--doc-type", help="Repeatable.")] = None,
    source: Annotated[Optional[list[str]], typer.Option("--source", help="Repeatable.")] = None,
    mode: Annotated[str, typer.Option("--mode", help="hybrid | dense | bm25")] = "hybrid",
    rerank: Annotated[bool, typer.Option("--rerank/--no-rerank", help="Cross-encoder rerank when one is available.")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print hits as JSON.")] = False,
    db: DbOption = None,
    mirror: MirrorOption = None,
) -> None:
    """Search stored chunks: dense + BM25 fused, point-in-time with --as-of."""
    from fincortex.retrieval.searcher import EmptyIndexError

    client = make_client(db, mirror)
    try:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # surfaced below from results.warnings
            results = client.search(query, k=k, as_of=as_of, tickers=ticker, doc_types=doc_type, sources=source,
                                    mode=mode, rerank=rerank)
    except (EmptyIndexError, ValueError) as exc:
        _fail(str(exc))
    if as_json:
        print(json.dumps(results.as_dict(), indent=2, default=str))
        return
    for warning in results.warnings:
        console.print(f"[yellow]note:[/yellow] {warning}")
    if not results:
        console.print("no hits")
        return
    from rich.table import Table

    table = Table(title=f"{len(results)} hits · {results.mode}{' + rerank' if results.reranked else ''}"
                        f" · filters: {results.filters.describe()}", show_lines=True)
    for column in ("#", "score", "stages", "document", "available", "text"):
        table.add_column(column, overflow="fold")
    for hit in results:
        stages = " ".join(f"{name}={value:.3f}" for name, value in hit.scores.items())
        doc = " · ".join(str(x) for x in (hit.title, hit.ticker, hit.source, f"p{hit.page_start}" if hit.page_start
                                          else None) if x)
        text = hit.text if len(hit.text) < 300 else hit.text[:297] + "..."
        table.add_row(str(hit.rank), f"{hit.score:.4f}", stages, doc, f"{hit.available_at:%Y-%m-%d %H:%M}", text)
    console.print(table)
    console.print(f"[dim]{' · '.join(f'{k} {v:.1f} ms' for k, v in results.timings_ms.items())}[/dim]")


def index_build(
    spec: Annotated[Optional[str], typer.Option("--spec", help="faiss factory string (Flat, IVF1024,Flat, HNSW32, ...) or auto (chosen by corpus size).")] = None,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Start over (vectors still come from the cache).")] = False,
    only: Annotated[Optional[list[str]], typer.Option(
        "--only", help="Build only this index (bm25 | dense; repeatable): bm25 takes seconds, and hybrid search "
                       "runs on it, saying so, until the dense index exists.")] = None,
    as_json: JsonFlag = False,
    db: DbOption = None,
    mirror: MirrorOption = None,
) -> None:
    """Bring the indexes level with the chunks table: embed new chunks, add them, drop removed ones."""
    from fincortex.retrieval.faiss_index import IndexSpecError

    client = make_client(db, mirror)
    try:
        with bars() as progress:
            result = client.build_index(spec=spec, rebuild=rebuild, progress=progress,
                                        stages=tuple(only) if only else None)
    except (IndexSpecError, ValueError) as exc:
        _fail(str(exc))
    if as_json:
        print(json.dumps(result, indent=2, default=str))
        return
    sync = result["sync"]
    stages = " · ".join(
        f"{name} +{st['added']} -{st['removed']}{' (rebuilt)' if st['rebuilt'] else ''}"
        for name, st in sync["stages"].items()) or "every index was current"
    console.print(f"{result['n_chunks']} chunks · embedded now {sync['embedded']} · {stages} · "
                  f"{sync['seconds']:.1f}s · {result['backend']}")


def index_status(as_json: JsonFlag = False, db: DbOption = None,
                 mirror: MirrorOption = None) -> None:
    """What is built, from how many chunks, whether it is current, and where search runs (CPU/GPU)."""
    status = make_client(db, mirror).index_status()
    if as_json:
        print(json.dumps(status, indent=2, default=str))
        return
    from rich.table import Table

    console.print(f"database {status['database']} · {status['n_chunks']} chunks · {status['backend']}")
    model, rerank = status["embedding_model"], status["reranker_backend"]
    console.print(f"embedding model {model['name']} ({model['key']}) · runs on {model['backend']} "
                  f"({model['backend_reason']}) · spec {status['index_spec']}")
    console.print(f"reranker: {status['reranker']} · runs on {rerank['backend']} ({rerank['reason']})")
    weights = " · ".join(f"{name} {w:g}" for name, w in status["fusion_weights"].items())
    console.print(f"fusion weights: {weights} ({status['fusion_weights_source']})")
    table = Table(title="indexes")
    for column in ("name", "kind", "items", "current", "active", "built", "updated"):
        table.add_column(column)
    for item in status["indexes"]:
        table.add_row(item["name"], item["kind"], str(item["n_items"]), "yes" if item["up_to_date"] else "[red]stale",
                      "yes" if item["active"] else "", str(item["built_at"]), str(item["updated_at"]))
    console.print(table)
    if not status["indexes"]:
        console.print("no index built yet: run `fincortex index build` (search answers from built indexes only)")
    elif not status["up_to_date"]:
        console.print("[yellow]some chunks are not indexed yet[/yellow]: search leaves them out (and says how many) "
                      "until `fincortex index build` runs")


def index_calibrate(
    force: Annotated[bool, typer.Option("--force", help="Calibrate again even when weights exist.")] = False,
    max_queries: Annotated[Optional[int], typer.Option("--max-queries", help="Use the first N questions only.")] = None,
    as_json: JsonFlag = False,
    db: DbOption = None,
    mirror: MirrorOption = None,
) -> None:
    """Hybrid fusion weights for the current embedder, from the training side of the held-apart TAT-QA split."""
    from fincortex.models.tuning.heldout import HeldoutError
    from fincortex.retrieval.beir import BeirFormatError

    client = make_client(db, mirror)
    try:
        with bars() as progress:
            record = client.calibrate_fusion(force=force, max_queries=max_queries, progress=progress)
    except (HeldoutError, BeirFormatError, ValueError) as exc:
        _fail(str(exc))
    if as_json:
        print(json.dumps(record, indent=2, default=str))
        return
    weights = " · ".join(f"{name} {w:g}" for name, w in record["weights"].items())
    console.print(f"fusion weights {weights}: {record['source']}"
                  + (f" [dim]({record['skipped']})[/dim]" if record.get("skipped") else ""))
    for row in record.get("grid") or []:
        console.print(f"  dense {row['weights']['dense']:<4g} bm25 {row['weights']['bm25']:<4g} "
                      f"nDCG@10 {row['ndcg@10']:.4f}  R@10 {row['recall@10']:.4f}")


def eval_retrieval(
    beir: Annotated[Path, typer.Option("--beir", help="BEIR folder: corpus.jsonl, queries.jsonl, qrels/test.tsv.")],
    mode: Annotated[str, typer.Option("--mode", help="Comma-separated: dense,bm25,hybrid.")] = "dense,bm25,hybrid",
    rerank: Annotated[bool, typer.Option("--rerank/--no-rerank", help="Also rerank (fails if no reranker).")] = False,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Write the full report here.")] = None,
    max_queries: Annotated[Optional[int], typer.Option("--max-queries", help="Evaluate the first N queries only.")] = None,
    store: Annotated[Optional[Path], typer.Option("--store", help="DuckDB file for the corpus (default: cached).")] = None,
    embedder: Annotated[Optional[str], typer.Option(
        "--embedder", help="Registered embedder name, folder or alias (default: what search uses).")] = None,
    reranker: Annotated[Optional[str], typer.Option(
        "--reranker", help="Registered reranker name or folder (default: the default reranker).")] = None,
    db: DbOption = None,
    mirror: MirrorOption = None,
) -> None:
    """nDCG@10, MRR@10, recall@1/5/10/100 and MAP (ranx) of the search pipeline on a BEIR folder."""
    from fincortex.retrieval.beir import BeirFormatError
    from fincortex.retrieval.reranker import RerankerUnavailable

    modes = tuple(m.strip() for m in mode.split(",") if m.strip())
    try:
        with bars() as progress:
            report = make_client(db, mirror).evaluate_retrieval(beir, modes=modes, rerank=rerank, json_out=json_out,
                                                                max_queries=max_queries, store_path=store,
                                                                progress=progress, embedder=embedder,
                                                                reranker=reranker)
    except (BeirFormatError, RerankerUnavailable, ValueError, RuntimeError) as exc:
        _fail(str(exc))
    from rich.table import Table

    from fincortex.retrieval.evaluation import METRICS

    data = report["dataset"]
    table = Table(title=f"{data['name']}: {data['evaluated_queries']} queries, {data['n_docs']} documents · "
                        f"embedder {report['embedder']['key']}"
                        + (f" · reranker {Path(report['reranker']).name}" if report.get("reranker") else ""))
    for column in ("mode", *METRICS, "p50 ms", "p95 ms"):
        table.add_column(column, justify="right")
    for label, result in report["results"].items():
        table.add_row(label, *(f"{result['metrics'][m]:.4f}" for m in METRICS),
                      f"{result['latency_ms_p50']:.1f}", f"{result['latency_ms_p95']:.1f}")
    console.print(table)
    if json_out:
        console.print(f"report written to {json_out}")


def export_beir(
    out: Annotated[Path, typer.Argument(help="Output BEIR folder.")],
    tatqa: Annotated[Path, typer.Option("--tatqa", help="A TAT-QA json file (e.g. tatqa_dataset_dev.json).")],
) -> None:
    """Convert TAT-QA into a BEIR folder: tables and paragraphs as documents, questions as queries."""
    from fincortex.retrieval.beir import BeirFormatError, export_tatqa

    try:
        summary = export_tatqa(tatqa, out)
    except BeirFormatError as exc:
        _fail(str(exc))
    console.print(f"wrote {summary['n_docs']} documents, {summary['n_queries']} queries, {summary['n_qrels']} "
                  f"qrels to {summary['out']}")


def register(app: typer.Typer) -> None:
    app.command()(search)
    index_app.command("build")(index_build)
    index_app.command("status")(index_status)
    index_app.command("calibrate")(index_calibrate)
    app.add_typer(index_app, name="index")
    group(app, "eval", eval_app).command("retrieval")(eval_retrieval)
    group(app, "data", typer.Typer(help="Datasets.")).command("export-beir")(export_beir)
