"""LLM direct over the day's headlines: P(Yes) from the Yes/No log-probs of "will prices be higher?".

Reads only the headlines available at the decision time (the ensemble fetches them point-in-time and
records them as evidence); a day without headlines is None (missing), never a guess."""

from __future__ import annotations

import re
from collections.abc import Sequence

from fincortex.agents.trading.members.base import Day, Member, MemberContext
from fincortex.agents.trading.members.llm_scoring import answer_days

PROMPT_VERSION = "headline-llm-v1"
SYSTEM = "You are a crypto market analyst. Answer Yes or No."


def _clip(text: str, n: int = 140) -> str:
    line = re.sub(r"\s+", " ", (text or "").split("\n")[0]).strip()
    return line if len(line) <= n else line[: n - 1].rstrip() + "…"


def prompt(day: Day, horizon: int, k: int = 5) -> list[dict[str, str]]:
    when = "tomorrow" if horizon == 1 else f"in {horizon} days"
    heads = "\n".join(f"- {_clip(n.text)}" for n in day.news[:k])
    return [{"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"Latest market headlines:\n{heads}\nWill crypto prices be higher {when}?"}]


class HeadlineLLMMember(Member):
    name = "headline_llm"
    uses_llm = True
    reads_news = True

    def key(self) -> str:
        return f"{self.name}:{PROMPT_VERSION}"

    def probabilities(self, days: Sequence[Day], ctx: MemberContext) -> list[float | None]:
        ok = [i for i, d in enumerate(days) if d.news]
        if ok and ctx.chat is None:
            raise ValueError("the headline_llm member needs a chat model (settings.llm or --llm)")
        return answer_days(ctx.chat, days, ok, lambda d: prompt(d, ctx.horizon), ctx.temperature, ctx.seed,
                           self.name)
