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
from fincortex.ingest.walk import Skip, walk


def file_origins(paths: list[Path], options: FileOptions) -> Iterator[Origin]:
    """Expand folders (fincortex/ingest/walk.py: every entry gets an outcome) and report missing paths."""
    seen: set[Path] = set()
    named = {Path(p).expanduser().resolve() for p in paths if Path(p).expanduser().is_file()}
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.exists():
            error = "broken symbolic link or link loop" if path.is_symlink() else "no such file or directory"
            yield Origin(str(raw), str(path), 0, lambda: "", lambda h: [], error=error)
            continue
        for file in walk(path, set(PARSERS)) if path.is_dir() else [path]:
            if isinstance(file, Skip):
                key = file.path.absolute()
                if key in seen or key in named:  # a file also named explicitly gets that outcome instead
                    continue
                seen.add(key)
                yield Origin(str(file.path), str(file.path), 0, lambda: "", lambda h: [],
                             error=file.reason if file.failed else None, skipped=None if file.failed else file.reason)
                continue
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
