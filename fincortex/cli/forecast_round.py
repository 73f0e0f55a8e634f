"""`fincortex forecast --submission/--members`: the default forecaster's report (kept apart from
cli/agents.py, which the agent commands share)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from fincortex.cli import console


def _fmt(x) -> str:
    return "—" if x is None else f"{x:.4f}"


def run_default_forecaster(client, questions, resolutions, submission, members, model, organization, retrieval,
                           json_path) -> None:
    from fincortex.agents.forecasting.forecastbench import ForecastBenchError

    try:
        report = client.forecast_round(questions, resolutions=resolutions, members=members, model=model,
                                       retrieval=retrieval, submission=submission, organization=organization)
    except (ForecastBenchError, ValueError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    console.print(f"round {report['forecast_date']}: {report['n_targets']} targets, members {report['members']}, "
                  f"{len(report['history_rounds'])} earlier rounds in the history")
    for fam, w in report["weights"].items():
        detail = (f"member {w['member']}" if w.get("member") else
                  "logit weights " + json.dumps({k: round(v, 3) for k, v in w.get("logit_weight", {}).items()}))
        console.print(f"  {fam}: {w['kind']} (n_train {w['n_train']}) {detail}")
    for note in report["notes"]:
        console.print(f"  [yellow]note:[/yellow] {note}")
    for method, s in (report.get("scores") or {}).items():
        vs = s.get("vs_naive")
        console.print(f"  {method:14} overall {_fmt(s['overall']['brier'])} (Brier Index {s['overall']['brier_index']:.1f})"
                      f"  market {_fmt(s['market']['brier'])}  dataset {_fmt(s['dataset']['brier'])}"
                      + (f"  vs naive {vs['diff']:+.4f} CI [{vs['ci95'][0]:+.4f}, {vs['ci95'][1]:+.4f}]" if vs else ""))
    if report.get("submission"):
        console.print(f"submission: {report['submission']}")
    if json_path:
        Path(json_path).write_text(json.dumps({k: v for k, v in report.items() if k != "probabilities"},
                                              indent=2, default=str))
