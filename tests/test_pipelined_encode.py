"""The pipelined encoder (tokenisation ahead of the forward pass) gives sentence-transformers' vectors."""

from __future__ import annotations

import numpy as np

TEXTS = [
    "Revenue grew 12% year over year to $4.2 billion, driven by services.",
    "EPS",
    "Operating margin contracted 150 basis points on higher input costs, and management lowered full-year "
    "guidance while reiterating its long-term target of mid-single-digit organic growth.",
    "The board declared a quarterly dividend of $0.24 per share.",
    "Free cash flow was $1.1 billion.",
]


def test_same_vectors_and_order_as_sentence_transformers():
    from fincortex.retrieval.embedder import Embedder
    from fincortex.retrieval.pipelined_encode import encode_pipelined

    embedder = Embedder(backend="torch")
    reference = embedder.encode(TEXTS)
    model = embedder._load()
    for batch_size, prefetch, workers in ((2, 1, 1), (2, 3, 2), (64, 4, 2)):
        vectors = encode_pipelined(model, TEXTS, batch_size=batch_size, prefetch=prefetch, workers=workers)
        assert vectors.dtype == np.float32 and vectors.shape == reference.shape
        assert np.sum(vectors * reference, axis=1).min() > 0.99999  # row i is still text i
    assert encode_pipelined(model, []).shape[0] == 0
