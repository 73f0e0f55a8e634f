"""`fincortex tune embedder`: contrastive fine-tuning of the sentence embedder on the pairs run.

Stages: pairs (a stored run, or a new one: pairs.py) -> (anchor, positive, hard negative) datasets, one
per source so in-batch negatives come from the same kind of text -> sentence-transformers trainer with
MultipleNegativesRankingLoss (or its cached variant; optional Matryoshka), no duplicate texts in a
batch, fixed seeds, the held-apart TAT-QA split as evaluator (before, during and after training) ->
save under models_dir, lineage card, `models` row (kind embedder).
"""

from __future__ import annotations

import math
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from fincortex.config import Settings
from fincortex.models.tuning.pairs import PairsConfig, PairsRun, build_pairs, load_run, require_corpus
from fincortex.models.tuning.common import (
    TuningError, check_parent_split, deadline_callback, seeded_on_device, load_checked, output_folder,
    precision_label, progress_callback, publish, register_packaged, resolve_embedder, split_of,
)
from fincortex.progress import Progress
from fincortex.store import Store

LOSSES = ("mnrl", "cached-mnrl")


@dataclass
class EmbedTuneConfig:
    base: str | None = None  # registered name | folder | alias; None = the embedder search uses now
    name: str | None = None  # output name (default <base>-fin)
    pairs_run: str | None = None  # replay a stored pairs run instead of building one
    pairs: PairsConfig = field(default_factory=PairsConfig)
    epochs: float = 1.0
    max_steps: int | None = None  # overrides epochs
    batch_size: int = 32
    learning_rate: float = 5e-5
    warmup_ratio: float = 0.1
    max_seq_length: int = 128  # training only; the saved model keeps the base model's length
    loss: str = "mnrl"
    mini_batch_size: int = 16  # cached-mnrl only
    matryoshka_dims: tuple[int, ...] = ()  # e.g. (384, 256, 128, 64)
    eval_steps: int | None = None  # default: once half way; the split is also scored before and after
    time_budget_min: float = 17.0  # whole command; training stops early to finish inside it
    seed: int = 0
    set_default: bool = False
    overwrite: bool = False

    def check(self) -> None:
        for key in ("batch_size", "max_seq_length", "mini_batch_size"):
            if getattr(self, key) < 1:
                raise TuningError(f"{key} must be >= 1, got {getattr(self, key)}")
        if self.batch_size < 2:
            raise TuningError("batch_size must be >= 2: in-batch negatives need company")
        if self.loss not in LOSSES:
            raise TuningError(f"loss must be one of {', '.join(LOSSES)}, got {self.loss!r}")
        if self.epochs <= 0 and not self.max_steps:
            raise TuningError(f"epochs must be > 0, got {self.epochs}")
        if not 0 < self.learning_rate < 1:
            raise TuningError(f"learning_rate must be in (0, 1), got {self.learning_rate}")
        if self.time_budget_min <= 0:
            raise TuningError(f"time_budget_min must be > 0, got {self.time_budget_min}")


@dataclass
class TuneResult:
    kind: str
    name: str
    path: Path
    pairs_run: str
    steps: int
    stopped_early: bool
    metrics: dict[str, Any]
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"path": str(self.path)}


def get_pairs(settings: Settings, store: Store, run_id: str | None, config: PairsConfig,
              progress: Progress | None) -> PairsRun:
    return load_run(store, run_id) if run_id else build_pairs(settings, store, config, progress)


def ir_evaluator(heldout_dir: Path, name: str = "tatqa-heldout"):
    from sentence_transformers.sentence_transformer.evaluation import InformationRetrievalEvaluator

    from fincortex.retrieval.beir import load_beir

    data = load_beir(heldout_dir)
    return InformationRetrievalEvaluator(
        queries={q: data.queries[q] for q in data.qrels}, corpus={d: text for d, (_, text) in data.corpus.items()},
        relevant_docs={q: set(docs) for q, docs in data.qrels.items()}, name=name, batch_size=64,
        show_progress_bar=False, write_csv=False)


