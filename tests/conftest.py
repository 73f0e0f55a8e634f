"""Shared test fixtures. No network, no model hub: everything runs on the mirror and shipped models."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parent.parent
MIRROR = Path(os.environ.get("FINCORTEX_DATA_MIRROR") or REPO.parent / "shared" / "data").resolve()


def pytest_collection_modifyitems(config, items):
    import torch

    if not torch.cuda.is_available():
        skip = pytest.mark.skip(reason="needs CUDA (no GPU on this machine)")
        for item in items:
            if "gpu" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def mirror() -> Path:
    if not (MIRROR / "MANIFEST.json").is_file():
        pytest.fail(f"data mirror not found at {MIRROR}; set FINCORTEX_DATA_MIRROR")
    return MIRROR


@pytest.fixture
def home(tmp_path: Path, mirror: Path, monkeypatch) -> Path:
    """An isolated FINCORTEX_HOME (db, cache, models) per test, reading the real mirror."""
    monkeypatch.setenv("FINCORTEX_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FINCORTEX_DATA_MIRROR", str(mirror))
    monkeypatch.delenv("FINCORTEX_DB", raising=False)
    return tmp_path / "home"


@pytest.fixture
def client(home: Path):
    from fincortex import Client

    return Client()
