"""ForecastBench submission files (the published format: organization, model, model_organization,
question_set, forecast_due_date, forecasts[] of {id, source, forecast, resolution_date, direction,
reasoning}; market forecasts carry resolution_date null, combination questions their list of ids and
their direction). `read_submission` parses one back into {key: p} for scoring.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fincortex.agents.forecasting.forecastbench import MARKET_SOURCES, ForecastBenchError
from fincortex.agents.forecasting.rounds import Key, Round, direction_text, target_key


def submission(rnd: Round, probabilities: dict[Key, float], organization: str, model: str,
               model_organization: str = "", reasoning: dict[Key, str] | None = None) -> dict[str, Any]:
    forecasts = []
    for t in rnd.targets:
        k = target_key(t)
        if k not in probabilities:
            raise ValueError(f"no forecast for {k}: a submission covers every target of the round")
        p = float(probabilities[k])
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"forecast {p} for {k} is outside [0, 1]")
        ids = t.id.split("|")
        forecasts.append({"id": ids if t.direction else t.id, "source": t.source, "forecast": p,
                          "resolution_date": None if t.source in MARKET_SOURCES else str(t.resolution_date),
                          "direction": list(t.direction) if t.direction else None,
                          "reasoning": (reasoning or {}).get(k, "")})
    return {"organization": organization, "model": model, "model_organization": model_organization or organization,
            "question_set": rnd.question_set, "forecast_due_date": f"{rnd.forecast_date:%Y-%m-%d}",
            "forecasts": forecasts}


def write_submission(path: str | Path, data: dict[str, Any]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2))
    return path


def read_submission(path: str | Path) -> tuple[str, dict[Key, float]]:
    """(forecast_due_date, {key: forecast}); a malformed file names the entry and field."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ForecastBenchError(f"{path}: not a readable JSON submission ({exc})") from exc
    for field in ("organization", "model", "question_set", "forecast_due_date", "forecasts"):
        if field not in data:
            raise ForecastBenchError(f"{path}: missing {field!r} (a ForecastBench submission)")
    out: dict[Key, float] = {}
    for i, f in enumerate(data["forecasts"]):
        where = f"{path}: forecasts[{i}]"
        try:
            p = float(f["forecast"])
        except (KeyError, TypeError, ValueError):
            raise ForecastBenchError(f"{where}: forecast must be a number in [0, 1]") from None
        if not 0.0 <= p <= 1.0:
            raise ForecastBenchError(f"{where}: forecast {p} outside [0, 1]")
        qid = "|".join(map(str, f["id"])) if isinstance(f.get("id"), list) else str(f.get("id"))
        source = str(f.get("source"))
        when = "" if source in MARKET_SOURCES else str(f.get("resolution_date") or "")
        out[(qid, source, when, direction_text(f.get("direction")))] = p
    return str(data["forecast_due_date"]), out
