"""Chat models: one interface (`FincortexChatModel`), local transformers and OpenAI-compatible backends, the DuckDB response cache, serving."""

from fincortex.lazy import lazy_exports

_EXPORTS = {
    "get_chat_model": "factory",
    "FincortexChatModel": "base",
    "LocalChatModel": "local",
    "EndpointChatModel": "endpoint",
    "LLMCache": "cache",
    "ensure_default_chat_model": "default_model",
    "serve": "serve",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
