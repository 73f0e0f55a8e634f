"""Thread limits for the per-query path.

Why: torch and faiss parallelise with OpenMP, whose workers spin-wait at barriers. For one query the
parallel gain is small, and on a busy machine (more runnable threads than cores) spin-waiting makes a
2-thread query embedding or flat search 10x slower than a 1-thread one (measured here: 1.3 s vs 0.13 s
to embed one query at load 15 on 2 cores). Batch work (embedding chunks, building indexes) keeps
every core; only single-query work runs inside `limit_threads`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import faiss


@contextmanager
def limit_threads(n: int) -> Iterator[None]:
    """Run the block with at most n torch and faiss threads (n <= 0: leave them alone)."""
    if n <= 0:
        yield
        return
    import torch

    torch_before, faiss_before = torch.get_num_threads(), faiss.omp_get_max_threads()
    torch.set_num_threads(min(n, torch_before))
    faiss.omp_set_num_threads(min(n, faiss_before))
    try:
        yield
    finally:
        torch.set_num_threads(torch_before)
        faiss.omp_set_num_threads(faiss_before)
