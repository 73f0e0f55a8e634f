"""Typer option declarations that more than one command of the retrieval and tuning areas take.

Why a module: the same flag (`--json`, `--seed`, `--pairs`, ...) was declared again in each command
(cli/retrieval.py, cli/tuning.py, cli/tuning_llm.py), so a help text fixed in one place drifted from
the others. Each alias carries the flag's name(s) and help; the default stays on the parameter, so
commands that share a flag but not its default (e.g. `--lr`, `--time-budget`) still share one
declaration. `--db` and `--mirror` live in fincortex/cli/__init__.py (every area takes them).
Nothing heavy is imported here: `fincortex --help` stays fast.
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

# --- output -------------------------------------------------------------------------------------
JsonFlag = Annotated[bool, typer.Option("--json")]  # index build | status | calibrate: the record as JSON
JsonResultOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]

# --- training pairs (tune embedder | reranker | llm-reranker | pairs) -----------------------------
SourceOption = Annotated[Optional[list[str]], typer.Option(
    "--source", help="Pair source (repeat): tatqa, headlines, ectsum, synthetic. Default: tatqa, headlines, ectsum.")]
MaxPairsOption = Annotated[Optional[list[str]], typer.Option(
    "--max-pairs", help="Cap per source as SOURCE=N (repeat), e.g. --max-pairs ectsum=500.")]
PairsRunOption = Annotated[Optional[str], typer.Option("--pairs", help="Replay a stored pairs run (see `tune runs`).")]
MinerOption = Annotated[Optional[str], typer.Option(
    "--miner", help="Embedder that mines negatives (default: current).")]
SyntheticModelOption = Annotated[Optional[str], typer.Option(
    "--synthetic-model", help="Chat model for synthetic questions.")]

# --- training run (tune embedder | reranker | llm-reranker) ---------------------------------------
BudgetOption = Annotated[float, typer.Option(
    "--time-budget", help="Minutes for the whole command; training stops early to finish inside it.")]
MaxStepsOption = Annotated[Optional[int], typer.Option("--max-steps", help="Optimizer steps (overrides --epochs).")]
BatchSizeOption = Annotated[int, typer.Option("--batch-size")]
LearningRateOption = Annotated[float, typer.Option("--lr")]
SeedOption = Annotated[int, typer.Option("--seed")]
OverwriteOption = Annotated[bool, typer.Option("--overwrite/--no-overwrite")]
