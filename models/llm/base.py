"""One chat-model interface for every backend: a LangChain chat model plus `score_choices`.

Agents (LangGraph) call `.invoke(messages)` for free text and `.score_choices(prompt, choices)` for
constrained decisions (BUY/SELL/HOLD, yes/no): the log-probability of each full choice as the
model's reply, so a decision never depends on parsing free text. Backends implement two hooks,
`_complete` and `_score`; this class adds the DuckDB response cache (deterministic replay) and the
LangChain plumbing.

Semantics of `score_choices(prompt, choices, raw=False)`:
- chat mode (default): `prompt` (a string = one user message, or a list of messages) is rendered with
  the model's chat template up to the start of the assistant reply; each choice is scored as the
  beginning of that reply: sum of log p(token) over the choice's tokens.
- raw mode: plain text continuation, log p(choice | prompt text).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, convert_to_openai_messages
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import ConfigDict, Field

from fincortex.models.llm.cache import LLMCache, cache_key

ChatDicts = list[dict[str, str]]
PromptLike = str | Sequence[BaseMessage] | Sequence[dict[str, Any]]


@dataclass(frozen=True)
class Completion:
    """What a backend returns for one chat request."""

    text: str
    finish_reason: str  # stop | length
    prompt_tokens: int
    completion_tokens: int

    def to_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


def to_chat_dicts(messages: PromptLike) -> ChatDicts:
    """LangChain messages, OpenAI-style dicts or one string -> [{'role', 'content'}] with text content."""
    if isinstance(messages, str):
        return [{"role": "user", "content": messages}]
    out = []
    for m in convert_to_openai_messages(list(messages)):
        content = m.get("content", "")
        if isinstance(content, list):  # content blocks: keep the text parts
            content = "".join(b.get("text", "") for b in content if isinstance(b, dict))
        out.append({"role": m["role"], "content": content or ""})
    if not out:
        raise ValueError("no messages given: a chat request needs at least one message")
    return out


def choice_probabilities(scores: dict[str, float]) -> dict[str, float]:
    """Normalise choice log-probs into a distribution over the choices (softmax)."""
    top = max(scores.values())
    exp = {c: math.exp(s - top) for c, s in scores.items()}
    total = sum(exp.values())
    return {c: v / total for c, v in exp.items()}


class FincortexChatModel(BaseChatModel):
    """Base for the local and endpoint backends; do not instantiate directly."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model_name: str = Field(description="human-readable model spec (path, registry name or endpoint)")
    temperature: float = 0.0  # 0 = greedy
    max_tokens: int = 256
    top_p: float = 1.0
    seed: int = 0
    response_cache: LLMCache | None = Field(default=None, exclude=True)

    # -- backend hooks -----------------------------------------------------------------------
    @property
    def model_hash(self) -> str:
        """Identity of the weights behind this model (cache key component)."""
        raise NotImplementedError

    def _complete(self, messages: ChatDicts, params: dict[str, Any]) -> Completion:
        raise NotImplementedError

    def _score(self, prompt: str | ChatDicts, choices: list[str]) -> dict[str, float]:
        raise NotImplementedError

    # -- LangChain -------------------------------------------------------------------------
    @property
    def _llm_type(self) -> str:
        return "fincortex"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name, "temperature": self.temperature,
                "max_tokens": self.max_tokens, "top_p": self.top_p, "seed": self.seed}

    def generation_params(self, stop: list[str] | None = None, **overrides: Any) -> dict[str, Any]:
        params = {"temperature": self.temperature, "max_tokens": self.max_tokens,
                  "top_p": self.top_p, "seed": self.seed, "stop": list(stop or [])}
        unknown = set(overrides) - set(params)
        if unknown:
            raise ValueError(f"unknown generation parameter(s) {sorted(unknown)}; known: {sorted(params)}")
        params.update({k: v for k, v in overrides.items() if v is not None})
        if params["temperature"] < 0 or params["max_tokens"] < 1 or not 0 < params["top_p"] <= 1:
            raise ValueError(f"invalid generation parameters {params}")
        return params

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        chat = to_chat_dicts(messages)
        params = self.generation_params(stop, **kwargs)
        completion, cached = self.complete(chat, params)
        usage = UsageMetadata(input_tokens=completion.prompt_tokens,
                              output_tokens=completion.completion_tokens,
                              total_tokens=completion.prompt_tokens + completion.completion_tokens)
        msg = AIMessage(
            content=completion.text,
            usage_metadata=usage,
            response_metadata={"model_name": self.model_name, "finish_reason": completion.finish_reason,
                               "cached": cached, "seed": params["seed"]},
        )
        return ChatResult(generations=[ChatGeneration(message=msg)])

    # -- cached entry points ---------------------------------------------------------------
    def complete(self, messages: ChatDicts, params: dict[str, Any]) -> tuple[Completion, bool]:
        """One chat completion through the cache; returns (completion, was_cached)."""
        request = {"messages": messages, "params": params}
        if self.response_cache is not None:
            key = cache_key("chat", self.model_hash, request)
            hit = self.response_cache.get(key)
            if hit is not None:
                return Completion(**hit), True
        completion = self._complete(messages, params)
        if self.response_cache is not None:
            self.response_cache.put(key, "chat", self.model_name, self.model_hash, request,
                                    completion.to_json())
        return completion, False

    def score_choices(self, prompt: PromptLike, choices: Sequence[str], *, raw: bool = False) -> dict[str, float]:
        """Log-probability of each full choice as the continuation of `prompt` (see module doc)."""
        choices = list(choices)
        if not choices:
            raise ValueError("score_choices needs at least one choice")
        if any(not isinstance(c, str) or c == "" for c in choices):
            raise ValueError(f"choices must be non-empty strings, got {choices!r}")
        if len(set(choices)) != len(choices):
            raise ValueError(f"choices must be distinct, got {choices!r}")
        if raw and not isinstance(prompt, str):
            raise ValueError("raw=True scores a plain text continuation: pass the prompt as a string")
        norm: str | ChatDicts = prompt if raw else to_chat_dicts(prompt)
        request = {"prompt": norm, "raw": raw, "choices": choices}
        if self.response_cache is not None:
            key = cache_key("score", self.model_hash, request)
            hit = self.response_cache.get(key)
            if hit is not None:
                return hit
        scores = self._score(norm, choices)
        if self.response_cache is not None:
            self.response_cache.put(key, "score", self.model_name, self.model_hash, request, scores)
        return scores

    def _score_batch(self, prompts: list[str | ChatDicts], choices: list[str]) -> list[dict[str, float]]:
        """Backend hook for many prompts at once; the default scores them one by one."""
        return [self._score(p, choices) for p in prompts]

    def score_choices_batch(
        self, prompts: Sequence[PromptLike], choices: Sequence[str], *, raw: bool = False,
    ) -> list[dict[str, float]]:
        """`score_choices` for many prompts with the same choices: cache hits are served from the cache, the
        misses go to the backend together (the local backend scores them in padded batches), and each miss
        is cached under the same key `score_choices` uses, so either call replays the other."""
        choices = list(choices)
        if not choices or any(not isinstance(c, str) or c == "" for c in choices) or len(set(choices)) != len(choices):
            raise ValueError(f"choices must be distinct non-empty strings, got {choices!r}")
        if raw and any(not isinstance(p, str) for p in prompts):
            raise ValueError("raw=True scores a plain text continuation: pass the prompts as strings")
        norms: list[str | ChatDicts] = [p if raw else to_chat_dicts(p) for p in prompts]
        out: list[dict[str, float] | None] = [None] * len(norms)
        keys: list[str | None] = [None] * len(norms)
        for i, norm in enumerate(norms):
            if self.response_cache is not None:
                keys[i] = cache_key("score", self.model_hash, {"prompt": norm, "raw": raw, "choices": choices})
                out[i] = self.response_cache.get(keys[i])
        missing = [i for i, o in enumerate(out) if o is None]
        if missing:
            scored = self._score_batch([norms[i] for i in missing], choices)
            for i, scores in zip(missing, scored):
                out[i] = scores
                if self.response_cache is not None:
                    request = {"prompt": norms[i], "raw": raw, "choices": choices}
                    self.response_cache.put(keys[i], "score", self.model_name, self.model_hash, request, scores)
        return [o for o in out if o is not None]

    def choose(self, prompt: PromptLike, choices: Sequence[str], *, raw: bool = False) -> tuple[str, dict[str, float]]:
        """The most likely choice and the distribution over choices (softmax of the log-probs)."""
        probs = choice_probabilities(self.score_choices(prompt, choices, raw=raw))
        return max(probs, key=probs.__getitem__), probs
