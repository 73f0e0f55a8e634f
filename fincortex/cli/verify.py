"""`fincortex verify "CLAIM" [--as-of DATE] [--json]`: a claim checked against the ingested documents."""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer

from fincortex.cli import DbOption, MirrorOption, console, make_client


def register(app: typer.Typer) -> None:
    @app.command()
    def verify(
        claim: Annotated[str, typer.Argument(help="The claim, e.g. \"3M's FY2022 net sales were $34,229 million\".")],
        as_of: Annotated[Optional[str], typer.Option("--as-of", help="Point in time (YYYY-MM-DD[THH:MM], UTC): only documents public by then are read. Default: now.")] = None,
        model: Annotated[Optional[str], typer.Option("--model", help="Chat model that phrases the explanation (default: settings.llm).")] = None,
        k: Annotated[int, typer.Option("--k", help="Passages read.")] = 10,
        no_phrase: Annotated[bool, typer.Option("--no-phrase", help="Skip the chat model: the explanation is the facts.")] = False,
        json_out: Annotated[bool, typer.Option("--json", help="Print the full verification as JSON.")] = False,
        db: DbOption = None,
        mirror: MirrorOption = None,
    ) -> None:
        """Supported / refuted / not enough evidence, with an explanation and citations (document, page, chunk)."""
        from rich.markup import escape

        from fincortex.retrieval.searcher import EmptyIndexError, IndexNotBuiltError

        client = make_client(db, mirror)
        try:
            result = client.verify(claim, as_of=as_of, model=model, k=k, phrase=not no_phrase)
        except (ValueError, EmptyIndexError, IndexNotBuiltError) as exc:
            console.print(f"[red]error:[/red] {escape(str(exc))}")
            raise typer.Exit(2) from None
        if json_out:
            typer.echo(json.dumps(result.as_dict(), indent=2, default=str))
            return
        colour = {"supported": "green", "refuted": "red"}.get(result.verdict, "yellow")
        console.print(f"\n[bold {colour}]{result.verdict.upper()}[/bold {colour}]  {escape(result.explanation)}\n")
        if result.explanation != result.facts:
            console.print(f"[dim]facts: {escape(result.facts)}[/dim]")
        for c in result.citations:
            page = f"p. {c['page']}" if c.get("page") else "page unknown"
            console.print(f"  [cyan]chunk {c['chunk_id']}[/cyan]  {escape(str(c.get('document') or ''))}  {page}  "
                          f"(available {str(c['available_at'])[:10]})")
        for note in result.notes:
            console.print(f"  [dim]note: {escape(note)}[/dim]")
        console.print(f"[dim]as_of {result.as_of} · company {result.company or '(none named)'} · run {result.run_id} "
                      f"· {result.seconds:.1f}s[/dim]")
