"""Endpoint backend against a real OpenAI-compatible server the test starts (`fincortex llm serve` app)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from models_support import default_chat_dir, settings, tiny_dir  # noqa: F401

from fincortex.models.llm.factory import get_chat_model
from fincortex.models.llm.endpoint import EndpointError


@contextmanager
def serving(model_dir: Path, name: str) -> Iterator[str]:
    import uvicorn

    from fincortex.models.llm.serve import create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(str(model_dir), name), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.should_exit = True
        thread.join(10)


def test_endpoint_matches_local_model_token_for_token(settings, tiny_dir):
    local = get_chat_model(settings, str(tiny_dir), cache=False, max_tokens=10)
    with serving(tiny_dir, "tiny") as url:
        remote = get_chat_model(settings, f"openai:{url}#tiny", cache=False, max_tokens=10,
                                tokenizer=str(tiny_dir))
        msgs = [("system", "Be brief."), ("human", "Revenue rose 12 percent?")]
        assert remote.invoke(msgs).content == local.invoke(msgs).content
        choices = [" Buy", " Sell", " Hold on"]
        r, l = remote.score_choices("Revenue rose?", choices), local.score_choices("Revenue rose?", choices)
        assert r.keys() == l.keys() and all(r[c] == pytest.approx(l[c], abs=1e-4) for c in choices)
        # raw scoring needs no tokenizer: the server's text offsets split prompt and choice
        bare = get_chat_model(settings, f"openai:{url}#tiny", cache=False)
        rr = bare.score_choices("The answer is", [" yes", " no"], raw=True)
        lr = local.score_choices("The answer is", [" yes", " no"], raw=True)
        assert all(rr[c] == pytest.approx(lr[c], abs=1e-4) for c in lr)
        with pytest.raises(EndpointError, match="needs the served model's tokenizer"):
            bare.score_choices("Revenue rose?", choices)
        with pytest.raises(EndpointError, match="not served here"):
            get_chat_model(settings, f"openai:{url}#other", cache=False).invoke("hi")


def test_chat_logprobs_from_the_server(tiny_dir):
    from openai import OpenAI

    with serving(tiny_dir, "tiny") as url:
        c = OpenAI(base_url=url, api_key="EMPTY")
        resp = c.chat.completions.create(model="tiny", messages=[{"role": "user", "content": "Net income"}],
                                         max_tokens=5, logprobs=True, top_logprobs=3, temperature=0)
        content = resp.choices[0].logprobs.content
        assert content and all(t.logprob <= 0 for t in content)
        # greedy decoding: each generated token is the most likely one
        for t in content:
            assert len(t.top_logprobs) == 3
            assert t.logprob == pytest.approx(max(a.logprob for a in t.top_logprobs), abs=1e-5)
        assert "".join(t.token for t in content).strip() == resp.choices[0].message.content
        echo = c.completions.create(model="tiny", prompt="Revenue rose", echo=True, logprobs=1, max_tokens=0)
        lp = echo.choices[0].logprobs
        assert lp.token_logprobs[0] is None and all(v < 0 for v in lp.token_logprobs[1:])
        assert "".join(lp.tokens) == "Revenue rose" and lp.text_offset[0] == 0


def test_unreachable_endpoint_says_so(settings):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    llm = get_chat_model(settings, f"openai:http://127.0.0.1:{port}/v1#x", cache=False, timeout_s=2)
    with pytest.raises(EndpointError, match="cannot reach endpoint"):
        llm.invoke("hello")


@pytest.mark.slow  # loads and runs the 135M default model (tens of seconds on a busy CPU)
def test_default_model_served_with_registered_tokenizer(settings, default_chat_dir):
    """The real default model behind the server; the registry supplies the tokenizer for chat scoring."""
    from models_support import link_default_model

    link_default_model(settings, default_chat_dir)
    local = get_chat_model(settings, "local", cache=False, max_tokens=16)  # registers the default
    name = local.model_name
    with serving(default_chat_dir, name) as url:
        remote = get_chat_model(settings, f"openai:{url}#{name}", max_tokens=16)
        question = "Quarterly revenue grew 30% and margins expanded. Is this good news? Answer yes or no."
        assert remote.invoke(question).content == local.invoke(question).content
        r, l = remote.score_choices(question, ["Yes", "No"]), local.score_choices(question, ["Yes", "No"])
        assert all(r[c] == pytest.approx(l[c], abs=1e-3) for c in l)
        assert remote.invoke(question).response_metadata["cached"] is True
