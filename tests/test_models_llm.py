"""Local chat backend: LangChain interface, exact choice scoring, deterministic replay from DuckDB."""

from __future__ import annotations

import math

import pytest
import torch
from langchain_core.messages import HumanMessage, SystemMessage

from models_support import default_chat_dir, link_default_model, settings, tiny_dir  # noqa: F401

from fincortex.models.llm import local as llm_local
from fincortex.models.llm.endpoint import parse_endpoint
from fincortex.models.llm.factory import ModelSpecError, get_chat_model


def _manual_logprob(path, prefix_text: str, choice: str) -> float:
    """Independent reference: one forward pass per choice, no batching/padding."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
    p = tok(prefix_text, add_special_tokens=False)["input_ids"]
    c = tok(choice, add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        logp = torch.log_softmax(model(torch.tensor([p + c])).logits[0].float(), -1)
    return sum(float(logp[len(p) - 1 + i, t]) for i, t in enumerate(c))


def test_tiny_chat_is_a_langchain_model_with_exact_scores(settings, tiny_dir):
    llm = get_chat_model(settings, str(tiny_dir), max_tokens=8)
    reply = llm.invoke([SystemMessage("You are terse."), HumanMessage("Revenue rose?")])
    assert isinstance(reply.content, str)
    assert reply.response_metadata["cached"] is False
    assert reply.usage_metadata["output_tokens"] <= 8

    choices = [" Buy", " Sell", " Hold on"]  # multi-token and different-length choices
    scores = llm.score_choices("Revenue rose 12 percent.", choices)
    rendered = llm_local.render_chat(llm.lm.tokenizer, [{"role": "user", "content": "Revenue rose 12 percent."}])
    for c in choices:
        assert scores[c] == pytest.approx(_manual_logprob(tiny_dir, rendered, c), abs=1e-4)
        assert scores[c] < 0
    raw = llm.score_choices("The answer is", [" yes", " no"], raw=True)
    assert raw[" yes"] == pytest.approx(_manual_logprob(tiny_dir, "The answer is", " yes"), abs=1e-4)
    best, probs = llm.choose("Revenue rose 12 percent.", choices)
    assert math.isclose(sum(probs.values()), 1.0, rel_tol=1e-9) and best == max(scores, key=scores.get)


def test_replay_from_cache_does_not_load_the_model(settings, tiny_dir, monkeypatch):
    llm = get_chat_model(settings, str(tiny_dir), temperature=0.9, seed=7, max_tokens=12)
    first = llm.invoke("Net income fell").content
    scores = llm.score_choices("Net income fell", ["yes", "no"])
    # same seed -> same sample even without the cache
    assert get_chat_model(settings, str(tiny_dir), cache=False, temperature=0.9, seed=7,
                          max_tokens=12).invoke("Net income fell").content == first

    llm_local.unload_all()

    def refuse(*a, **k):
        raise AssertionError("a cache hit must not load the model")

    monkeypatch.setattr(llm_local, "load_lm", refuse)
    again = get_chat_model(settings, str(tiny_dir), temperature=0.9, seed=7, max_tokens=12)
    reply = again.invoke("Net income fell")
    assert reply.content == first and reply.response_metadata["cached"] is True
    assert again.score_choices("Net income fell", ["yes", "no"]) == scores
    with pytest.raises(AssertionError, match="must not load"):  # another seed is another request
        again.invoke("Net income fell", seed=8)


def test_bad_specs_and_inputs_fail_clearly(settings, tiny_dir, tmp_path):
    with pytest.raises(ModelSpecError, match="neither an existing path"):
        get_chat_model(settings, "no-such-model")
    with pytest.raises(ModelSpecError, match="does not exist"):
        get_chat_model(settings, f"local:{tmp_path / 'missing'}")
    with pytest.raises(FileNotFoundError, match="no config.json"):
        get_chat_model(settings, str(tmp_path))
    with pytest.raises(ModelSpecError, match="openai:<base_url>#<model>"):
        parse_endpoint("openai:http://127.0.0.1:8000/v1")
    llm = get_chat_model(settings, str(tiny_dir), cache=False)
    with pytest.raises(ValueError, match="distinct"):
        llm.score_choices("x", ["a", "a"])
    with pytest.raises(ValueError, match="unknown generation parameter"):
        llm.invoke("x", temprature=0.5)


@pytest.mark.slow  # loads and runs the 135M default model (tens of seconds on a busy CPU)
def test_default_model_converted_once_registered_and_sensible(settings, default_chat_dir):
    from fincortex.models import registry
    from fincortex.store import Store

    link_default_model(settings, default_chat_dir)
    llm = get_chat_model(settings)  # spec "local"
    assert llm.model_name == "smollm2-135m-instruct"
    rec = registry.get_default(Store(settings.db_path), "chat")
    assert rec is not None and rec.name == "smollm2-135m-instruct" and rec.method == "gguf-convert"
    assert rec.parents[0]["role"] == "source" and len(rec.parents[0]["sha256"]) == 64
    raw = llm.score_choices("The capital of France is", [" Paris", " London"], raw=True)
    assert raw[" Paris"] > raw[" London"] + 1.0
    reply = llm.invoke("Reply with one word: what colour is the sky on a clear day?", max_tokens=24)
    assert "blue" in reply.content.lower()


def test_missing_default_folder_is_an_error_not_a_fallback(settings, tiny_dir, tmp_path):
    import shutil

    from fincortex.models import registry
    from fincortex.models.merging.lineage import LineageCard, write_card
    from fincortex.store import Store

    copy = tmp_path / "gone-model"
    shutil.copytree(tiny_dir, copy)
    card = write_card(copy, LineageCard(name="gone", kind="chat", method="cpt", parents=[]))
    registry.register(Store(settings.db_path), card, str(copy), make_default=True)
    shutil.rmtree(copy)
    with pytest.raises(ModelSpecError, match="registered at .* which is missing"):
        get_chat_model(settings)
