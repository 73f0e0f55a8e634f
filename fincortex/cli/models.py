"""Model commands: tune cpt, merge, eval lm, models list|show|set-default, llm chat|score|serve.

Heavy libraries (torch, transformers, mergekit) are imported inside command bodies so that
`fincortex --help` stays fast.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from fincortex.cli import DbOption, group, make_client
from fincortex.cli.progress import bars

console = Console()
tune_app = typer.Typer(help="Tune models on ingested data.", no_args_is_help=True)
models_app = typer.Typer(help="The model registry: list, show, set the default per kind.", no_args_is_help=True)
llm_app = typer.Typer(help="Chat models: chat, score choices, serve over an OpenAI-compatible API.",
                      no_args_is_help=True)
eval_fallback = typer.Typer(help="Quality evaluations.", no_args_is_help=True)

ModelSpec = Annotated[Optional[str], typer.Option(
    "--model", "-m", help="local | <path> | <registered name> | openai:<base_url>#<model> (env FINCORTEX_LLM).")]


def _fail(exc: Exception) -> None:
    console.print(f"[red]error:[/red] {exc}")
    raise typer.Exit(2)


def tune_cpt(
    base: Annotated[str, typer.Option(help="Model to continue: local | <path> | <registered name>.")] = "local",
    name: Annotated[Optional[str], typer.Option(help="Output model name (default <base>-cpt).")] = None,
    source: Annotated[Optional[list[str]], typer.Option(help="Document source(s), e.g. ectsum; default all.")] = None,
    doc_type: Annotated[Optional[list[str]], typer.Option(help="Document type(s), e.g. transcript.")] = None,
    available_before: Annotated[Optional[str], typer.Option(help="Only chunks public by this ISO time.")] = None,
    max_docs: Annotated[Optional[int], typer.Option(help="Use the first N training documents.")] = None,
    max_steps: Annotated[int, typer.Option(help="Optimizer steps (CPU: keep to a few hundred).")] = 200,
    seq_len: Annotated[int, typer.Option(help="Packed block length in tokens.")] = 256,
    batch_size: int = 4,
    grad_accum: int = 1,
    lr: Annotated[float, typer.Option(help="Peak learning rate (cosine schedule).")] = 5e-5,
    eval_blocks: Annotated[int, typer.Option(help="Held-out blocks scored before/after.")] = 16,
    train_top_layers: Annotated[Optional[int], typer.Option(
        help="Train only the top N decoder blocks (CPU budget); the rest stays frozen.")] = None,
    lora: Annotated[bool, typer.Option(help="Train LoRA adapters (peft) and merge them back.")] = False,
    lora_r: int = 16,
    seed: int = 0,
    overwrite: bool = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    db: DbOption = None,
) -> None:
    """Continue pretraining a causal LM on ingested chunks (held-out documents are never used)."""
    from fincortex.models.merging.cpt import CPTConfig

    client = make_client(db)
    try:
        cfg = CPTConfig(base=base, name=name, sources=source or [], doc_types=doc_type or [],
                        available_before=datetime.fromisoformat(available_before) if available_before else None,
                        max_docs=max_docs, max_steps=max_steps, seq_len=seq_len, batch_size=batch_size,
                        grad_accum=grad_accum, learning_rate=lr, eval_blocks=eval_blocks,
                        train_top_layers=train_top_layers, lora=lora,
                        lora_r=lora_r, seed=seed, overwrite=overwrite)
        with bars() as progress:
            result = client.tune_cpt(cfg, progress=progress)
    except (ValueError, FileNotFoundError, LookupError) as exc:
        _fail(exc)
    if as_json:
        print(json.dumps(result.to_dict(), indent=2))
        return
    console.print(f"[green]trained[/green] {result.name} -> {result.path} ({result.steps} steps, "
                  f"{result.train_blocks} blocks, {result.seconds:.0f}s)")
    if result.heldout_loss_before is not None:
        console.print(f"held-out loss {result.heldout_loss_before:.4f} -> {result.heldout_loss_after:.4f}")


def merge(
    recipe: Annotated[Path, typer.Argument(help="mergekit-style YAML recipe.")],
    out: Annotated[Optional[Path], typer.Option(help="Output folder (default <models_dir>/<name>).")] = None,
    overwrite: bool = False,
    check: Annotated[bool, typer.Option("--check", help="Validate the recipe only.")] = False,
    db: DbOption = None,
) -> None:
    """Merge models from a recipe (linear, task_arithmetic, ties, dare_ties, dare_linear, ...)."""
    from fincortex.models.merging.merge import validate_recipe

    client = make_client(db)
    try:
        if check:
            r = validate_recipe(recipe, client.settings, client.store)
            console.print(f"[green]ok[/green] {recipe}: {r.config['merge_method']} -> {r.name}")
            for written, resolved in r.refs.items():
                console.print(f"  {written} -> {resolved}")
            return
        res = client.merge(recipe, out=out, overwrite=overwrite)
    except (ValueError, FileNotFoundError, LookupError) as exc:
        _fail(exc)
    console.print(f"[green]merged[/green] {res.name} ({res.method}) -> {res.path}\nsha256 {res.sha256}")


def eval_lm(
    models: Annotated[list[str], typer.Argument(help="Models to compare (local | path | registered name).")],
    reference: Annotated[str, typer.Option(help="The instruct model whose chat ability must be kept.")] = "local",
    source: Annotated[Optional[list[str]], typer.Option(help="Held-out chunk source(s), e.g. ectsum.")] = None,
    chunks: Annotated[int, typer.Option(help="Held-out chunks scored for perplexity.")] = 64,
    as_json: Annotated[Optional[Path], typer.Option("--json", help="Also write the rows to this JSON file.")] = None,
    markdown: Annotated[bool, typer.Option(help="Print a markdown table.")] = False,
    db: DbOption = None,
) -> None:
    """Financial perplexity on held-out chunks + chat retention vs the reference, one table."""
    client = make_client(db)
    try:
        with bars() as progress:
            rows = client.evaluate_lm(models, reference=reference, sources=source, n_chunks=chunks,
                                      progress=progress)
    except (ValueError, FileNotFoundError, LookupError) as exc:
        _fail(exc)
    from fincortex.models.merging.lm_eval import rows_to_markdown

    if as_json:
        as_json.write_text(json.dumps([r.to_dict() for r in rows], indent=2))
    if markdown:
        print(rows_to_markdown(rows))
        return
    table = Table(title=f"LM evaluation ({rows[0].fin_tokens} held-out tokens)")
    for col in ("model", "fin ppl", "answer lik.", "format", "chat score", "retention"):
        table.add_column(col, justify="left" if col == "model" else "right")
    for r in rows:
        table.add_row(r.model, f"{r.fin_ppl:.2f}", f"{r.answer_likelihood:.3f}", f"{r.format_pass:.2f}",
                      f"{r.chat_score:.3f}", f"{(r.retention or 0) * 100:.1f}%")
    console.print(table)


def models_list(
    kind: Annotated[Optional[str], typer.Option(help="chat | embedder | reranker")] = None,
    db: DbOption = None,
) -> None:
    """Registered models with their method, parents and default flag."""
    recs = make_client(db).models(kind)
    table = Table(title="models")
    table.add_column("kind")
    table.add_column("name", no_wrap=True)
    table.add_column("default")
    table.add_column("method")
    table.add_column("parents")
    table.add_column("sha256")
    for r in recs:
        table.add_row(r.kind, r.name, "*" if r.is_default else "", r.method,
                      ", ".join(p.get("name", "?") for p in r.parents), (r.sha256 or "")[:8])
    console.print(table)


def models_show(name: str, kind: str = "chat", db: DbOption = None) -> None:
    """Everything recorded about one model (its lineage card if the folder has one)."""
    from fincortex.models.merging.lineage import CARD_MD

    client = make_client(db)
    try:
        rec = client.model(name, kind)
    except LookupError as exc:
        _fail(exc)
    card = Path(rec.path) / CARD_MD
    if card.is_file():
        console.print(card.read_text())
    else:
        console.print_json(json.dumps({k: v for k, v in rec.__dict__.items() if k != "created_at"}, default=str))
    console.print(f"path: {rec.path}\ndefault: {rec.is_default}")


def models_set_default(
    name: str, kind: str = "chat", db: DbOption = None,
    reindex: Annotated[bool, typer.Option(
        "--reindex/--no-reindex", help="embedder: re-embed the corpus and build its index now.")] = True,
) -> None:
    """Make NAME the default model of its kind (`local` then resolves to it; a new default embedder
    re-embeds the corpus and builds a new index)."""
    client = make_client(db)
    try:
        if kind == "embedder" and reindex:
            console.print(f"re-embedding the corpus with {name} and building its index (--no-reindex to skip)")
        rec = client.set_default_model(name, kind, reindex=reindex)
    except (LookupError, RuntimeError) as exc:
        _fail(exc)
    console.print(f"default {rec.kind} model: {rec.name}")
    if kind == "embedder" and not reindex:
        console.print("[yellow]note:[/yellow] the index of the old embedder no longer applies: dense search "
                      "fails until `fincortex index build` embeds the corpus with the new one")


def llm_chat(
    prompt: str,
    model: ModelSpec = None,
    system: Annotated[Optional[str], typer.Option(help="System message.")] = None,
    temperature: float = 0.0,
    max_tokens: int = 256,
    seed: int = 0,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Bypass the DuckDB response cache.")] = False,
    db: DbOption = None,
) -> None:
    """One chat turn with a model (replayed from the cache when the same request was made)."""
    client = make_client(db)
    try:
        llm = client.chat_model(model, cache=not no_cache, temperature=temperature, max_tokens=max_tokens, seed=seed)
        msgs = ([("system", system)] if system else []) + [("human", prompt)]
        reply = llm.invoke(msgs)
    except (ValueError, FileNotFoundError, LookupError, RuntimeError) as exc:
        _fail(exc)
    print(reply.content)
    meta = reply.response_metadata
    console.print(f"[dim]{llm.model_name} · {'cached' if meta.get('cached') else 'generated'} · "
                  f"{meta.get('finish_reason')}[/dim]", highlight=False)


def llm_score(
    prompt: str,
    choice: Annotated[list[str], typer.Option("--choice", "-c", help="A candidate answer (repeat).")],
    model: ModelSpec = None,
    raw: Annotated[bool, typer.Option(help="Plain text continuation instead of a chat reply.")] = False,
    db: DbOption = None,
) -> None:
    """Log-probability of each choice as the model's reply, and the implied distribution."""
    from fincortex.models.llm.base import choice_probabilities

    client = make_client(db)
    try:
        scores = client.chat_model(model).score_choices(prompt, choice, raw=raw)
    except (ValueError, FileNotFoundError, LookupError, RuntimeError) as exc:
        _fail(exc)
    probs = choice_probabilities(scores)
    table = Table()
    table.add_column("choice")
    table.add_column("log-prob", justify="right")
    table.add_column("p (among choices)", justify="right")
    for c in sorted(scores, key=scores.get, reverse=True):
        table.add_row(repr(c), f"{scores[c]:.4f}", f"{probs[c]:.3f}")
    console.print(table)


