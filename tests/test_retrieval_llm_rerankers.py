"""LLM rerankers (models/rerankers/): FIRST reads a ranking from the first generated identifier's logits,
ICR from the chat model's attention; both are selected by FINCORTEX_RERANKER like the cross-encoder, and
`fincortex tune llm-reranker` trains a copy of the chat model and registers it with lineage."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from models_support import default_chat_dir, tiny_dir  # noqa: F401  (fixtures)
from retrieval_corpus import corpus

from fincortex.config import Settings
from fincortex.models.rerankers.common import LLMRerankerError, resolve_rerank_model
from fincortex.models.rerankers.first import FirstReranker, FirstStage, label_token_ids
from fincortex.models.rerankers.icr import ICRReranker, ICRStage
from fincortex.retrieval import registry, service
from fincortex.retrieval.corpus_rows import write_documents
from fincortex.retrieval.options import RetrievalOptions
from fincortex.retrieval.searcher import Searcher
from fincortex.retrieval.stages import StageContext
from fincortex.store import Store

PASSAGES = ["Revenue rose 12 percent year over year.", "The company raised full-year guidance.",
            "Net income fell on higher interest expense.", "Earnings per share beat consensus estimates.",
            "Free cash flow was strong and a buyback was announced."]


def test_first_scores_are_the_first_generated_tokens_identifier_logits(tiny_dir):
    import torch

    ranker = FirstReranker(tiny_dir)
    scores = ranker.score("Did revenue grow?", PASSAGES)
    # independently: one greedy generation step, its scores read at the identifiers' own token ids
    tok, model = ranker.loaded.tokenizer, ranker.loaded.model
    ids = torch.tensor([ranker.prompt_ids("Did revenue grow?", PASSAGES)])
    out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=1, do_sample=False,
                         output_scores=True, return_dict_in_generate=True, pad_token_id=0)
    first = out.scores[0][0]
    expected = first[[tok.convert_tokens_to_ids(label) for label in "ABCDE"]].numpy()
    assert scores == pytest.approx(expected, rel=1e-4, abs=1e-4)
    assert np.argsort(-scores).tolist() == np.argsort(-expected).tolist()
    assert len(set(scores.tolist())) == len(PASSAGES)  # a real ordering, not ties
    with pytest.raises(ValueError, match="at most 26"):
        ranker.score("q", ["p"] * 27)


class MergingTokenizer:
    """A tokenizer that merges "[A" into one token: FIRST could not read A from one logit after "["."""

    chat_template, name_or_path = "plain", "merging"

    def apply_chat_template(self, messages, add_generation_prompt=True, tokenize=False):
        return "".join(m["content"] for m in messages)

    def __call__(self, text, add_special_tokens=False):
        ids, i = [], 0
        while i < len(text):
            if text[i] == "[" and i + 1 < len(text) and text[i + 1].isupper():
                ids.append(1000 + ord(text[i + 1]))
                i += 2
            else:
                ids.append(ord(text[i]))
                i += 1
        return {"input_ids": ids}


def test_identifiers_that_are_not_single_tokens_are_refused(tiny_dir):
    assert len(set(label_token_ids(FirstReranker(tiny_dir).loaded.tokenizer))) == 26
    with pytest.raises(LLMRerankerError, match="not a single token"):
        label_token_ids(MergingTokenizer())


def test_icr_ranks_a_planted_relevant_passage_first(default_chat_dir):
    import torch

    torch.set_num_threads(1)
    ranker = ICRReranker(default_chat_dir)
    passages = ["Microsoft said operating margin in its cloud segment expanded as data center costs fell.",
                "Exxon reported lower oil production volumes and weaker refining margins in the quarter.",
                "Apple's total net sales for fiscal 2019 were $260.2 billion, compared with $265.6 billion in 2018.",
                "JPMorgan's net interest income rose with higher deposit rates and loan growth.",
                "The board of Chevron approved a new share buyback programme of $25 billion."]
    scores = ranker.score("What were Apple's total net sales in fiscal 2019?", passages)
    assert int(np.argmax(scores)) == 2, scores
    ids, spans, (q0, q1) = ranker.layout("What were Apple's total net sales?", passages)
    assert len(spans) == 5 and spans[-1][1] < q0 < q1 <= len(ids)  # documents first, then the query


def _store(tmp_path: Path, n_docs: int = 12) -> tuple[Settings, Store]:
    settings = Settings(home=tmp_path)
    store = Store(settings.db_path)
    store.ensure_schema()
    write_documents(store, corpus(n_docs))
    return settings, store


def test_fincortex_reranker_selects_the_llm_rerankers_in_search(tmp_path, tiny_dir, monkeypatch):
    settings, store = _store(tmp_path, n_docs=8)
    embedder = service.get_embedder(settings.embedding_model)
    for name, cls in (("llm-first", FirstStage), ("llm-icr", ICRStage)):
        monkeypatch.setenv("FINCORTEX_RERANKER", f"{name}:{tiny_dir}")
        options = RetrievalOptions.from_env()
        stage = registry.rerank_stage(StageContext(store, settings.index_dir, embedder, options))
        assert isinstance(stage, cls) and stage.describe() == f"{name}:{Path(tiny_dir).resolve()}"
        searcher = Searcher(store, settings.index_dir, embedder, options)
        searcher.sync(stages=("bm25",))  # lexical only: the test is about the post stage, not embeddings
        results = searcher.search("share buyback programme", k=8, mode="bm25", rerank=True)
        assert results.reranked and results.stages[-1] == name and not results.warnings
        head = [h for h in results if h.reranked]
        assert head and all(name in h.scores and "final" in h.scores for h in head)
    monkeypatch.setenv("FINCORTEX_RERANKER", str(tmp_path / "no-such-cross-encoder"))
    from fincortex.retrieval.reranker import RerankerUnavailable
    from fincortex.retrieval.stage_rerank import CrossEncoderStage  # noqa: F401  (what "rerank" builds otherwise)

    with pytest.raises(RerankerUnavailable, match="does not exist"):
        registry.rerank_stage(StageContext(store, settings.index_dir, embedder, RetrievalOptions.from_env()))
    with pytest.raises(LLMRerankerError, match="remote chat backend"):
        resolve_rerank_model(store, "openai:http://x/v1#m", use_tuned=True)


def test_tune_llm_reranker_trains_a_few_steps_and_registers_lineage(home, tiny_dir):
    from typer.testing import CliRunner

    from fincortex.cli import app
    from fincortex.models import registry as models
    from fincortex.models.merging.lineage import read_card
    from fincortex.models.tuning.heldout import split_contexts, tatqa_file
    from fincortex.models.tuning.pair_mining import Pair
    from fincortex.models.tuning.pairs import PairsRun, save_run

    settings = Settings.from_env()
    store = Store(settings.db_path)
    store.ensure_schema()
    write_documents(store, corpus(6))
    split = split_contexts(tatqa_file(settings))
    pairs = [Pair(source="test", split="train", group_key=f"g{i}", query=f"Did {t} grow?", positive=f"{t} grew 12%.",
                  positive_ref=f"p{i}", negatives=[f"{t} weather report.", "Football scores.", "A recipe."],
                  negative_refs=["n1", "n2", "n3"]) for i, t in enumerate(["revenue", "income", "margin"])]
    run = PairsRun("pairs-test", 0, {}, {"name": "none"}, split.describe(), {"train": {"test": 3}}, pairs)
    save_run(store, run)
    result = CliRunner().invoke(app, ["tune", "llm-reranker", "--base", str(tiny_dir), "--max-steps", "3",
                                      "--negatives", "2", "--name", "tiny-first", "--json"])
    assert result.exit_code == 0, result.output
    record = models.get_default(store, "llm-reranker")
    assert record is not None and record.name == "tiny-first" and record.method == "finetune-first-ranknet"
    card = read_card(Path(record.path))
    assert card.parents[0].path == str(Path(tiny_dir).resolve()) and card.data_summary["pairs_run"] == "pairs-test"
    assert card.hyperparams["steps_done"] == 3 and len(card.metrics["loss_history"]) == 3
    assert card.parents[0].sha256 != card.sha256  # the weights changed
    # FINCORTEX_RERANKER=llm-first now means the tuned copy; llm-first:base the chat model it came from
    assert resolve_rerank_model(store, "", use_tuned=True) == Path(record.path).resolve()
    assert resolve_rerank_model(store, str(tiny_dir), use_tuned=True) == Path(tiny_dir).resolve()
    again = CliRunner().invoke(app, ["tune", "llm-reranker", "--base", str(tiny_dir), "--max-steps", "1",
                                     "--name", "tiny-first"])
    assert again.exit_code == 2 and "already exists" in again.output
