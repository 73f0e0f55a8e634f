"""The LLM trading agent: one LangGraph run per simulated day.

    reflect -> market_analyst -> news_analyst -> recall -> trader -> risk_manager -> remember

- reflect: when the book realised P&L since the last step, write a reflection memory (importance ~ |P&L|);
- market_analyst: features computed in code (agents/trading/features.py) rendered as one short line;
- news_analyst: point-in-time headlines (agents/trading/news.py) scored by the PhraseBank classifier
  (agents/trading/sentiment.py) or by the chat model's `score_choices`;
- recall: top-k layered memories (agents/trading/memory.py) available at the decision time;
- trader: the chat model picks among the feasible actions of BUY/SELL/HOLD by constrained choice
  (`score_choices`: one short forward pass, no free text), then a size (small/medium/large) the same way;
  temperature 0 takes the most likely choice, otherwise it samples with the agent's seeded RNG;
- risk_manager: position limit, stop-loss, drawdown brake (agents/trading/risk.py) override the trader;
- remember: the day's observation and action become a short-term memory.
LLM calls are served from the DuckDB response cache on a replay, so the same seed replays the same trades.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, TypedDict

import numpy as np
from langgraph.graph import END, START, StateGraph

from fincortex.agents.common.deps import AgentDeps, require_search
from fincortex.agents.trading.features import MarketFeatures, compute_features
from fincortex.agents.trading.memory import LayeredMemory, MemoryItem, observation_importance
from fincortex.agents.trading.news import NewsItem, NewsSource, RecentNews, SearchNews
from fincortex.agents.trading.risk import DrawdownBrake, RiskProfile, apply_risk, get_profile
from fincortex.agents.trading.strategies import Decision, Observation, SeenChunk, SeenMemory
from fincortex.agents.trading.portfolio import Order
from fincortex.store import Store

ACTIONS = ("BUY", "SELL", "HOLD")
SIZES = ("small", "medium", "large")


@dataclass(frozen=True)
class TraderConfig:
    model: str | None = None  # chat model spec; None = settings.llm
    character: str = "balanced"  # risk profile / persona: conservative | balanced | aggressive
    temperature: float = 0.0  # 0 = most likely choice; > 0 samples with the seeded RNG
    news: str = "recent"  # recent | search | none
    news_k: int = 5
    news_lookback_days: float = 2.0
    news_query: str = "markets economy stocks bitcoin crypto"
    sentiment: str = "classifier"  # classifier (PhraseBank) | llm | none
    size_by: str = "llm"  # llm (second constrained choice) | fixed (always 'medium')
    memory_k: int = 2
    memory_from: str | None = None  # run_id whose stored memory seeds this run
    decide_every: int = 1  # consult the LLM every N steps (HOLD between); risk checks still run daily
    cpu_threads: int | None = None  # torch CPU threads for a local model; 1 is far faster on a busy machine

    def __post_init__(self) -> None:
        checks = {"news": ("recent", "search", "none"), "sentiment": ("classifier", "llm", "none"),
                  "size_by": ("llm", "fixed")}
        for name, allowed in checks.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"trader {name}={getattr(self, name)!r}; choose from {', '.join(allowed)}")
        if self.decide_every < 1:
            raise ValueError(f"trader decide_every={self.decide_every} must be >= 1")
        if self.temperature < 0:
            raise ValueError(f"trader temperature={self.temperature} must be >= 0")
        get_profile(self.character)


class DayState(TypedDict, total=False):
    obs: Observation
    features: MarketFeatures
    market_report: str
    news: list[NewsItem]
    sentiment: float | None
    news_report: str
    memories: list[MemoryItem]
    memory_report: str
    choices: list[str]
    action_probs: dict[str, float]
    action: str
    size_probs: dict[str, float]
    size: str | None
    proposed_weight: float | None
    final_weight: float | None
    interventions: list[str]
    llm_calls: int
    latest_headline: str
    llm_day: bool


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:+.1%}"


def market_report(symbol: str, f: MarketFeatures) -> str:
    """One compact line (the 135M default model reads ~100 prompt tokens a day, so every token counts)."""
    parts = [f"{symbol} 1d {_pct(f.ret_1d)}, 7d {_pct(f.ret_7d)}, 30d {_pct(f.ret_30d)}"]
    if f.vol_20d is not None:
        parts.append(f"vol {f.vol_20d:.0%}")
    if f.sma_20 is not None and f.sma_50 is not None:
        parts.append(f"{_pct(f.last_close / f.sma_20 - 1)} vs 20d avg")
        parts.append(f"trend {'up' if f.sma_20 > f.sma_50 else 'down'}")
    if f.rsi_14 is not None:
        parts.append(f"RSI {f.rsi_14:.0f}")
    return "; ".join(parts) + "."


def sample(probs: dict[str, float], temperature: float, rng: np.random.Generator) -> str:
    """Greedy at temperature 0 (ties by order), else a seeded draw from p ** (1 / T)."""
    names = list(probs)
    if temperature == 0:
        return max(names, key=lambda c: (probs[c], -names.index(c)))
    logits = np.array([math.log(max(probs[c], 1e-300)) / temperature for c in names])
    p = np.exp(logits - logits.max())
    return str(rng.choice(names, p=p / p.sum()))


@dataclass
class LLMTrader:
    """A `Strategy` whose daily decision is the LangGraph above."""

    chat: Any  # FincortexChatModel: score_choices(prompt, choices) -> {choice: log-prob}
    config: TraderConfig
    news_source: NewsSource | None
    sentiment_model: Any | None = None  # SentimentModel when sentiment == 'classifier'
    memory: LayeredMemory = field(default_factory=LayeredMemory)
    name: str = "llm"
    llm_calls: int = 0

    def __post_init__(self) -> None:
        self.profile: RiskProfile = get_profile(self.config.character)
        self.brake = DrawdownBrake(self.profile)  # rolling peak + release: re-arms (risk.py)
        self._seen_realized = 0.0
        self._step = 0
        self._graph = self._build_graph()

    # -- graph ---------------------------------------------------------------------------------
    def _build_graph(self):
        g = StateGraph(DayState)
        for name, fn in (("reflect", self.reflect), ("market_analyst", self.market_analyst),
                         ("news_analyst", self.news_analyst), ("recall", self.recall), ("trader", self.trader),
                         ("risk_manager", self.risk_manager), ("remember", self.remember)):
            g.add_node(name, fn)
        order = ["reflect", "market_analyst", "news_analyst", "recall", "trader", "risk_manager", "remember"]
        g.add_edge(START, order[0])
        for a, b in zip(order, order[1:]):
            g.add_edge(a, b)
        g.add_edge(order[-1], END)
        return g.compile()

    def decide(self, obs: Observation) -> Decision:
        if len(obs.prices) < 2:
            return Decision.hold(f"only {len(obs.prices)} bars visible")
        llm_day = self._step % self.config.decide_every == 0
        self._step += 1
        state: DayState = self._graph.invoke({"obs": obs, "llm_calls": 0, "interventions": [], "llm_day": llm_day})
        self.llm_calls += state["llm_calls"]
        weight = state["final_weight"]
        evidence_chunks = [SeenChunk(n.chunk_id, n.available_at, n.score) for n in state["news"]]
        evidence_memory = [SeenMemory(m.item_id, m.available_at) for m in state["memories"]]
        scores = {"action_probs": state["action_probs"], "size_probs": state.get("size_probs", {}),
                  "llm_action": state["action"], "size": state.get("size"), "sentiment": state["sentiment"],
                  "proposed_weight": state["proposed_weight"], "interventions": state["interventions"],
                  "features": state["features"].as_dict(), "llm_calls": state["llm_calls"],
                  "latest_headline": state.get("latest_headline")}
        rationale = " | ".join(x for x in (state["market_report"], state["news_report"], state["memory_report"]) if x)
        if weight is None or abs(weight - obs.portfolio.weight) < 1e-9:
            decision = Decision("HOLD", None, rationale, scores)
        else:
            action = "BUY" if weight > obs.portfolio.weight else "SELL"
            decision = Decision(action, Order.target_weight(weight), rationale, scores)
        decision.evidence.chunks.extend(evidence_chunks)
        decision.evidence.memory.extend(evidence_memory)
        return decision

    def memory_rows(self) -> list[dict[str, Any]]:
        return self.memory.rows()

    # -- nodes ---------------------------------------------------------------------------------
    def reflect(self, state: DayState) -> DayState:
        obs = state["obs"]
        realized = obs.portfolio.realized_pnl
        if realized != self._seen_realized:
            delta = realized - self._seen_realized
            self._seen_realized = realized
            share = delta / max(obs.portfolio.equity, 1e-9)
            features = compute_features(obs.prices, obs.periods_per_year)
            self.memory.add(
                "reflection", obs.decision_ts,
                f"{obs.decision_ts:%m-%d} sale realised {share:+.1%}",
                importance=min(abs(share) * 10, 1.0), features=features.vector(), pnl=float(delta))
        return {}

    def market_analyst(self, state: DayState) -> DayState:
        obs = state["obs"]
        f = compute_features(obs.prices, obs.periods_per_year)
        return {"features": f, "market_report": market_report(obs.prices.symbol, f)}

    def news_analyst(self, state: DayState) -> DayState:
        obs = state["obs"]
        if self.news_source is None:
            return {"news": [], "sentiment": None, "news_report": ""}
        items = self.news_source.fetch(obs.decision_ts)
        if not items:
            return {"news": [], "sentiment": None, "news_report": "No fresh news."}
        texts = [n.text.split("\n")[0][:200] for n in items]
        calls = state["llm_calls"]
        if self.config.sentiment == "classifier":
            scores = self.sentiment_model.score(texts)
            sentiment = float(np.mean(scores))
            items = [NewsItem(n.chunk_id, n.text, n.available_at, s) for n, s in zip(items, scores)]
        elif self.config.sentiment == "llm":
            prompt = [{"role": "user", "content": "Headlines:\n" + "\n".join(f"- {t}" for t in texts[:3])
                       + "\nOverall market sentiment (positive, negative or neutral)?"}]
            from fincortex.models.llm.base import choice_probabilities

            probs = choice_probabilities(self.chat.score_choices(prompt, ["positive", "negative", "neutral"]))
            sentiment = probs["positive"] - probs["negative"]
            calls += 1
        else:
            sentiment = None
        tone = ("n/a" if sentiment is None else "positive" if sentiment > 0.15
                else "negative" if sentiment < -0.15 else "neutral")
        report = f"News {tone}" + ("" if sentiment is None else f" ({sentiment:+.2f}") + f", {len(items)} headlines)."
        return {"news": items, "sentiment": sentiment, "news_report": report, "llm_calls": calls,
                "latest_headline": texts[0]}

    def recall(self, state: DayState) -> DayState:
        obs = state["obs"]
        picked = self.memory.recall(obs.decision_ts, state["features"].vector(), self.config.memory_k)
        report = ("Memory: " + "; ".join(m.text for m in picked) + ".") if picked else ""
        return {"memories": picked, "memory_report": report}

    def _feasible(self, obs: Observation) -> list[str]:
        w, cap = obs.portfolio.weight, self.profile.max_position
        floor = -cap if obs.allow_short else 0.0
        out = []
        if w < cap - 1e-3:
            out.append("BUY")
        if w > floor + 1e-3:
            out.append("SELL")
        return out + ["HOLD"]

    def trader(self, state: DayState) -> DayState:
        obs = state["obs"]
        book = obs.portfolio
        choices = self._feasible(obs)
        if not state["llm_day"]:  # between LLM decision days the trader holds; the risk manager still acts
            return {"choices": choices, "action_probs": {}, "action": "HOLD", "size": None, "size_probs": {},
                    "proposed_weight": None}
        holding = f"You hold {book.weight:.0%}" + (f" ({_pct(book.unrealized_return)})" if book.quantity else "")
        context = " ".join(x for x in (state["market_report"], state["news_report"], state["memory_report"]) if x)
        system = {"role": "system", "content": self.profile.persona + " Answer with one word."}
        user = {"role": "user", "content": f"{context} {holding}. {' or '.join(choices)}?"}
        from fincortex.models.llm.base import choice_probabilities

        probs = choice_probabilities(self.chat.score_choices([system, user], choices))
        action = sample(probs, self.config.temperature, obs.rng)
        calls = state["llm_calls"] + 1
        size, size_probs, proposed = None, {}, None
        if action != "HOLD":
            if self.config.size_by == "llm":
                ask = {"role": "user", "content": f"{context} {holding}. You will {action}. Size: small, medium or large?"}
                size_probs = choice_probabilities(self.chat.score_choices([system, ask], list(SIZES)))
                size = sample(size_probs, self.config.temperature, obs.rng)
                calls += 1
            else:
                size = "medium"
            step = self.profile.size_steps[size] * self.profile.max_position
            proposed = book.weight + step if action == "BUY" else book.weight - step
        return {"choices": choices, "action_probs": probs, "action": action, "size": size,
                "size_probs": size_probs, "proposed_weight": proposed, "llm_calls": calls}

    def risk_manager(self, state: DayState) -> DayState:
        obs = state["obs"]
        check = apply_risk(self.profile, state["proposed_weight"], obs.portfolio, obs.prices.last_close,
                           obs.allow_short, brake=self.brake)
        return {"final_weight": check.weight, "interventions": list(check.interventions)}

    def remember(self, state: DayState) -> DayState:
        obs, f = state["obs"], state["features"]
        did = state["action"] if state["final_weight"] is None else (
            f"{state['action']}->{state['final_weight']:.0%}")
        importance = observation_importance(f.ret_1d, f.vol_20d, obs.periods_per_year)
        layer = "long" if importance > 0.76 else "short"  # beyond ~2 daily sigmas: a day to remember
        self.memory.add(layer, obs.decision_ts,
                        f"{obs.decision_ts:%m-%d} 1d {_pct(f.ret_1d)}, {did}",
                        importance, f.vector())
        return {}


def build_llm_trader(deps: AgentDeps, backtest_config: Any) -> LLMTrader:
    """The LLM trader for a backtest: chat model, news source, sentiment model and memory per config,
    from the injected deps (chat factory, search, store, settings for the sentiment model's folder)."""
    from fincortex.agents.trading.market import to_datetime

    cfg = TraderConfig(**backtest_config.llm)
    store = deps.store
    if cfg.cpu_threads:
        import torch

        torch.set_num_threads(int(cfg.cpu_threads))
    chat = deps.chat_model(cfg.model, temperature=0.0, seed=int(backtest_config.seed))
    start, end = to_datetime(backtest_config.start), to_datetime(backtest_config.end)
    source: NewsSource | None = None
    if cfg.news == "recent":
        source = RecentNews(store, start, end, cfg.news_lookback_days, cfg.news_k)
    elif cfg.news == "search":
        search_fn = require_search(deps, "the LLM trader with news='search'")

        def search(query, k, as_of, doc_types, mode):  # no cross-encoder per day: one search a step stays cheap
            return search_fn(query, k=k, as_of=as_of, doc_types=doc_types, mode=mode, rerank=False)

        source = SearchNews(search, cfg.news_query, cfg.news_k)
    sentiment_model = None
    if cfg.sentiment == "classifier" and source is not None:
        from fincortex.agents.trading.sentiment import load_or_train

        sentiment_model = load_or_train(deps.settings)
    memory = LayeredMemory()
    if cfg.memory_from:
        memory = LayeredMemory.from_rows(load_memory_rows(store, cfg.memory_from, "llm"))
    return LLMTrader(chat, cfg, source, sentiment_model, memory)


def load_memory_rows(store: Store, run_id: str, agent: str) -> list[dict[str, Any]]:
    rows = store.rows("SELECT * FROM memory_items WHERE run_id = ? AND agent = ? ORDER BY item_id", [run_id, agent])
    if not rows:
        raise ValueError(f"run {run_id!r} stored no memory for agent {agent!r}")
    return rows
