"""Trading: configure and run a backtest in the background; equity and drawdown against buy-and-hold,
metrics with confidence intervals, fills, and each decision with the evidence the agent saw."""

from __future__ import annotations

import datetime as dt
from typing import Any

import plotly.graph_objects as go
import streamlit as st

from fincortex.ui import charts, common, job_view
from fincortex.ui.jobs import JobStatus

AGENTS = {
    "sma": "SMA crossover (baseline)",
    "momentum": "Momentum (baseline)",
    "llm": "LLM trader (LangGraph: analysts, memory, risk manager; slow on CPU)",
}
METRIC_COLUMNS = ["cumulative_return", "annualised_return", "sharpe", "sharpe_ci_low", "sharpe_ci_high", "sortino",
                  "max_drawdown", "calmar", "volatility", "win_rate", "n_trades", "turnover",
                  "excess_return_vs_buyhold", "sharpe_minus_buyhold", "final_equity"]

st.title("Trading")
st.caption("Every run trades buy-and-hold beside the chosen agents on the same bars, decides at each bar's "
           "start from data available by then, fills at the open, and is audited for look-ahead afterwards.")


def _price_series() -> dict[str, dict[str, Any]]:
    try:
        stats = common.client().stats()
    except Exception as exc:  # noqa: BLE001
        common.show_error("Reading the available price series", exc)
        return {}
    return {str(p["symbol"]): p for p in common.records(stats.get("prices") or [])}


