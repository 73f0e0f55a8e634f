"""The comparison as one self-contained HTML page (plotly, its JavaScript inlined once: it opens offline):
a verdict per area, the paired table, nDCG/recall bars, reliability diagrams, equity curves and drawdowns."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import numpy as np


def _fmt(v: Any, digits: int = 4) -> str:
    return "—" if v is None else (f"{v:+.{digits}f}" if isinstance(v, float) and v < 0 else
                                  f"{v:.{digits}f}" if isinstance(v, float) else html.escape(str(v)))


def _retrieval_bars(ua, ub):
    import plotly.graph_objects as go

    fig = go.Figure()
    for label, u in (("A", ua), ("B", ub)):
        modes = list(u.summary["modes"])
        for metric in ("ndcg@10", "recall@10"):
            fig.add_bar(name=f"{label} {metric}", x=modes, y=[u.summary["modes"][m][metric] for m in modes])
    fig.update_layout(title=f"{ua.unit}: nDCG@10 and recall@10 per mode", barmode="group", yaxis_range=[0, 1])
    return fig


def _financebench_bars(ua, ub):
    import plotly.graph_objects as go

    fig = go.Figure()
    for label, u in (("A", ua), ("B", ub)):
        systems = [row for row in u.summary["systems"] if "page_recall@5" in row]
        names = [r["system"] for r in systems]
        fig.add_bar(name=f"{label} page recall@5", x=names, y=[r["page_recall@5"] for r in systems])
        fig.add_bar(name=f"{label} doc recall@5", x=names, y=[r["doc_recall@5"] for r in systems])
    fig.update_layout(title=f"{ua.unit}: recall@5 per system (one shared store)", barmode="group", yaxis_range=[0, 1])
    return fig


def _reliability(ua, ub, bins: int = 10):
    import plotly.graph_objects as go

    from fincortex.suite.parts.forecasting import outcomes_from_payload

    outcomes = outcomes_from_payload(ua.payload["outcomes"])
    fig = go.Figure()
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfect", line={"dash": "dot", "color": "grey"})
    series = "p:default" if "p:default" in ua.items else next(iter(ua.items))
    for label, u in (("A", ua), ("B", ub)):
        pairs = [(p, outcomes[tuple(json.loads(k))].resolved_to) for k, p in u.items.get(series, {}).items()
                 if p is not None and tuple(json.loads(k)) in outcomes]
        if not pairs:
            continue
        p, y = np.array(pairs).T
        edges = np.linspace(0, 1, bins + 1)
        idx = np.clip(np.digitize(p, edges) - 1, 0, bins - 1)
        xs = [float(p[idx == b].mean()) for b in range(bins) if (idx == b).any()]
        ys = [float(y[idx == b].mean()) for b in range(bins) if (idx == b).any()]
        ns = [int((idx == b).sum()) for b in range(bins) if (idx == b).any()]
        fig.add_scatter(x=xs, y=ys, mode="lines+markers", name=f"{label} ({series})", text=[f"n={n}" for n in ns])
    fig.update_layout(title=f"{ua.unit}: reliability (observed frequency by forecast bin)",
                      xaxis_title="forecast", yaxis_title="observed", xaxis_range=[0, 1], yaxis_range=[0, 1])
    return fig


def _equity(ua, ub):
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3], vertical_spacing=0.05)
    for label, u in (("A", ua), ("B", ub)):
        eq = u.payload.get("equity", {})
        ts = eq.get("ts", [])
        agents = ["ensemble"] + (["buyhold", "sma", "momentum"] if label == "A" else [])
        for agent in agents:
            if agent not in eq:
                continue
            values = np.array(eq[agent], dtype=float)
            name = f"{label} {agent}" if agent == "ensemble" else agent
            fig.add_scatter(x=ts, y=values, name=name, row=1, col=1)
            if agent == "ensemble":
                dd = values / np.maximum.accumulate(values) - 1
                fig.add_scatter(x=ts, y=dd, name=f"{label} drawdown", row=2, col=1)
    fig.update_layout(title=f"{ua.unit}: equity and the ensemble's drawdown")
    return fig


PLOTS = {"retrieval": _retrieval_bars, "financebench": _financebench_bars, "forecasting": _reliability, "trading": _equity}


def _lineage(model: dict) -> str:
    """Name, weights hash and, for a registered model, method, seed and parents (name + hash)."""
    sha = model.get("sha256")
    text = html.escape(str(model.get("asked"))) + (f" <code>{html.escape(sha[:12])}</code>" if sha else "")
    reg = model.get("registry") or {}
    if reg:
        parents = ", ".join(f"{html.escape(str(p.get('name')))} <code>{html.escape(str(p.get('sha256') or '')[:12])}</code>"
                            for p in reg.get("parents") or [])
        seed = "" if reg.get("seed") is None else f", seed {reg['seed']}"
        text += f"<br><small>{html.escape(str(reg.get('method')))}{seed}; parents: {parents or 'none'}</small>"
    return text


def write_html(comparison: dict[str, Any], out: str | Path) -> Path:
    import plotly.io as pio

    a, b = comparison["a"], comparison["b"]
    parts = [f"<h1>Suite comparison</h1><p>A = <code>{html.escape(a['run_id'])}</code> {html.escape(a['label'] or '')} "
             f"&nbsp; B = <code>{html.escape(b['run_id'])}</code> {html.escape(b['label'] or '')} "
             f"(profile {html.escape(a['profile'])} / {html.escape(b['profile'])})</p>"]
    parts.append("<h2>Verdict per area (B against A)</h2><ul>" + "".join(
        f"<li><b>{html.escape(area)}</b>: <span class='verdict'>{html.escape(v)}</span></li>"
        for area, v in comparison["areas"].items()) + "</ul>")
    head = "<tr><th>unit</th><th>metric</th><th>A</th><th>B</th><th>B − A</th><th>95% CI</th><th>n</th><th>verdict</th></tr>"
    body = "".join(
        f"<tr><td>{html.escape(r.unit)}</td><td>{html.escape(r.metric)}</td><td>{_fmt(r.a)}</td><td>{_fmt(r.b)}</td>"
        f"<td>{_fmt(r.diff)}</td><td>[{_fmt(r.ci_low)}, {_fmt(r.ci_high)}]</td><td>{_fmt(r.n)}</td>"
        f"<td>{html.escape(r.verdict)}</td></tr>" for r in comparison["rows"])
    parts.append(f"<h2>Paired differences</h2><table border='1' cellpadding='4'>{head}{body}</table>")
    models = "".join(f"<tr><td>{role}</td><td>{_lineage(a['config'].get(role) or {})}</td>"
                     f"<td>{_lineage(b['config'].get(role) or {})}</td></tr>" for role in ("embedder", "reranker", "chat"))
    parts.append("<h2>Models (lineage)</h2><table border='1' cellpadding='4'><tr><th>role</th><th>A</th><th>B</th></tr>"
                 f"{models}</table>")
    first = True
    for unit in sorted(comparison["units_a"].keys() & comparison["units_b"].keys()):
        ua, ub = comparison["units_a"][unit], comparison["units_b"][unit]
        plot = PLOTS.get(ua.part)
        if plot is None:
            continue
        fig = plot(ua, ub)
        parts.append(pio.to_html(fig, include_plotlyjs=first, full_html=False))
        first = False
    page = ("<!doctype html><html><head><meta charset='utf-8'><title>fincortex suite comparison</title></head>"
            f"<body style='font-family:sans-serif'>{''.join(parts)}</body></html>")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out
