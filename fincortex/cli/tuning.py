"""Tuning commands: tune embedder | reranker | llm-reranker (cli/tuning_llm.py) | pairs | runs | heldout (models/tuning/embedder.py and friends).

Heavy libraries load inside the command bodies so `fincortex --help` stays fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from fincortex.cli import DbOption, MirrorOption, console, group, make_client
from fincortex.cli.options import (
    BatchSizeOption,
    BudgetOption,
    JsonResultOption,
    LearningRateOption,
    MaxPairsOption,
    MaxStepsOption,
    MinerOption,
    OverwriteOption,
    PairsRunOption,
    SeedOption,
    SourceOption,
    SyntheticModelOption,
)
from fincortex.cli.progress import bars

tune_fallback = typer.Typer(help="Tune models on ingested data.", no_args_is_help=True)


def _fail(exc: Exception) -> None:
    console.print(f"[red]error:[/red] {exc}")
    raise typer.Exit(2)


def _pairs_config(source, max_pairs, negatives: int, seed: int, miner: Optional[str], synthetic_model: Optional[str]):
    from fincortex.models.tuning.pairs import DEFAULT_MAX_PAIRS, DEFAULT_SOURCES, PairsConfig

    caps = dict(DEFAULT_MAX_PAIRS)
    for item in max_pairs or []:
        key, sep, value = item.partition("=")
        if not sep or not value.strip().isdigit():
            raise ValueError(f"--max-pairs {item!r}: expected SOURCE=N, e.g. ectsum=500")
        caps[key.strip()] = int(value)
    return PairsConfig(sources=tuple(source) if source else DEFAULT_SOURCES, max_pairs=caps, n_negatives=negatives,
                       seed=seed, miner=miner, synthetic_model=synthetic_model)


def _errors():
    from fincortex.models.tuning.heldout import HeldoutError
    from fincortex.models.tuning.pairs import TuningDataError
    from fincortex.models.tuning.common import TuningError
    from fincortex.retrieval.beir import BeirFormatError

    return (TuningError, TuningDataError, HeldoutError, BeirFormatError, LookupError, FileNotFoundError)


def _print_result(result, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result.to_dict(), indent=2, default=str))
        return
    m = result.metrics
    console.print(f"[green]trained[/green] {result.kind} {result.name} -> {result.path} ({result.steps} steps"
                  f"{', stopped at the time budget' if result.stopped_early else ''}, {result.seconds / 60:.1f} min, "
                  f"pairs run {result.pairs_run})")
    if "heldout_ndcg@10" in m:
        console.print(f"held-apart TAT-QA nDCG@10 {m['heldout_base_ndcg@10']:.4f} -> {m['heldout_ndcg@10']:.4f}")
    if "heldout_rerank_ndcg@10" in m:
        console.print(f"held-apart TAT-QA top-{m['first_stage_depth']} nDCG@10: first stage "
                      f"{m['heldout_rerank_base_ndcg@10']:.4f} -> reranked {m['heldout_rerank_ndcg@10']:.4f}")
    if m.get("not_default_because"):
        console.print(f"[yellow]not made the default[/yellow]: {m['not_default_because']}")


def tune_embedder(
    base: Annotated[Optional[str], typer.Option(help="Start model: registered name | folder | alias (default: current).")] = None,
    name: Annotated[Optional[str], typer.Option(help="Output model name (default <base>-fin).")] = None,
    pairs: PairsRunOption = None,
    source: SourceOption = None,
    max_pairs: MaxPairsOption = None,
    negatives: Annotated[int, typer.Option(help="Hard negatives mined per pair.")] = 3,
    miner: MinerOption = None,
    synthetic_model: SyntheticModelOption = None,
    epochs: float = 1.0,
    max_steps: MaxStepsOption = None,
    batch_size: BatchSizeOption = 32,
    lr: LearningRateOption = 5e-5,
    max_seq_length: Annotated[int, typer.Option(help="Tokens per text while training.")] = 128,
    loss: Annotated[str, typer.Option(help="mnrl | cached-mnrl")] = "mnrl",
    matryoshka: Annotated[Optional[str], typer.Option(help="Matryoshka dims, e.g. 384,256,128,64.")] = None,
    time_budget: BudgetOption = 17.0,
    seed: SeedOption = 0,
    set_default: Annotated[bool, typer.Option(
        "--set-default", help="Make it the default embedder (re-embeds the corpus and builds its index).")] = False,
    overwrite: OverwriteOption = False,
    as_json: JsonResultOption = False,
    db: DbOption = None,
    mirror: MirrorOption = None,
) -> None:
    """Fine-tune the embedder on pairs from TAT-QA, headlines, ECTSum (and synthetic questions)."""
    from fincortex.models.tuning.embedder import EmbedTuneConfig

    client = make_client(db, mirror)
    try:
        dims = tuple(int(d) for d in matryoshka.split(",")) if matryoshka else ()
        config = EmbedTuneConfig(
            base=base, name=name, pairs_run=pairs,
            pairs=_pairs_config(source, max_pairs, negatives, seed, miner, synthetic_model), epochs=epochs,
            max_steps=max_steps, batch_size=batch_size, learning_rate=lr, max_seq_length=max_seq_length, loss=loss,
            matryoshka_dims=dims, time_budget_min=time_budget, seed=seed, set_default=set_default,
            overwrite=overwrite)
        with bars() as progress:
            result = client.tune_embedder(config, progress=progress, reindex=set_default)
    except (*_errors(), ValueError) as exc:
        _fail(exc)
    _print_result(result, as_json)


def tune_reranker(
    embedder: Annotated[Optional[str], typer.Option(
        help="Start from this embedder (default: the default embedder, else the newest tuned one).")] = None,
    name: Annotated[Optional[str], typer.Option(help="Output model name (default <embedder>-reranker).")] = None,
    pairs: PairsRunOption = None,
    source: SourceOption = None,
    max_pairs: MaxPairsOption = None,
    negatives: Annotated[int, typer.Option(help="Hard negatives per pair (label-0 rows).")] = 3,
    train_pairs: Annotated[Optional[int], typer.Option(
        help="Use at most N training pairs (default: all of the run).")] = None,
    epochs: Annotated[float, typer.Option(help="Passes over the rows; --time-budget stops early.")] = 2.0,
    max_steps: MaxStepsOption = None,
    batch_size: BatchSizeOption = 32,
    lr: LearningRateOption = 5e-5,
    max_length: Annotated[int, typer.Option(help="Tokens per (query, passage) while training.")] = 128,
    eval_queries: Annotated[int, typer.Option(help="Held-apart queries scored after training (x20 passages).")] = 60,
    time_budget: BudgetOption = 17.0,
    seed: SeedOption = 0,
    set_default: Annotated[bool, typer.Option(
        "--set-default/--no-set-default",
        help="Make it the default reranker when default search scores higher with it on held-apart queries.")] = True,
    force_default: Annotated[bool, typer.Option(
        "--force-default", help="Make it the default even when it does not beat the first stage.")] = False,
    if_missing: Annotated[bool, typer.Option(
        "--if-missing", help="Do nothing when a default reranker exists (the demo's cached step).")] = False,
    overwrite: OverwriteOption = False,
    as_json: JsonResultOption = False,
    db: DbOption = None,
    mirror: MirrorOption = None,
) -> None:
    """Train a cross-encoder reranker from the (tuned) embedder on the same pairs; the default if search scores higher with it."""
    from fincortex.models.tuning.reranker import RerankTuneConfig

    client = make_client(db, mirror)
    if if_missing:
        from fincortex.models import registry

        current = registry.get_default(client.store, "reranker")
        if current is not None and Path(current.path).is_dir():
            console.print(f"default reranker {current.name} exists ({current.path}): nothing to do")
            return
    try:
        config = RerankTuneConfig(
            embedder=embedder, name=name, pairs_run=pairs,
            pairs=_pairs_config(source, max_pairs, negatives, seed, None, None), n_negatives=negatives,
            max_pairs=train_pairs, epochs=epochs, max_steps=max_steps, batch_size=batch_size, learning_rate=lr,
            max_length=max_length, eval_queries=eval_queries, time_budget_min=time_budget, seed=seed, set_default=set_default,
            force_default=force_default, overwrite=overwrite)
        with bars() as progress:
            result = client.tune_reranker(config, progress=progress)
    except (*_errors(), ValueError) as exc:
        _fail(exc)
    _print_result(result, as_json)


def tune_pairs(
    source: SourceOption = None,
    max_pairs: MaxPairsOption = None,
    negatives: int = 3,
    miner: MinerOption = None,
    synthetic_model: SyntheticModelOption = None,
    seed: SeedOption = 0,
    db: DbOption = None,
    mirror: MirrorOption = None,
) -> None:
    """Build and store a pairs run only (tune embedder|reranker --pairs RUN_ID replays it)."""
    client = make_client(db, mirror)
    try:
        with bars() as progress:
            run = client.build_training_pairs(_pairs_config(source, max_pairs, negatives, seed, miner,
                                                            synthetic_model), progress=progress)
    except (*_errors(), ValueError) as exc:
        _fail(exc)
    console.print_json(json.dumps(run.describe(), default=str))


def tune_runs(db: DbOption = None) -> None:
    """Stored pairs runs, newest first."""
    from rich.table import Table

    table = Table(title="pairs runs")
    for column in ("run", "created", "seed", "miner", "train pairs", "eval pairs", "notes"):
        table.add_column(column)
    for run in make_client(db).training_pair_runs():
        s = run["summary"]
        table.add_row(run["run_id"], f"{run['created_at']:%Y-%m-%d %H:%M}", str(run["seed"]), run["miner"]["name"],
                      ", ".join(f"{k} {v}" for k, v in s["train"].items()), str(sum(s["eval"].values())),
                      "; ".join(f"{k}: {v}" for k, v in s.get("notes", {}).items()))
    console.print(table)


def tune_heldout(
    out: Annotated[Path, typer.Argument(help="Output BEIR folder.")],
    db: DbOption = None,
    mirror: MirrorOption = None,
) -> None:
    """Write the held-apart TAT-QA split as a BEIR folder (for `fincortex eval retrieval --beir`)."""
    try:
        summary = make_client(db, mirror).export_heldout(out)
    except _errors() as exc:
        _fail(exc)
    console.print(f"held-apart split {summary['split_id']}: {summary['n_contexts']} contexts, {summary['n_docs']} "
                  f"documents, {summary['n_queries']} queries -> {summary['out']}")


def register(app: typer.Typer) -> None:
    tune = group(app, "tune", tune_fallback)
    tune.command("embedder")(tune_embedder)
    tune.command("reranker")(tune_reranker)
    from fincortex.cli.tuning_llm import tune_llm_reranker  # here: tuning_llm imports this module's helpers

    tune.command("llm-reranker")(tune_llm_reranker)
    tune.command("pairs")(tune_pairs)
    tune.command("runs")(tune_runs)
    tune.command("heldout")(tune_heldout)
