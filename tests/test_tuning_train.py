"""Embedder and reranker tuning with a tiny model: registry lineage, defaults, re-indexing, clear errors."""

from __future__ import annotations

import shutil

import pytest
from typer.testing import CliRunner

from fincortex.models import registry
from fincortex.models.tuning.embedder import EmbedTuneConfig
from fincortex.models.merging.lineage import model_digest, read_card
from fincortex.models.tuning.pairs import PairsConfig, TuningDataError
from fincortex.models.tuning.reranker import RerankTuneConfig
from fincortex.models.tuning.common import TuningError

from tuning_support import corpus_home, tiny_embedder  # noqa: F401  (fixtures)

PAIRS = PairsConfig(max_pairs={"tatqa": 48, "headlines": 8, "ectsum": 16}, seed=5)
FAST = dict(batch_size=4, max_steps=3, time_budget_min=5)


@pytest.fixture(scope="module")
def corpus_client(corpus_home):
    from fincortex import Client

    return Client()


@pytest.fixture(scope="module")
def tuned(corpus_client, tiny_embedder):
    """One tiny tuning for the module; the tests below run in file order, destructive ones last."""
    result = corpus_client.tune_embedder(EmbedTuneConfig(base=str(tiny_embedder), name="tiny-fin", pairs=PAIRS, **FAST))
    return corpus_client, result


def test_embedder_tuning_registers_lineage(tuned, tiny_embedder):
    client, result = tuned
    record = registry.get(client.store, "embedder", "tiny-fin")
    assert record.path == str(result.path) and record.sha256 == model_digest(result.path)
    assert record.method == "finetune-contrastive" and record.seed == 0 and not record.is_default
    (parent,) = record.parents
    assert parent["sha256"] == model_digest(tiny_embedder) and parent["role"] == "base"
    assert record.data_summary["pairs_run"] == result.pairs_run
    assert record.data_summary["heldout_split"]["n_eval_contexts"] == 83
    assert record.hyperparams["steps_done"] == 3 and record.hyperparams["device"] in ("cpu", "cuda")
    for key in ("heldout_base_ndcg@10", "heldout_ndcg@10", "heldout_ndcg@10_gain"):
        assert isinstance(record.metrics[key], float)
    assert read_card(result.path).sha256 == record.sha256
    from sentence_transformers import SentenceTransformer

    assert SentenceTransformer(str(result.path), device="cpu").max_seq_length == 64  # the base's length


def test_reranker_from_tuned_embedder_becomes_default(tuned):
    client, embedder = tuned
    # newest tuned embedder, same pairs; 3 steps cannot be trusted to beat the first stage: forced default
    result = client.tune_reranker(RerankTuneConfig(eval_queries=8, force_default=True, **FAST))
    assert result.metrics["made_default"] is True
    record = registry.get_default(client.store, "reranker")
    assert record.name == "tiny-fin-reranker" == result.name and record.sha256 == model_digest(result.path)
    (parent,) = record.parents
    assert parent["name"] == "tiny-fin" and parent["sha256"] == model_digest(embedder.path)
    assert record.data_summary["pairs_run"] == embedder.pairs_run
    assert "heldout_rerank_ndcg@10" in record.metrics
    hits = client.search("oil prices fell", k=3, mode="hybrid", rerank=True)
    assert hits.reranked and all("rerank" in h.scores for h in hits)
    # evaluation through the same command as search, with the registered models by name
    beir = client.export_heldout(client.settings.cache_dir / "heldout-beir")["out"]
    report = client.evaluate_retrieval(beir, modes=("dense",), rerank=True, max_queries=4, embedder="tiny-fin")
    assert report["embedder"]["path"] == str(embedder.path) and report["reranker"] == record.path
    assert "dense+rerank" in report["results"]
    # without force: default search with and without the new reranker on held-apart queries decides
    gated = client.tune_reranker(RerankTuneConfig(eval_queries=8, name="tiny-gated", **FAST))
    m = gated.metrics
    assert m["gate_queries"] == 8 and m["made_default"] == (m["gate_search_rerank_ndcg@10"] > m["gate_search_ndcg@10"])
    default = registry.get_default(client.store, "reranker").name
    assert default == ("tiny-gated" if m["made_default"] else "tiny-fin-reranker")
    assert m["made_default"] or "held-apart queries" in m["not_default_because"]


