"""Agent commands: `ask` (analyst with citations), `forecast` (ForecastBench evaluation), `agent-audit`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from fincortex.cli import DbOption, MirrorOption, console, make_client
from fincortex.cli.progress import bars


def _split(value: Optional[str]) -> Optional[list[str]]:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def register(app: typer.Typer) -> None:
    @app.command()
    def ask(
        question: Annotated[str, typer.Argument(help="The question, e.g. 'What was the 2019 revenue?'")],
        as_of: Annotated[Optional[str], typer.Option("--as-of", help="Point in time (YYYY-MM-DD[THH:MM], UTC): nothing published later is used. Default: now.")] = None,
        tickers: Annotated[Optional[str], typer.Option("--tickers", help="Restrict to tickers, comma-separated.")] = None,
        thread: Annotated[Optional[str], typer.Option("--thread", help="Continue the conversation with this thread id.")] = None,
        model: Annotated[Optional[str], typer.Option("--model", help="Chat model spec (default: settings.llm).")] = None,
        k: Annotated[int, typer.Option("--k", help="Hits per search query.")] = 8,
        sources: Annotated[Optional[str], typer.Option("--sources", help="Restrict to document sources, comma-separated (e.g. tatqa).")] = None,
        json_out: Annotated[bool, typer.Option("--json", help="Print the full answer as JSON.")] = False,
        db: DbOption = None,
        mirror: MirrorOption = None,
    ) -> None:
        """Answer a question from the ingested documents, citing chunk ids (citations checked)."""
        from fincortex.retrieval.searcher import EmptyIndexError

        client = make_client(db, mirror)

        def step(event) -> None:  # a ProgressEvent per finished node: message = the node, item = its delta
            node, delta = event.message, event.item or {}
            if not json_out:
                detail = {"plan": lambda: f"{len(delta.get('queries', []))} queries",
                          "retrieve": lambda: f"{len(delta.get('hits', []))} chunks",
                          "compress": lambda: f"{len(delta.get('passages', []))} passages",
                          "check_citations": lambda: f"{len(delta.get('check', {}).get('citations', []))} valid citations, "
                                                     f"{len(delta.get('check', {}).get('flags', []))} flags"}.get(node)
                console.print(f"[dim]· {node}{': ' + detail() if detail else ''}[/dim]")

        try:
            result = client.ask(question, as_of=as_of, tickers=_split(tickers), thread_id=thread, model=model, k=k,
                                sources=tuple(_split(sources)) if sources else None, progress=step)
        except (ValueError, EmptyIndexError) as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from None
        if json_out:
            typer.echo(json.dumps(result.as_dict(), indent=2, default=str))
            return
        from rich.markup import escape  # answers contain [chunk N]: print them literally

        console.print(f"\n[bold]{escape(result.answer or '(empty answer)')}[/bold]\n")
        for c in result.citations:
            how = " (attributed by the checker)" if c.get("attributed") else ""
            console.print(f"  [cyan]chunk {c['chunk_id']}[/cyan]  {escape(c['title'] or '')}  "
                          f"({c['source']}, {c['available_at']}){how}")
        for f in result.flags:
            console.print(f"  [yellow]{f['kind']}[/yellow]: {escape(f['sentence'][:100])}  ({escape(f['detail'])})")
        for note in result.notes:
            console.print(f"  [dim]note: {escape(note)}[/dim]")
        console.print(f"[dim]as_of {result.as_of} · thread {result.thread_id} (--thread to follow up) · run {result.run_id}[/dim]")

    forecast_app = typer.Typer(help="Forecast ForecastBench question sets; `forecast history import DIR` first.")
    history_app = typer.Typer(help="Point-in-time history of ForecastBench questions and outcomes.")
    forecast_app.add_typer(history_app, name="history")
    app.add_typer(forecast_app, name="forecast")

    @history_app.command("import")
    def history_import(
        folder: Annotated[Path, typer.Argument(help="A folder laid out like ForecastBench's: question_sets/, resolution_sets/.")],
        db: DbOption = None,
    ) -> None:
        """Import every round: each outcome becomes usable at its resolution date + the source's lag."""
        from fincortex.agents.forecasting.forecastbench import ForecastBenchError

        try:
            out = make_client(db, None).forecast_history_import(folder)
        except ForecastBenchError as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from None
        for name, counts in out["rounds"].items():
            console.print(f"{name}: {counts['questions']} questions, {counts['outcomes']} outcome rows")
        console.print(f"publication lags (days): {out['lags_days']}")

    @history_app.command("audit")
    def history_audit(db: DbOption = None) -> None:
        """Re-check every stored stack fit: only outcomes public before its due date (exit 3 if not)."""
        report = make_client(db, None).forecast_history_audit()
        console.print_json(json.dumps(report, default=str))
        if not report["clean"]:
            raise typer.Exit(3)

    @forecast_app.callback(invoke_without_command=True)
    def forecast(
        ctx: typer.Context,
        questions: Annotated[Optional[Path], typer.Option("--questions", help="ForecastBench question set JSON (e.g. .../question_sets/2025-10-26-llm.json).")] = None,
        resolutions: Annotated[Optional[Path], typer.Option("--resolutions", help="The matching resolution set JSON (scores the round).")] = None,
        submission: Annotated[Optional[Path], typer.Option("--submission", help="Write a ForecastBench submission file (default forecaster).")] = None,
        members: Annotated[Optional[str], typer.Option("--members", help="Forecaster members, comma-separated (default: market,base_rate,own_history,series; add llm_direct, reasoning).")] = None,
        organization: Annotated[str, typer.Option("--organization", help="Submission: organization.")] = "fincortex",
        limit: Annotated[Optional[int], typer.Option("--limit", help="Forecast only N targets (spread over sources).")] = None,
        sources: Annotated[Optional[str], typer.Option("--sources", help="Question sources, comma-separated (e.g. yfinance,polymarket).")] = None,
        model: Annotated[Optional[str], typer.Option("--model", help="Chat model spec(s), comma-separated = ensemble (default: settings.llm).")] = None,
        samples: Annotated[int, typer.Option("--samples", help="Reasoning samples per model.")] = 3,
        calibration: Annotated[str, typer.Option("--calibration", help="platt | isotonic | none (fitted on resolved-before-date history only).")] = "platt",
        no_retrieval: Annotated[bool, typer.Option("--no-retrieval", help="The agent forecasts without searching.")] = False,
        skip_blind: Annotated[bool, typer.Option("--skip-blind-baseline", help="Do not run the agent-without-retrieval baseline.")] = False,
        threads: Annotated[Optional[int], typer.Option("--threads", help="torch CPU threads for a local model.")] = None,
        json_path: Annotated[Optional[Path], typer.Option("--json", help="Write the report as JSON here.")] = None,
        plot: Annotated[Optional[Path], typer.Option("--plot", help="Write the reliability diagram PNG here.")] = None,
        db: DbOption = None,
        mirror: MirrorOption = None,
    ) -> None:
        """Forecast a ForecastBench round. With --submission/--members: the default forecaster (members
        stacked point-in-time, ForecastBench's scoring); otherwise the LLM agent's evaluation (--resolutions)."""
        from rich.table import Table

        from fincortex.agents.forecasting.forecastbench import ForecastBenchError

        if ctx.invoked_subcommand:
            return
        if questions is None:
            console.print("[red]error:[/red] --questions FILE is required (or a subcommand: history import DIR)")
            raise typer.Exit(2)
        if submission is not None or members is not None:
            from fincortex.cli.forecast_round import run_default_forecaster

            run_default_forecaster(make_client(db, mirror), questions, resolutions, submission, members, model,
                                   organization, not no_retrieval, json_path)
            return
        if resolutions is None:
            console.print("[red]error:[/red] the agent evaluation needs --resolutions (or give --submission OUT.json)")
            raise typer.Exit(2)

        if calibration not in ("platt", "isotonic", "none"):
            console.print(f"[red]error:[/red] --calibration {calibration!r}: choose platt, isotonic or none")
            raise typer.Exit(2)
        client = make_client(db, mirror)
        try:
            with bars() as progress:
                report = client.forecast(
                    questions, resolutions, limit=limit, sources=_split(sources), models=_split(model),
                    calibration=None if calibration == "none" else calibration, no_retrieval_baseline=not skip_blind,
                    json_out=json_path, plot=plot, cpu_threads=threads, samples=samples, retrieval=not no_retrieval,
                    progress=progress)
        except (ForecastBenchError, ValueError) as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from None
        _print_report(report, console, Table)
        if json_path:
            console.print(f"report: {json_path}")
        if plot:
            console.print(f"reliability diagram: {plot}")

    @app.command("agent-audit")
    def agent_audit(
        run_id: Annotated[str, typer.Argument(help="An agent run id (printed by ask / stored with each forecast).")],
        db: DbOption = None,
    ) -> None:
        """Re-check an agent run's chunks against the chunks table: nothing after its as_of."""
        client = make_client(db, None)
        try:
            report = client.agent_audit(run_id)
        except KeyError as exc:
            console.print(f"[red]error:[/red] {exc.args[0]}")
            raise typer.Exit(2) from None
        console.print_json(json.dumps(report, default=str))
        if not report["clean"]:
            raise typer.Exit(3)