def summarise(scores: dict[str, float], prefix: str) -> dict[str, float]:
    """The few IR metrics worth recording, under stable names."""
    out = {}
    for key, value in scores.items():
        for metric in ("ndcg@10", "mrr@10", "recall@10", "accuracy@1"):
            if key.endswith("_" + metric) and "cosine" in key:
                out[f"{prefix}{metric}"] = round(float(value), 4)
    return out


def training_datasets(run: PairsRun, batch_size: int) -> tuple[dict[str, Any], int]:
    """Datasets for the trainer: per source, (anchor, positive, negative) rows where a hard negative was
    mined and (anchor, positive) rows where none was (in-batch negatives still apply), so batches never
    mix a short headline with a TAT-QA table question. Sources with fewer than two batches of rows are
    pooled into 'mixed' sets; rows that still cannot fill one batch are left out (returned count)."""
    from datasets import Dataset

    groups: dict[str, dict[str, list[str]]] = {}
    for pair in run.split("train"):
        name = pair.source if pair.negatives else f"{pair.source}-pairs"
        columns = groups.setdefault(name, {"anchor": [], "positive": []} | ({"negative": []} if pair.negatives else {}))
        columns["anchor"].append(pair.query)
        columns["positive"].append(pair.positive)
        if pair.negatives:
            columns["negative"].append(pair.negatives[0])
    kept: dict[str, dict[str, list[str]]] = {}
    for name, columns in sorted(groups.items()):
        if len(columns["anchor"]) >= 2 * batch_size:
            kept[name] = columns
            continue
        target = kept.setdefault("mixed-pairs" if name.endswith("-pairs") else "mixed",
                                 {key: [] for key in columns})
        for key in target:
            target[key].extend(columns[key])
    skipped = 0
    for name in ("mixed", "mixed-pairs"):
        if name in kept and len(kept[name]["anchor"]) < batch_size:
            skipped += len(kept.pop(name)["anchor"])
    return {name: Dataset.from_dict(columns) for name, columns in kept.items()}, skipped


