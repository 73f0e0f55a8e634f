"""Trading commands: `backtest` (simulate + store + audit) and `backtest-runs` (list stored runs)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from fincortex.cli import DbOption, MirrorOption, console, make_client
from fincortex.cli.progress import bars


def _agents(value: str) -> tuple[str, ...]:
    names = tuple(a.strip() for a in value.split(",") if a.strip())
    return ("buyhold", "sma", "momentum", "llm", "ensemble") if names == ("all",) else names


def register(app: typer.Typer) -> None:
    @app.command()
    def backtest(
        symbol: Annotated[str, typer.Option("--symbol", help="Symbol in the prices table, e.g. BTC; several (BTC,ETH): one portfolio run.")],
        start: Annotated[str, typer.Option("--start", help="First decision day (YYYY-MM-DD).")],
        end: Annotated[str, typer.Option("--end", help="Last decision day (YYYY-MM-DD), inclusive.")],
        agent: Annotated[str, typer.Option(
            "--agent", help="ensemble | llm | sma | momentum | buyhold, comma-separated, or all. Buy-and-hold always runs beside it.")] = "buyhold",
        fees_bps: Annotated[float, typer.Option("--fees-bps", help="Fee per trade, basis points of notional.")] = 10.0,
        slippage_bps: Annotated[float, typer.Option("--slippage-bps", help="Slippage against the open, basis points.")] = 5.0,
        seed: Annotated[int, typer.Option("--seed", help="Seed of the agents' RNGs and of the bootstrap.")] = 0,
        seeds: Annotated[Optional[str], typer.Option("--seeds", help="Several seeds, e.g. 0,1,2 (one run each).")] = None,
        cash: Annotated[float, typer.Option("--cash", help="Initial cash per agent.")] = 10_000.0,
        allow_short: Annotated[bool, typer.Option("--allow-short", help="Let agents hold negative positions.")] = False,
        character: Annotated[str, typer.Option("--character", help="LLM trader: conservative | balanced | aggressive.")] = "balanced",
        llm: Annotated[Optional[str], typer.Option("--llm", help="LLM trader's chat model spec (default: settings.llm).")] = None,
        temperature: Annotated[float, typer.Option("--temperature", help="LLM trader: 0 = most likely choice, > 0 samples (seeded).")] = 0.0,
        news: Annotated[str, typer.Option("--news", help="LLM trader's news: recent | search | none.")] = "recent",
        sentiment: Annotated[str, typer.Option("--sentiment", help="classifier (PhraseBank) | llm | none.")] = "classifier",
        size: Annotated[str, typer.Option("--size", help="LLM trader's size: llm (second constrained choice) | fixed (medium step, one LLM call a day).")] = "llm",
        llm_every: Annotated[int, typer.Option("--llm-every", help="LLM trader: consult the model every N days (HOLD between; risk checks daily).")] = 1,
        threads: Annotated[Optional[int], typer.Option("--threads", help="LLM trader: torch CPU threads (1 is fastest on a busy machine).")] = None,
        walk_forward: Annotated[bool, typer.Option("--walk-forward", help="Ensemble: refit the stacker at every step on outcomes known by then (else once, before the start).")] = False,
        members: Annotated[Optional[str], typer.Option("--members", help="Ensemble members, comma-separated (default: every registered member but the opt-in LLM ones, headline_llm and llm_view).")] = None,
        sizing: Annotated[Optional[str], typer.Option("--sizing", help="Ensemble position: trend (default) | trend_plus_kelly | trend_floor | kelly.")] = None,
        kelly_fraction: Annotated[Optional[float], typer.Option("--kelly-fraction", help="Ensemble: share of the Kelly weight of P(up) (0.5).")] = None,
        drop: Annotated[Optional[str], typer.Option("--drop", help="Ensemble members to leave out, comma-separated.")] = None,
        strict_warmup: Annotated[bool, typer.Option("--strict-warmup", help="Refuse when the store lacks the indicators' history before --start (default: warn).")] = False,
        allocation: Annotated[str, typer.Option("--allocation", help="Several symbols: inverse_vol | equal.")] = "inverse_vol",
        json_out: Annotated[Optional[Path], typer.Option("--json", help="Write the report(s) as JSON here.")] = None,
        plot: Annotated[Optional[Path], typer.Option("--plot", help="Write equity + drawdown PNG here (first seed).")] = None,
        db: DbOption = None,
        mirror: MirrorOption = None,
    ) -> None:
        """Backtest agents on daily bars; stores the run and fails if the leakage audit fails."""
        from rich.table import Table

        from fincortex.agents.trading.backtest import BacktestConfig, BacktestError, run_seeds, summarize_seeds
        from fincortex.agents.common.leakage import LeakageError
        from fincortex.agents.trading.market import MarketDataError

        client = make_client(db, mirror)
        llm_cfg = {"character": character, "model": llm, "temperature": temperature, "news": news,
                   "sentiment": sentiment, "cpu_threads": threads, "size_by": size, "decide_every": llm_every}
        try:
            seed_list = [int(s) for s in seeds.split(",")] if seeds else [seed]
            ens_cfg = {"walk_forward": walk_forward, "model": llm, "temperature": temperature, "character": character,
                       "cpu_threads": threads, **({"members": tuple(members.split(","))} if members else {}),
                       **({"drop": tuple(drop.split(","))} if drop else {}),
                       **({"sizing": sizing} if sizing else {}),
                       **({"kelly_fraction": kelly_fraction} if kelly_fraction is not None else {})}
            symbols = [x.strip().upper() for x in symbol.split(",") if x.strip()]
            config = BacktestConfig(symbols[0], start, end, _agents(agent), fees_bps, slippage_bps, cash, seed_list[0],
                                    allow_short, llm=llm_cfg if "llm" in _agents(agent) else {},
                                    ensemble=ens_cfg if "ensemble" in _agents(agent) else {}, strict_warmup=strict_warmup)
            if len(symbols) > 1:
                from fincortex.cli.trading_portfolio import run_and_print

                run_and_print(client, config, symbols, allocation, json_out)
                return
            with bars() as progress:
                reports = run_seeds(client.agent_deps(), config, seed_list, progress)
        except (BacktestError, MarketDataError, ValueError) as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from None
        except LeakageError as exc:
            console.print(f"[red bold]LEAKAGE:[/red bold] {exc}")
            raise typer.Exit(3) from None
        for report in reports:
            table = Table(title=f"{report.run_id}  {config.symbol} {start}..{end}  seed {report.config.seed}  "
                                f"fees {fees_bps:g} bps  slippage {slippage_bps:g} bps  ({report.wall_s:.1f} s)",
                          caption="annualised figures, all metrics in the --json report and in DuckDB")
            for col in ("agent", "return", "Sharpe [95% CI]", "Sortino", "max DD", "win", "trades", "expo.",
                        "vs B&H", "dSharpe vs B&H [paired CI]"):
                table.add_column(col, justify="right" if col != "agent" else "left", no_wrap=True,
                                 min_width=9 if col == "agent" else None)
            for name, m in report.metrics.items():
                table.add_row(name, _p(m["cumulative_return"]), _sharpe(m), _f(m["sortino"]), _p(m["max_drawdown"]),
                              _p(m["win_rate"]), str(m["n_trades"]), _p(m["exposure"]),
                              _p(m["excess_return_vs_buyhold"]), _paired(m))
            console.print(table)
            console.print(report.leakage.summary())
            for warning in report.warnings:
                console.print(f"[yellow]warm-up:[/yellow] {warning}")
        if len(reports) > 1:
            console.print_json(json.dumps(summarize_seeds(reports)))
        if json_out:
            payload = [r.as_dict() for r in reports]
            body = {"runs": payload, "seeds_summary": summarize_seeds(reports)} if len(reports) > 1 else payload[0]
            json_out.parent.mkdir(parents=True, exist_ok=True)
            json_out.write_text(json.dumps(body, indent=1, default=str))
            console.print(f"report written to {json_out}")
        if plot:
            from fincortex.agents.trading.plots import plot_run

            plot_run(client.store, reports[0].run_id, plot, f"{config.symbol} {start}..{end}")
            console.print(f"plot written to {plot}")

    @app.command("backtest-runs")
    def backtest_runs(
        limit: Annotated[int, typer.Option("--limit", help="How many, newest first.")] = 20,
        db: DbOption = None,
    ) -> None:
        """List stored backtest runs."""
        from rich.table import Table

        from fincortex.agents.trading.backtest import list_runs

        table = Table()
        rows = list_runs(make_client(db).store, limit)
        for col in ("run_id", "created_at", "status", "symbol", "start_date", "end_date", "agents", "seed", "wall_s"):
            table.add_column(col, no_wrap=col == "run_id", min_width=15 if col == "run_id" else None)
        for r in rows:
            table.add_row(*[str(r[c]) if c != "wall_s" or r[c] is None else f"{r[c]:.1f}" for c in
                            ("run_id", "created_at", "status", "symbol", "start_date", "end_date", "agents", "seed", "wall_s")])
        console.print(table)


def _p(x: float | None) -> str:
    return "-" if x is None else f"{x:+.1%}" if x < 0 else f"{x:.1%}"


def _f(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def _paired(m: dict) -> str:
    if m.get("sharpe_minus_buyhold") is None or m.get("sharpe_minus_buyhold_ci_low") is None:
        return "-"
    return f"{m['sharpe_minus_buyhold']:+.2f} [{m['sharpe_minus_buyhold_ci_low']:+.2f}, {m['sharpe_minus_buyhold_ci_high']:+.2f}]"


def _sharpe(m: dict) -> str:
    if m["sharpe"] is None:
        return "-"
    ci = "" if m["sharpe_ci_low"] is None else f" [{m['sharpe_ci_low']:.2f}, {m['sharpe_ci_high']:.2f}]"
    return f"{m['sharpe']:.2f}{ci}"