def _form(series: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    symbol = st.selectbox("Symbol", list(series), key="bt_symbol")
    first = dt.date.fromisoformat(str(series[symbol]["first"])[:10])
    last = dt.date.fromisoformat(str(series[symbol]["last"])[:10])
    st.caption(f"{symbol}: {series[symbol]['bars']:,} daily bars from {first} to {last}")
    with st.form("backtest_form"):
        c1, c2, c3 = st.columns(3)
        start = c1.date_input("Start (first decision day)", value=max(first, last - dt.timedelta(days=180)),
                              min_value=first, max_value=last, key="bt_start")
        end = c2.date_input("End (last decision day)", value=last, min_value=first, max_value=last, key="bt_end")
        agents = c3.multiselect("Agents (buy-and-hold always runs)", list(AGENTS), default=["sma", "momentum"],
                                format_func=lambda a: AGENTS[a], key="bt_agents")
        c4, c5, c6, c7 = st.columns(4)
        fees = c4.number_input("Fees (bps per trade)", min_value=0.0, max_value=500.0, value=10.0, step=1.0,
                               key="bt_fees")
        slippage = c5.number_input("Slippage (bps)", min_value=0.0, max_value=500.0, value=5.0, step=1.0,
                                   key="bt_slippage")
        cash = c6.number_input("Initial cash", min_value=1.0, value=10_000.0, step=1_000.0, key="bt_cash")
        seeds = c7.number_input("Seeds (runs)", min_value=1, max_value=10, value=1, step=1, key="bt_seeds")
        allow_short = st.checkbox("Allow short positions", value=False, key="bt_short")
        go_run = st.form_submit_button("Run backtest", type="primary")
    if not go_run:
        return None
    problems = []
    if start is None or end is None:
        problems.append("Pick both a start and an end date.")
    elif start > end:
        problems.append(f"Invalid window: start {start} is after end {end}.")
    elif not first <= start <= last or not first <= end <= last:
        problems.append(f"The window must lie within {symbol}'s data ({first} to {last}).")
    for p in problems:
        st.error(p)
    if problems:
        return None
    params: dict[str, Any] = {
        "symbol": symbol, "start": start.isoformat(), "end": end.isoformat(), "agents": agents or ["buyhold"],
        "fees_bps": float(fees), "slippage_bps": float(slippage), "initial_cash": float(cash),
        "allow_short": bool(allow_short),
    }
    if int(seeds) > 1:
        params["seeds"] = list(range(int(seeds)))
    return params


def _metrics_table(metrics: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for agent, m in metrics.items():
        row = {"agent": agent}
        row.update({c: m.get(c) for c in METRIC_COLUMNS if c in m})
        rows.append(row)
    return rows


def _sharpe_ci_figure(metrics: dict[str, dict[str, Any]]) -> go.Figure:
    agents = [a for a, m in metrics.items() if m.get("sharpe") is not None]
    sharpe = [metrics[a]["sharpe"] for a in agents]
    lo = [metrics[a].get("sharpe_ci_low") for a in agents]
    hi = [metrics[a].get("sharpe_ci_high") for a in agents]
    fig = go.Figure(go.Scatter(
        x=agents, y=sharpe, mode="markers", marker=dict(size=12),
        error_y=dict(type="data", symmetric=False,
                     array=[(h - s) if h is not None else 0 for h, s in zip(hi, sharpe)],
                     arrayminus=[(s - low) if low is not None else 0 for low, s in zip(lo, sharpe)]),
    ))
    fig.add_hline(y=0, line_dash="dot", line_color="gray")
    fig.update_layout(title="Annualised Sharpe with 95% bootstrap interval", height=320,
                      margin=dict(l=10, r=10, t=40, b=10), yaxis_title="Sharpe")
    return fig


def _decisions(run: dict[str, Any]) -> None:
    decisions = run.get("decisions") or []
    agents = sorted({d["agent"] for d in decisions})
    c1, c2 = st.columns([1, 1])
    agent = c1.selectbox("Agent", agents, key=f"dec_agent_{run['run_id']}")
    only_trades = c2.checkbox("Only BUY/SELL decisions", value=True, key=f"dec_trades_{run['run_id']}")
    rows = [d for d in decisions if d["agent"] == agent and (not only_trades or d["action"] != "HOLD")]
    table = [{"decision_ts": d["decision_ts"], "action": d["action"], "target_weight": d["target_weight"],
              "order": d["order_status"], "bars seen": d["prices_seen"]["n_bars"],
              "last bar seen": d["prices_seen"]["last_ts"], "chunks seen": len(d["chunks_seen"]),
              "memories seen": len(d["memory_seen"]), "rationale": (d.get("rationale") or "")[:160]}
             for d in rows]
    st.dataframe(table, hide_index=True, width="stretch", height=260)
    if not rows:
        return
    labels = {i: f"{str(d['decision_ts'])[:10]} · {d['action']}" for i, d in enumerate(rows)}
    pick = st.selectbox("Decision evidence", list(labels), format_func=labels.get,
                        key=f"dec_pick_{run['run_id']}_{agent}")
    d = rows[pick]
    st.markdown(f"**{agent} on {str(d['decision_ts'])[:10]}: {d['action']}**"
                + (f" to weight {d['target_weight']:.2f}" if d.get("target_weight") is not None else ""))
    if d.get("rationale"):
        st.write(d["rationale"])
    p = d["prices_seen"]
    st.caption(f"price bars seen: {p['n_bars']} of {p['symbol']} from {p['first_ts']} to {p['last_ts']} "
               f"(latest available_at {p['max_available_at']}, decision at {d['decision_ts']})")
    if d.get("scores"):
        st.json(d["scores"], expanded=False)
    if d["chunks_seen"]:
        st.markdown("News chunks the agent read:")
        texts = _chunk_texts([c["chunk_id"] for c in d["chunks_seen"]])
        st.dataframe([{**c, "text": texts.get(int(c["chunk_id"]), "")} for c in d["chunks_seen"]],
                     hide_index=True, width="stretch")
    if d["memory_seen"]:
        st.markdown("Memories recalled:")
        st.dataframe(d["memory_seen"], hide_index=True, width="stretch")


def _chunk_texts(ids: list[int]) -> dict[int, str]:
    if not common.has("chunks"):
        return {}
    try:
        return {int(c["chunk_id"]): c["text"] for c in common.client().chunks(ids)}
    except Exception as exc:  # noqa: BLE001
        common.show_error("Reading evidence chunks", exc)
        return {}


def show_run(run: dict[str, Any]) -> None:
    cfg = run.get("config") or {}
    leak = run.get("leakage") or {}
    st.markdown(f"**Run {run['run_id']}** · {cfg.get('symbol')} {cfg.get('start')} to {cfg.get('end')} · "
                f"fees {cfg.get('fees_bps')} bps · slippage {cfg.get('slippage_bps')} bps · seed {cfg.get('seed')} · "
                f"{run.get('wall_s', 0):.1f}s")
    if leak:
        ok = leak.get("ok", not leak.get("violations"))
        counts = (f"{leak.get('n_decisions', 0):,} decisions, {leak.get('n_price_bars', 0):,} price bars, "
                  f"{leak.get('n_chunks', 0):,} news chunks, {leak.get('n_memory', 0):,} memory recalls checked")
        if ok:
            st.success(f"Leakage audit passed: nothing any decision saw was available after it ({counts}).")
        else:
            st.error(f"Leakage audit FAILED ({counts}): {leak.get('violations')}")
    metrics = run.get("metrics") or {}
    bench = metrics.get("buyhold", {})
    agents = [a for a in metrics if a != "buyhold"]
    if agents:
        cols = st.columns(len(agents) + 1)
        cols[0].metric("buy-and-hold return", f"{100 * (bench.get('cumulative_return') or 0):.1f}%")
        for col, a in zip(cols[1:], agents):
            m = metrics[a]
            col.metric(f"{a} return", f"{100 * (m.get('cumulative_return') or 0):.1f}%",
                       delta=f"{100 * (m.get('excess_return_vs_buyhold') or 0):+.1f} pts vs buy-and-hold")
    st.plotly_chart(charts.equity_figure(run.get("curves") or {}, title="Equity and drawdown"),
                    key=f"equity_{run['run_id']}")
    st.markdown("**Metrics** (Sharpe interval: 95% bootstrap)")
    percent = st.column_config.NumberColumn(format="percent")
    st.dataframe(_metrics_table(metrics), hide_index=True, width="stretch",
                 column_config={c: percent for c in ("cumulative_return", "annualised_return", "max_drawdown",
                                                     "volatility", "win_rate", "excess_return_vs_buyhold")})
    st.plotly_chart(_sharpe_ci_figure(metrics), key=f"sharpe_{run['run_id']}")
    tab_fills, tab_dec = st.tabs(["Orders filled", "Decisions and evidence"])
    with tab_fills:
        fills = run.get("fills") or []
        if fills:
            st.dataframe(fills, hide_index=True, width="stretch", height=260)
        else:
            st.info("No order was filled in this run.")
    with tab_dec:
        _decisions(run)


def _result(job: JobStatus) -> None:
    runs = (job.result or {}).get("runs") or []
    if len(runs) > 1:
        st.markdown(f"**{len(runs)} seeds**")
        seed_rows = [{"seed": r["config"].get("seed"), "agent": a, "sharpe": m.get("sharpe"),
                      "cumulative_return": m.get("cumulative_return"), "max_drawdown": m.get("max_drawdown")}
                     for r in runs for a, m in (r.get("metrics") or {}).items()]
        st.dataframe(seed_rows, hide_index=True, width="stretch")
        pick = st.selectbox("Show seed", list(range(len(runs))), key=f"seed_pick_{job.job_id}",
                            format_func=lambda i: f"seed {runs[i]['config'].get('seed')}")
        show_run(runs[pick])
    elif runs:
        show_run(runs[0])


if common.require("backtest") and common.db_ready():
    series = _price_series()
    if not series:
        st.info("No prices in the database yet: import a CSV on the Ingest page (Prices tab).")
    else:
        params = _form(series)
        if params is not None:
            if "llm" in params["agents"]:
                st.warning("The LLM trader runs the chat model once per agent step: expect minutes per month "
                           "of daily bars on a CPU.")
            label = f"Backtest {params['symbol']} {params['start']}..{params['end']} ({', '.join(params['agents'])})"
            job_view.start("backtest", params, label=label)
    job_view.panel("backtest", _result)
    if common.has("backtest_runs"):
        with st.expander("Stored runs in this database"):
            try:
                st.dataframe(common.records(common.client().backtest_runs(limit=50)), hide_index=True,
                             width="stretch")
            except Exception as exc:  # noqa: BLE001
                common.show_error("Listing stored runs", exc)
