"""CPU inference backends (retrieval/onnx_backend.py): ONNX fp32 / int8 and bf16 against the torch path."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from retrieval_corpus import populated

pytest.importorskip("onnxruntime", reason="the onnx extra is not installed: pip install 'fincortex[onnx]'")

TEXTS = [
    "Revenue grew 12% year over year to $4.2 billion, driven by services.",
    "The board declared a quarterly dividend of $0.24 per share.",
    "Operating margin contracted 150 basis points on higher input costs, and management lowered full-year "
    "guidance while reiterating its long-term target of mid-single-digit organic growth.",
    "EPS",
]


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def torch_vectors() -> np.ndarray:
    from fincortex.retrieval.embedder import Embedder

    return Embedder(backend="torch").encode(TEXTS)


def test_onnx_fp32_matches_torch_and_is_exported_once(models_dir, torch_vectors):
    from fincortex.retrieval.embedder import Embedder
    from fincortex.retrieval.onnx_backend import export_folder

    embedder = Embedder(backend="onnx", models_dir=models_dir)
    vectors = embedder.encode(TEXTS)
    assert vectors.dtype == np.float32 and vectors.shape == torch_vectors.shape
    assert np.min(np.sum(vectors * torch_vectors, axis=1)) > 0.9999
    exported = export_folder(models_dir, embedder.ref.weights_sha256) / "model.onnx"
    stamp = exported.stat().st_mtime_ns
    again = Embedder(backend="onnx", models_dir=models_dir).encode(TEXTS[:1])  # loads, does not re-export
    assert exported.stat().st_mtime_ns == stamp
    np.testing.assert_allclose(again[0], vectors[0], atol=1e-5)


def test_export_of_an_older_format_is_redone(tmp_path, torch_vectors):
    """A cached export from an earlier exporter (here: one whose metadata has no format) is re-exported and
    re-quantised on load instead of being served."""
    import json

    from fincortex.retrieval.embedder import Embedder
    from fincortex.retrieval.onnx_backend import EXPORT_FORMAT, export_folder

    embedder = Embedder(backend="onnx-int8", models_dir=tmp_path)
    embedder.encode(TEXTS[:1])
    folder = export_folder(tmp_path, embedder.ref.weights_sha256)
    for name in ("model.json", "model_qint8.json"):
        meta = json.loads((folder / name).read_text())
        assert meta["format"] == EXPORT_FORMAT
        (folder / name).write_text(json.dumps({k: v for k, v in meta.items() if k != "format"}))
    stamps = {f: (folder / f).stat().st_mtime_ns for f in ("model.onnx", "model_qint8.onnx")}
    again = Embedder(backend="onnx-int8", models_dir=tmp_path)
    vectors = again.encode(TEXTS)
    assert all((folder / f).stat().st_mtime_ns != stamp for f, stamp in stamps.items())
    assert json.loads((folder / "model.json").read_text())["format"] == EXPORT_FORMAT
    assert np.sum(vectors * torch_vectors, axis=1).min() > 0.95
    assert again.batch_size == 8 and Embedder(backend="torch").batch_size == 64


def test_onnx_int8_close_to_torch(models_dir, torch_vectors):
    from fincortex.retrieval.embedder import Embedder

    vectors = Embedder(backend="onnx-int8", models_dir=models_dir).encode(TEXTS)
    cosines = np.sum(vectors * torch_vectors, axis=1)
    assert cosines.min() > 0.95, cosines  # measured 0.977..0.994 here; fp32 ONNX is > 0.99999
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)


def test_bf16_close_to_torch(torch_vectors):
    from fincortex.retrieval.embedder import Embedder
    from fincortex.retrieval.onnx_backend import BackendError, bf16_cpu

    if not bf16_cpu():
        with pytest.raises(BackendError, match="AVX512-BF16 or AMX"):
            Embedder(backend="torch-bf16")
        return
    vectors = Embedder(backend="torch-bf16").encode(TEXTS)
    assert np.sum(vectors * torch_vectors, axis=1).min() > 0.999


def test_keys_keep_backends_apart_in_the_cache(tmp_path, models_dir):
    from fincortex.retrieval import embedding_cache
    from fincortex.retrieval.embedder import Embedder

    _, store, docs = populated(tmp_path, n_docs=4, chunks_per_doc=2)
    torch_embedder, onnx_embedder = Embedder(backend="torch"), Embedder(backend="onnx", models_dir=models_dir)
    assert torch_embedder.key != onnx_embedder.key and onnx_embedder.key.endswith("-onnx")
    assert embedding_cache.ensure_embeddings(store, torch_embedder) == 8
    assert embedding_cache.ensure_embeddings(store, onnx_embedder) == 8  # not served from the torch rows
    stats = {row["model_key"]: row["n_vectors"] for row in embedding_cache.cache_stats(store)}
    assert stats == {torch_embedder.key: 8, onnx_embedder.key: 8}
    ids_t, vec_t = embedding_cache.load_embeddings(store, torch_embedder.key)
    ids_o, vec_o = embedding_cache.load_embeddings(store, onnx_embedder.key)
    assert (ids_t == ids_o).all() and np.sum(vec_t * vec_o, axis=1).min() > 0.9999


def test_settings_choose_the_backend_for_search(tmp_path, models_dir, monkeypatch):
    from fincortex.config import Settings
    from fincortex.retrieval import service

    monkeypatch.setenv("FINCORTEX_EMBED_BACKEND", "onnx")
    settings = Settings.from_env(home=tmp_path)
    assert settings.embed_backend == "onnx"
    settings, store, _ = populated(tmp_path, n_docs=6, chunks_per_doc=2)
    settings = settings.with_(embed_backend="onnx")
    monkeypatch.setattr(Settings, "models_dir", property(lambda self: models_dir))  # reuse the module's export
    service.clear_cache()
    service.build_index(store, settings)
    hits = service.search(store, settings, "data center GPU demand", k=3, mode="dense", rerank=False)
    assert len(hits) == 3 and "GPU" in hits[0].text
    assert service.get_searcher(store, settings).embedder.key.endswith("-onnx")
    status = service.index_status(store, settings)
    assert any(i["active"] and i["kind"] == "faiss" and i["name"].find("-onnx") > 0 for i in status["indexes"])
    service.clear_cache()


def test_unknown_backend_and_missing_extra_are_clear_errors(monkeypatch):
    from fincortex.retrieval.embedder import Embedder
    from fincortex.retrieval.onnx_backend import BackendError

    with pytest.raises(BackendError, match="'onnx-fp16' is unknown"):
        Embedder(backend="onnx-fp16")
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # what an install without the extra looks like
    with pytest.raises(BackendError, match=r"fincortex\[onnx\]"):
        Embedder(backend="onnx")


def test_reranker_onnx_scores_match_torch(tmp_path, models_dir):
    """No trained cross-encoder ships offline: a seeded head on the packaged MiniLM is enough to compare
    the two runtimes on the same weights."""
    import torch
    from sentence_transformers import CrossEncoder

    from fincortex.retrieval.embedder import resolve_model_path, DEFAULT_MODEL
    from fincortex.retrieval.reranker import Reranker

    torch.manual_seed(0)
    folder = tmp_path / "ce"
    CrossEncoder(str(resolve_model_path(DEFAULT_MODEL)), num_labels=1, local_files_only=True).save(str(folder))
    query, passages = "dividend per share", TEXTS
    reference = Reranker(str(folder), allow_untrained_head=True, backend="torch").score(query, passages)
    for backend, tolerance in (("onnx", 1e-4), ("onnx-int8", 0.05)):
        scores = Reranker(str(folder), allow_untrained_head=True, backend=backend, models_dir=models_dir).score(
            query, passages)
        np.testing.assert_allclose(scores, reference, atol=tolerance)
