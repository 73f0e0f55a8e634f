"""`fincortex tune llm-reranker`: fine-tune a copy of the chat model as a FIRST listwise reranker on the
corpus's training pairs, with the weighted RankNet loss of the FIRST papers; registered as kind
'llm-reranker' with lineage (parent: the chat model; data: the pairs run) and, by default, made the
default, so FINCORTEX_RERANKER=llm-first uses it.

One training list = the pair's positive and up to `n_negatives` mined hard negatives, shuffled into the
identifier slots of the FIRST prompt (so the model cannot learn "A is best"). Its scores are the
first-token logits of the identifiers (exactly what `FirstReranker.score` reads). Loss (FIRST eq. 2):
sum over teacher-ordered pairs (i better than j) of 1/(r_i + r_j) * log(1 + exp(s_j - s_i)); the pairs
carry one judged positive, so the teacher order is the positive first (rank 1), then the negatives in
mining order (ranks 2..), and the judged pairs are (positive, negative): a negative the miner found
closer to the query weighs more. Full fine-tuning (135M parameters) with AdamW on the CPU, one list per
forward pass; the budget is --max-steps and --time-budget (minutes), whichever ends first.
Quality is measured separately on the held-apart TAT-QA split (benchmarks/rerankers.py): evaluating a
listwise LLM reranker costs minutes per hundred queries on a CPU, so the command does not do it itself.
"""

from __future__ import annotations

import random
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from fincortex.config import Settings
from fincortex.models.tuning.common import TuningError, output_folder, publish, split_of
from fincortex.models.tuning.embedder import TuneResult, get_pairs
from fincortex.models.tuning.pairs import PairsConfig, PairsRun, list_runs, require_corpus
from fincortex.progress import Progress, report
from fincortex.store import Store

STAGE = "train llm reranker"


@dataclass
class LLMRerankTuneConfig:
    base: str | None = None  # chat model to start from (path or registered chat name); None = the default one
    name: str | None = None  # output name (default <base>-first)
    pairs_run: str | None = None  # default: the newest stored pairs run, else a new one is built
    pairs: PairsConfig = field(default_factory=PairsConfig)  # when a new run must be built
    n_negatives: int = 4  # hard negatives per list (list = 1 + n candidates)
    max_passage_tokens: int = 48  # each candidate cut to this many tokens (the prompt stays ~400 tokens)
    max_steps: int = 40
    lists_per_step: int = 1  # gradient accumulation
    learning_rate: float = 1e-5
    time_budget_min: float = 10.0
    threads: int | None = 1  # torch CPU threads (a shared 2-core machine); None = torch's default
    seed: int = 0
    set_default: bool = True
    overwrite: bool = False

    def check(self) -> None:
        for key in ("n_negatives", "max_passage_tokens", "max_steps", "lists_per_step"):
            if getattr(self, key) < 1:
                raise TuningError(f"{key} must be >= 1, got {getattr(self, key)}")
        if self.n_negatives + 1 > 26:
            raise TuningError(f"n_negatives must be <= 25 (26 identifiers), got {self.n_negatives}")
        if not 0 < self.learning_rate < 1:
            raise TuningError(f"learning_rate must be in (0, 1), got {self.learning_rate}")
        if self.time_budget_min <= 0:
            raise TuningError(f"time_budget_min must be > 0, got {self.time_budget_min}")
        if self.threads is not None and self.threads < 1:
            raise TuningError(f"threads must be >= 1, got {self.threads}")


def weighted_ranknet(scores, teacher_ranks):
    """FIRST's loss over the (positive, negative) pairs: scores[0] is the positive (teacher rank 1),
    scores[k] a negative of teacher rank teacher_ranks[k]; weight 1/(r_i + r_j), normalised to sum 1."""
    import torch

    ranks = torch.as_tensor(teacher_ranks, dtype=scores.dtype, device=scores.device)
    weights = 1.0 / (ranks[0] + ranks[1:])
    losses = torch.nn.functional.softplus(scores[1:] - scores[0])  # log(1 + exp(s_neg - s_pos))
    return (weights * losses).sum() / weights.sum()


def pairs_run_for(settings: Settings, store: Store, config: LLMRerankTuneConfig, progress: Progress | None) -> PairsRun:
    run_id = config.pairs_run
    if run_id is None:
        newest = list_runs(store, limit=1)
        run_id = newest[0]["run_id"] if newest else None
    return get_pairs(settings, store, run_id, config.pairs, progress)


def base_model(settings: Settings, store: Store, spec: str | None) -> Path:
    from fincortex.models.llm.factory import resolve_local_path

    try:
        return Path(resolve_local_path(settings, spec or "local", store)).resolve()
    except Exception as exc:
        raise TuningError(f"no local chat model to start the LLM reranker from ({spec or 'the default'}): {exc}") from exc


