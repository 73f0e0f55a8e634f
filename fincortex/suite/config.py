"""What one suite run evaluates: the model configuration, and how much of the dev data (profile).

Why fingerprints: a unit (one part on one dataset or window) depends on some of the three models only
(forecasting's statistical stack on none, retrieval on the embedder and reranker, the LLM members on
the chat model). A finished unit whose fingerprint matches is reused, by the same run after a kill and
by any later run, so changing one model recomputes only what depends on it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any


class SuiteError(ValueError):
    """A suite input is wrong (unknown profile, part or model); the message names it."""


@dataclass(frozen=True)
class Profile:
    """Sizes of the dev subsets one run evaluates (the same for every configuration it is compared with)."""

    name: str
    retrieval_queries: int | None  # held-apart TAT-QA queries (None: all)
    financebench_questions: int | None  # FinanceBench dev questions (None: all 46)
    forecast_rounds: int | None  # ForecastBench dev rounds, oldest first (None: all)
    forecast_sample_every: int  # forecast questions whose id hashes to 0 mod N (1: all)
    llm_sample_every: int  # the LLM forecaster member on this sparser subset (its CPU cost per question)
    trading_windows: tuple[tuple[str, str, str, str], ...]  # (unit name, symbol, start, end)
    lm_chunks: int  # held-out blocks the LM evaluation scores


TRADING_DEV_WINDOWS = (("btc2018", "BTC", "2018-01-01", "2019-12-31"), ("eth2018", "ETH", "2018-01-01", "2019-12-31"),
                       ("btc2020", "BTC", "2020-01-01", "2022-12-31"))
PROFILES: dict[str, Profile] = {
    "full": Profile("full", None, None, None, 1, 10, TRADING_DEV_WINDOWS, 64),
    # --quick: a small fixed subset (sized for about ten minutes on the 2-core CPU; see docs/evaluation.md)
    "quick": Profile("quick", 300, 10, 3, 4, 40, (("btc2018h1", "BTC", "2018-01-01", "2018-06-30"),), 16),
}


def profile(name: str, quick: bool = False) -> Profile:
    key = "quick" if quick else name
    if key not in PROFILES:
        raise SuiteError(f"unknown profile {name!r}; choose from {', '.join(PROFILES)}")
    return PROFILES[key]


@dataclass(frozen=True)
class ModelChoice:
    """One model of the configuration, resolved: what was asked, where it lives, its weights' hash and its
    registry row (lineage: method, parents, seed) when it is a registered model."""

    role: str  # embedder | reranker | chat
    asked: str | None
    path: str | None
    sha256: str | None
    registry: dict[str, Any] | None = None
    load: str | None = None  # what the loaders take when it differs from `path` (the packaged embedder's alias)

    @property
    def spec(self) -> str | None:
        """What to load, valid in any store (a registered name is only known to the user's registry, so it
        resolves to its folder); None for no model ('none')."""
        return None if self.asked == "none" else (self.load or self.path or self.asked)

    @property
    def identity(self) -> str:
        return f"{self.role}:{self.sha256 or self.path or self.asked or 'none'}"


@dataclass(frozen=True)
class SuiteConfig:
    profile: Profile
    embedder: ModelChoice
    reranker: ModelChoice
    chat: ModelChoice
    parts: tuple[str, ...]
    label: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def models(self) -> dict[str, ModelChoice]:
        return {"embedder": self.embedder, "reranker": self.reranker, "chat": self.chat}

    def as_dict(self) -> dict[str, Any]:
        return {"label": self.label, "profile": asdict(self.profile), "parts": list(self.parts),
                **{role: asdict(m) for role, m in self.models().items()}}


def fingerprint(part: str, unit: str, profile: Profile, models: list[ModelChoice], version: int) -> str:
    """Hash of what a unit's result depends on: the part's code version, the unit, the profile, the models."""
    payload = {"part": part, "unit": unit, "profile": asdict(profile), "models": [m.identity for m in models],
               "version": version}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:24]
