"""`fincortex llm serve`: a small OpenAI-compatible server over a local model.

Why: agents can point at one URL whether the model runs here or on a vLLM box, the endpoint
backend is tested against a real server, and a laptop can share one loaded model between processes.
Implements the subset fincortex uses: GET /v1/models, POST /v1/chat/completions (with `logprobs`
and `top_logprobs`), POST /v1/completions (text or token-id prompts, `echo`, `logprobs`,
`max_tokens` 0 allowed). Log-probs are those of the model's raw distribution (before temperature).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from pydantic import BaseModel

from fincortex.models.llm.local import (
    LoadedLM,
    generate_ids,
    load_lm,
    render_chat,
    token_logprobs,
)


class ChatRequest(BaseModel):
    model: str
    messages: list[dict[str, Any]]
    temperature: float | None = 0.0
    max_tokens: int | None = 256
    max_completion_tokens: int | None = None
    top_p: float | None = 1.0
    seed: int | None = 0
    stop: str | list[str] | None = None
    logprobs: bool | None = False
    top_logprobs: int | None = None
    n: int | None = 1


class CompletionRequest(BaseModel):
    model: str
    prompt: str | list[str] | list[int] | list[list[int]]
    temperature: float | None = 0.0
    max_tokens: int | None = 16
    top_p: float | None = 1.0
    seed: int | None = 0
    stop: str | list[str] | None = None
    echo: bool | None = False
    logprobs: int | None = None
    n: int | None = 1


def _token_strings(tok: Any, ids: list[int], prefix: str = "") -> tuple[list[str], list[int]]:
    """Per-token text and character offsets by incremental decoding (byte-level BPE safe)."""
    strings, offsets, prev = [], [], ""
    for i in range(len(ids)):
        cur = tok.decode(ids[: i + 1], skip_special_tokens=False)
        strings.append(cur[len(prev):])
        offsets.append(len(prefix) + len(prev))
        prev = cur
    return strings, offsets


def create_app(model_path: str, served_name: str, device: str | None = None) -> Any:
    from fastapi import FastAPI, HTTPException

    app = FastAPI(title="fincortex OpenAI-compatible server")
    state: dict[str, LoadedLM] = {}

    def lm() -> LoadedLM:
        if "lm" not in state:
            state["lm"] = load_lm(model_path, device)
        return state["lm"]

    def check_model(name: str) -> None:
        if name != served_name:
            raise HTTPException(404, f"model {name!r} is not served here (serving {served_name!r})")

    def params(req: Any, max_tokens: int) -> dict[str, Any]:
        stop = [req.stop] if isinstance(req.stop, str) else list(req.stop or [])
        if (req.n or 1) != 1:
            raise HTTPException(400, "only n=1 is supported")
        return {"temperature": req.temperature or 0.0, "max_tokens": max_tokens, "top_p": req.top_p or 1.0,
                "seed": 0 if req.seed is None else req.seed, "stop": stop}

    @app.get("/v1/models")
    def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": served_name, "object": "model", "created": 0,
                                            "owned_by": "fincortex"}]}

    @app.post("/v1/chat/completions")
    def chat(req: ChatRequest) -> dict[str, Any]:
        check_model(req.model)
        m = lm()
        tok = m.tokenizer
        messages = [{"role": x["role"], "content": x.get("content") or ""} for x in req.messages]
        p = params(req, req.max_completion_tokens or req.max_tokens or 256)
        prompt_ids = tok(render_chat(tok, messages), add_special_tokens=False)["input_ids"]
        new, finish = generate_ids(m, prompt_ids, p)
        special = set(tok.all_special_ids)
        visible = [t for t in new if t not in special]
        text = tok.decode(visible, skip_special_tokens=True)
        for s in p["stop"]:
            if (cut := text.find(s)) >= 0:
                text, finish = text[:cut], "stop"
        choice: dict[str, Any] = {"index": 0, "message": {"role": "assistant", "content": text.strip()},
                                  "finish_reason": finish, "logprobs": None}
        if req.logprobs and visible:
            top = req.top_logprobs or 0
            lps, tops = token_logprobs(m, prompt_ids + new, top)
            strings, _ = _token_strings(tok, new)
            content = []
            for i, (tid, s) in enumerate(zip(new, strings)):
                if tid in special:
                    continue
                pos = len(prompt_ids) + i
                content.append({
                    "token": s, "logprob": lps[pos], "bytes": list(s.encode()),
                    "top_logprobs": [{"token": tok.decode([a]), "logprob": v, "bytes": list(tok.decode([a]).encode())}
                                     for a, v in tops[pos].items()],
                })
            choice["logprobs"] = {"content": content}
        return {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": int(time.time()),
                "model": served_name, "choices": [choice],
                "usage": {"prompt_tokens": len(prompt_ids), "completion_tokens": len(new),
                          "total_tokens": len(prompt_ids) + len(new)}}

    @app.post("/v1/completions")
    def completions(req: CompletionRequest) -> dict[str, Any]:
        check_model(req.model)
        m = lm()
        tok = m.tokenizer
        prompts: list[Any]
        if isinstance(req.prompt, str) or (req.prompt and isinstance(req.prompt[0], int)):
            prompts = [req.prompt]
        else:
            prompts = list(req.prompt)
        max_tokens = 16 if req.max_tokens is None else req.max_tokens
        p = params(req, max(max_tokens, 1))
        choices, n_prompt, n_new = [], 0, 0
        for index, prompt in enumerate(prompts):
            text_in = prompt if isinstance(prompt, str) else tok.decode(prompt, skip_special_tokens=False)
            ids = tok(prompt, add_special_tokens=False)["input_ids"] if isinstance(prompt, str) else list(prompt)
            if not ids:
                raise HTTPException(400, f"prompt {index} is empty")
            new, finish = generate_ids(m, ids, p) if max_tokens > 0 else ([], "length")
            n_prompt, n_new = n_prompt + len(ids), n_new + len(new)
            out_ids = (ids if req.echo else []) + new
            text = tok.decode(new, skip_special_tokens=True)
            choice: dict[str, Any] = {"index": index, "text": (text_in if req.echo else "") + text,
                                      "finish_reason": finish, "logprobs": None}
            if req.logprobs is not None:
                lps, tops = token_logprobs(m, ids + new, req.logprobs)
                lps, tops = (lps, tops) if req.echo else (lps[len(ids):], tops[len(ids):])
                strings, offsets = _token_strings(tok, out_ids) if req.echo else _token_strings(tok, new, text_in)
                choice["logprobs"] = {
                    "tokens": strings, "token_logprobs": lps, "text_offset": offsets,
                    "top_logprobs": [None if not t else {tok.decode([a]): v for a, v in t.items()} for t in tops],
                }
            choices.append(choice)
        return {"id": f"cmpl-{uuid.uuid4().hex}", "object": "text_completion", "created": int(time.time()),
                "model": served_name, "choices": choices,
                "usage": {"prompt_tokens": n_prompt, "completion_tokens": n_new,
                          "total_tokens": n_prompt + n_new}}

    return app


def serve(model_path: str, served_name: str, host: str = "127.0.0.1", port: int = 8000,
          device: str | None = None) -> None:
    """Run the server in the foreground (Ctrl-C stops it). Loads the model before accepting requests."""
    import uvicorn

    load_lm(model_path, device)
    uvicorn.run(create_app(model_path, served_name, device), host=host, port=port, log_level="warning")
