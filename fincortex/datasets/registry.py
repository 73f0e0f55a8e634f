"""The datasets fincortex knows, read from the pinned manifest shipped in the package."""

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


@dataclass(frozen=True)
class Dataset:
    name: str
    description: str
    files: tuple[DatasetFile, ...]

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def licenses(self) -> list[str]:
        return sorted({f.license for f in self.files})


@lru_cache(maxsize=1)
def all_datasets() -> dict[str, Dataset]:
    raw = json.loads((resources.files("fincortex.datasets") / "manifest.json").read_text("utf-8"))
    out: dict[str, Dataset] = {}
    for name, entry in raw.items():
        sources = entry["sources"]
        files = tuple(
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
        out[name] = Dataset(name=name, description=entry["description"], files=files)
    return out


def get_dataset(name: str) -> Dataset:
    datasets = all_datasets()
    if name not in datasets:
        raise DatasetError(f"unknown dataset {name!r}; known: {', '.join(sorted(datasets))}")
    return datasets[name]
