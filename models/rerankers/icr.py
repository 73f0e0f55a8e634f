"""ICR: zero-shot reranking from the chat model's attention (Chen et al., "Attention in Large Language
Models Yields Efficient Zero-Shot Re-Rankers").

Why: an LLM reading the documents and then the query attends from the query's tokens to the tokens of the
documents that answer it. The score of a document is the attention mass from the query tokens to its
tokens, summed over every layer and head (averaged over the query's tokens so that queries of any length
compare with the calibration), minus the same mass when the query is the content-free "N/A"
(which removes the model's position and length biases: early or long documents draw attention whatever
is asked). Two forward passes rank any number of documents; no training, no generation.

Attention weights exist only with eager attention. The documents are one shared prefix, run once and
kept as a KV cache; the query and the calibration query then each run on their own few tokens, and a
forward hook on each attention module sums their attention rows per prefix position and drops the
weights before the next layer runs (so the second "pass" costs a few tokens, not the whole prompt).

Selected with FINCORTEX_RERANKER=llm-icr (the default chat model) or llm-icr:<folder|name>.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from fincortex.models.rerankers.common import load_ranker, resolve_rerank_model, spec_of, truncate
from fincortex.retrieval.stages import StageContext

CALIBRATION_QUERY = "N/A"
INTRO = "Here are some paragraphs:\n\n"
OUTRO = "\nPlease find information that is related to the following query in the paragraphs above.\n\nQuery: "


class ICRReranker:
    def __init__(self, path: Path | str, max_passage_tokens: int = 48) -> None:
        self.loaded = load_ranker(Path(path), "eager")
        self.name = str(self.loaded.path)
        self.max_passage_tokens = max_passage_tokens
        self._prefix, self._suffix = _chat_frame(self.loaded.tokenizer)

    def layout(self, query: str, passages: list[str]) -> tuple[list[int], list[tuple[int, int]], tuple[int, int]]:
        """Token ids of the prompt, each passage's [start, end) and the query's [start, end)."""
        tok = self.loaded.tokenizer

        def enc(text: str) -> list[int]:
            return tok(text, add_special_tokens=False)["input_ids"]

        ids = self._prefix + enc(INTRO)
        spans = []
        for i, passage in enumerate(passages):
            ids += enc(f"[{i + 1}] ")
            start = len(ids)
            ids += truncate(tok, passage, self.max_passage_tokens)
            spans.append((start, len(ids)))
            ids += enc("\n")
        ids += enc(OUTRO)
        q_start = len(ids)
        ids += enc(" ".join(query.split()) or CALIBRATION_QUERY)
        query_span = (q_start, len(ids))
        return ids + self._suffix, spans, query_span

    def score(self, query: str, passages: list[str]) -> np.ndarray:
        """Attention from the query minus attention from "N/A", per passage. The documents are the same
        prefix for both queries, so it runs once and is kept as a KV cache; each query then runs on its
        own tokens only (causal attention: the query rows are exactly those of the full two-pass forward)."""
        if not passages:
            return np.zeros(0, dtype=np.float32)
        import copy

        import torch

        tok, model = self.loaded.tokenizer, self.loaded.model
        ids, spans, (q0, _) = self.layout(query, passages)
        calibration = tok(CALIBRATION_QUERY, add_special_tokens=False)["input_ids"]
        with self.loaded.lock, torch.no_grad():
            prefix = model(input_ids=torch.tensor([ids[:q0]], device=model.device), use_cache=True)
            received = [self._attention_from(ids[q0:q0 + self._query_len(ids, q0)], copy.deepcopy(prefix.cache), q0),
                        self._attention_from(calibration, prefix.cache, q0)]
        signal, baseline = ([float(r[a:b].sum()) for a, b in spans] for r in received)
        return (np.array(signal) - np.array(baseline)).astype(np.float32)

    def _query_len(self, ids: list[int], q0: int) -> int:
        return len(ids) - len(self._suffix) - q0

    def _attention_from(self, query_ids: list[int], cache: Any, n_prefix: int) -> Any:
        """Attention mass from `query_ids` (continuing the cached prefix) to every prefix position,
        summed over layers and heads, averaged over the query's tokens."""
        import torch

        model = self.loaded.model
        received = torch.zeros(n_prefix, dtype=torch.float64)

        def reduce(_module, _args, output):
            weights = output[1]  # [batch, heads, query tokens, prefix + query tokens]
            received.add_(weights[0, :, :, :n_prefix].sum(dim=(0, 1)).double().cpu())
            return output[0], None  # drop the matrix now

        hooks = [layer.self_attn.register_forward_hook(reduce) for layer in model.model.layers]
        try:
            model(input_ids=torch.tensor([query_ids], device=model.device), cache=cache, use_cache=True)
        finally:
            for hook in hooks:
                hook.remove()
        # per query token: "N/A" is 3 tokens and a question ~15, so sums would not cancel
        return received / len(query_ids)


def _chat_frame(tokenizer: Any) -> tuple[list[int], list[int]]:
    """Token ids before and after the user message in the chat template (plain text when there is none)."""
    if not getattr(tokenizer, "chat_template", None):
        return [], []
    marker = "\x00MSG\x00"
    text = tokenizer.apply_chat_template([{"role": "user", "content": marker}], add_generation_prompt=True,
                                         tokenize=False)
    before, after = text.split(marker)
    enc = tokenizer(before, add_special_tokens=False)["input_ids"], tokenizer(after, add_special_tokens=False)["input_ids"]
    return enc[0], enc[1]


class ICRStage:
    """Post stage "llm-icr" (FINCORTEX_RERANKER=llm-icr or FINCORTEX_POST_STAGES=llm-icr)."""

    name = "llm-icr"

    def __init__(self, ctx: StageContext, reranker: ICRReranker | None = None) -> None:
        o = ctx.options
        self.reranker = reranker or ICRReranker(resolve_rerank_model(ctx.store, spec_of(o.reranker, self.name),
                                                                     use_tuned=False))
        self.top_n, self.fusion_weight = o.rerank_top_n, o.rerank_weight

    def score(self, query: str, passages: list[str]) -> np.ndarray:
        return self.reranker.score(query, passages)

    def describe(self) -> str:
        return f"{self.name}:{self.reranker.name}"
