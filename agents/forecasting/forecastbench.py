"""Reader for ForecastBench question and resolution sets, as published (JSON files per round).

A question set: {"forecast_due_date", "question_set", "questions": [...]}; a resolution set:
{"forecast_due_date", "question_set", "resolutions": [{"id", "source", "direction", "resolution_date",
"resolved_to", "resolved"}]}. They join on (id, source). Dataset questions (acled, dbnomics, fred,
wikipedia, yfinance) resolve at several dates, so one question yields one *target* per resolution
date, with `{resolution_date}` / `{forecast_due_date}` filled into its text. Only rows with
`resolved` true and `resolved_to` in {0, 1} are kept. Combination questions carry a list of ids
(and directions); their key is the ids joined with '|'.

Why `market_value` is only set for market sources: for dataset questions `freeze_datetime_value` is
the series' last value (a temperature, a yield), not a probability; it is kept as `freeze_value`
and shown to the agent as data.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

MARKET_SOURCES = ("manifold", "metaculus", "polymarket", "infer")


class ForecastBenchError(ValueError):
    """A question or resolution file that is not a ForecastBench set (the message names file and field)."""


@dataclass(frozen=True)
class ForecastQuestion:
    id: str  # combination questions: ids joined with '|'
    source: str
    question: str
    forecast_date: datetime  # the round's forecast due date (naive UTC): the agent's as_of
    background: str = ""
    resolution_criteria: str = ""
    source_intro: str = ""
    resolution_date: date | None = None
    market_value: float | None = None  # freeze-time market/community probability (market sources only)
    freeze_value: str | None = None
    freeze_value_explanation: str = ""
    freeze_datetime: datetime | None = None
    url: str = ""
    outcome: float | None = None  # resolved_to, when joined with a resolution set
    direction: tuple[int, ...] = ()

    @property
    def key(self) -> tuple[str, str, str, str]:
        """(id, source, resolution date, direction): a combination question's directions are distinct targets."""
        return (self.id, self.source, str(self.resolution_date or ""), ",".join(map(str, self.direction)))

    def as_dict(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, (date, datetime)) else v) for k, v in self.__dict__.items()}


@dataclass
class ForecastTargets:
    """Joined, resolved targets of one round, and what was left out (and why)."""

    forecast_date: datetime
    targets: list[ForecastQuestion]
    counts: dict[str, int] = field(default_factory=dict)

    def by_source(self) -> Counter:
        return Counter(t.source for t in self.targets)


def _id_key(raw: Any, where: str) -> str:
    if isinstance(raw, list):
        if not raw or not all(isinstance(x, (str, int)) for x in raw):
            raise ForecastBenchError(f"{where}: combination id must be a non-empty list of ids, got {raw!r}")
        return "|".join(str(x) for x in raw)
    if isinstance(raw, (str, int)) and str(raw):
        return str(raw)
    raise ForecastBenchError(f"{where}: id must be a string or a list of ids, got {raw!r}")


