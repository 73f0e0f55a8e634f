"""LLM direct: one forward pass per target over the question, its freeze-time value and the top
retrieved evidence (point-in-time search, compressed extractively to the sentences that share terms
with the question), reading P(Yes) from the Yes/No token log-probs. Works with any chat backend
(`score_choices`; `score_choices_batch` when the backend has it: one padded forward pass per batch).
Dataset targets of one question share the retrieval; identical prompts are scored once."""

from __future__ import annotations

import re
from typing import Any

from fincortex.agents.forecasting.forecastbench import ForecastQuestion
from fincortex.agents.forecasting.members.base import Member
from fincortex.agents.forecasting.rounds import direction_note
from fincortex.models.llm.base import choice_probabilities

PROMPT_VERSION = "llm-direct-v1"
CHOICES = ["Yes", "No"]


def _clip(text: str, n: int) -> str:
    text = re.sub(r"\s+", " ", text or "").strip()
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


def prompt(t: ForecastQuestion, evidence: list[str]) -> str:
    lines = [_clip(t.source_intro, 240)] if t.source_intro else []
    lines.append(f"Question: {_clip(t.question, 420)}")
    note = direction_note(t)
    if note:
        lines.append(note)
    lines.append(f"Today is {t.forecast_date:%Y-%m-%d}." + (f" It resolves on {t.resolution_date}." if t.resolution_date else ""))
    if t.market_value is not None:
        lines.append(f"The crowd forecast at freeze time was {t.market_value:.0%}.")
    elif t.freeze_value is not None:
        lines.append(f"Latest value: {_clip(t.freeze_value, 40)}.")
    if evidence:
        lines.append("Evidence published before today:")
        lines += [f"[{i}] {e}" for i, e in enumerate(evidence, 1)]
    lines.append("Will the question resolve Yes? Answer Yes or No.")
    return "\n".join(lines)


class LLMDirectMember(Member):
    name = "llm_direct"

    def __init__(self, chat: Any, search_fn: Any | None = None, store: Any | None = None, k: int = 4,
                 max_passages: int = 2, batch_size: int = 16) -> None:
        super().__init__()
        if chat is None:
            raise ValueError("llm_direct needs a chat model (settings.llm or --model)")
        self.chat, self.search_fn, self.store = chat, search_fn, store
        self.k, self.max_passages, self.batch_size = k, max_passages, batch_size
        self.evidence_note: str | None = None

    @classmethod
    def from_context(cls, ctx: dict[str, Any]) -> "LLMDirectMember":
        return cls(ctx.get("chat"), ctx.get("search_fn"), ctx.get("store"))

    def key(self) -> str:
        return f"{self.name}:{PROMPT_VERSION}:{getattr(self.chat, 'model_hash', type(self.chat).__name__)}:" \
               f"{'ret' if self.search_fn else 'noret'}{self.k}x{self.max_passages}"

    def _evidence(self, targets: list[ForecastQuestion]) -> dict[tuple[str, str], list[str]]:
        if self.search_fn is None:
            self.evidence_note = "no search function: prompts carry no retrieved evidence"
            return {}
        from fincortex.agents.common.compression import compress
        from fincortex.agents.common.runs import RunRecorder
        from fincortex.agents.common.tools import PointInTimeSearch

        recorder = RunRecorder(self.store, "forecaster", f"llm_direct evidence for {len(targets)} targets",
                               self.as_of, config={"member": self.key()}).start()
        search = PointInTimeSearch(self.search_fn, self.as_of, recorder)
        out: dict[tuple[str, str], list[str]] = {}
        try:
            for t in targets:
                if (t.id, t.source) in out:
                    continue
                query = _clip(t.question.split("\n")[0], 200)
                hits = [{"chunk_id": h.chunk_id, "doc_id": getattr(h, "doc_id", h.chunk_id), "text": h.text,
                         "rank": r, "score": float(getattr(h, "score", 0.0))} for r, h in enumerate(search(query, k=self.k))]
                out[(t.id, t.source)] = [_clip(p["text"], 280) for p in compress(query, hits, self.max_passages)]
        except Exception as exc:
            recorder.finish(error=f"{type(exc).__name__}: {exc}")
            raise
        recorder.finish(result={"questions": len(out)})
        self.run_id = recorder.run_id
        return out

    def forecast_many(self, targets: list[ForecastQuestion], as_of) -> list[float | None]:
        for t in targets:
            self._guard(t, as_of)
        evidence = self._evidence(targets)
        prompts = [prompt(t, evidence.get((t.id, t.source), [])) for t in targets]
        unique = list(dict.fromkeys(prompts))
        scored: dict[str, float] = {}
        batch = getattr(self.chat, "score_choices_batch", None)
        for start in range(0, len(unique), self.batch_size):
            chunk = unique[start: start + self.batch_size]
            messages = [[("human", p)] for p in chunk]
            results = batch(messages, CHOICES) if batch else [self.chat.score_choices(m, CHOICES) for m in messages]
            for p, s in zip(chunk, results):
                scored[p] = choice_probabilities(s)["Yes"]
        return [scored[p] for p in prompts]

    def _forecast(self, target: ForecastQuestion) -> float | None:
        return self.forecast_many([target], target.forecast_date)[0]
