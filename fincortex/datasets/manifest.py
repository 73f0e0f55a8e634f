"""The pinned files of every public dataset, read from the manifest shipped in the package.

Each file is pinned to its source repository, commit, path, size and sha256, so a download from the
canonical host and a copy from a mirror are verified the same way. `scripts/build_dataset_manifest.py`
writes the manifest from a mirror's MANIFEST.json, one entry per registered connector.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources


class DatasetError(ValueError):
    """A dataset request that cannot be served (unknown name, bad file, checksum mismatch)."""


@dataclass(frozen=True)
class DatasetFile:
    relpath: str  # path inside a mirror laid out like shared/data, and inside our cache
    sha256: str
    size: int
    repo: str  # e.g. github.com/rajdeep345/ECTSum
    commit: str
    repo_path: str  # path inside the repository at that commit
    license: str


@lru_cache(maxsize=1)
def manifest_files() -> dict[str, tuple[DatasetFile, ...]]:
    """{dataset name: its pinned files}, in the manifest's order."""
    raw = json.loads((resources.files("fincortex.datasets") / "manifest.json").read_text("utf-8"))
    out: dict[str, tuple[DatasetFile, ...]] = {}
    for name, entry in raw.items():
        sources = entry["sources"]
        out[name] = tuple(
            DatasetFile(
                relpath=rel,
                sha256=sha,
                size=size,
                repo=sources[src]["repo"],
                commit=sources[src]["commit"],
                repo_path=repo_path,
                license=sources[src]["license"],
            )
            for rel, sha, size, src, repo_path in entry["files"]
        )
    return out


def pinned_files(name: str) -> tuple[DatasetFile, ...]:
    files = manifest_files()
    if name not in files:
        raise DatasetError(
            f"dataset {name!r} has no entry in fincortex/datasets/manifest.json; add one with "
            "scripts/build_dataset_manifest.py (see docs/datasets.md)"
        )
    return files[name]
