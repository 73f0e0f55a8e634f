"""Saving browser uploads under <home>/uploads: Unicode names kept, nothing overwritten, streamed, bounded.

- Names: NFC-normalised, path separators, control and reserved characters replaced, Unicode letters kept
  (`年報.pdf` stays `年報.pdf`, `отчет.pdf` stays `отчет.pdf`; they used to become `pdf`), the extension
  kept, the stem cut to fit the usual 255-byte file-name limit.
- Collisions: a different upload whose cleaned name is taken gets `name (2).ext`, `name (3).ext`, ...;
  the same bytes again reuse the existing file, so re-uploading a file is recognised as unchanged.
- Size: copied to disk in 1 MiB blocks from the upload, never `getvalue()` copies; above the limit the
  partial file is removed and the upload is reported. Streamlit enforces the same limit before the
  upload reaches the app (`server.maxUploadSize`, set by `fincortex ui`).
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
import uuid
from pathlib import Path
from typing import Any, BinaryIO

BLOCK = 1 << 20
MAX_NAME_BYTES = 240  # below the 255-byte limit of common file systems, leaving room for " (NN)"
_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')


def safe_name(name: str) -> str:
    """A file name that is safe on disk and still the user's: Unicode kept, separators and controls removed."""
    base = unicodedata.normalize("NFC", str(name)).replace("\\", "/").split("/")[-1]
    base = _UNSAFE.sub("_", base).strip(" ._") or "upload"
    stem, dot, ext = base.rpartition(".")
    if not dot or not stem:
        stem, ext = base, ""
    ext = ext[:16]
    suffix = f".{ext}" if ext else ""
    while len((stem + suffix).encode("utf-8")) > MAX_NAME_BYTES:
        stem = stem[:-1]
    return (stem.strip(" ._") or "upload") + suffix


def _candidates(name: str):
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    yield name
    for n in range(2, 10_000):
        yield f"{stem} ({n}).{ext}" if ext else f"{stem} ({n})"


def save_upload(upload: Any, folder: Path, max_bytes: int) -> Path:
    """Stream one upload into `folder`; the path it landed at (ValueError with the reason otherwise)."""
    folder.mkdir(parents=True, exist_ok=True)
    name = getattr(upload, "name", "upload")
    partial = folder / f".partial-{uuid.uuid4().hex}"
    digest, size = hashlib.sha256(), 0
    stream: BinaryIO = upload
    if hasattr(stream, "seek"):
        stream.seek(0)
    try:
        with open(partial, "wb") as out:
            while block := stream.read(BLOCK):
                size += len(block)
                if size > max_bytes:
                    raise ValueError(f"{name}: larger than the {max_bytes / 1e6:,.0f} MB upload limit")
                digest.update(block)
                out.write(block)
        if size == 0:
            raise ValueError(f"{name}: the file is empty")
        for candidate in _candidates(safe_name(name)):
            target = folder / candidate
            try:
                os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY))  # claim the name atomically
            except FileExistsError:
                if _sha256(target) == digest.hexdigest():
                    return target  # the same upload again
                continue
            os.replace(partial, target)  # the claimed (empty) name now holds the whole file at once
            return target
        raise ValueError(f"{name}: too many different uploads share this name")
    finally:
        partial.unlink(missing_ok=True)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(BLOCK):
            digest.update(block)
    return digest.hexdigest()


def save_uploads(files: list[Any], folder: Path, max_bytes: int) -> tuple[list[str], list[str]]:
    saved, problems = [], []
    for upload in files:
        try:
            saved.append(str(save_upload(upload, folder, max_bytes)))
        except (ValueError, OSError) as exc:
            problems.append(str(exc))
    return saved, problems
