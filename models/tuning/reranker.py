"""`fincortex tune reranker`: a CrossEncoder initialised from the (tuned) embedder's transformer, trained
on the same pairs run with its hard negatives, registered as kind 'reranker' and made the default when
default search scores higher with it on held-apart queries (search_gate; else kept, not the default).

Why start from the embedder: no pretrained cross-encoder installs offline, and the tuned embedder's
transformer already knows the domain's vocabulary; only the one-logit head starts from scratch.
Loss: binary cross-entropy over (query, positive, 1) and (query, hard negative, 0) rows, the positive
weighted by the number of negatives so both classes count equally. Evaluation: the held-apart TAT-QA
queries, each with the top-20 of the starting embedder (positives only when retrieved, i.e. what
reranking can actually fix), scored before (first-stage order) and after reranking.
"""

from __future__ import annotations

import random
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from fincortex.config import Settings
from fincortex.models.tuning.embedder import TuneResult, get_pairs
from fincortex.models.tuning.pairs import PairsConfig, PairsRun, require_corpus
from fincortex.models.tuning.common import (
    StartModel, TuningError, check_parent_split, deadline_callback, seeded_on_device, load_checked,
    output_folder, precision_label, progress_callback, publish, resolve_embedder, split_of,
)
from fincortex.progress import Progress
from fincortex.store import Store

FIRST_STAGE_DEPTH = 20  # = RetrievalOptions.rerank_top_n: what search hands the reranker


@dataclass
class RerankTuneConfig:
    embedder: str | None = None  # start from; None = default embedder, else newest tuned one, else packaged
    name: str | None = None  # output name (default <embedder>-reranker)
    pairs_run: str | None = None  # default: the pairs run the starting embedder was tuned on
    pairs: PairsConfig = field(default_factory=PairsConfig)  # when a new run must be built
    n_negatives: int = 3  # hard negatives per pair used as label-0 rows
    max_pairs: int | None = None  # cap on training pairs; None = all (the time budget bounds the CPU time)
    epochs: float = 2.0  # a new head needs ~200+ steps to beat the first stage (tuning_tatqa.json)
    max_steps: int | None = None
    batch_size: int = 32
    learning_rate: float = 5e-5
    warmup_ratio: float = 0.1
    max_length: int = 128  # tokens per (query, passage) while training (search scores with 256)
    eval_queries: int = 60  # held-apart queries in the reranking evaluator (x20 passages each)
    eval_steps: int | None = None  # also evaluate every N steps (costly on a CPU); always after training
    time_budget_min: float = 17.0
    seed: int = 0
    set_default: bool = True  # when default search scores higher with it on held-apart queries (search_gate)
    force_default: bool = False  # the default even when it does not
    overwrite: bool = False

    def check(self) -> None:
        for key in ("n_negatives", "batch_size", "max_length", "eval_queries", "eval_steps"):
            if getattr(self, key) is not None and getattr(self, key) < 1:
                raise TuningError(f"{key} must be >= 1, got {getattr(self, key)}")
        if self.max_pairs is not None and self.max_pairs < 1:
            raise TuningError(f"max_pairs must be >= 1, got {self.max_pairs}")
        if not 0 < self.learning_rate < 1:
            raise TuningError(f"learning_rate must be in (0, 1), got {self.learning_rate}")
        if self.epochs <= 0 and not self.max_steps:
            raise TuningError(f"epochs must be > 0, got {self.epochs}")
        if self.time_budget_min <= 0:
            raise TuningError(f"time_budget_min must be > 0, got {self.time_budget_min}")


def starting_embedder(settings: Settings, store: Store, spec: str | None) -> StartModel:
    """The explicit choice; else the registry's default embedder; else the newest tuned embedder; else
    the embedder search uses (the packaged one)."""
    from fincortex.models import registry

    if spec is None and registry.get_default(store, "embedder") is None:
        tuned = [r for r in registry.list_models(store, "embedder") if r.method.startswith("finetune")]
        if tuned:
            spec = max(tuned, key=lambda r: r.created_at).name
    return resolve_embedder(settings, store, spec)


