"""The forecasting agent (after Halawi et al., "Approaching Human-Level Forecasting with Language Models"):

    make_queries -> retrieve -> rate_relevance -> summarize -> reason -> aggregate -> calibrate -> finalize

- make_queries: the chat model writes search queries; the question itself is always one of them;
- retrieve: point-in-time search (agents/common/tools.py) bound to the question's forecast date: nothing
  published after it can be returned (and a hit that is raises LeakageError);
- rate_relevance: P(relevant) per article from `score_choices(["Yes", "No"])`; keep the best above a
  threshold;
- summarize: a short question-focused summary per kept article;
- reason: k reasoning samples (seeded, temperature > 0) per chat backend; each yields P(Yes) from
  `score_choices(["Yes", "No"])` after its reasoning, or from a parsed "Probability: X%" line;
- aggregate: trimmed mean over every sample of every backend (an ensemble when several are given);
- calibrate: a Platt/isotonic map fitted only on questions resolved before the forecast date
  (agents/forecasting/calibration.py), when one is given;
- finalize: probability, rationale, cited evidence (chunk ids), and how far it moved from the
  freeze-time market value when the question carries one (the agent sees that value in its prompt).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, TypedDict

import numpy as np

from fincortex.agents.common.deps import AgentDeps, require_search
from fincortex.agents.common.graph import clean_query_lines, linear_graph
from fincortex.agents.forecasting.calibration import Calibrator
from fincortex.agents.forecasting.forecastbench import ForecastQuestion
from fincortex.agents.forecasting.rounds import direction_note, direction_text
from fincortex.agents.common.tools import PointInTimeSearch
from fincortex.models.llm.base import choice_probabilities
from fincortex.progress import Progress, report

PROMPT_VERSION = "forecast-v1"  # part of the agent key: calibration only learns from the same prompts
PROB_LINE = re.compile(r"probability\s*(?:of\s+yes)?\s*[:=]?\s*(\d{1,3}(?:\.\d+)?)\s*(%)?", re.IGNORECASE)


@dataclass(frozen=True)
class ForecastConfig:
    models: tuple[str, ...] = ("local",)  # chat model specs; several = an ensemble
    retrieval: bool = True
    n_queries: int = 2  # model-written queries, besides the question itself
    k_per_query: int = 5
    max_articles: int = 3
    relevance_threshold: float = 0.5
    samples: int = 3  # reasoning samples per backend
    temperature: float = 0.7
    reasoning_tokens: int = 96
    summary_tokens: int = 48
    trim: float = 0.1  # fraction cut from each end before averaging
    prob_from: str = "score"  # score (Yes/No log-probs) | parse ("Probability: X%", else score, noted)
    search_mode: str = "hybrid"
    rerank: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.models:
            raise ValueError("forecast config needs at least one chat model spec")
        if self.prob_from not in ("score", "parse"):
            raise ValueError(f"prob_from={self.prob_from!r}; choose score or parse")
        if not 0 <= self.trim < 0.5:
            raise ValueError(f"trim={self.trim} must be in [0, 0.5)")
        if self.samples < 1 or self.max_articles < 0 or self.k_per_query < 1:
            raise ValueError("samples and k_per_query must be >= 1, max_articles >= 0")
        if not 0 <= self.relevance_threshold <= 1:
            raise ValueError(f"relevance_threshold={self.relevance_threshold} must be in [0, 1]")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def agent_key(self, model_hashes: dict[str, str]) -> str:
        """Identity of the forecaster (backends' weights + prompts + settings that change probabilities)."""
        blob = json.dumps({"models": [model_hashes.get(m, m) for m in self.models], "prompts": PROMPT_VERSION,
                           **{k: v for k, v in self.as_dict().items() if k not in ("models",)}}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


@dataclass
class Evidence:
    ref: int  # [n] in the prompt
    chunk_id: int
    title: str | None
    available_at: datetime
    relevance: float
    summary: str


@dataclass
class Sample:
    model: str
    seed: int
    reasoning: str
    probability: float
    via: str  # score | parse


@dataclass
class ForecastResult:
    question_id: str
    source: str
    forecast_date: datetime
    resolution_date: Any
    probability: float  # after calibration (if any)
    raw_probability: float  # aggregated, before calibration
    samples: list[Sample]
    evidence: list[Evidence]
    queries: list[str]
    n_retrieved: int
    market_value: float | None
    moved_from_market: float | None
    calibration_id: str | None
    rationale: str
    notes: list[str]
    run_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["forecast_date"] = self.forecast_date.isoformat()
        out["resolution_date"] = str(self.resolution_date) if self.resolution_date else None
        for e in out["evidence"]:
            e["available_at"] = e["available_at"].isoformat()
        return out


class ForecastState(TypedDict, total=False):
    question: ForecastQuestion
    queries: list[str]
    hits: list[Any]
    rated: list[tuple[Any, float]]
    evidence: list[Evidence]
    samples: list[Sample]
    raw_probability: float
    probability: float
    calibration_id: str | None
    notes: list[str]


def trimmed_mean(values: list[float], trim: float) -> float:
    from scipy.stats import trim_mean

    return float(trim_mean(np.asarray(values, dtype=float), trim))


def question_query(question: str) -> str:
    """The question as a search query: first sentence, template wording trimmed."""
    first = re.split(r"(?<=[?.!])\s", question.strip(), maxsplit=1)[0]
    return first[:200]


def parse_probability(text: str) -> float | None:
    matches = PROB_LINE.findall(text or "")
    if not matches:
        return None
    number, percent = matches[-1]
    value = float(number)
    if percent or value > 1:
        value /= 100
    return value if 0 <= value <= 1 else None


class Forecaster:
    """One forecasting agent over one or several chat backends (one per spec in `config.models`, from
    deps.chat_model); searches through deps.search when config.retrieval."""

    def __init__(self, deps: AgentDeps, config: ForecastConfig) -> None:
        self.search_fn = require_search(deps, "the forecaster") if config.retrieval else None
        self.chats = {spec: deps.chat_model(spec) for spec in config.models}
        self.deps, self.config, self.store = deps, config, deps.store
        self.graph = self._build()

    @property
    def primary(self) -> Any:
        return self.chats[self.config.models[0]]

    def agent_key(self) -> str:
        return self.config.agent_key({m: getattr(c, "model_hash", m) for m, c in self.chats.items()})

    NODES = ("make_queries", "retrieve", "rate_relevance", "summarize", "reason", "aggregate", "calibrate")

    def _build(self):
        return linear_graph(ForecastState, self, list(self.NODES))

    # -- entry point ---------------------------------------------------------------------------------
    def forecast(self, question: ForecastQuestion, calibrator: Calibrator | None = None,
                 progress: Progress | None = None) -> ForecastResult:
        """Forecast one question; each finished node reaches `progress` as a 'forecast question' event."""
        recorder = self.deps.recorder("forecaster", question.question[:2000], question.forecast_date,
                                      model=",".join(self.config.models),
                                      config={**self.config.as_dict(), "question_id": question.id,
                                              "source": question.source,
                                              "resolution_date": str(question.resolution_date or ""), "direction": direction_text(question.direction)})
        self._recorder, self._calibrator = recorder, calibrator
        self._search = (PointInTimeSearch(self.search_fn, question.forecast_date, recorder, mode=self.config.search_mode,
                                          rerank=self.config.rerank) if self.config.retrieval else None)
        state: ForecastState = {"question": question, "notes": []}
        try:
            for n, update in enumerate(self.graph.stream(state, stream_mode="updates")):
                for node, delta in update.items():
                    state.update(delta or {})
                    report(progress, "forecast question", n + 1, len(self.NODES), node, delta)
            result = self._result(question, state, recorder.run_id)
        except Exception as exc:
            recorder.finish(error=f"{type(exc).__name__}: {exc}")
            raise
        recorder.finish(result={k: v for k, v in result.as_dict().items() if k not in ("samples",)})
        return result

    # -- nodes ---------------------------------------------------------------------------------------
    def make_queries(self, state: ForecastState) -> ForecastState:
        q = state["question"]
        if not self.config.retrieval:
            return {"queries": []}
        queries = [question_query(q.question)]
        if self.config.n_queries > 0:
            reply = self.primary.invoke(
                [("system", "You write short web search queries."),
                 ("human", f"Question: {question_query(q.question)}\nWrite {self.config.n_queries} short search "
                           "queries, one per line, to find news that helps answer it.")],
                max_tokens=40, temperature=0.0)
            for extra in clean_query_lines(str(reply.content), self.config.n_queries):
                if extra.lower() not in {x.lower() for x in queries}:
                    queries.append(extra)
        return {"queries": queries}

    def retrieve(self, state: ForecastState) -> ForecastState:
        if self._search is None:
            return {"hits": []}
        seen: dict[int, Any] = {}
        for query in state["queries"]:
            for hit in self._search(query, k=self.config.k_per_query):
                seen.setdefault(int(hit.chunk_id), hit)
        notes = list(state["notes"])
        if self._search.reranked_note:
            notes.append(self._search.reranked_note)
        return {"hits": list(seen.values()), "notes": notes}

    def rate_relevance(self, state: ForecastState) -> ForecastState:
        q = state["question"]
        rated = []
        for hit in state["hits"]:
            prompt = (f"Question: {question_query(q.question)}\nArticle: {_clip(hit.text, 600)}\n"
                      "Is this article relevant to the question? Answer Yes or No.")
            p = choice_probabilities(self.primary.score_choices(prompt, ["Yes", "No"]))["Yes"]
            rated.append((hit, p))
        rated.sort(key=lambda hp: -hp[1])
        kept = [(h, p) for h, p in rated if p >= self.config.relevance_threshold][: self.config.max_articles]
        notes = list(state["notes"])
        if state["hits"] and not kept:
            notes.append(f"none of {len(state['hits'])} retrieved articles rated relevant "
                         f"(threshold {self.config.relevance_threshold})")
        return {"rated": kept, "notes": notes}

    def summarize(self, state: ForecastState) -> ForecastState:
        q = state["question"]
        evidence = []
        for ref, (hit, p) in enumerate(state["rated"], start=1):
            reply = self.primary.invoke(
                [("human", f"Question: {question_query(q.question)}\nArticle: {_clip(hit.text, 900)}\n"
                           "Summarize the article in one or two sentences, keeping what matters for the question.")],
                max_tokens=self.config.summary_tokens, temperature=0.0)
            evidence.append(Evidence(ref, int(hit.chunk_id), getattr(hit, "title", None), hit.available_at, float(p),
                                     str(reply.content).strip() or _clip(hit.text, 200)))
        return {"evidence": evidence}

    def reasoning_prompt(self, q: ForecastQuestion, evidence: list[Evidence]) -> str:
        lines = []
        if q.source_intro:
            lines.append(_clip(q.source_intro, 300))
        lines.append(f"Question: {q.question.strip()}")
        if q.direction:  # a combination question: which way each part must go
            lines.append(direction_note(q))
        if q.background.strip():
            lines.append(f"Background: {_clip(q.background, 700)}")
        if q.resolution_criteria.strip():
            lines.append(f"Resolution criteria: {_clip(q.resolution_criteria, 300)}")
        lines.append(f"Today is {q.forecast_date:%Y-%m-%d}."
                     + (f" The question resolves on {q.resolution_date}." if q.resolution_date else ""))
        if q.market_value is not None:
            when = f" on {q.freeze_datetime:%Y-%m-%d}" if q.freeze_datetime else ""
            lines.append(f"The crowd forecast{when} was {q.market_value:.0%}. You may weigh it.")
        elif q.freeze_value is not None:
            lines.append(f"Latest value{f' ({_clip(q.freeze_value_explanation, 120)})' if q.freeze_value_explanation else ''}: "
                         f"{q.freeze_value}.")
        if evidence:
            lines.append("Articles published before today:")
            lines += [f"[{e.ref}] {_clip(e.summary, 300)}" for e in evidence]
        lines.append("Think briefly about base rates and the evidence, then end with 'Probability: X%'.")
        return "\n".join(lines)

    def reason(self, state: ForecastState) -> ForecastState:
        q, cfg = state["question"], self.config
        prompt = self.reasoning_prompt(q, state.get("evidence", []))
        samples = []
        for spec in cfg.models:
            chat = self.chats[spec]
            for i in range(cfg.samples):
                seed = cfg.seed + i
                reply = chat.invoke([("system", "You are a careful superforecaster."), ("human", prompt)],
                                    temperature=cfg.temperature, max_tokens=cfg.reasoning_tokens, seed=seed)
                reasoning = str(reply.content).strip()
                p, via = None, "score"
                if cfg.prob_from == "parse":
                    p = parse_probability(reasoning)
                    via = "parse" if p is not None else "score (no probability line to parse)"
                if p is None:
                    scores = chat.score_choices(
                        [("human", prompt), ("ai", reasoning or "(no reasoning)"),
                         ("human", "Will the question resolve Yes? Answer Yes or No.")], ["Yes", "No"])
                    p = choice_probabilities(scores)["Yes"]
                samples.append(Sample(spec, seed, reasoning, float(p), via))
        return {"samples": samples}

    def aggregate(self, state: ForecastState) -> ForecastState:
        probs = [s.probability for s in state["samples"]]
        return {"raw_probability": trimmed_mean(probs, self.config.trim)}

    def calibrate(self, state: ForecastState) -> ForecastState:
        raw = state["raw_probability"]
        if self._calibrator is None:
            return {"probability": raw, "calibration_id": None}
        return {"probability": float(self._calibrator(raw)), "calibration_id": self._calibrator.calibration_id}

    # -- result --------------------------------------------------------------------------------------
    def _result(self, q: ForecastQuestion, state: ForecastState, run_id: str) -> ForecastResult:
        p = state["probability"]
        evidence = state.get("evidence", [])
        best = min(state["samples"], key=lambda s: abs(s.probability - p))
        cited = "; ".join(f"[{e.ref}] chunk {e.chunk_id} ({e.available_at:%Y-%m-%d})" for e in evidence)
        rationale = _clip(best.reasoning, 700) + (f"\nEvidence: {cited}" if cited else "\nEvidence: none used")
        moved = None if q.market_value is None else p - q.market_value
        return ForecastResult(
            question_id=q.id, source=q.source, forecast_date=q.forecast_date, resolution_date=q.resolution_date,
            probability=p, raw_probability=state["raw_probability"], samples=state["samples"], evidence=evidence,
            queries=state.get("queries", []), n_retrieved=len(state.get("hits", [])), market_value=q.market_value,
            moved_from_market=moved, calibration_id=state.get("calibration_id"), rationale=rationale,
            notes=state.get("notes", []), run_id=run_id)


def _clip(text: str, n: int) -> str:
    text = re.sub(r"\s+", " ", text or "").strip()
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"
