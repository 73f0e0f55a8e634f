"""CPU inference backends for the embedder and the reranker: ONNX Runtime (fp32 or int8) and bf16.

Why not sentence-transformers' own `backend="onnx"`: it loads through optimum-onnx, whose releases pin
transformers < 4.58 and fail to import beside transformers 5 (optimum-onnx issue #114). So the export
is done here with torch.onnx (TorchScript exporter) and quantisation with onnxruntime's own
`quantize_dynamic`; sentence-transformers still does tokenisation, pooling and normalisation: only
the transformer forward of its first module is swapped for an ONNX Runtime session (`attach_onnx`).

Exports are cached under `<models_dir>/onnx/<sha256 of the source weights>/` so a retrained model in
place gets a fresh export and an unchanged one is exported once.

The default backend is "auto" (`resolve_backend`): int8 ONNX Runtime on a CPU when onnxruntime and onnx
import (both are default dependencies), torch on CUDA (fp16 there is faster than any CPU path) or when
they are missing. Measured for the trained cross-encoder: hybrid + rerank p95 at 100k chunks 426 ms with
torch fp32, 133 ms with int8, held-apart TAT-QA nDCG@10 0.736 vs 0.741 (benchmarks/results/).
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
import warnings
from pathlib import Path

import numpy as np

BACKENDS = ("torch", "torch-bf16", "onnx", "onnx-int8")
AUTO = "auto"  # resolve_backend: onnx-int8 on a CPU with onnxruntime, else torch
OPSET = 17
# Bumped when the export changes; a cached export with another format is redone (2: eager attention).
EXPORT_FORMAT = 2
# Sequences per ONNX Runtime call. Measured on 256 real ECTSum chunks, 2 threads, int8: 2.53 s at 8
# against 3.55 s at 64; the (batch, heads, seq, seq) attention tensors stay in cache at small batches.
ONNX_BATCH_SIZE = 8
# The same for the cross-encoder, whose query-time calls are 20 query+passage pairs on one thread: int8
# 367 ms at batch 4, 413 ms at 8, 523 ms at 32 (ECTSum chunks, the trained reranker).
ONNX_RERANK_BATCH_SIZE = 4
INSTALL_HINT = "install onnxruntime and onnx (default dependencies: pip install 'fincortex[onnx]' restores them)"


class BackendError(RuntimeError):
    """An inference backend is unknown or cannot run here (message says why and what to do)."""


def onnx_available() -> bool:
    """Whether the ONNX backends can run here (onnxruntime and onnx import)."""
    try:
        _onnxruntime()
    except BackendError:
        return False
    return True


def resolve_backend(requested: str, device: str) -> tuple[str, str]:
    """(backend that runs, why) for a requested backend on `device`. "auto": torch on CUDA; else onnx-int8
    when onnxruntime is importable; else torch, saying what is missing. Any other name is checked as is."""
    if requested != AUTO:
        return check_backend(requested), "set explicitly"
    if device != "cpu":
        return "torch", f"auto: torch on {device} (fp16)"
    if onnx_available():
        return "onnx-int8", "auto: ONNX Runtime int8 on CPU"
    return "torch", f"auto: torch fp32 on CPU because the ONNX backend is unavailable ({INSTALL_HINT})"


def check_backend(backend: str) -> str:
    """The backend name, validated; 'onnx'/'onnx-int8' also need onnxruntime, 'torch-bf16' a bf16 CPU."""
    if backend not in BACKENDS:
        raise BackendError(f"inference backend {backend!r} is unknown; choose one of {AUTO}, {', '.join(BACKENDS)}")
    if backend.startswith("onnx"):
        _onnxruntime()
    if backend == "torch-bf16" and not bf16_cpu():
        raise BackendError(
            "backend 'torch-bf16' needs a CPU with AVX512-BF16 or AMX (it would run emulated and slower "
            "than fp32 here); use 'torch' or 'onnx-int8'"
        )
    return backend


def key_suffix(backend: str) -> str:
    """Appended to the model key: vectors from different numerics never share cache rows or an index."""
    return {"torch": "", "torch-bf16": "-bf16", "onnx": "-onnx", "onnx-int8": "-onnx-int8"}[backend]


def bf16_cpu() -> bool:
    import torch

    cpu = getattr(torch, "cpu", None)
    return bool(cpu and (cpu._is_avx512_bf16_supported() or cpu._is_amx_tile_supported()))


def _onnxruntime():
    try:
        import onnx  # noqa: F401  (quantisation and the exporter need it)
        import onnxruntime
    except ImportError as exc:
        raise BackendError(f"the ONNX backend is unavailable ({exc}); {INSTALL_HINT}") from exc
    return onnxruntime


def export_folder(models_dir: Path, weights_sha256: str, head: str = "") -> Path:
    """`head` tells apart two graphs from one weight folder: the embedder's token states and a cross-encoder's
    logits (a reranker built on the embedder's own folder, e.g. the benchmarks' untrained-head peer)."""
    return Path(models_dir) / "onnx" / (weights_sha256[:24] + (f"-{head}" if head else ""))


def ensure_export(st_model, weights_sha256: str, models_dir: Path, quantize: bool, head: str = "") -> Path:
    """Path of the ONNX file for this model (fp32, or int8 when quantize), exporting it if missing."""
    _onnxruntime()
    folder = export_folder(models_dir, weights_sha256, head)
    weights_sha256 = weights_sha256 + (f"-{head}" if head else "")  # the in-process memo's key
    folder.mkdir(parents=True, exist_ok=True)
    fp32 = folder / "model.onnx"
    if not _current(fp32) and not _copy_earlier(weights_sha256, fp32):
        _export(st_model, fp32)
    _exported[(weights_sha256, fp32.name)] = fp32
    if not quantize:
        return fp32
    int8 = folder / "model_qint8.onnx"
    if not _current(int8) and not _copy_earlier(weights_sha256, int8):
        _quantize(fp32, int8)
    _exported[(weights_sha256, int8.name)] = int8
    return int8


# (weights sha256, file name) -> an export this process made or loaded, possibly under another models_dir.
# Why: an export is a function of the weights alone, and a process that serves several homes (tests, a
# benchmark beside a user's install) would otherwise trace and quantise the same model once per home.
_exported: dict[tuple[str, str], Path] = {}


def _current(target: Path) -> bool:
    return target.exists() and _meta(target).get("format") == EXPORT_FORMAT


def _copy_earlier(weights_sha256: str, target: Path) -> bool:
    """Copy this process's earlier export of the same weights into `target`'s folder (False when none)."""
    import shutil

    earlier = _exported.get((weights_sha256, target.name))
    if earlier is None or earlier == target or not _current(earlier):
        return False
    tmp = _tmp_beside(target)
    shutil.copyfile(earlier, tmp)
    os.replace(tmp, target)
    shutil.copyfile(earlier.with_suffix(".json"), target.with_suffix(".json"))
    return True


def _meta(target: Path) -> dict:
    try:
        return json.loads(target.with_suffix(".json").read_text())
    except (OSError, ValueError):
        return {}


def _export(st_model, target: Path) -> None:
    """Traced with eager attention: the SDPA path traces to a boolean-mask chain (Where, IsNaN) over the
    (batch, heads, seq, seq) scores that took 38% of ONNX Runtime's time; eager traces to one additive
    mask (measured: int8 encode of 128 chunks 2.85 s -> 1.86 s, same vectors)."""
    module = st_model[0]
    hf_model, output_name = module.model, _output_name(module)
    attention = getattr(hf_model.config, "_attn_implementation", None)
    switch = attention not in (None, "eager") and hasattr(hf_model, "set_attn_implementation")
    if switch:
        hf_model.set_attn_implementation("eager")
    try:
        _trace(hf_model, module.tokenizer, output_name, target)
    finally:
        if switch:
            hf_model.set_attn_implementation(attention)


def _trace(hf_model, tokenizer, output_name: str, target: Path) -> None:
    import torch

    sample = tokenizer(["a short sentence", "a somewhat longer second sentence to pad"], padding=True,
                       return_tensors="pt")
    input_names = [name for name in ("input_ids", "attention_mask", "token_type_ids") if name in sample]

    class _Forward(torch.nn.Module):  # positional inputs in a fixed order, one named output
        def __init__(self) -> None:
            super().__init__()
            self.inner = hf_model

        def forward(self, *inputs):
            return getattr(self.inner(**dict(zip(input_names, inputs)), return_dict=True), output_name)

    axes = {name: {0: "batch", 1: "sequence"} for name in input_names}
    axes[output_name] = {0: "batch"} if output_name == "logits" else {0: "batch", 1: "sequence"}
    tmp = _tmp_beside(target)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # TorchScript exporter deprecation and tracer notes
        torch.onnx.export(_Forward().eval(), tuple(sample[n] for n in input_names), str(tmp),
                          input_names=input_names, output_names=[output_name], dynamic_axes=axes,
                          opset_version=OPSET, dynamo=False)
    os.replace(tmp, target)
    _write_meta(target, {"format": EXPORT_FORMAT, "inputs": input_names, "output": output_name,
                         "opset": OPSET, "attention": "eager", "torch": torch.__version__})


def _quantize(source: Path, target: Path) -> None:
    """Dynamic int8: per-channel weights, MatMul only (measured: quantising Gather/Attention too, or
    per-tensor weights, drops the mean cosine to the fp32 vectors from 0.992 to 0.959 on real chunks)."""
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = _tmp_beside(target)
    logging.disable(logging.WARNING)  # its root-logger advice to pre-process applies to static quantisation
    try:
        quantize_dynamic(str(source), str(tmp), weight_type=QuantType.QInt8, per_channel=True,
                         op_types_to_quantize=["MatMul"])
    finally:
        logging.disable(logging.NOTSET)
    os.replace(tmp, target)
    _write_meta(target, {"format": EXPORT_FORMAT, "quantization": "dynamic int8, per-channel weights, MatMul",
                         "source": source.name})


def _tmp_beside(target: Path) -> Path:
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=target.stem + ".", suffix=".tmp")
    os.close(handle)
    return Path(name)


def _write_meta(target: Path, meta: dict) -> None:
    import onnxruntime

    meta = {**meta, "onnxruntime": onnxruntime.__version__, "machine": platform.machine()}
    target.with_suffix(".json").write_text(json.dumps(meta, indent=2))


def _output_name(module) -> str:
    name = module.modality_config["text"]["method_output_name"]
    if name not in ("last_hidden_state", "logits"):
        raise BackendError(f"ONNX backend supports token-embedding and classification models, not {name!r} outputs")
    return name


def make_session(path: Path, threads: int = 0):
    """An ONNX Runtime CPU session. Spinning is off: on a shared, loaded machine spin-waiting workers
    steal the cores they wait for (measured: up to 2x slower at load 7 on 2 cores). threads=0 follows
    torch's setting at load time, so one knob (torch.set_num_threads / OMP_NUM_THREADS) sets both."""
    import torch

    ort = _onnxruntime()
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads if threads > 0 else torch.get_num_threads()
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def attach_onnx(st_model, onnx_path: Path, threads: int = 0) -> None:
    """Swap the transformer forward of a SentenceTransformer / CrossEncoder for an ONNX Runtime session."""
    import torch

    module = st_model[0]
    meta = _meta(onnx_path.with_name("model.onnx"))  # inputs and output are those of the fp32 export
    session = make_session(onnx_path, threads)

    class OrtForward(torch.nn.Module):
        """Looks like the transformers model to sentence-transformers: config, device, a dict output."""

        def __init__(self, config) -> None:
            super().__init__()
            self.config = config
            self.device = torch.device("cpu")

        def forward(self, **features):
            feeds = {name: np.ascontiguousarray(features[name].cpu().numpy(), dtype=np.int64)
                     for name in meta["inputs"]}
            (out,) = session.run([meta["output"]], feeds)
            return {meta["output"]: torch.from_numpy(out)}

    module.model = OrtForward(module.model.config)
    module.model_forward_params = None  # pass every feature; OrtForward picks its inputs by name
