"""Chat models: one interface (`FincortexChatModel`), local transformers and OpenAI-compatible backends, the DuckDB response cache, serving."""

from fincortex.lazy import lazy_exports

_EXPORTS = {  # module -> its public names
    "factory": ("get_chat_model",),
    "base": ("FincortexChatModel",),
    "local": ("LocalChatModel",),
    "endpoint": ("EndpointChatModel",),
    "cache": ("LLMCache",),
    "default_model": ("ensure_default_chat_model",),
    "serve": ("serve",),
}
__all__ = sorted(name for names in _EXPORTS.values() for name in names)
__getattr__ = lazy_exports(__name__, _EXPORTS)
