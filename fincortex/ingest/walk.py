"""Expanding the operator's paths into files, where every entry met gets an outcome (none is skipped silently).

A folder walk yields, for each entry, either a file to ingest or a `Skip` that says why it is not
ingested: hidden names (`.git`, `.DS_Store`: skipped, by name), unsupported types such as `.xlsx` or
`.docx` (skipped, naming the supported ones), symbolic-link loops and broken links (failed), and
unreadable folders (failed). Symlinked folders are followed unless they point at a folder already on
the current path (a loop) or already walked. Entries come in sorted path order, as `rglob` gave them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Skip:
    """An entry that is not ingested: `failed` says whether it is an error or a deliberate skip."""

    path: Path
    reason: str
    failed: bool = False


def walk(root: Path, supported: set[str]) -> Iterator[Path | Skip]:
    """Files under `root` (a folder) with a supported suffix, and a Skip for every other entry."""
    yield from _walk(root, supported, (root.resolve(),), set())


def _walk(folder: Path, supported: set[str], ancestors: tuple[Path, ...], walked: set[Path]) -> Iterator[Path | Skip]:
    walked.add(ancestors[-1])
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        yield Skip(folder, f"cannot read folder: {exc.strerror or exc}", failed=True)
        return
    for entry in entries:
        path = Path(entry.path)
        if entry.name.startswith("."):
            kind = "folder" if entry.is_dir() else "file"
            yield Skip(path, f"hidden {kind} (name starts with '.'): not ingested from a folder walk; "
                             "name it explicitly to ingest it")
            continue
        if entry.is_symlink():
            try:
                target = path.resolve(strict=True)
            except (OSError, RuntimeError) as exc:  # RuntimeError: a loop on Python < 3.13
                looped = isinstance(exc, RuntimeError) or getattr(exc, "errno", None) == 40  # ELOOP
                yield Skip(path, f"symbolic link loop ({os.readlink(path)})" if looped else
                           f"broken symbolic link to {os.readlink(path)}", failed=True)
                continue
            if target.is_dir():
                if target in ancestors:
                    yield Skip(path, f"symbolic link loop: points to its own parent folder {target}", failed=True)
                    continue
                if target in walked:
                    yield Skip(path, f"symbolic link to a folder already walked ({target})")
                    continue
                yield from _walk(path, supported, ancestors + (target,), walked)
                continue
        elif entry.is_dir():
            yield from _walk(path, supported, ancestors + (path.resolve(),), walked)
            continue
        if not path.is_file():
            yield Skip(path, "not a regular file (device, socket or pipe)", failed=True)
        elif path.suffix.lower() in supported:
            yield path
        else:
            yield Skip(path, f"unsupported file type {path.suffix or '(no extension)'}; "
                             f"supported: {', '.join(sorted(supported))}")
