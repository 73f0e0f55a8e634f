"""FIRST: listwise reranking from the logits of the first generated identifier.

Why: a listwise LLM reranker normally generates the whole ranking ("[C] > [A] > ..."), one token at a
time; FIRST (Reddy et al. 2024, and the "Early FIRST Reproduction") shows the logits of the *first*
generated identifier already order the candidates, so one forward pass ranks all of them (about half the
latency of generating the ranking). Candidates are labelled with identifiers that are single tokens of the
tokenizer (checked at load, in the prompt's own context); the reply is prefilled with "[" so the next
token is an identifier, and each candidate's score is its identifier's logit there.

Selected with FINCORTEX_RERANKER=llm-first (the tuned model from `fincortex tune llm-reranker` when one is
registered, else the chat model zero-shot), llm-first:base (zero-shot) or llm-first:<folder|name>.
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

import numpy as np

from fincortex.models.rerankers.common import (
    LLMRerankerError, LoadedRanker, load_ranker, resolve_rerank_model, spec_of, truncate,
)
from fincortex.retrieval.stages import StageContext

LABELS = tuple(string.ascii_uppercase)  # at most 26 candidates per prompt (search re-scores the top 20)
SYSTEM = "You are RankLLM, an intelligent assistant that can rank passages based on their relevancy to the query."


def prompt_messages(query: str, passages: list[str]) -> list[dict[str, str]]:
    """The RankGPT/FIRST listwise prompt (identifiers in brackets, the query before and after the list)."""
    n = len(passages)
    listing = "".join(f"[{LABELS[i]}] {p}\n" for i, p in enumerate(passages))
    user = (f"I will provide you with {n} passages, each indicated by an alphabetical identifier []. Rank the "
            f"passages based on their relevance to the search query: {query}.\n\n{listing}\n"
            f"Search Query: {query}.\nRank the {n} passages above based on their relevance to the search query. "
            "All the passages should be included and listed using identifiers, in descending order of relevance. "
            "The output format should be [] > [], e.g., [A] > [B]. Only respond with the ranking results, "
            "do not say any word or explain.")
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


class FirstReranker:
    """Scores = the first-token logits of each candidate's identifier; higher = ranked earlier."""

    def __init__(self, path: Path | str, max_passage_tokens: int = 48, loaded: LoadedRanker | None = None) -> None:
        self.loaded = loaded or load_ranker(Path(path), "sdpa")
        self.name = str(self.loaded.path)
        self.max_passage_tokens = max_passage_tokens
        self.label_ids = label_token_ids(self.loaded.tokenizer)

    def prompt_ids(self, query: str, passages: list[str]) -> list[int]:
        """Token ids of the chat prompt with the reply prefilled up to the first identifier."""
        from fincortex.models.llm.local import render_chat

        if len(passages) > len(LABELS):
            raise ValueError(f"FIRST ranks at most {len(LABELS)} candidates in one prompt, got {len(passages)}: "
                             "lower rerank_top_n")
        tok = self.loaded.tokenizer
        cut = [tok.decode(truncate(tok, p, self.max_passage_tokens)) for p in passages]
        return tok(render_chat(tok, prompt_messages(query, cut)) + "[", add_special_tokens=False)["input_ids"]

    def label_logits(self, ids: list[int], n: int) -> Any:
        """The logits (a torch tensor, with grad when training) of the first n identifiers after `ids`."""
        import torch

        model = self.loaded.model
        logits = model(input_ids=torch.tensor([ids], device=model.device)).logits[0, -1]
        return logits[torch.tensor(self.label_ids[:n], device=model.device)].float()

    def score(self, query: str, passages: list[str]) -> np.ndarray:
        if not passages:
            return np.zeros(0, dtype=np.float32)
        import torch

        ids = self.prompt_ids(query, passages)
        with self.loaded.lock, torch.no_grad():
            return self.label_logits(ids, len(passages)).cpu().numpy().astype(np.float32)


def label_token_ids(tokenizer: Any) -> list[int]:
    """The token id of each identifier right after the prefilled "[" of a real prompt; an identifier that is
    not exactly one token there cannot be read from one logit, so it is an error, not a silent miss."""
    from fincortex.models.llm.local import render_chat

    prefix = render_chat(tokenizer, prompt_messages("q", ["p"])) + "["
    base = tokenizer(prefix, add_special_tokens=False)["input_ids"]
    ids = []
    for label in LABELS:
        full = tokenizer(prefix + label, add_special_tokens=False)["input_ids"]
        if full[: len(base)] != base or len(full) != len(base) + 1:
            raise LLMRerankerError(f"identifier {label!r} is not a single token after '[' for tokenizer "
                                   f"{getattr(tokenizer, 'name_or_path', '?')}: FIRST cannot read it from one logit")
        ids.append(full[-1])
    if len(set(ids)) != len(ids):
        raise LLMRerankerError("two identifiers map to the same token")
    return ids


class FirstStage:
    """Post stage "llm-first" (FINCORTEX_RERANKER=llm-first or FINCORTEX_POST_STAGES=llm-first)."""

    name = "llm-first"

    def __init__(self, ctx: StageContext, reranker: FirstReranker | None = None) -> None:
        o = ctx.options
        self.reranker = reranker or FirstReranker(resolve_rerank_model(ctx.store, spec_of(o.reranker, self.name),
                                                                       use_tuned=True))
        self.top_n, self.fusion_weight = min(o.rerank_top_n, len(LABELS)), o.rerank_weight

    def score(self, query: str, passages: list[str]) -> np.ndarray:
        return self.reranker.score(query, passages)

    def describe(self) -> str:
        return f"{self.name}:{self.reranker.name}"
