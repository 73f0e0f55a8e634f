"""What the LLM rerankers share: which model folder a spec names, loading it (once per process, per
attention implementation), and cutting passages so that twenty of them fit one prompt.

Spec forms (the part after "llm-first:" / "llm-icr:" in FINCORTEX_RERANKER):
- "" (just `llm-first`)   the default `llm-reranker` of the models registry (what `fincortex tune
                          llm-reranker` registers), else the default chat model (zero-shot);
- "base"                  the default chat model, even when a tuned one is registered (zero-shot);
- a folder path           a transformers causal-LM folder;
- a registered name       an `llm-reranker` or `chat` model of the registry.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fincortex.config import Settings
from fincortex.retrieval.stages import StageUnavailable
from fincortex.store import Store

TUNED_KIND = "llm-reranker"  # registry kind of FIRST models trained by `fincortex tune llm-reranker`

_lock = threading.Lock()
_loaded: dict[tuple[str, str], "LoadedRanker"] = {}


class LLMRerankerError(StageUnavailable):
    """The LLM reranker cannot run (no model, a remote chat backend without logits, ...)."""


@dataclass
class LoadedRanker:
    model: Any  # transformers causal LM, eval mode
    tokenizer: Any
    path: Path
    lock: threading.Lock  # one forward at a time per loaded model (torch threads are shared anyway)


def resolve_rerank_model(store: Store | None, spec: str, use_tuned: bool, settings: Settings | None = None) -> Path:
    """The model folder for a reranker spec (see the module docstring); a clear error when there is none."""
    from fincortex.models import registry
    from fincortex.models.llm.factory import resolve_local_path

    settings = settings or Settings.from_env()
    spec = spec.strip()
    if spec.startswith(("openai:", "http")):
        raise LLMRerankerError(f"LLM reranker model {spec!r}: a remote chat backend exposes no logits or "
                               "attention; give a local transformers model folder or a registered model")
    if spec and spec != "base":
        path = Path(spec).expanduser()
        if path.exists():
            return _checked(path)
        if store is not None:
            for kind in (TUNED_KIND, "chat"):
                rec = registry.find(store, kind, spec)
                if rec is not None:
                    return _checked(Path(rec.path))
        raise LLMRerankerError(f"LLM reranker model {spec!r} is neither a folder nor a registered "
                               f"{TUNED_KIND} / chat model")
    if use_tuned and not spec and store is not None:
        rec = registry.get_default(store, TUNED_KIND)
        if rec is not None:
            return _checked(Path(rec.path))
    try:
        return _checked(resolve_local_path(settings, "local", store))
    except Exception as exc:  # DefaultModelUnavailable, ModelSpecError: say which and how to fix
        raise LLMRerankerError(f"no local chat model for the LLM reranker: {exc}") from exc


def _checked(path: Path) -> Path:
    if not (path / "config.json").is_file():
        raise LLMRerankerError(f"LLM reranker model folder {path} has no config.json (not a transformers model)")
    return path.resolve()


def load_ranker(path: Path, attn_implementation: str = "sdpa") -> LoadedRanker:
    """float32 on CPU (bf16 on GPU), once per (path, attention implementation): ICR needs "eager" attention
    (the only one that returns the weights), FIRST runs on the faster "sdpa"."""
    key = (str(path), attn_implementation)
    with _lock:
        if key not in _loaded:
            _loaded[key] = load_fresh(path, attn_implementation)
        return _loaded[key]


def load_fresh(path: Path, attn_implementation: str = "sdpa", device: str | None = None) -> LoadedRanker:
    """A private copy (training changes the weights; the shared copy must not change under a search)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from fincortex.models.llm.local import pick_device

    device = device or pick_device()
    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    try:
        tok = AutoTokenizer.from_pretrained(path)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, attn_implementation=attn_implementation)
    except Exception as exc:
        raise LLMRerankerError(f"cannot load LLM reranker model {path}: {exc}") from exc
    return LoadedRanker(model.to(device).eval(), tok, Path(path).resolve(), threading.Lock())


def unload_all() -> None:
    """Forget loaded weights (tests; after `tune llm-reranker --overwrite` rewrote a folder)."""
    with _lock:
        _loaded.clear()


def truncate(tokenizer: Any, text: str, max_tokens: int) -> list[int]:
    """The first `max_tokens` token ids of a passage: 20 whole chunks would not fit a small model's prompt
    budget on a CPU, and the head of a chunk carries its topic (the FIRST papers cut passages the same way)."""
    return tokenizer(" ".join(text.split()), add_special_tokens=False)["input_ids"][:max_tokens]


def spec_of(configured: str | None, name: str) -> str:
    """The model part of FINCORTEX_RERANKER=<name>[:<model>] ("" when only the name is given)."""
    if configured and configured.split(":", 1)[0] == name:
        return configured.split(":", 1)[1] if ":" in configured else ""
    return ""