def llm_serve(
    model: ModelSpec = None,
    name: Annotated[Optional[str], typer.Option(help="Model name clients ask for (default: folder name).")] = None,
    host: str = "127.0.0.1",
    port: int = 8000,
    db: DbOption = None,
) -> None:
    """Serve a local model over an OpenAI-compatible API (/v1/chat/completions, /v1/completions)."""
    from fincortex.models.llm.factory import resolve_local_path
    from fincortex.models.llm.serve import serve

    client = make_client(db)
    spec = model or client.settings.llm
    if spec.startswith("openai:"):
        _fail(ValueError("llm serve serves a local model; the spec names an endpoint"))
    try:
        path = resolve_local_path(client.settings, spec, client.store)
    except (ValueError, FileNotFoundError, LookupError) as exc:
        _fail(exc)
    served = name or path.name
    console.print(f"serving {path} as {served!r} on http://{host}:{port}/v1  (Ctrl-C stops)")
    serve(str(path), served, host=host, port=port)


def llm_cache_clear(db: DbOption = None) -> None:
    """Delete every cached LLM response (replay will regenerate them)."""
    from fincortex.models.llm.cache import LLMCache

    n = LLMCache(make_client(db).store).clear()
    console.print(f"deleted {n} cached responses")


def register(app: typer.Typer) -> None:
    group(app, "tune", tune_app).command("cpt")(tune_cpt)
    app.command("merge")(merge)
    group(app, "eval", eval_fallback).command("lm")(eval_lm)
    models_app.command("list")(models_list)
    models_app.command("show")(models_show)
    models_app.command("set-default")(models_set_default)
    app.add_typer(models_app, name="models")
    llm_app.command("chat")(llm_chat)
    llm_app.command("score")(llm_score)
    llm_app.command("serve")(llm_serve)
    llm_app.command("cache-clear")(llm_cache_clear)
    app.add_typer(llm_app, name="llm")
