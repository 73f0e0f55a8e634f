"""Plotly figures for the dashboard, built from plain records so they can be tested without a page."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots


def price_figure(bars: Sequence[Mapping[str, Any]], symbol: str) -> go.Figure:
    """Candlesticks (or a close line when OHLC is incomplete) over a volume bar chart."""
    ts = [b["ts"] for b in bars]
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.75, 0.25], vertical_spacing=0.03)
    has_ohlc = all(b.get(k) is not None for b in bars for k in ("open", "high", "low"))
    if has_ohlc:
        fig.add_trace(
            go.Candlestick(
                x=ts,
                open=[b["open"] for b in bars],
                high=[b["high"] for b in bars],
                low=[b["low"] for b in bars],
                close=[b["close"] for b in bars],
                name=symbol,
            ),
            row=1,
            col=1,
        )
    else:
        fig.add_trace(go.Scatter(x=ts, y=[b["close"] for b in bars], name=f"{symbol} close"), row=1, col=1)
    fig.add_trace(go.Bar(x=ts, y=[b.get("volume") or 0 for b in bars], name="volume", marker_color="#8a9bb0"), row=2, col=1)
    fig.update_layout(
        height=520, margin=dict(l=10, r=10, t=30, b=10), xaxis_rangeslider_visible=False, showlegend=False,
        title=f"{symbol} daily bars",
    )
    fig.update_yaxes(title_text="price", row=1, col=1)
    fig.update_yaxes(title_text="volume", row=2, col=1)
    return fig


def equity_figure(curves: Mapping[str, Sequence[Mapping[str, Any]]], title: str = "Equity") -> go.Figure:
    """One equity line per agent (buy-and-hold included when the run has it) and drawdowns below."""
    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, row_heights=[0.65, 0.35], vertical_spacing=0.05,
        subplot_titles=("equity", "drawdown"),
    )
    palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]
    for i, (agent, points) in enumerate(curves.items()):
        ts = [p["ts"] for p in points]
        benchmark = "buy" in agent and "hold" in agent
        line = dict(dash="dash" if benchmark else None, color="#555555" if benchmark else palette[i % len(palette)])
        fig.add_trace(go.Scatter(x=ts, y=[p["equity"] for p in points], name=agent, line=line,
                                 legendgroup=agent), row=1, col=1)
        fig.add_trace(go.Scatter(x=ts, y=[-100 * (p.get("drawdown") or 0) for p in points], name=agent,
                                 line=line, legendgroup=agent, showlegend=False), row=2, col=1)
    fig.update_yaxes(title_text="equity", row=1, col=1)
    fig.update_yaxes(title_text="drawdown %", row=2, col=1)
    fig.update_layout(height=560, margin=dict(l=10, r=10, t=40, b=10), title=title, hovermode="x unified")
    return fig


def reliability_figure(bins: Sequence[Mapping[str, Any]], title: str = "Reliability") -> go.Figure:
    """Mean forecast vs observed frequency per probability bin, sized by count, with the diagonal."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfect calibration",
                             line=dict(dash="dot", color="gray")))
    for series in sorted({str(b.get("series", "forecast")) for b in bins}):
        pts = [b for b in bins if str(b.get("series", "forecast")) == series and b.get("count")]
        fig.add_trace(go.Scatter(
            x=[b["mean_forecast"] for b in pts], y=[b["observed"] for b in pts], mode="lines+markers",
            name=series, text=[f"n={b['count']}" for b in pts],
            marker=dict(size=[6 + min(20, b["count"] ** 0.5 * 2) for b in pts]),
        ))
    fig.update_layout(height=420, margin=dict(l=10, r=10, t=40, b=10), title=title,
                      xaxis_title="forecast probability", yaxis_title="observed frequency",
                      xaxis=dict(range=[0, 1]), yaxis=dict(range=[0, 1]))
    return fig


def reliability_bins(probs: Sequence[float], outcomes: Sequence[int], n_bins: int = 10,
                     series: str = "forecast") -> list[dict[str, Any]]:
    """Group forecasts into equal-width probability bins (the standard reliability diagram)."""
    bins: list[dict[str, Any]] = []
    for i in range(n_bins):
        lo, hi = i / n_bins, (i + 1) / n_bins
        members = [(p, o) for p, o in zip(probs, outcomes) if (lo <= p < hi) or (i == n_bins - 1 and p == 1.0)]
        if not members:
            continue
        bins.append({
            "series": series, "bin": f"{lo:.1f}-{hi:.1f}", "count": len(members),
            "mean_forecast": sum(p for p, _ in members) / len(members),
            "observed": sum(o for _, o in members) / len(members),
        })
    return bins


def scores_figure(hits: Sequence[Mapping[str, Any]], stages: Sequence[str]) -> go.Figure:
    """Each stage's score of each hit, one panel per stage: the stages' scales differ (cosine, BM25, RRF)."""
    labels = [f"#{h.get('rank', i + 1)}" for i, h in enumerate(hits)]
    fig = make_subplots(rows=1, cols=len(stages), subplot_titles=[s.replace("_", " ") for s in stages],
                        horizontal_spacing=0.06)
    for col, stage in enumerate(stages, start=1):
        fig.add_trace(go.Bar(x=labels, y=[h.get(stage) for h in hits], name=stage, showlegend=False), row=1, col=col)
    fig.update_xaxes(type="category")
    fig.update_layout(height=260, margin=dict(l=10, r=10, t=40, b=10))
    return fig
