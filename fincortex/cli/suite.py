"""Suite commands: `eval suite` (one model configuration through every area), `eval compare` (two runs,
paired intervals, verdicts, HTML report), `eval runs`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from fincortex.cli import DbOption, MirrorOption, group, make_client
from fincortex.cli.progress import bars

console = Console()
eval_fallback = typer.Typer(help="Quality evaluations.", no_args_is_help=True)


def _fail(exc: Exception) -> None:
    console.print(f"[red]error:[/red] {exc}")
    raise typer.Exit(2)


def _fmt(v) -> str:
    return "—" if v is None else f"{v:.4f}" if isinstance(v, float) else str(v)


def eval_suite(
    profile: Annotated[str, typer.Option(help="full (all dev data) or quick.")] = "full",
    quick: Annotated[bool, typer.Option("--quick", help="The small fixed subset of the dev data (profile quick).")] = False,
    embedder: Annotated[Optional[str], typer.Option(help="Registered name, folder or id (default: what search uses).")] = None,
    reranker: Annotated[Optional[str], typer.Option(help="Registered name, folder, llm-first/llm-icr, or none.")] = None,
    chat_model: Annotated[Optional[str], typer.Option("--chat-model", help="local | <path> | <registered name> | openai:<url>#<model>.")] = None,
    part: Annotated[Optional[list[str]], typer.Option("--part", help="Only these parts (repeat): retrieval, financebench, forecasting, trading, lm.")] = None,
    label: Annotated[str, typer.Option(help="A name for the run in lists and reports.")] = "",
    resume: Annotated[Optional[str], typer.Option("--resume", help="Continue this run id where it stopped.")] = None,
    no_reuse: Annotated[bool, typer.Option("--no-reuse", help="Recompute units even when an earlier run has them.")] = False,
    threads: Annotated[int, typer.Option(help="CPU threads for model inference.")] = 1,
    db: DbOption = None,
    mirror: MirrorOption = None,
) -> None:
    """Run the evaluation suite for one model configuration on the mirror's dev data; stored in DuckDB."""
    from fincortex.suite import SuiteError

    try:
        with bars() as progress:
            run = make_client(db, mirror).eval_suite(profile=profile, quick=quick, embedder=embedder, reranker=reranker,
                                                     chat_model=chat_model, parts=part, label=label, run_id=resume,
                                                     reuse=not no_reuse, threads=threads, progress=progress)
    except (SuiteError, ValueError, LookupError, FileNotFoundError) as exc:
        _fail(exc)
    table = Table(title=f"suite run {run['run_id']} ({run['profile']}) · {run['wall_s']:.0f} s")
    for column in ("unit", "headline", "wall s", "reused from"):
        table.add_column(column)
    for unit, u in run["units"].items():
        table.add_row(unit, _headline(u), f"{u.wall_s:.1f}", u.reused_from or "")
    console.print(table)
    console.print(f"compare with: fincortex eval compare OTHER_RUN {run['run_id']} --html report.html")


def _headline(u) -> str:
    s = u.summary
    if u.part == "retrieval":
        return f"nDCG@10 {s['primary']} {s['modes'][s['primary']]['ndcg@10']:.4f} (bm25 {s['modes']['bm25']['ndcg@10']:.4f})"
    if u.part == "financebench":
        row = {r["system"]: r for r in s["systems"]}.get("analyst", {})
        return (f"analyst page@5 {_fmt(row.get('page_recall@5'))} · doc@5 {_fmt(row.get('doc_recall@5'))} · "
                f"numeric {_fmt(row.get('numeric_accuracy'))} ({s['questions']} questions)")
    if u.part == "forecasting":
        t = s["table"]
        return f"Brier {t['default']['overall']:.4f} (naive {t['naive']['overall']:.4f})"
    if u.part == "trading":
        m = s["metrics"]
        return (f"Sharpe ensemble {_fmt(m['ensemble']['sharpe'])} · sma {_fmt(m['sma']['sharpe'])} · "
                f"momentum {_fmt(m['momentum']['sharpe'])} · buy-and-hold {_fmt(m['buyhold']['sharpe'])}")
    if u.part == "lm" and s.get("skipped"):
        return f"skipped: {s['skipped']}"
    if u.part == "lm":
        return f"fin ppl {s['fin_ppl']:.2f} · chat score {s['chat_score']:.3f} · retention {_fmt(s['retention'])}"
    return ""


def eval_compare(
    run_a: Annotated[str, typer.Argument(help="The baseline run id.")],
    run_b: Annotated[str, typer.Argument(help="The run compared against it.")],
    html: Annotated[Optional[Path], typer.Option("--html", help="Write the HTML report (plots) here.")] = None,
    db: DbOption = None,
) -> None:
    """Paired differences (B - A) with 95% intervals per unit and a verdict per area."""
    from fincortex.suite import SuiteRunError

    try:
        comparison = make_client(db).eval_compare(run_a, run_b, html=html)
    except SuiteRunError as exc:
        _fail(exc)
    table = Table(title=f"B {run_b} against A {run_a}")
    for column in ("unit", "metric", "A", "B", "B - A", "95% CI", "n", "verdict"):
        table.add_column(column)
    for r in comparison["rows"]:
        table.add_row(r.unit, r.metric, _fmt(r.a), _fmt(r.b), _fmt(r.diff), f"[{_fmt(r.ci_low)}, {_fmt(r.ci_high)}]",
                      _fmt(r.n), r.verdict)
    console.print(table)
    for area, verdict in comparison["areas"].items():
        console.print(f"{area}: [bold]{verdict}[/bold]")
    if comparison["only_in"]["a"] or comparison["only_in"]["b"]:
        console.print(f"[yellow]not compared (only one run has them):[/yellow] {comparison['only_in']}")
    if html:
        console.print(f"report written to {comparison['html']}")


def eval_runs(limit: Annotated[int, typer.Option(help="How many, newest first.")] = 20, db: DbOption = None) -> None:
    """Suite runs stored in this database."""
    table = Table(title="suite runs")
    for column in ("run id", "label", "profile", "status", "units", "wall s", "created"):
        table.add_column(column)
    for r in make_client(db).eval_suite_runs(limit):
        table.add_row(r["run_id"], r["label"] or "", r["profile"], r["status"], str(r["units"]),
                      f"{r['wall_s']:.0f}" if r["wall_s"] is not None else "", str(r["created_at"])[:19])
    console.print(table)


def register(app: typer.Typer) -> None:
    evals = group(app, "eval", eval_fallback)
    evals.command("suite")(eval_suite)
    evals.command("compare")(eval_compare)
    evals.command("runs")(eval_runs)
