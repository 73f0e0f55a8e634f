"""Bring pinned dataset files into the local cache: copy from a mirror or download, then verify sha256.

The transport of a connector's extract_data stage (fincortex/datasets/connector.py): which files to bring
is the connector's business, how to bring them and check them is this module's.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fincortex.datasets.manifest import DatasetError, DatasetFile

# Canonical public location: raw files of the pinned repository commit. Overridable for tests and for
# users behind a proxy mirror of the same layout.
DEFAULT_BASE_URL = "https://raw.githubusercontent.com"
_ROWS_UNTIL = re.compile(r"^(?P<path>.+) \(rows up to (?P<day>\d{4}-\d{2}-\d{2})\)$")


@dataclass(frozen=True)
class PulledDataset:
    """What a pull made present and verified: the files of a dataset (or of its subset) under a root."""

    name: str
    root: Path  # cache root; files live at root / relpath
    files: tuple[DatasetFile, ...]

    def path(self, file: DatasetFile) -> Path:
        return self.root / file.relpath


def sha256_file(path: Path, block: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(block):
            digest.update(chunk)
    return digest.hexdigest()


class DatasetFetcher:
    """The transport for pinned files: one for every connector; the per-dataset parts live in the connector."""

    def __init__(self, base_url: str | None = None, timeout_s: float = 60.0) -> None:
        self.base_url = (base_url or os.environ.get("FINCORTEX_DATA_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        self.timeout_s = timeout_s

    def bring(
        self,
        files: tuple[DatasetFile, ...],
        root: Path,
        mirror: Path | None,
        on_file: Callable[[DatasetFile], None] | None = None,
    ) -> None:
        """Make every file present and verified under root; skip files already verified."""
        if mirror is not None and not Path(mirror).is_dir():
            raise DatasetError(f"mirror folder {mirror} does not exist")
        for file in files:
            target = root / file.relpath
            if not (target.exists() and target.stat().st_size == file.size and _verified(target, file)):
                self._bring(file, target, Path(mirror) if mirror is not None else None)
            if on_file:
                on_file(file)

    # -- one file ------------------------------------------------------------------------------
    def _bring(self, file: DatasetFile, target: Path, mirror: Path | None) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".part-")
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            if mirror is not None:
                source = mirror / file.relpath
                if not source.exists():
                    raise DatasetError(f"mirror {mirror} lacks {file.relpath}")
                shutil.copyfile(source, tmp)
            else:
                self._download(file, tmp)
            actual = sha256_file(tmp)
            if actual != file.sha256:
                origin = mirror / file.relpath if mirror else self._url(file)
                raise DatasetError(
                    f"checksum mismatch for {file.relpath} from {origin}: expected {file.sha256}, "
                    f"got {actual}; the source changed or the copy is corrupt"
                )
            os.replace(tmp, target)  # atomic: a killed pull never leaves a half file under the real name
            _mark_verified(target, file)
        finally:
            tmp.unlink(missing_ok=True)

    def _url(self, file: DatasetFile) -> str:
        repo = file.repo.removeprefix("github.com/")
        path = _ROWS_UNTIL.match(file.repo_path)
        return f"{self.base_url}/{repo}/{file.commit}/{path.group('path') if path else file.repo_path}"

    def _download(self, file: DatasetFile, tmp: Path) -> None:
        import httpx  # only a download needs it: listing datasets (the CLI's help) stays fast

        url = self._url(file)
        try:
            with httpx.stream("GET", url, timeout=self.timeout_s, follow_redirects=True) as response:
                response.raise_for_status()
                with open(tmp, "wb") as handle:
                    for block in response.iter_bytes():
                        handle.write(block)
        except httpx.HTTPError as exc:
            raise DatasetError(
                f"cannot download {file.relpath} from {url}: {exc}. Offline? Point "
                "FINCORTEX_DATA_MIRROR (or --mirror) at a local copy laid out like shared/data."
            ) from exc
        rows_until = _ROWS_UNTIL.match(file.repo_path)
        if rows_until:  # the pinned file is the upstream CSV cut at a date: apply the same cut
            _keep_rows_until(tmp, rows_until.group("day"))


def _keep_rows_until(path: Path, day: str) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [lines[0]] + [line for line in lines[1:] if line[:10] <= day]
    path.write_text("".join(kept), encoding="utf-8")


def _stamp(target: Path) -> Path:
    return target.with_name(target.name + ".sha256")


def _mark_verified(target: Path, file: DatasetFile) -> None:
    stat = target.stat()
    _stamp(target).write_text(f"{file.sha256} {stat.st_size} {stat.st_mtime_ns}\n")


def _verified(target: Path, file: DatasetFile) -> bool:
    """A stamp written after verification saves re-hashing thousands of cached files on every pull."""
    stamp = _stamp(target)
    if not stamp.exists():
        return False
    stat = target.stat()
    return stamp.read_text().split() == [file.sha256, str(stat.st_size), str(stat.st_mtime_ns)]