def _date(value: Any, where: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise ForecastBenchError(f"{where}: {value!r} is not an ISO date") from exc
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
    return parsed


def _probability(value: Any) -> float | None:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if 0.0 <= x <= 1.0 else None


def _load(path: Path, key: str) -> dict:
    path = Path(path)
    if not path.is_file():
        raise ForecastBenchError(f"{path}: no such file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ForecastBenchError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get(key), list):
        raise ForecastBenchError(f"{path}: expected a JSON object with a {key!r} list (a ForecastBench set)")
    if "forecast_due_date" not in data:
        raise ForecastBenchError(f"{path}: missing 'forecast_due_date'")
    return data


def parse_question(q: Any, due: datetime, where: str) -> ForecastQuestion:
    """One published question (a dict of the question set) as a ForecastQuestion of the round due `due`."""
    if not isinstance(q, dict):
        raise ForecastBenchError(f"{where}: expected an object")
    for name in ("id", "source", "question"):
        if name not in q:
            raise ForecastBenchError(f"{where}: missing {name!r}")
    source = str(q["source"])
    freeze = q.get("freeze_datetime_value")
    return ForecastQuestion(
        id=_id_key(q["id"], where), source=source, question=str(q["question"]), forecast_date=due,
        background=str(q.get("background") or ""), resolution_criteria=str(q.get("resolution_criteria") or ""),
        source_intro=str(q.get("source_intro") or ""),
        market_value=_probability(freeze) if source in MARKET_SOURCES else None,
        freeze_value=None if freeze in (None, "", "N/A") else str(freeze),
        freeze_value_explanation=str(q.get("freeze_datetime_value_explanation") or ""),
        freeze_datetime=_date(q["freeze_datetime"], f"{where}.freeze_datetime") if q.get("freeze_datetime") else None,
        url=str(q.get("url") or ""))


def load_questions(path: str | Path) -> tuple[datetime, list[ForecastQuestion]]:
    """The round's forecast date and its questions (not yet joined; outcome None)."""
    data = _load(Path(path), "questions")
    due = _date(data["forecast_due_date"], f"{path}: forecast_due_date")
    return due, [parse_question(q, due, f"{path}: questions[{i}]") for i, q in enumerate(data["questions"])]


def load_resolutions(path: str | Path) -> tuple[datetime, list[dict[str, Any]]]:
    data = _load(Path(path), "resolutions")
    due = _date(data["forecast_due_date"], f"{path}: forecast_due_date")
    rows = []
    for i, r in enumerate(data["resolutions"]):
        where = f"{path}: resolutions[{i}]"
        if not isinstance(r, dict) or "id" not in r or "source" not in r:
            raise ForecastBenchError(f"{where}: expected an object with 'id' and 'source'")
        rows.append({"id": _id_key(r["id"], where), "source": str(r["source"]),
                     "resolution_date": _date(r["resolution_date"], f"{where}.resolution_date").date()
                     if r.get("resolution_date") else None,
                     "resolved": bool(r.get("resolved")), "resolved_to": r.get("resolved_to"),
                     "direction": tuple(r["direction"]) if isinstance(r.get("direction"), list) else ()})
    return due, rows


def fill_dates(text: str, forecast_date: datetime, resolution_date: date | None) -> str:
    text = text.replace("{forecast_due_date}", forecast_date.date().isoformat())
    if resolution_date is not None:
        text = text.replace("{resolution_date}", resolution_date.isoformat())
    return text


def load_targets(questions_file: str | Path, resolutions_file: str | Path,
                 sources: list[str] | tuple[str, ...] | None = None) -> ForecastTargets:
    """Join on (id, source); keep resolved rows with resolved_to in {0, 1}; one target per resolution date."""
    due_q, questions = load_questions(questions_file)
    due_r, resolutions = load_resolutions(resolutions_file)
    if due_q != due_r:
        raise ForecastBenchError(
            f"{questions_file} is the round of {due_q.date()} but {resolutions_file} resolves the round of "
            f"{due_r.date()}: give the matching pair")
    known = {q.source for q in questions}
    if sources:
        unknown = sorted(set(sources) - known)
        if unknown:
            raise ForecastBenchError(f"--sources {unknown} not in {questions_file} (it has {sorted(known)})")
    by_key = {(q.id, q.source): q for q in questions}
    counts: Counter = Counter(questions=len(questions), resolution_rows=len(resolutions))
    targets = []
    for r in resolutions:
        if sources and r["source"] not in sources:
            counts["other_source"] += 1
            continue
        q = by_key.get((r["id"], r["source"]))
        if q is None:
            counts["no_matching_question"] += 1
            continue
        if not r["resolved"] or r["resolved_to"] not in (0, 1, 0.0, 1.0):
            counts["unresolved"] += 1
            continue
        targets.append(replace(
            q, question=fill_dates(q.question, due_q, r["resolution_date"]),
            background=fill_dates(q.background, due_q, r["resolution_date"]),
            resolution_criteria=fill_dates(q.resolution_criteria, due_q, r["resolution_date"]),
            resolution_date=r["resolution_date"], outcome=float(r["resolved_to"]), direction=r["direction"]))
    counts["targets"] = len(targets)
    return ForecastTargets(due_q, targets, dict(counts))


def take(targets: list[ForecastQuestion], limit: int | None) -> list[ForecastQuestion]:
    """A deterministic subset of `limit` targets spread over sources (round-robin, file order within a
    source), so a small run still has a per-source breakdown."""
    if limit is None or limit >= len(targets):
        return list(targets)
    if limit < 1:
        raise ValueError(f"limit must be >= 1, got {limit}")
    groups: dict[str, list[ForecastQuestion]] = {}
    for t in targets:
        groups.setdefault(t.source, []).append(t)
    picked: list[ForecastQuestion] = []
    while len(picked) < limit:
        for source in sorted(groups):
            if groups[source] and len(picked) < limit:
                picked.append(groups[source].pop(0))
    return picked