def pairs_for(settings: Settings, store: Store, config: RerankTuneConfig, start: StartModel,
              progress: Progress | None) -> PairsRun:
    from fincortex.models.merging.lineage import read_card
    from fincortex.models.tuning.pairs import list_runs

    run_id = config.pairs_run
    if run_id is None:
        card = read_card(start.path)
        recorded = ((card.data_summary or {}).get("pairs_run") if card else None)
        known = {r["run_id"] for r in list_runs(store, limit=1000)}
        run_id = recorded if recorded in known else None
    return get_pairs(settings, store, run_id, config.pairs, progress)


def training_rows(run: PairsRun, config: RerankTuneConfig):
    from datasets import Dataset

    pairs = [p for p in run.split("train") if p.negatives]
    if config.max_pairs and len(pairs) > config.max_pairs:
        pairs = random.Random(config.seed).sample(pairs, config.max_pairs)
    rows: dict[str, list] = {"query": [], "passage": [], "label": []}
    for pair in pairs:
        for text, label in [(pair.positive, 1.0)] + [(n, 0.0) for n in pair.negatives[: config.n_negatives]]:
            rows["query"].append(pair.query)
            rows["passage"].append(text)
            rows["label"].append(label)
    return Dataset.from_dict(rows), len(pairs)


def reranking_samples(settings: Settings, split, start: StartModel, n_queries: int, seed: int) -> list[dict]:
    """Held-apart queries with the starting embedder's top-20 (ranked), positives marked."""
    import numpy as np
    from sentence_transformers import SentenceTransformer

    from fincortex.models.tuning.heldout import beir_folder
    from fincortex.retrieval.beir import load_beir

    data = load_beir(beir_folder(settings, split, "heldout"))
    qids = sorted(data.qrels)
    qids = sorted(random.Random(seed).sample(qids, min(n_queries, len(qids))))
    doc_ids = list(data.corpus)
    encoder = load_checked(lambda: SentenceTransformer(str(start.path), device="cpu", local_files_only=True),
                           start.path, "starting embedder")
    docs = encoder.encode([data.corpus[d][1] for d in doc_ids], batch_size=64, normalize_embeddings=True)
    queries = encoder.encode([data.queries[q] for q in qids], batch_size=64, normalize_embeddings=True)
    top = np.argsort(-(queries @ docs.T), axis=1)[:, :FIRST_STAGE_DEPTH]
    return [{"query": data.queries[q], "positive": [data.corpus[d][1] for d in data.qrels[q]],
             "documents": [data.corpus[doc_ids[j]][1] for j in row]} for q, row in zip(qids, top)]