def _print_report(report, console, Table) -> None:
    cal = report.calibration
    title = (f"ForecastBench {report.forecast_date:%Y-%m-%d}: {report.n_targets} targets, {report.wall_s:.0f} s "
             f"({report.n_targets / max(report.wall_s, 1e-9) * 60:.1f} questions/min)")
    table = Table(title=title)
    for col in ("method", "n", "Brier", "log loss", "ECE", "reliability", "resolution", "uncertainty"):
        table.add_column(col, justify="left" if col == "method" else "right")
    for method, m in report.metrics.items():
        o = m["overall"]
        table.add_row(method, str(o["n"]), f"{o['brier']:.4f}", f"{o['log_loss']:.4f}", f"{o['ece']:.4f}",
                      f"{o['reliability']:.4f}", f"{o['resolution']:.4f}", f"{o['uncertainty']:.4f}")
    console.print(table)
    by_source = Table(title="Brier by question source (n)")
    methods = list(report.metrics)
    by_source.add_column("source")
    for method in methods:
        by_source.add_column(method, justify="right")
    sources = sorted({s for m in report.metrics.values() for s in m["by_source"]})
    for source in sources:
        cells = []
        for method in methods:
            s = report.metrics[method]["by_source"].get(source)
            cells.append(f"{s['brier']:.3f} ({s['n']})" if s else "—")
        by_source.add_row(source, *cells)
    console.print(by_source)
    if cal.get("fitted"):
        console.print(f"calibration: {cal['method']} fitted on {cal['n_train']} forecasts resolved by "
                      f"{cal['max_resolution_date']} (< {report.forecast_date:%Y-%m-%d}); 'agent_raw' = before calibration")
    else:
        console.print(f"[yellow]{cal.get('reason') or 'calibration off'}[/yellow]")
    moved = report.as_dict()["moved_from_market"]
    if moved:
        console.print(f"agent vs freeze-time market value: mean |moved| {moved['mean_abs']:.3f} over {moved['n']} targets")
    console.print(f"[dim]eval {report.eval_id} stored in forecast_evals / forecasts[/dim]")
