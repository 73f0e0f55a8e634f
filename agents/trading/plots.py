"""Equity and drawdown plots of a stored backtest run (matplotlib, PNG)."""

from __future__ import annotations

from pathlib import Path

from fincortex.agents.trading.backtest import load_equity
from fincortex.store import Store


def plot_run(store: Store, run_id: str, path: str | Path, title: str | None = None) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = load_equity(store, run_id)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 6.5), sharex=True,
                                      gridspec_kw={"height_ratios": [3, 1.4]})
    for agent, s in sorted(series.items(), key=lambda kv: kv[0] != "buyhold"):
        style = {"color": "black", "linewidth": 1.2, "linestyle": "--"} if agent == "buyhold" else {"linewidth": 1.2}
        top.plot(s["ts"], s["equity"], label=agent, **style)
        bottom.plot(s["ts"], [-100 * d for d in s["drawdown"]], **style)
    top.set_ylabel("equity")
    top.set_yscale("log")
    top.legend(loc="best", fontsize=8)
    top.grid(alpha=0.3)
    bottom.set_ylabel("drawdown %")
    bottom.grid(alpha=0.3)
    top.set_title(title or f"backtest {run_id}")
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
