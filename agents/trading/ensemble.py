"""The `ensemble` trader (forecast-to-trade): a calibrated P(up) per day from stacked members, sized by
fractional Kelly, checked by the risk manager.

Before the first step (`prepare`), every decision day of the training window (`train_days` before the
start) and of the run is laid out point-in-time: the price view the simulator will hand the agent
(market.history(ts)), its features, the headlines available at ts. Members score all days at once (the
LLM members in batches: a day's P(up) does not depend on earlier decisions). Each day's outcome (did the
next `horizon` bars close higher) is attached with the time it became known; the stacker (stacking.py:
logistic regression on member logits + missing indicators) is fitted only on outcomes known at the
decision time -- once, before the start, or with `walk_forward` again at every step (`refit_every`).
`decide` then checks that the simulator's view is the one prepared, sizes the position
(sizing.kelly_weight on the EWMA volatility), applies the risk manager (risk.py, with its re-arming
drawdown brake) and trades only when the target moved more than `rebalance_band` (costs).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from fincortex.agents.trading.features import compute_features
from fincortex.agents.trading.market import MarketData
from fincortex.agents.trading.members import DEFAULT_MEMBERS, MEMBERS, Day, Member, MemberContext, Outcome, build_member
from fincortex.agents.trading.news import NewsSource
from fincortex.agents.trading.risk import DrawdownBrake, apply_risk, get_profile
from fincortex.agents.trading.members.trend import trend_z
from fincortex.agents.trading.sizing import SIZING_MODES, combine, ewma_sigma, kelly_weight, trend_weight
from fincortex.agents.trading.stacking import LogitStacker, design
from fincortex.agents.trading.strategies import Decision, Observation, SeenChunk, SeenMemory


@dataclass(frozen=True)
class EnsembleConfig:
    members: tuple[str, ...] = DEFAULT_MEMBERS
    drop: tuple[str, ...] = ()  # members left out (for contributions: drop one, re-run)
    walk_forward: bool = False  # refit the stacker every `refit_every` steps on outcomes known by then
    refit_every: int = 1
    train_days: int = 365  # decision days before the start whose outcomes train the first fit
    llm_train_days: int = 120  # LLM members answer from this many days before the start (missing before: cost)
    horizon: int = 1  # holding period (bars) the probability is about
    kelly_fraction: float = 0.5
    sizing: str = "trend"  # kelly | trend | trend_floor | trend_plus_kelly (sizing.combine; default chosen on the dev windows, docs)
    trend_gain: float = 2.0  # trend weight = trend_gain x trend t-statistic (sizing.trend_weight)
    rebalance_band: float = 0.1  # trade only when the target weight moved more than this
    C: float = 0.05  # inverse L2 strength of the stacker (chosen on BTC 2018-2019 walk-forward, see docs)
    character: str = "balanced"  # risk profile (risk.py)
    model: str | None = None  # chat model spec for the LLM members; None = settings.llm
    temperature: float = 0.0  # > 0: the LLM members sample their answers (seeded votes)
    news_lookback_days: float = 2.0
    news_k: int = 5
    cpu_threads: int | None = None
    name: str = "ensemble"

    def __post_init__(self) -> None:
        unknown = [m for m in (*self.members, *self.drop) if m not in MEMBERS]
        if unknown:
            raise ValueError(f"unknown ensemble member(s) {unknown}; choose from {', '.join(MEMBERS)}")
        if self.sizing not in SIZING_MODES or self.trend_gain < 0:
            raise ValueError(f"ensemble sizing={self.sizing!r} must be one of {', '.join(SIZING_MODES)} and "
                             f"trend_gain={self.trend_gain} >= 0")
        if not self.active_members:
            raise ValueError(f"ensemble members {self.members} minus drop {self.drop} leaves none")
        for name, lo in (("refit_every", 1), ("train_days", 0), ("horizon", 1)):
            if getattr(self, name) < lo:
                raise ValueError(f"ensemble {name}={getattr(self, name)} must be >= {lo}")
        if not 0 < self.kelly_fraction <= 1 or self.temperature < 0 or self.rebalance_band < 0 or self.C <= 0:
            raise ValueError(f"ensemble needs 0 < kelly_fraction <= 1, temperature >= 0, rebalance_band >= 0, "
                             f"C > 0 (got {self.kelly_fraction}, {self.temperature}, {self.rebalance_band}, {self.C})")
        get_profile(self.character)

    @property
    def active_members(self) -> tuple[str, ...]:
        return tuple(m for m in self.members if m not in self.drop)

    @property
    def warmup_days(self) -> int:
        """Calendar days of bars before the start: the training window plus the longest lookback (90)."""
        return self.train_days + 100


@dataclass
class EnsembleTrader:
    config: EnsembleConfig
    chat: Any | None = None
    sentiment_model: Any | None = None
    news_source: NewsSource | None = None
    seed: int = 0
    members: list[Member] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.name = self.config.name
        self.profile = get_profile(self.config.character)
        self.brake = DrawdownBrake(self.profile)
        if not self.members:
            self.members = [build_member(m) for m in self.config.active_members]
        self._index: dict[datetime, int] = {}
        self.notes: list[str] = []

    @property
    def warmup_bars(self) -> int:
        return self.config.train_days + 91

    # -- before the first step ------------------------------------------------------------------
    def prepare(self, market: MarketData, steps: Sequence[datetime], periods_per_year: int) -> None:
        cfg = self.config
        first = steps[0]
        lo = np.datetime64(first - timedelta(days=cfg.train_days), "us")
        train_idx = np.flatnonzero((market.ts >= lo) & (market.ts < np.datetime64(first, "us")))
        stamps = [market.bar_ts(int(i)) for i in train_idx] + list(steps)
        reads_news = any(m.reads_news for m in self.members)
        days: list[Day] = []
        for ts in stamps:
            view = market.history(ts)
            if len(view) < 2:
                continue
            news = tuple(self.news_source.fetch(ts)) if reads_news and self.news_source is not None else ()
            days.append(Day(ts, view, compute_features(view, periods_per_year), news))
        self.days = days
        self._index = {d.ts: k for k, d in enumerate(days)}
        self.n_train_days = sum(1 for d in days if d.ts < first)
        self.outcomes = [self._outcome(market, d) for d in days]
        ctx = MemberContext(self.outcomes, self.chat, self.sentiment_model, cfg.temperature, self.seed, cfg.horizon)
        cut = np.datetime64(first - timedelta(days=cfg.llm_train_days), "us")
        llm_from = next((k for k, d in enumerate(days) if np.datetime64(d.ts, "us") >= cut), len(days))
        self.probs = {}
        for m in self.members:  # LLM members skip the older training days (missing there, never faked)
            lo = llm_from if m.uses_llm else 0
            self.probs[m.name] = [None] * lo + m.probabilities(days[lo:], ctx)
        self.notes += ctx.notes
        self._stack(first)

    def _outcome(self, market: MarketData, day: Day) -> Outcome | None:
        last = int(np.searchsorted(market.ts, np.datetime64(day.prices.last_ts, "us")))
        end = last + self.config.horizon
        if end >= market.ts.size:
            return None
        return Outcome(bool(market.close[end] > market.close[last]), market.available_at[end].astype(datetime))

    def _rows(self, ks: Sequence[int]) -> list[list[float | None]]:
        return [[self.probs[m.name][k] for m in self.members] for k in ks]

    def _stack(self, first: datetime) -> None:
        """P(up) for every run day from a stacker fitted on the outcomes known at its decision time."""
        cfg = self.config
        avail = np.array([np.datetime64(o.available_at, "us") if o else np.datetime64("NaT") for o in self.outcomes])
        labels = np.array([int(o.up) if o else -1 for o in self.outcomes])
        names = tuple(m.name for m in self.members)
        self.p = [None] * len(self.days)
        self.fits: list[dict[str, Any]] = []
        x_all = design(self._rows(range(len(self.days))), len(names))
        stacker, since = None, 0
        for k, day in enumerate(self.days):
            if day.ts < first:
                continue
            if stacker is None or (cfg.walk_forward and since >= cfg.refit_every):
                known = np.flatnonzero((labels >= 0) & (avail <= np.datetime64(day.ts, "us")))
                known = known[known < k]
                stacker = LogitStacker(names, C=cfg.C).fit_design(x_all[known], labels[known])
                self.fits.append({"ts": day.ts, "n_train": stacker.n_train, "weights": stacker.weights(),
                                  "last_outcome_at": None if not known.size else str(avail[known].max())})
                since = 0
            since += 1
            self.p[k] = stacker.predict_design(x_all[k:k + 1])[0]

    # -- each step -------------------------------------------------------------------------------
    def decide(self, obs: Observation) -> Decision:
        k = self._index.get(obs.decision_ts)
        if k is None:
            return Decision.hold(f"only {len(obs.prices)} bars visible")
        day = self.days[k]
        if len(obs.prices) != len(day.prices) or obs.prices.last_ts != day.prices.last_ts:
            raise RuntimeError(f"ensemble: the prepared view for {obs.decision_ts} ({len(day.prices)} bars to "
                               f"{day.prices.last_ts}) differs from the simulator's ({len(obs.prices)} bars)")
        p, sigma = self.p[k], ewma_sigma(obs.prices.close)
        member_p = {m.name: self.probs[m.name][k] for m in self.members}
        cfg, cap = self.config, self.profile.max_position
        kelly = 0.0 if p is None or sigma is None else kelly_weight(
            p, sigma, cfg.kelly_fraction, cap, obs.allow_short, cfg.horizon)
        z = trend_z(obs.prices.close) if cfg.sizing != "kelly" else None
        trend = trend_weight(z, cfg.trend_gain, cap)
        proposed = combine(cfg.sizing, kelly, trend, cap, obs.allow_short)
        check = apply_risk(self.profile, proposed, obs.portfolio, obs.prices.last_close, obs.allow_short, self.brake)
        final = check.weight
        current = obs.portfolio.weight
        moved = final is not None and (abs(final - current) > self.config.rebalance_band
                                       or (final == 0 and current != 0) or (check.interventions and final < current))
        why = "no fitted stacker yet" if p is None else f"P(up)={p:.3f}, sigma {sigma or 0:.2%}/day"
        if z is not None:
            why += f", trend z {z:+.2f} -> {trend:.0%}"
        scores = {"p_up": p, "members": member_p, "sigma": sigma, "kelly_weight": kelly, "trend_z": z,
                  "trend_weight": trend, "proposed_weight": proposed, "final_weight": final,
                  "interventions": list(check.interventions), "brake": self.brake.engaged}
        decision = Decision.to_weight(final, current, why, **scores) if moved else Decision.hold(why, **scores)
        if any(m.reads_news for m in self.members):
            decision.evidence.chunks.extend(SeenChunk(n.chunk_id, n.available_at, n.score) for n in day.news)
        for m in self.members:
            decision.evidence.memory.extend(SeenMemory(i, a) for i, a in m.recalled(k))
        return decision

    def memory_rows(self) -> list[dict[str, Any]]:
        return [row for m in self.members for row in m.memory_rows()]

    # -- after the run ---------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """Fitted weights (last fit and mean over fits), calibration of P(up) and of each member on the run
        days (Brier, log loss, against the run's own base rate), how often each member was present."""
        run = [k for k, d in enumerate(self.days) if k >= self.n_train_days and self.outcomes[k] is not None]
        y = np.array([int(self.outcomes[k].up) for k in run])
        out: dict[str, Any] = {"members": [m.name for m in self.members], "n_fits": len(self.fits),
                               "walk_forward": self.config.walk_forward, "train_days": self.n_train_days,
                               "last_fit": self.fits[-1] if self.fits else None, "notes": self.notes}
        if self.fits:
            keys = sorted({k for f in self.fits for k in f["weights"]})
            out["mean_weights"] = {k: float(np.mean([f["weights"].get(k, 0.0) for f in self.fits])) for k in keys}
        out["calibration"] = {"ensemble": _calibration([self.p[k] for k in run], y)}
        out["calibration"]["base_rate"] = _calibration([float(y.mean())] * len(run), y) if len(run) else None
        for m in self.members:
            out["calibration"][m.name] = _calibration([self.probs[m.name][k] for k in run], y)
        return out


def _calibration(p: Sequence[float | None], y: np.ndarray) -> dict[str, float | int | None]:
    keep = [i for i, v in enumerate(p) if v is not None]
    if not keep:
        return {"n": 0, "brier": None, "log_loss": None, "mean_p": None, "hit_rate": None}
    q = np.clip(np.array([p[i] for i in keep], float), 1e-6, 1 - 1e-6)
    t = y[keep]
    return {"n": len(keep), "brier": float(np.mean((q - t) ** 2)),
            "log_loss": float(-np.mean(t * np.log(q) + (1 - t) * np.log(1 - q))),
            "mean_p": float(q.mean()), "hit_rate": float(np.mean((q > 0.5) == (t == 1)))}


def build_ensemble_trader(deps: Any, backtest_config: Any, **overrides: Any) -> EnsembleTrader:
    """The ensemble for a backtest: chat model only when an LLM member is active, the PhraseBank model
    only when the sentiment member is and the window has headlines, point-in-time recent news."""
    from fincortex.agents.trading.market import to_datetime
    from fincortex.agents.trading.news import RecentNews

    cfg = EnsembleConfig(**{**dict(backtest_config.ensemble), **overrides})
    members = [build_member(m) for m in cfg.active_members]
    chat = None
    if any(m.uses_llm for m in members):
        if cfg.cpu_threads:
            import torch

            torch.set_num_threads(int(cfg.cpu_threads))
        chat = deps.chat_model(cfg.model, temperature=0.0, seed=int(backtest_config.seed))
    source = None
    if any(m.reads_news for m in members):
        start = to_datetime(backtest_config.start) - timedelta(days=cfg.train_days + 1)
        source = RecentNews(deps.store, start, to_datetime(backtest_config.end), cfg.news_lookback_days, cfg.news_k)
    sentiment_model = None
    if any(m.name == "sentiment" for m in members) and source is not None and len(source):
        from fincortex.agents.trading.sentiment import load_or_train

        sentiment_model = load_or_train(deps.settings)
    return EnsembleTrader(cfg, chat, sentiment_model, source, int(backtest_config.seed), members)
