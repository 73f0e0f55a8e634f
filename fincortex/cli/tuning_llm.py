"""`fincortex tune llm-reranker`: the FIRST listwise reranker over the chat model (models/tuning/llm_reranker.py).

A file of its own beside cli/tuning.py (which registers it in the `tune` group) so the cross-encoder and
embedder commands stay as they are. Thin: options -> LLMRerankTuneConfig -> the service function.
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from fincortex.cli import DbOption, MirrorOption, console, make_client
from fincortex.cli.options import (
    BudgetOption,
    JsonResultOption,
    LearningRateOption,
    OverwriteOption,
    PairsRunOption,
    SeedOption,
)
from fincortex.cli.progress import bars
from fincortex.cli.tuning import _errors, _fail, _print_result


def tune_llm_reranker(
    base: Annotated[Optional[str], typer.Option(
        help="Chat model to start from: folder or registered chat name (default: the default chat model).")] = None,
    name: Annotated[Optional[str], typer.Option(help="Output model name (default <base>-first).")] = None,
    pairs: PairsRunOption = None,
    negatives: Annotated[int, typer.Option(help="Hard negatives per training list (list = 1 + N passages).")] = 4,
    passage_tokens: Annotated[int, typer.Option(help="Tokens kept of each passage in the prompt.")] = 48,
    max_steps: Annotated[int, typer.Option(help="Optimizer steps (the CPU budget, with --time-budget).")] = 40,
    lists_per_step: Annotated[int, typer.Option(help="Training lists per optimizer step.")] = 1,
    lr: LearningRateOption = 1e-5,
    time_budget: BudgetOption = 10.0,
    threads: Annotated[int, typer.Option(help="torch CPU threads.")] = 1,
    seed: SeedOption = 0,
    set_default: Annotated[bool, typer.Option("--set-default/--no-set-default",
                                              help="Make it what FINCORTEX_RERANKER=llm-first uses.")] = True,
    overwrite: OverwriteOption = False,
    as_json: JsonResultOption = False,
    db: DbOption = None,
    mirror: MirrorOption = None,
) -> None:
    """Fine-tune a copy of the chat model as a FIRST listwise reranker (weighted RankNet on the training pairs)."""
    from fincortex.models.tuning.llm_reranker import LLMRerankTuneConfig, run_llm_rerank_tuning

    client = make_client(db, mirror)
    try:
        config = LLMRerankTuneConfig(
            base=base, name=name, pairs_run=pairs, n_negatives=negatives, max_passage_tokens=passage_tokens,
            max_steps=max_steps, lists_per_step=lists_per_step, learning_rate=lr, time_budget_min=time_budget,
            threads=threads, seed=seed, set_default=set_default, overwrite=overwrite)
        with bars() as progress:
            result = run_llm_rerank_tuning(config, client.settings, client.store, progress)
    except (*_errors(), ValueError) as exc:
        _fail(exc)
    _print_result(result, as_json)
    if not as_json:
        m = result.metrics
        console.print(f"training loss {m['train_loss_first_quarter']:.4f} (first quarter) -> "
                      f"{m['train_loss_last_quarter']:.4f} (last quarter); use it with FINCORTEX_RERANKER=llm-first")