def run_embed_tuning(config: EmbedTuneConfig, settings: Settings, store: Store,
                     progress: Progress | None = None) -> TuneResult:
    started = time.monotonic()
    config.check()
    require_corpus(store)
    start = resolve_embedder(settings, store, config.base)
    name = config.name or f"{start.name}-fin"
    out = output_folder(settings, name, config.overwrite)
    from sentence_transformers import SentenceTransformer

    model = load_checked(lambda: SentenceTransformer(str(start.path), device="cpu", local_files_only=True),
                         start.path, "base embedder")
    run = get_pairs(settings, store, config.pairs_run, config.pairs, progress)
    split = split_of(settings, run)
    check_parent_split(start, split)
    from fincortex.models.tuning.heldout import beir_folder

    heldout_dir = beir_folder(settings, split, "heldout")
    datasets, skipped = training_datasets(run, config.batch_size)
    n_train = sum(len(d) for d in datasets.values())
    if not datasets:
        raise TuningError(f"pairs run {run.run_id} has {skipped} training pairs, fewer than one batch of "
                          f"{config.batch_size}: enable more sources or lower --batch-size")

    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from sentence_transformers.sentence_transformer import losses

    model, device_args = seeded_on_device(model, config.seed)
    base_length = model.max_seq_length
    model.max_seq_length = min(config.max_seq_length, base_length)
    evaluator = ir_evaluator(heldout_dir)
    clock = time.monotonic()
    before = summarise(evaluator(model), "heldout_base_")
    eval_seconds = time.monotonic() - clock

    if config.loss == "cached-mnrl":
        loss = losses.CachedMultipleNegativesRankingLoss(model, mini_batch_size=config.mini_batch_size)
    else:
        loss = losses.MultipleNegativesRankingLoss(model)
    if config.matryoshka_dims:
        loss = losses.MatryoshkaLoss(model, loss, matryoshka_dims=list(config.matryoshka_dims))
    steps_per_epoch = sum(len(d) // config.batch_size for d in datasets.values())  # drop_last batches
    total = config.max_steps or max(1, math.ceil(steps_per_epoch * config.epochs))
    eval_steps = config.eval_steps or max(1, total // 2)
    deadline = started + config.time_budget_min * 60 - (1.5 * eval_seconds + 45)  # final eval + save
    stopper = deadline_callback(deadline)
    with tempfile.TemporaryDirectory(prefix="fincortex-embed-") as work:
        args = SentenceTransformerTrainingArguments(
            output_dir=work, max_steps=total, per_device_train_batch_size=config.batch_size,
            learning_rate=config.learning_rate, warmup_steps=max(1, int(config.warmup_ratio * total)),
            lr_scheduler_type="linear", batch_sampler="no_duplicates", multi_dataset_batch_sampler="proportional",
            eval_strategy="steps", eval_steps=eval_steps, save_strategy="no", logging_steps=max(1, total // 10),
            report_to="none", seed=config.seed, data_seed=config.seed, dataloader_num_workers=0,
            dataloader_drop_last=True, disable_tqdm=False, **device_args)
        trainer = SentenceTransformerTrainer(
            model=model, args=args, train_dataset=datasets if len(datasets) > 1 else next(iter(datasets.values())),
            loss=loss, evaluator=evaluator, callbacks=[stopper, progress_callback(progress, "train embedder")])
        trainer.train()
        steps = trainer.state.global_step
        during = [{"step": h["step"], "ndcg@10": round(h[k], 4)} for h in trainer.state.log_history
                  for k in h if k.endswith("cosine_ndcg@10")]
    after = summarise(evaluator(model), "heldout_")
    model.max_seq_length = base_length
    tmp = out.with_name(out.name + ".training")
    import shutil

    shutil.rmtree(tmp, ignore_errors=True)
    model.to("cpu").save_pretrained(str(tmp))
    publish(tmp, out)
    seconds = time.monotonic() - started
    device, precision = precision_label(device_args)
    metrics = {**before, **after, "heldout_ndcg@10_gain": round(after["heldout_ndcg@10"] - before["heldout_base_ndcg@10"], 4),
               "during_training": during, "train_seconds": round(seconds, 1)}
    hyper = {k: v for k, v in asdict(config).items() if k not in {"base", "name", "pairs_run", "pairs", "set_default",
                                                                    "overwrite"}}
    hyper.update({"device": device, "precision": precision, "steps_planned": total, "steps_done": steps,
                  "stopped_early_at_time_budget": bool(stopper.stopped_early), "train_rows": n_train,
                  "datasets": {name: len(d) for name, d in datasets.items()},
                  "train_max_seq_length": min(config.max_seq_length, base_length)})
    card = _register(settings, store, config, name, out, start, run, split, hyper, metrics, skipped)
    return TuneResult("embedder", card.name, out, run.run_id, steps, bool(stopper.stopped_early), card.metrics, seconds)


def _register(settings, store, config, name, out, start, run, split, hyper, metrics, skipped):
    from fincortex.models import registry
    from fincortex.models.merging.lineage import LineageCard, parent_of, write_card
    from fincortex.retrieval.embedder import DEFAULT_MODEL

    if start.name == DEFAULT_MODEL:
        register_packaged(store)
    loss = config.loss + (f"+matryoshka{list(config.matryoshka_dims)}" if config.matryoshka_dims else "")
    card = write_card(out, LineageCard(
        name=name, kind="embedder", method="finetune-contrastive", parents=[parent_of(start.path, "base", start.name)],
        params={"loss": loss, "hard_negatives_per_example": "1 (rows without one: in-batch negatives only)",
                "in_batch_negatives": True,
                "batch_sampler": "no_duplicates", "datasets": "one per source, proportional"},
        seed=config.seed,
        data_summary={"pairs_run": run.run_id, "pairs": run.summary, "miner": run.miner,
                      "train_pairs_left_out": skipped,
                      "heldout_split": {k: v for k, v in split.describe().items() if k != "eval_contexts"}},
        hyperparams=hyper, metrics=metrics))
    registry.register(store, card, str(out), make_default=config.set_default)
    return card
