"""Origins of the operator's files and folders. A public dataset's origins come from its connector
(fincortex/datasets/connectors/), which also states how each derives `available_at`.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path

from fincortex.datasets.fetch import sha256_file
from fincortex.ingest.documents import Document
from fincortex.ingest.parsers import PARSERS, FileOptions, parse_file
from fincortex.ingest.pipeline import Origin


def file_origins(paths: list[Path], options: FileOptions) -> Iterator[Origin]:
    """Expand folders (recursively, supported extensions, sorted) and report missing paths as failures."""
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.exists():
            yield Origin(str(raw), str(path), 0, lambda: "", lambda h: [], error="no such file or directory")
            continue
        files = (
            sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
            if path.is_dir()
            else [path]
        )
        if path.is_dir():
            files = [p for p in files if p.suffix.lower() in PARSERS]
        for file in files:
            resolved = file.resolve()
            if resolved in seen:
                continue
            seen.add(resolved)
            yield Origin(
                item=str(file),
                uri=str(resolved),
                size=resolved.stat().st_size,
                hash=partial(sha256_file, resolved),
                parse=partial(_parse_file_as, resolved, options),
            )


def _parse_file_as(path: Path, options: FileOptions, file_hash: str) -> list[Document]:
    return parse_file(path, options, file_hash)
