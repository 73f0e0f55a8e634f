"""The LLM's own view of the market: one Yes/No question a day over the price features in words.

The prompt names neither the asset nor the date: a pretrained model may remember what BTC did in 2018,
and an anonymous prompt keeps that memory out of a backtest (the look-ahead a date would invite)."""

from __future__ import annotations

from collections.abc import Sequence

from fincortex.agents.trading.members.base import Day, Member, MemberContext
from fincortex.agents.trading.members.llm_scoring import answer_days

PROMPT_VERSION = "llm-view-v1"
SYSTEM = "You are a crypto market analyst. Answer Yes or No."


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:+.1%}"


def describe(day: Day) -> str:
    f = day.features
    parts = [f"Returns: 1 day {_pct(f.ret_1d)}, 7 days {_pct(f.ret_7d)}, 30 days {_pct(f.ret_30d)}."]
    if f.vol_20d is not None:
        parts.append(f"Volatility {f.vol_20d:.0%} a year.")
    if f.sma_20 is not None and f.sma_50 is not None:
        parts.append(f"Price {_pct(f.last_close / f.sma_20 - 1)} vs its 20-day average, which is "
                     f"{'above' if f.sma_20 > f.sma_50 else 'below'} the 50-day average.")
    if f.drawdown_90d is not None:
        parts.append(f"{f.drawdown_90d:.0%} below its 90-day high.")
    return " ".join(parts)


def prompt(day: Day, horizon: int) -> list[dict[str, str]]:
    when = "tomorrow" if horizon == 1 else f"in {horizon} days"
    return [{"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"A crypto asset. {describe(day)} Will its price be higher {when}?"}]


class LLMViewMember(Member):
    name = "llm_view"
    uses_llm = True

    def key(self) -> str:
        return f"{self.name}:{PROMPT_VERSION}"

    def probabilities(self, days: Sequence[Day], ctx: MemberContext) -> list[float | None]:
        if ctx.chat is None:
            raise ValueError("the llm_view member needs a chat model (settings.llm or --llm)")
        ok = [i for i, d in enumerate(days) if d.features.ret_30d is not None]
        return answer_days(ctx.chat, days, ok, lambda d: prompt(d, ctx.horizon), ctx.temperature, ctx.seed,
                           self.name)