def run_rerank_tuning(config: RerankTuneConfig, settings: Settings, store: Store,
                      progress: Progress | None = None) -> TuneResult:
    started = time.monotonic()
    config.check()
    require_corpus(store)
    start = starting_embedder(settings, store, config.embedder)
    name = config.name or f"{start.name}-reranker"
    out = output_folder(settings, name, config.overwrite)
    from sentence_transformers import CrossEncoder

    model = load_checked(lambda: CrossEncoder(str(start.path), num_labels=1, max_length=config.max_length,
                                              device="cpu", local_files_only=True), start.path, "starting embedder")
    run = pairs_for(settings, store, config, start, progress)
    split = split_of(settings, run)
    check_parent_split(start, split)
    dataset, n_pairs = training_rows(run, config)
    if len(dataset) < config.batch_size:
        raise TuningError(f"pairs run {run.run_id} gives {len(dataset)} training rows, fewer than one batch of "
                          f"{config.batch_size}: enable more sources or lower --batch-size")

    import torch
    from sentence_transformers.cross_encoder import CrossEncoderTrainer, CrossEncoderTrainingArguments
    from sentence_transformers.cross_encoder.evaluation import CrossEncoderRerankingEvaluator
    from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss

    model, device_args = seeded_on_device(model, config.seed)
    samples = reranking_samples(settings, split, start, config.eval_queries, config.seed)
    evaluator = CrossEncoderRerankingEvaluator(samples, at_k=10, always_rerank_positives=False,
                                               name="tatqa-heldout", batch_size=64, write_csv=False)
    clock = time.monotonic()  # price one evaluation from a small probe, to keep time for it at the end
    probe = [(s["query"], d) for s in samples[:4] for d in s["documents"]][:64]
    model.predict(probe, batch_size=64, show_progress_bar=False)
    eval_seconds = (time.monotonic() - clock) * sum(len(s["documents"]) for s in samples) / max(1, len(probe))
    loss = BinaryCrossEntropyLoss(model, pos_weight=torch.tensor(float(config.n_negatives)))
    total = config.max_steps or max(1, int(len(dataset) // config.batch_size * config.epochs))
    stopper = deadline_callback(started + config.time_budget_min * 60 - (1.5 * eval_seconds + 45))
    with tempfile.TemporaryDirectory(prefix="fincortex-rerank-") as work:
        args = CrossEncoderTrainingArguments(
            output_dir=work, max_steps=total, per_device_train_batch_size=config.batch_size,
            learning_rate=config.learning_rate, warmup_steps=max(1, int(config.warmup_ratio * total)),
            lr_scheduler_type="linear", eval_strategy="steps" if config.eval_steps else "no",
            eval_steps=config.eval_steps, save_strategy="no",
            logging_steps=max(1, total // 10), report_to="none", seed=config.seed, data_seed=config.seed,
            dataloader_num_workers=0, disable_tqdm=False, **device_args)
        trainer = CrossEncoderTrainer(model=model, args=args, train_dataset=dataset, loss=loss, evaluator=evaluator,
                                      callbacks=[stopper, progress_callback(progress, "train reranker")])
        trainer.train()
        steps = trainer.state.global_step
        during = [{"step": h["step"], "ndcg@10": round(h[k], 4)} for h in trainer.state.log_history
                  for k in h if k.endswith("_ndcg@10") and "base" not in k]
    scores = evaluator(model)
    metrics = {f"heldout_rerank_{k.split('_', 1)[1]}": round(float(v), 4) for k, v in scores.items()
               if k.split("_", 1)[1] in ("ndcg@10", "mrr@10", "base_ndcg@10", "base_mrr@10")}
    metrics.update({"heldout_rerank_queries": len(samples), "first_stage_depth": FIRST_STAGE_DEPTH,
                    "during_training": during, "train_seconds": round(time.monotonic() - started, 1)})
    tmp = out.with_name(out.name + ".training")
    shutil.rmtree(tmp, ignore_errors=True)
    model.to("cpu").save_pretrained(str(tmp))
    publish(tmp, out)
    _export_for_search(settings, out, progress)
    if config.set_default and not config.force_default:
        metrics.update(search_gate(settings, split, out, config.eval_queries, progress))
    made, why_not = default_decision(metrics, config.set_default, config.force_default)
    metrics["made_default"] = made
    if why_not:
        metrics["not_default_because"] = (f"{why_not} ({steps} of {total} steps"
                                          + (", stopped at the time budget" if stopper.stopped_early else "") + ")")
    device, precision = precision_label(device_args)
    hyper = {k: v for k, v in asdict(config).items() if k not in {"embedder", "name", "pairs_run", "pairs",
                                                                    "set_default", "force_default", "overwrite"}}
    hyper.update({"device": device, "precision": precision, "steps_planned": total, "steps_done": steps,
                  "stopped_early_at_time_budget": bool(stopper.stopped_early), "train_rows": len(dataset)})
    card = _register(store, config, name, out, start, run, split, n_pairs, hyper, metrics)
    return TuneResult("reranker", name, out, run.run_id, steps, bool(stopper.stopped_early), card.metrics,
                      time.monotonic() - started)


def search_gate(settings: Settings, split, model_dir, n_queries: int, progress: Progress | None = None) -> dict:
    """nDCG@10 of default search without and with the new reranker (the product's hybrid with its fusion
    weights, the same searcher path), on the first `n_queries` of the held-apart TAT-QA split: what making
    it the default would change for a user."""
    from fincortex.models.tuning.heldout import beir_folder
    from fincortex.retrieval import service

    folder = beir_folder(settings, split, "heldout")
    plain = service.evaluate_retrieval(settings, folder, modes=("hybrid",), max_queries=n_queries, progress=progress)
    reranked = service.evaluate_retrieval(settings, folder, modes=("hybrid",), rerank=True, max_queries=n_queries,
                                          reranker=str(model_dir), progress=progress)
    return {"gate_queries": plain["dataset"]["evaluated_queries"],
            "gate_search_ndcg@10": round(plain["results"]["hybrid"]["metrics"]["ndcg@10"], 4),
            "gate_search_rerank_ndcg@10": round(reranked["results"]["hybrid+rerank"]["metrics"]["ndcg@10"], 4)}


def default_decision(metrics: dict[str, Any], set_default: bool, force: bool = False) -> tuple[bool, str | None]:
    """(make it the default?, why not). Search reranks with the default reranker, so only one under which
    default search scores higher on the held-apart queries (`search_gate`) becomes it: a run cut short by the
    time budget on a busy machine can be worse than none, and a reranker that beats its first stage can
    still lose to the fused hybrid list it would re-order; `force` makes it the default anyway."""
    if not set_default:
        return False, None
    if force:
        return True, None
    with_it, without = metrics["gate_search_rerank_ndcg@10"], metrics["gate_search_ndcg@10"]
    if with_it > without:
        return True, None
    return False, (f"default search scores nDCG@10 {with_it:.4f} with it and {without:.4f} without it on "
                   f"{metrics.get('gate_queries', '?')} held-apart queries: registered, not the default "
                   "(--force-default overrides)")


def _export_for_search(settings: Settings, out, progress: Progress | None) -> None:
    """Build the ONNX export search will run the new reranker on (the default CPU backend is int8 ONNX),
    now, inside the tuning job, so the first reranked search after training does not wait for it."""
    from fincortex.progress import report
    from fincortex.retrieval.embedder import cuda_available
    from fincortex.retrieval.onnx_backend import resolve_backend
    from fincortex.retrieval.options import RetrievalOptions
    from fincortex.retrieval.reranker import Reranker

    backend = RetrievalOptions.from_env().rerank_backend
    if resolve_backend(backend, "cuda" if cuda_available() else "cpu")[0].startswith("onnx"):
        report(progress, "export reranker for search", 0, 1)
        Reranker(str(out), backend=backend, models_dir=settings.models_dir)
        report(progress, "export reranker for search", 1, 1)


def _register(store, config, name, out, start, run, split, n_pairs, hyper, metrics):
    from fincortex.models import registry
    from fincortex.models.merging.lineage import LineageCard, parent_of, write_card

    card = write_card(out, LineageCard(
        name=name, kind="reranker", method="finetune-cross-encoder",
        parents=[parent_of(start.path, "base", start.name)],
        params={"loss": "binary cross-entropy, pos_weight = negatives per pair", "head": "1 logit, new",
                "initialised_from": "the embedder's transformer"},
        seed=config.seed,
        data_summary={"pairs_run": run.run_id, "pairs_used": n_pairs, "pairs": run.summary, "miner": run.miner,
                      "heldout_split": {k: v for k, v in split.describe().items() if k != "eval_contexts"}},
        hyperparams=hyper, metrics=metrics))
    registry.register(store, card, str(out), make_default=bool(metrics["made_default"]))
    return card
