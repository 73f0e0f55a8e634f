"""`fincortex backtest --symbol BTC,ETH`: one portfolio run (agents.trading.multiasset), printed and saved."""

from __future__ import annotations

import json
from pathlib import Path

from fincortex.cli import console


def run_and_print(client, config, symbols: list[str], allocation: str, json_out: Path | None) -> None:
    from rich.table import Table

    report = client.backtest_portfolio(symbols, config, allocation)
    weights = ", ".join(f"{s} {w:.0%}" for s, w in report.weights.items())
    table = Table(title=f"portfolio {'+'.join(symbols)} {config.start}..{config.end}  allocation {allocation} ({weights})")
    for col in ("agent", "return", "Sharpe [95% CI]", "max DD", "dSharpe vs B&H [paired CI]"):
        table.add_column(col, justify="left" if col == "agent" else "right", no_wrap=True)
    for name, m in report.metrics.items():
        ci = "" if m["sharpe_ci_low"] is None else f" [{m['sharpe_ci_low']:.2f}, {m['sharpe_ci_high']:.2f}]"
        paired = "-" if m["sharpe_minus_buyhold_ci_low"] is None else (
            f"{m['sharpe_minus_buyhold']:+.2f} [{m['sharpe_minus_buyhold_ci_low']:+.2f}, "
            f"{m['sharpe_minus_buyhold_ci_high']:+.2f}]")
        table.add_row(name, f"{m['cumulative_return']:+.1%}", f"{m['sharpe']:.2f}{ci}" if m["sharpe"] is not None else "-",
                      f"{m['max_drawdown']:.1%}", paired)
    console.print(table)
    for s, r in report.sleeves.items():
        console.print(f"{s} sleeve {r.run_id}: {r.leakage.summary()}")
        for warning in r.warnings:
            console.print(f"[yellow]warm-up:[/yellow] {warning}")
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(report.as_dict(), indent=1, default=str))
        console.print(f"report written to {json_out}")
