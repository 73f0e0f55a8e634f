"""P(Yes) for many prompts with one chat model: batched, cached, and sampled when temperature > 0.

`score_choices_batch` (models/llm/base.py) sends the cache misses to the backend together -- the local
backend scores a Yes/No question as one padded forward pass per 16 prompts, reading both answers from the
last position's logits -- so a 730-day run costs 730 short sequences, not 730 x 3 separate ones.
Temperature 0 returns the model's P(Yes) (softmax over Yes/No). Temperature T > 0 stands for sampling the
model's answer: `votes` seeded draws from the tempered distribution p^(1/T) (self-consistency voting),
P = (yes votes + 0.5) / (votes + 1); seeds then give distinct runs.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from fincortex.models.llm.base import choice_probabilities

CHOICES = ["Yes", "No"]


def p_yes(chat, prompts: Sequence[list[dict[str, str]]]) -> list[float]:
    if not prompts:
        return []
    batch = getattr(chat, "score_choices_batch", None)
    scored = batch(list(prompts), CHOICES) if batch else [chat.score_choices(p, CHOICES) for p in prompts]
    return [choice_probabilities(s)["Yes"] for s in scored]


def sample_votes(p: list[float], temperature: float, seed: int, member: str, votes: int = 5) -> list[float]:
    if temperature <= 0:
        return p
    rng = np.random.default_rng([int(seed), zlib.crc32(member.encode())])
    q = np.clip(np.asarray(p, float), 1e-6, 1 - 1e-6)
    a, b = q ** (1 / temperature), (1 - q) ** (1 / temperature)
    yes = rng.binomial(votes, a / (a + b))
    return [float((y + 0.5) / (votes + 1)) for y in yes]


def answer_days(chat, days: Sequence[Any], ok: list[int], build: Callable[[Any], list[dict[str, str]]],
                temperature: float, seed: int, member: str) -> list[float | None]:
    """P(up) for the days at indices `ok` (one prompt each, built by `build`), None for the others."""
    p = sample_votes(p_yes(chat, [build(days[i]) for i in ok]), temperature, seed, member)
    out: list[float | None] = [None] * len(days)
    for i, v in zip(ok, p):
        out[i] = v
    return out
