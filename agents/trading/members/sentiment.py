"""Headline sentiment by the PhraseBank classifier (agents/trading/sentiment.py): mean of
P(positive) - P(negative) over the day's headlines, mapped to (0, 1); None on a day without headlines."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fincortex.agents.trading.members.base import Day, Member, MemberContext


class SentimentMember(Member):
    name = "sentiment"
    reads_news = True

    def probabilities(self, days: Sequence[Day], ctx: MemberContext) -> list[float | None]:
        out: list[float | None] = []
        for d in days:
            if not d.news:
                out.append(None)
                continue
            if ctx.sentiment_model is None:
                raise ValueError("the sentiment member needs the PhraseBank classifier (FINCORTEX_DATA_MIRROR with "
                                 "sentiment/financial_phrasebank_all_data.csv)")
            s = float(np.mean(ctx.sentiment_model.score([n.text.split("\n")[0][:200] for n in d.news])))
            out.append(min(max((1 + s) / 2, 0.01), 0.99))
        return out