def run_llm_rerank_tuning(config: LLMRerankTuneConfig, settings: Settings, store: Store,
                          progress: Progress | None = None) -> TuneResult:
    import torch

    from fincortex.models.rerankers.common import load_fresh, unload_all
    from fincortex.models.rerankers.first import FirstReranker

    started = time.monotonic()
    config.check()
    require_corpus(store)
    base = base_model(settings, store, config.base)
    name = config.name or f"{base.name}-first"
    out = output_folder(settings, name, config.overwrite)
    run = pairs_run_for(settings, store, config, progress)
    pairs = [p for p in run.split("train") if p.negatives]
    if not pairs:
        raise TuningError(f"pairs run {run.run_id} has no training pair with hard negatives: build one with "
                          "`fincortex tune pairs` (negatives > 0)")
    if config.threads:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)
    rng.shuffle(pairs)
    ranker = FirstReranker(base, config.max_passage_tokens, loaded=load_fresh(base, "sdpa", device="cpu"))
    model = ranker.loaded.model
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=0.0)
    deadline = started + config.time_budget_min * 60 - 30  # keep time to save and register
    history: list[dict] = []
    step, seen = 0, 0
    report(progress, STAGE, 0, config.max_steps)
    while step < config.max_steps and time.monotonic() < deadline:
        total = 0.0
        for _ in range(config.lists_per_step):
            pair = pairs[seen % len(pairs)]
            seen += 1
            candidates = [pair.positive, *pair.negatives[: config.n_negatives]]
            slots = list(range(len(candidates)))
            rng.shuffle(slots)  # slots[k] = identifier position of teacher candidate k
            placed = [""] * len(candidates)
            for k, slot in enumerate(slots):
                placed[slot] = candidates[k]
            logits = ranker.label_logits(ranker.prompt_ids(pair.query, placed), len(placed))
            loss = weighted_ranknet(logits[torch.tensor(slots)], list(range(1, len(candidates) + 1)))
            (loss / config.lists_per_step).backward()
            total += float(loss.detach())
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        history.append({"step": step, "loss": round(total / config.lists_per_step, 4)})
        report(progress, STAGE, step, config.max_steps, message=f"loss {history[-1]['loss']:.3f}")
    stopped_early = step < config.max_steps
    tmp = out.with_name(out.name + ".training")
    shutil.rmtree(tmp, ignore_errors=True)
    model.eval()
    model.save_pretrained(tmp)
    ranker.loaded.tokenizer.save_pretrained(tmp)
    publish(tmp, out)
    unload_all()  # an --overwrite must not leave the old weights cached for search
    losses = [h["loss"] for h in history]
    head = losses[: max(1, len(losses) // 4)]
    tail = losses[-max(1, len(losses) // 4):]
    metrics = {"train_loss_first_quarter": round(sum(head) / len(head), 4),
               "train_loss_last_quarter": round(sum(tail) / len(tail), 4), "loss_history": history,
               "train_seconds": round(time.monotonic() - started, 1)}
    hyper = {k: v for k, v in asdict(config).items() if k not in {"base", "name", "pairs_run", "pairs",
                                                                    "set_default", "overwrite"}}
    hyper.update({"device": "cpu", "precision": "float32", "steps_done": step, "lists_seen": seen,
                  "stopped_early_at_time_budget": stopped_early})
    split = split_of(settings, run)
    card = _register(store, config, name, out, base, run, split, len(pairs), hyper, metrics)
    return TuneResult("llm-reranker", name, out, run.run_id, step, stopped_early, card.metrics,
                      time.monotonic() - started)


def _register(store, config, name, out, base, run, split, n_pairs, hyper, metrics):
    from fincortex.models import registry
    from fincortex.models.merging.lineage import LineageCard, parent_of, write_card
    from fincortex.models.rerankers.common import TUNED_KIND

    card = write_card(out, LineageCard(
        name=name, kind=TUNED_KIND, method="finetune-first-ranknet",
        parents=[parent_of(base, "base", base.name)],
        params={"loss": "weighted RankNet over first-token identifier logits, weight 1/(r_i + r_j)",
                "teacher": "positive first, hard negatives in mining order", "identifiers": "A-Z after '['",
                "prompt": "fincortex.models.rerankers.first.prompt_messages"},
        seed=config.seed,
        data_summary={"pairs_run": run.run_id, "pairs_with_negatives": n_pairs, "pairs": run.summary,
                      "miner": run.miner,
                      "heldout_split": {k: v for k, v in split.describe().items() if k != "eval_contexts"}},
        hyperparams=hyper, metrics=metrics))
    registry.register(store, card, str(out), make_default=config.set_default)
    return card
