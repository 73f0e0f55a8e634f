"""OpenAI-compatible endpoint backend (vLLM, Ollama, llama.cpp server, `fincortex llm serve`, OpenAI).

Chat goes through /v1/chat/completions. `score_choices` goes through /v1/completions with
`echo=True, logprobs=1` (the lm-evaluation-harness recipe): the server returns the log-prob of every
prompt token, so the log-prob of a full choice continuation is exact, not a top-k approximation.
Chat-mode scoring must reproduce the server's chat template, so it needs the model's tokenizer
(`tokenizer=` a local folder or hub id); the prompt is then sent as token ids, making the scores the
same token-for-token as the local backend. Without a tokenizer only raw-text scoring is possible,
and a chat-mode request fails with a message saying so.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import PrivateAttr

from fincortex.config import Settings
from fincortex.models.llm.base import ChatDicts, Completion, FincortexChatModel
from fincortex.models.llm.factory import ModelSpecError
from fincortex.store import Store

PREFIX = "openai:"  # its line in factory.BACKENDS


class EndpointError(RuntimeError):
    """The endpoint is unreachable, refused the request or answered without what we need."""


class EndpointChatModel(FincortexChatModel):
    """A model served behind an OpenAI-compatible HTTP API."""

    base_url: str
    endpoint_model: str
    api_key: str | None = None
    tokenizer: str | None = None  # local folder or hub id of the served model (chat-mode scoring)
    timeout_s: float = 120.0
    _client: Any = PrivateAttr(default=None)
    _tok: Any = PrivateAttr(default=None)

    @property
    def _llm_type(self) -> str:
        return "fincortex-openai"

    @property
    def model_hash(self) -> str:
        # the weights are not visible from here: the (server, model name) pair names them
        return f"openai:{self.base_url.rstrip('/')}#{self.endpoint_model}"

    @property
    def client(self) -> Any:
        if self._client is None:
            from openai import OpenAI

            key = self.api_key or os.environ.get("OPENAI_API_KEY") or "EMPTY"  # local servers ignore it
            self._client = OpenAI(base_url=self.base_url, api_key=key, timeout=self.timeout_s, max_retries=1)
        return self._client

    def _call(self, fn: Any, **kwargs: Any) -> Any:
        import openai

        try:
            return fn(**kwargs)
        except openai.APIConnectionError as exc:
            raise EndpointError(f"cannot reach endpoint {self.base_url}: {exc}") from exc
        except openai.APIStatusError as exc:
            raise EndpointError(
                f"endpoint {self.base_url} (model {self.endpoint_model!r}) refused the request: "
                f"HTTP {exc.status_code} {exc.message} {str(exc.body)[:500] if exc.body else ''}"
            ) from exc

    def _complete(self, messages: ChatDicts, params: dict[str, Any]) -> Completion:
        resp = self._call(
            self.client.chat.completions.create, model=self.endpoint_model, messages=messages,
            temperature=params["temperature"], max_tokens=params["max_tokens"], top_p=params["top_p"],
            seed=params["seed"], stop=params["stop"] or None,
        )
        if not resp.choices:
            raise EndpointError(f"endpoint {self.base_url} returned no choices")
        choice = resp.choices[0]
        usage = resp.usage
        return Completion(
            text=choice.message.content or "", finish_reason=choice.finish_reason or "stop",
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
        )

    # -- scoring -----------------------------------------------------------------------------
    def _tokenizer(self) -> Any:
        if self._tok is None:
            from transformers import AutoTokenizer

            self._tok = AutoTokenizer.from_pretrained(self.tokenizer)
        return self._tok

    def _score(self, prompt: str | ChatDicts, choices: list[str]) -> dict[str, float]:
        if self.tokenizer:
            return self._score_token_ids(prompt, choices)
        if not isinstance(prompt, str):
            raise EndpointError(
                f"chat-mode score_choices on endpoint {self.base_url} needs the served model's "
                "tokenizer to apply its chat template: pass tokenizer=<local folder or hub id>, "
                "or call score_choices(..., raw=True) with a text prompt"
            )
        return self._score_text(prompt, choices)

    def _echo(self, prompts: list[Any]) -> list[Any]:
        resp = self._call(
            self.client.completions.create, model=self.endpoint_model, prompt=prompts, echo=True,
            logprobs=1, max_tokens=1, temperature=0.0,
        )
        by_index = sorted(resp.choices, key=lambda c: c.index)
        if len(by_index) != len(prompts) or any(c.logprobs is None for c in by_index):
            raise EndpointError(
                f"endpoint {self.base_url} did not echo prompt log-probs (needs /v1/completions with "
                "echo=true and logprobs): it cannot score choices"
            )
        return by_index

    def _score_token_ids(self, prompt: str | ChatDicts, choices: list[str]) -> dict[str, float]:
        from fincortex.models.llm.local import render_chat

        tok = self._tokenizer()
        text = prompt if isinstance(prompt, str) else render_chat(tok, prompt)
        prefix = tok(text, add_special_tokens=False)["input_ids"]
        conts = [tok(c, add_special_tokens=False)["input_ids"] for c in choices]
        out = self._echo([prefix + c for c in conts])
        scores = {}
        for choice, ids, res in zip(choices, conts, out):
            lps = res.logprobs.token_logprobs[len(prefix): len(prefix) + len(ids)]
            if len(lps) != len(ids) or any(lp is None for lp in lps):
                raise EndpointError(f"endpoint {self.base_url} echoed {len(lps)} log-probs for {len(ids)} tokens")
            scores[choice] = float(sum(lps))
        return scores

    def _score_text(self, prompt: str, choices: list[str]) -> dict[str, float]:
        out = self._echo([prompt + c for c in choices])
        scores = {}
        for choice, res in zip(choices, out):
            lp = res.logprobs
            start, end = len(prompt), len(prompt) + len(choice)
            picked = [(t, v) for t, v, o in zip(lp.tokens, lp.token_logprobs, lp.text_offset) if start <= o < end]
            if "".join(t for t, _ in picked) != choice:
                raise EndpointError(
                    f"the endpoint's tokens straddle the prompt/choice boundary for {choice!r}; "
                    "pass tokenizer= to score on token ids, or start choices with a space"
                )
            scores[choice] = float(sum(v for _, v in picked))
        return scores


def parse_endpoint(spec: str) -> tuple[str, str]:
    """'openai:<base_url>#<model>' -> (base_url, model)."""
    body = spec[len(PREFIX):]
    base_url, sep, model = body.partition("#")
    if not sep or not base_url or not model:
        raise ModelSpecError(
            f"endpoint spec {spec!r} must look like openai:<base_url>#<model>, "
            "e.g. openai:http://127.0.0.1:8000/v1#smollm2-135m-instruct"
        )
    if not base_url.startswith(("http://", "https://")):
        raise ModelSpecError(f"endpoint spec {spec!r}: base URL must start with http:// or https://")
    return base_url, model


def build(settings: Settings, store: Store, spec: str, response_cache: Any, **params: Any) -> EndpointChatModel:
    """The backend entry of `get_chat_model` for 'openai:<base_url>#<model>'."""
    from fincortex.models import registry

    base_url, model = parse_endpoint(spec)
    if "tokenizer" not in params:  # a model we registered: its folder holds the tokenizer
        rec = registry.find(store, "chat", model)
        if rec is not None and Path(rec.path).is_dir():
            params["tokenizer"] = rec.path
    return EndpointChatModel(model_name=spec, base_url=base_url, endpoint_model=model,
                             response_cache=response_cache, **params)
