"""Filings commands: `fincortex eval financebench` (the analyst on real filings in one shared store)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from fincortex.cli import DbOption, MirrorOption, console, group, make_client
from fincortex.cli.progress import bars


def eval_financebench(
    questions: Annotated[Path, typer.Option("--questions", help="FinanceBench JSONL (financebench_open_source_dev.jsonl).")],
    pdfs: Annotated[Path, typer.Option("--pdfs", help="Folder of the filings' PDFs (file stem = doc_name).")],
    limit: Annotated[Optional[int], typer.Option("--limit", help="Ask the first N questions only.")] = None,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Write the report (one row per question) here.")] = None,
    model: Annotated[Optional[str], typer.Option("--model", help="Chat model spec (default: settings.llm).")] = None,
    db: DbOption = None,
    mirror: MirrorOption = None,
) -> None:
    """Ingest every PDF into the one store, ask each question: doc/page recall@1/5/10, numeric accuracy,
    refusal rate and seconds per question, beside BM25, dense, hybrid(+rerank) and closed book."""
    try:
        with bars() as progress:
            report = make_client(db, mirror).evaluate_financebench(questions, pdfs, limit=limit, json_out=json_out,
                                                                   progress=progress, model=model)
    except (FileNotFoundError, ValueError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    from rich.table import Table

    store = report["store"]
    table = Table(title=f"FinanceBench: {len(report['rows'])} questions, {store['filings']} filings "
                        f"({store['pages']} pages) in one store")
    columns = ("doc_recall@1", "doc_recall@5", "doc_recall@10", "page_recall@1", "page_recall@5", "page_recall@10",
               "numeric_accuracy", "refusal_rate", "seconds_per_question")
    table.add_column("system")
    for column in columns:
        table.add_column(column.replace("_", " "), justify="right")
    for row in report["summary"]:
        if not row["available"]:
            table.add_row(row["system"], *["-"] * len(columns))
            continue
        table.add_row(row["system"], *("" if row.get(c) is None else f"{row[c]:.3f}" if isinstance(row[c], float)
                                       else str(row[c]) for c in columns))
    console.print(table)
    for row in report["summary"]:
        if row.get("note"):
            console.print(f"[dim]{row['system']}: {row['note']}[/dim]")
    if json_out:
        console.print(f"[dim]rows: {json_out}[/dim]")
    else:
        typer.echo(json.dumps(report["summary"], indent=1))


def register(app: typer.Typer) -> None:
    group(app, "eval", typer.Typer(help="Evaluations.")).command("financebench")(eval_financebench)
