"""`fincortex tune cpt`: continual pretraining of a causal LM on ingested chunks.

Stages: select train chunks (never the held-out documents, see lm_data) -> tokenize and pack into
fixed-length blocks (chunk texts joined with EOS, so no padding is wasted) -> transformers Trainer
(bf16 autocast on GPU, float32 on CPU; optional LoRA via peft, merged back so the output is a plain
model folder that recipes and the chat backend can use) -> save, lineage card, registry row.
"""

from __future__ import annotations

import math
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from fincortex.config import Settings
from fincortex.progress import Progress
from fincortex.store import Store


class CPTError(ValueError):
    """A CPT request that cannot run (no data, bad parameters, missing model)."""


@dataclass
class CPTConfig:
    base: str = "local"                 # chat model spec: local | path | registered name
    name: str | None = None             # output model name (default: <base>-cpt)
    sources: list[str] = field(default_factory=list)  # document sources, e.g. ["ectsum"]; empty = all
    doc_types: list[str] = field(default_factory=list)
    available_before: datetime | None = None
    max_docs: int | None = None
    seq_len: int = 256
    batch_size: int = 4
    grad_accum: int = 1
    max_steps: int = 200
    learning_rate: float = 5e-5
    warmup_ratio: float = 0.05
    weight_decay: float = 0.0
    eval_blocks: int = 16               # held-out blocks scored before and after training
    train_top_layers: int | None = None  # CPU budget: train only the top N decoder blocks (+ final norm)
    lora: bool = False
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    seed: int = 0
    overwrite: bool = False

    def check(self) -> None:
        for key in ("seq_len", "batch_size", "grad_accum", "max_steps", "lora_r"):
            if getattr(self, key) < 1:
                raise CPTError(f"{key} must be >= 1, got {getattr(self, key)}")
        if self.train_top_layers is not None and self.train_top_layers < 1:
            raise CPTError(f"train_top_layers must be >= 1, got {self.train_top_layers}")
        if self.train_top_layers and self.lora:
            raise CPTError("choose either LoRA or train_top_layers, not both")
        if not 0 < self.learning_rate < 1:
            raise CPTError(f"learning_rate must be in (0, 1), got {self.learning_rate}")


@dataclass
class CPTResult:
    name: str
    path: Path
    train_blocks: int
    steps: int
    heldout_loss_before: float | None
    heldout_loss_after: float | None
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["path"] = str(self.path)
        return d


def pack(tokenizer: Any, texts: list[str], seq_len: int) -> list[list[int]]:
    """Concatenate texts separated by EOS and cut into full blocks of seq_len (the tail is dropped)."""
    eos = tokenizer.eos_token_id
    stream: list[int] = []
    for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]:
        stream.extend(ids)
        stream.append(eos)
    return [stream[i: i + seq_len] for i in range(0, len(stream) - seq_len + 1, seq_len)]


