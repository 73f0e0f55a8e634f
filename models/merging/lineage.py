"""Model identity and lineage cards.

`model_digest` names a model folder by the sha256 of its weights and config, so a cache entry, a
merge parent or a registry row points at exact weights, not at a path that may be overwritten.
Hashing half a gigabyte takes a second or two, so each file's digest is remembered in a sidecar
keyed by (size, mtime); a changed file is hashed again.

A lineage card (LINEAGE.json + LINEAGE.md) is written beside every tuned or merged model: parents
with their digests, method and parameters, seed, data summary, fincortex version and evaluation.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".gguf", ".pt")
_SIDECAR = ".fincortex-digests.json"
CARD_JSON = "LINEAGE.json"
CARD_MD = "LINEAGE.md"


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def _identity_files(folder: Path) -> list[Path]:
    files = [p for p in folder.iterdir() if p.is_file() and p.suffix in WEIGHT_SUFFIXES]
    if (folder / "config.json").is_file():
        files.append(folder / "config.json")
    return sorted(files)


def model_digest(path: str | Path) -> str:
    """sha256 naming a model: of the file itself, or of 'name:sha256' lines of a folder's weights + config."""
    p = Path(path)
    if p.is_file():
        return _cached_file_digest(p)
    if not p.is_dir():
        raise FileNotFoundError(f"model path {p} does not exist")
    files = _identity_files(p)
    if not any(f.suffix in WEIGHT_SUFFIXES for f in files):
        raise FileNotFoundError(f"model folder {p} holds no weight files ({', '.join(WEIGHT_SUFFIXES)})")
    lines = "".join(f"{f.name}:{_cached_file_digest(f)}\n" for f in files)
    return hashlib.sha256(lines.encode()).hexdigest()


def _cached_file_digest(f: Path) -> str:
    sidecar = f.parent / _SIDECAR
    try:
        known = json.loads(sidecar.read_text())
    except (OSError, ValueError):
        known = {}
    st = f.stat()
    stamp = f"{st.st_size}:{st.st_mtime_ns}"
    entry = known.get(f.name)
    if entry and entry.get("stamp") == stamp:
        return entry["sha256"]
    digest = file_sha256(f)
    known[f.name] = {"stamp": stamp, "sha256": digest}
    try:  # best effort: a read-only folder just means hashing again next time
        tmp = sidecar.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(known, indent=1))
        tmp.replace(sidecar)
    except OSError:
        pass
    return digest


@dataclass
class Parent:
    name: str
    path: str
    sha256: str
    role: str = "parent"  # base | anchor | donor | parent | source


@dataclass
class LineageCard:
    """What a tuned/merged model is made of; written beside the weights and into the registry."""

    name: str
    kind: str
    method: str
    parents: list[Parent]
    params: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None
    data_summary: dict[str, Any] = field(default_factory=dict)
    hyperparams: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    sha256: str | None = None
    fincortex_version: str = ""
    created_at: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "LineageCard":
        d = dict(d)
        d["parents"] = [Parent(**p) for p in d.get("parents", [])]
        return cls(**d)


def parent_of(path: str | Path, role: str = "parent", name: str | None = None) -> Parent:
    p = Path(path)
    return Parent(name=name or p.name, path=str(p.resolve()), sha256=model_digest(p), role=role)


def write_card(folder: str | Path, card: LineageCard) -> LineageCard:
    """Fill digest/version/time, then write LINEAGE.json and LINEAGE.md beside the weights."""
    from fincortex.version import __version__

    folder = Path(folder)
    card.sha256 = model_digest(folder)
    card.fincortex_version = card.fincortex_version or __version__
    card.created_at = card.created_at or datetime.now(timezone.utc).isoformat(timespec="seconds")
    (folder / CARD_JSON).write_text(json.dumps(card.to_dict(), indent=2, ensure_ascii=False) + "\n")
    (folder / CARD_MD).write_text(render_markdown(card))
    return card


def read_card(folder: str | Path) -> LineageCard | None:
    f = Path(folder) / CARD_JSON
    return LineageCard.from_dict(json.loads(f.read_text())) if f.is_file() else None


def update_metrics(folder: str | Path, metrics: dict[str, Any]) -> LineageCard | None:
    """Merge evaluation results into an existing card (both files); None if the folder has no card."""
    card = read_card(folder)
    if card is None:
        return None
    card.metrics.update(metrics)
    folder = Path(folder)
    (folder / CARD_JSON).write_text(json.dumps(card.to_dict(), indent=2, ensure_ascii=False) + "\n")
    (folder / CARD_MD).write_text(render_markdown(card))
    return card


def _brief(value: Any) -> Any:
    """Long id lists stay in LINEAGE.json; the markdown shows their count."""
    if isinstance(value, dict):
        return {k: (f"<{len(v)} ids in {CARD_JSON}>" if k == "doc_ids" and isinstance(v, list) else _brief(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [_brief(v) for v in value]
    return value


def render_markdown(card: LineageCard) -> str:
    def kv(d: dict[str, Any]) -> str:
        if not d:
            return "_none_\n"
        return "".join(f"- **{k}**: `{json.dumps(_brief(v), ensure_ascii=False)}`\n" for k, v in d.items())

    parents = "".join(
        f"| {p.role} | {p.name} | `{p.sha256[:16]}…` | `{p.path}` |\n" for p in card.parents
    )
    return (
        f"# {card.name}\n\n"
        f"- kind: {card.kind}\n- method: `{card.method}`\n- seed: {card.seed}\n"
        f"- sha256: `{card.sha256}`\n- fincortex: {card.fincortex_version}\n- created: {card.created_at}\n\n"
        f"## Parents\n\n| role | name | sha256 | path |\n|---|---|---|---|\n{parents}\n"
        f"## Parameters\n\n{kv(card.params)}\n## Hyper-parameters\n\n{kv(card.hyperparams)}\n"
        f"## Training data\n\n{kv(card.data_summary)}\n## Evaluation\n\n{kv(card.metrics)}"
    )
