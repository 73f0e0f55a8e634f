"""Embedding with tokenisation off the accelerator's critical path (the ingest embed stage on CUDA).

Why not `SentenceTransformer.encode` alone: it tokenises each batch on the calling thread between
forward passes, so the GPU idles while the CPU tokenises. On the lent H100, MiniLM-L6 in fp16 reached
2,229 chunks/s that way, a few percent of what the GPU can do (../shared/GPU.md). Here:
- a small thread pool tokenises batches ahead (the Rust tokenizer releases the GIL);
- a bounded window of `prefetch` batches keeps host memory flat;
- batches are length-sorted, so padding stays small;
- on CUDA, host tensors are pinned, so copies run asynchronously, and vectors stay on the device
  until one copy back at the end.

sentence-transformers still does the tokenising (`preprocess`), the forward pass, pooling and
normalisation, so the vectors are the ones `encode` gives: a test checks this on the CPU.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np


def encode_pipelined(model, texts: Sequence[str], batch_size: int = 256, prefetch: int = 4,
                     workers: int = 2) -> np.ndarray:
    """(n, dim) float32 unit vectors in input order; `model` is a loaded SentenceTransformer."""
    import torch

    device = model.device
    on_cuda = device.type == "cuda"
    order = np.argsort([-len(t) for t in texts], kind="stable")
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]

    def tokenize(rows: np.ndarray) -> dict:
        features = model.preprocess([texts[i] for i in rows])
        if on_cuda:
            features = {k: v.pin_memory() if isinstance(v, torch.Tensor) else v for k, v in features.items()}
        return features

    out: torch.Tensor | None = None
    with ThreadPoolExecutor(max_workers=max(workers, 1), thread_name_prefix="tokenize") as pool, \
            torch.inference_mode():
        upcoming = iter(batches)
        window: deque = deque()
        for rows in upcoming:
            window.append((rows, pool.submit(tokenize, rows)))
            if len(window) >= prefetch:
                break
        while window:
            rows, future = window.popleft()
            following = next(upcoming, None)
            if following is not None:
                window.append((following, pool.submit(tokenize, following)))
            features = {k: v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v
                        for k, v in future.result().items()}
            vectors = torch.nn.functional.normalize(model(features)["sentence_embedding"].float(), dim=-1)
            if out is None:
                out = torch.empty((len(texts), vectors.shape[1]), dtype=torch.float32, device=device)
            out[torch.as_tensor(rows, device=device)] = vectors
    if out is None:
        return np.zeros((0, 0), dtype=np.float32)
    return out.cpu().numpy()