class _Blocks:
    """A torch-style dataset of packed blocks (labels = inputs; the model shifts them)."""

    def __init__(self, blocks: list[list[int]]) -> None:
        self.blocks = blocks

    def __len__(self) -> int:
        return len(self.blocks)

    def __getitem__(self, i: int) -> dict[str, Any]:
        import torch

        ids = torch.tensor(self.blocks[i], dtype=torch.long)
        return {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": ids.clone()}


def freeze_below_top(model: Any, n_top: int) -> int:
    """Train only the last n_top decoder blocks and the final norm; returns trainable parameters.

    Why: on a CPU a full backward pass through 30 blocks costs ~2x the forward; stopping the
    gradient below the top blocks makes a few-hundred-step CPT affordable while still moving the
    layers that shape next-token predictions most."""
    decoder = model.get_decoder()
    layers = getattr(decoder, "layers", None)
    if layers is None:
        raise CPTError(f"{type(model).__name__} has no decoder.layers: train_top_layers is unsupported for it")
    if n_top > len(layers):
        raise CPTError(f"train_top_layers={n_top} but the model has only {len(layers)} blocks")
    for p in model.parameters():
        p.requires_grad_(False)
    trainable = list(layers[-n_top:]) + [m for m in (getattr(decoder, "norm", None),) if m is not None]
    for module in trainable:
        for p in module.parameters():
            p.requires_grad_(True)
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def mean_loss(model: Any, blocks: list[list[int]], batch_size: int) -> float | None:
    """Mean token cross-entropy over blocks (equal lengths, so the mean of batch means is exact)."""
    import torch

    if not blocks:
        return None
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    losses = []
    with torch.no_grad():
        for i in range(0, len(blocks), batch_size):
            ids = torch.tensor(blocks[i: i + batch_size], device=device)
            losses.append((float(model(input_ids=ids, labels=ids).loss), len(ids)))
    model.train(was_training)
    return sum(l * n for l, n in losses) / sum(n for _, n in losses)


def run_cpt(config: CPTConfig, settings: Settings, store: Store | None = None,
            progress: Progress | None = None) -> CPTResult:
    """Validate, select data, train (each step reaches `progress` as a 'train cpt' event), save with a
    lineage card, register."""
    import time

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, Trainer, TrainingArguments, set_seed

    from fincortex.models import registry
    from fincortex.models.merging.lineage import LineageCard, parent_of, read_card, write_card
    from fincortex.models.llm.factory import resolve_local_path
    from fincortex.models.llm.local import check_model_dir
    from fincortex.models.merging.lm_data import load_chunks, summarize
    from fincortex.models.tuning.common import progress_callback

    config.check()
    store = store or Store(settings.db_path, lock_timeout_s=settings.lock_timeout_s)
    base_dir = check_model_dir(resolve_local_path(settings, config.base, store)).resolve()
    base_card = read_card(base_dir)
    base_name = base_card.name if base_card else base_dir.name
    name = config.name or f"{base_name}-cpt"
    out = settings.models_dir / name
    if out.exists() and not config.overwrite:
        raise CPTError(f"output folder {out} already exists: pass --overwrite or --name")
    train_chunks = load_chunks(store, sources=config.sources or None, doc_types=config.doc_types or None,
                               available_before=config.available_before, split="train", max_docs=config.max_docs)
    if not train_chunks:
        raise CPTError(f"no training chunks in {settings.db_path} for sources={config.sources or 'all'}: "
                       "ingest some first, e.g. `fincortex ingest --dataset ectsum:val`")
    heldout = load_chunks(store, sources=config.sources or None, doc_types=config.doc_types or None,
                          split="heldout")

    started = time.monotonic()
    set_seed(config.seed)
    tok = AutoTokenizer.from_pretrained(base_dir)
    train_blocks = pack(tok, [c.text for c in train_chunks], config.seq_len)
    eval_blocks = pack(tok, [c.text for c in heldout], config.seq_len)[: config.eval_blocks]
    if not train_blocks:
        raise CPTError(f"{len(train_chunks)} chunks make no full block of {config.seq_len} tokens: lower --seq-len")
    cuda = torch.cuda.is_available()
    model = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
    if cuda:
        model = model.to("cuda")
    loss_before = mean_loss(model, eval_blocks, config.batch_size)
    if config.train_top_layers:
        freeze_below_top(model, config.train_top_layers)
    if config.lora:
        from peft import LoraConfig, get_peft_model

        model = get_peft_model(model, LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha,
                                                 lora_dropout=config.lora_dropout, target_modules="all-linear",
                                                 task_type="CAUSAL_LM"))
    with tempfile.TemporaryDirectory(prefix="fincortex-cpt-") as work:
        args = TrainingArguments(
            output_dir=work, max_steps=config.max_steps, per_device_train_batch_size=config.batch_size,
            gradient_accumulation_steps=config.grad_accum, learning_rate=config.learning_rate,
            lr_scheduler_type="cosine", warmup_steps=max(1, int(config.warmup_ratio * config.max_steps)),
            weight_decay=config.weight_decay, logging_steps=max(1, config.max_steps // 10), save_strategy="no",
            eval_strategy="no", report_to=[], seed=config.seed, data_seed=config.seed, bf16=cuda,
            use_cpu=not cuda, dataloader_num_workers=0, disable_tqdm=False,
        )
        trainer = Trainer(model=model, args=args, train_dataset=_Blocks(train_blocks),
                          callbacks=[progress_callback(progress, "train cpt")])
        trainer.train()
        steps = trainer.state.global_step
    if config.lora:
        model = model.merge_and_unload()
    loss_after = mean_loss(model, eval_blocks, config.batch_size)

    tmp = out.with_name(out.name + ".training")
    shutil.rmtree(tmp, ignore_errors=True)
    model.to("cpu").to(torch.float32).save_pretrained(tmp)
    tok.save_pretrained(tmp)
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    seconds = time.monotonic() - started
    n_tokens = len(train_blocks) * config.seq_len
    hyper = {k: v for k, v in asdict(config).items()
             if k not in {"base", "name", "sources", "doc_types", "available_before", "max_docs", "overwrite"}}
    hyper.update({"device": "cuda" if cuda else "cpu", "precision": "bf16-autocast" if cuda else "float32",
                  "steps_done": steps, "train_blocks": len(train_blocks),
                  "epochs": round(steps * config.batch_size * config.grad_accum / len(train_blocks), 3)})
    metrics = {"heldout_loss_before": loss_before, "heldout_loss_after": loss_after,
               "heldout_ppl_before": math.exp(loss_before) if loss_before is not None else None,
               "heldout_ppl_after": math.exp(loss_after) if loss_after is not None else None,
               "heldout_blocks": len(eval_blocks), "train_seconds": round(seconds, 1)}
    data = summarize(train_chunks, n_tokens)
    data["filters"] = {"sources": config.sources, "doc_types": config.doc_types,
                       "available_before": config.available_before.isoformat() if config.available_before else None,
                       "max_docs": config.max_docs}
    card = write_card(out, LineageCard(
        name=name, kind="chat", method="cpt-lora" if config.lora else "cpt",
        parents=[parent_of(base_dir, role="base", name=base_name)],
        params={"objective": "causal LM, packed blocks", "seq_len": config.seq_len, "lora": config.lora,
                "train_top_layers": config.train_top_layers},
        seed=config.seed, data_summary=data, hyperparams=hyper, metrics=metrics,
    ))
    registry.register(store, card, str(out))
    from fincortex.models.llm.local import unload_all

    unload_all()  # a previous model of the same path must not be served from memory
    return CPTResult(name=name, path=out, train_blocks=len(train_blocks), steps=steps,
                     heldout_loss_before=loss_before, heldout_loss_after=loss_after, seconds=seconds)
