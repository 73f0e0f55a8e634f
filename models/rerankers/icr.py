"""ICR: zero-shot reranking from the chat model's attention (Chen et al., "Attention in Large Language
Models Yields Efficient Zero-Shot Re-Rankers").

Why: an LLM reading the documents and then the query attends from the query's tokens to the tokens of the
documents that answer it. The score of a document is the attention mass from the query tokens to its
tokens, summed over every layer and head (averaged over the query's tokens so that queries of any length
compare with the calibration), minus the same mass when the query is the content-free "N/A"
(which removes the model's position and length biases: early or long documents draw attention whatever
is asked). Two forward passes rank any number of documents; no training, no generation.

Attention weights exist only with eager attention, and a full [heads, L, L] matrix per layer would not
fit 30 layers at once, so a forward hook on each attention module reduces its weights to the query rows
summed per key position and drops the matrix before the next layer runs.

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
    def __init__(self, path: Path | str, max_passage_tokens: int = 64) -> None:
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

    def attention_to_passages(self, query: str, passages: list[str]) -> np.ndarray:
        """Attention mass from the query tokens to each passage, summed over layers and heads."""
        import torch

        ids, spans, (q0, q1) = self.layout(query, passages)
        model = self.loaded.model
        received = torch.zeros(len(ids), dtype=torch.float64)

        def reduce(_module, _args, output):
            weights = output[1]  # [batch, heads, queries, keys]
            received.add_(weights[0, :, q0:q1, :].sum(dim=(0, 1)).double().cpu())
            return output[0], None  # free the matrix now

        layers = [layer.self_attn for layer in model.model.layers]
        hooks = [attn.register_forward_hook(reduce) for attn in layers]
        try:
            with torch.no_grad():
                model(input_ids=torch.tensor([ids], device=model.device), use_cache=False)
        finally:
            for hook in hooks:
                hook.remove()
        # per query token (mean over q0:q1): "N/A" is 3 tokens and a question ~15, so sums would not cancel
        return np.array([float(received[a:b].sum()) / (q1 - q0) for a, b in spans])

    def score(self, query: str, passages: list[str]) -> np.ndarray:
        if not passages:
            return np.zeros(0, dtype=np.float32)
        with self.loaded.lock:
            signal = self.attention_to_passages(query, passages)
            baseline = self.attention_to_passages(CALIBRATION_QUERY, passages)
        return (signal - baseline).astype(np.float32)


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