def test_missing_or_corrupt_start_model_is_a_clear_error(corpus_client, tiny_embedder, tmp_path):
    with pytest.raises(TuningError, match="/no/such/model"):
        corpus_client.tune_embedder(base="/no/such/model", pairs=PAIRS, **FAST)
    corrupt = tmp_path / "corrupt"
    shutil.copytree(tiny_embedder, corrupt)
    (corrupt / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(TuningError, match=f"cannot load the base embedder at {corrupt}"):
        corpus_client.tune_embedder(base=str(corrupt), pairs=PAIRS, **FAST)
    with pytest.raises(TuningError, match="cannot load the starting embedder"):
        corpus_client.tune_reranker(embedder=str(corrupt), **FAST)


def test_missing_reranker_folder_is_a_clear_error(tuned):
    client, _ = tuned
    shutil.rmtree(registry.get_default(client.store, "reranker").path)
    from fincortex.retrieval import service

    service.clear_cache()  # as a new process would: the loaded reranker is forgotten
    hits = client.search("oil", k=2, rerank=True)
    assert not hits.reranked and any("does not exist" in w for w in hits.warnings)


def test_default_embedder_reindexes_and_missing_folder_is_a_clear_error(tuned, monkeypatch):
    _, result = tuned
    monkeypatch.delenv("FINCORTEX_EMBEDDING_MODEL")  # the packaged default: the registry default then wins
    from fincortex import Client
    from fincortex.retrieval.embedder import EmbeddingModelError

    client = Client()
    client.set_default_model("tiny-fin", "embedder")  # re-embeds and builds the index now
    status = client.index_status()
    assert status["embedding_model"]["path"] == str(result.path)
    active = [i for i in status["indexes"] if i["active"] and i["kind"] == "faiss"]
    assert active and active[0]["up_to_date"] and active[0]["n_items"] == status["n_chunks"]
    shutil.rmtree(result.path)
    with pytest.raises(EmbeddingModelError, match="registered at .* which is missing"):
        client.search("oil", k=1, mode="dense", rerank=False)


def test_empty_corpus_says_what_to_ingest(client):
    with pytest.raises(TuningDataError, match="ingest --dataset ectsum:val"):
        client.tune_embedder(**FAST)
    with pytest.raises(TuningDataError, match="fincortex ingest"):
        client.tune_reranker(**FAST)
    from fincortex.cli import app

    result = CliRunner().invoke(app, ["tune", "embedder"])
    assert result.exit_code == 2 and "holds no chunks" in result.output and "fincortex ingest" in result.output


def test_bad_settings_are_refused(corpus_client):
    with pytest.raises(TuningError, match="loss must be one of"):
        corpus_client.tune_embedder(loss="triplet", **FAST)
    from fincortex.cli import app

    result = CliRunner().invoke(app, ["tune", "embedder", "--max-pairs", "ectsum"])
    assert result.exit_code == 2 and "expected SOURCE=N" in result.output


def test_a_reranker_becomes_the_default_only_when_default_search_scores_higher_with_it():
    from fincortex.models.tuning.reranker import default_decision

    better = {"gate_search_rerank_ndcg@10": 0.69, "gate_search_ndcg@10": 0.67, "gate_queries": 60}
    worse = {"gate_search_rerank_ndcg@10": 0.6695, "gate_search_ndcg@10": 0.6724, "gate_queries": 60}
    assert default_decision(better, set_default=True) == (True, None)
    made, why = default_decision(worse, set_default=True)
    assert not made and "0.6695" in why and "0.6724" in why and "60 held-apart" in why and "--force-default" in why
    assert default_decision(worse, set_default=True, force=True) == (True, None)
    assert default_decision(better, set_default=False) == (False, None)
