"""A whole ForecastBench round as ForecastBench scores it: every forecast target and every scored outcome.

Targets (what a submission must forecast, after ForecastBench's question-set layout):
- market questions (manifold, metaculus, polymarket, infer): one target, no resolution date;
- dataset questions (acled, dbnomics, fred, wikipedia, yfinance): one target per date in the question's
  `resolution_dates`, with `{resolution_date}` / `{forecast_due_date}` filled in;
- combination questions (a list of ids): one target per direction in {1, -1}^n (ForecastBench expands
  them the same way in `src/base_eval/naive_forecaster/main.py`), the direction carried in the key.

Outcomes (the resolution set): dataset rows count only when `resolved` with `resolved_to` in {0, 1};
every market row counts, and an unresolved one carries the market value on its resolution date as a
fractional `resolved_to` (scored against it; see scoring.py).
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from fincortex.agents.forecasting.forecastbench import (
    MARKET_SOURCES, ForecastBenchError, ForecastQuestion, _load, _date, fill_dates, load_questions, load_resolutions)

DATASET_SOURCES = ("acled", "dbnomics", "fred", "wikipedia", "yfinance")

Key = tuple[str, str, str, str]  # (id, source, resolution_date or "", direction or "")


def direction_text(direction: tuple[int, ...] | list[int] | None) -> str:
    return ",".join(str(int(d)) for d in direction) if direction else ""


def target_key(t: ForecastQuestion) -> Key:
    """Market targets have no resolution date (their outcome row carries one); dataset targets do."""
    when = "" if t.source in MARKET_SOURCES else str(t.resolution_date or "")
    return (t.id, t.source, when, direction_text(t.direction))


def direction_note(t: ForecastQuestion) -> str:
    """For a combination question: which way each part must resolve (ForecastBench's `direction`)."""
    if not t.direction:
        return ""
    parts = [f"question {i} resolves {'Yes' if d == 1 else 'No'}" for i, d in enumerate(t.direction, 1)]
    return "This asks whether all of these happen together: " + "; ".join(parts) + "."


def horizon_days(t: ForecastQuestion) -> int | None:
    return None if t.resolution_date is None else (t.resolution_date - t.forecast_date.date()).days


@dataclass(frozen=True)
class Outcome:
    resolved_to: float
    resolved: bool
    resolution_date: date | None

    @property
    def binary(self) -> bool:
        return self.resolved and self.resolved_to in (0.0, 1.0)


@dataclass
class Round:
    forecast_date: datetime
    question_set: str
    targets: list[ForecastQuestion]
    outcomes: dict[Key, Outcome] = field(default_factory=dict)
    raw_questions: list[dict[str, Any]] = field(default_factory=list)

    def scored_keys(self) -> list[Key]:
        """Keys ForecastBench scores: every market row, dataset rows resolved to 0/1."""
        return [k for k, o in self.outcomes.items() if k[1] in MARKET_SOURCES or o.binary]


def _resolution_dates(raw: Any, where: str) -> list[date]:
    if raw in (None, "N/A", ""):
        return []
    if not isinstance(raw, list):
        raise ForecastBenchError(f"{where}: resolution_dates must be a list of ISO dates or 'N/A', got {raw!r}")
    return [_date(d, where).date() for d in raw]


def expand(q: ForecastQuestion, raw: dict[str, Any], where: str) -> list[ForecastQuestion]:
    """The targets of one question: per resolution date (dataset) and per direction (combinations)."""
    n_ids = len(raw["id"]) if isinstance(raw.get("id"), list) else 1
    directions = list(itertools.product((1, -1), repeat=n_ids)) if n_ids > 1 else [()]
    dates: list[date | None] = [None]
    if q.source not in MARKET_SOURCES:
        dates = _resolution_dates(raw.get("resolution_dates"), where) or [None]
    out = []
    for d in dates:
        for direction in directions:
            out.append(replace(q, question=fill_dates(q.question, q.forecast_date, d),
                               background=fill_dates(q.background, q.forecast_date, d),
                               resolution_criteria=fill_dates(q.resolution_criteria, q.forecast_date, d),
                               resolution_date=d, direction=tuple(direction)))
    return out


def load_round(questions_file: str | Path, resolutions_file: str | Path | None = None) -> Round:
    """Every target of a question set, joined with its resolution set when one is given."""
    due, questions = load_questions(questions_file)
    data = _load(Path(questions_file), "questions")
    targets: list[ForecastQuestion] = []
    for i, (q, raw) in enumerate(zip(questions, data["questions"])):
        targets += expand(q, raw, f"{questions_file}: questions[{i}]")
    rnd = Round(due, str(data.get("question_set") or Path(questions_file).name), targets,
                raw_questions=data["questions"])
    if resolutions_file is not None:
        due_r, rows = load_resolutions(resolutions_file)
        if due_r != due:
            raise ForecastBenchError(f"{questions_file} is the round of {due.date()} but {resolutions_file} resolves "
                                     f"the round of {due_r.date()}: give the matching pair")
        rnd.outcomes = outcomes_from_rows(rows, str(resolutions_file))
    return rnd


def sample_round(rnd: Round, every: int) -> Round:
    """The round restricted to the questions whose md5("source|id") is 0 mod `every` (every <= 1: the whole round).

    Why a hash of the id and not a random draw: the subset is the same in every round, every run and
    every method (walk-forward benchmark, evaluation suite), so their scores are on the same questions;
    all targets of a question (dates, directions) and its outcomes stay or go together. The history the
    members learn from is not touched. Returns a new Round; `rnd` is left as it was."""
    if every <= 1:
        return rnd

    def keep(source: str, qid: str) -> bool:
        return int(hashlib.md5(f"{source}|{qid}".encode()).hexdigest(), 16) % every == 0

    return replace(rnd, targets=[t for t in rnd.targets if keep(t.source, t.id)],
                   outcomes={k: o for k, o in rnd.outcomes.items() if keep(k[1], k[0])})


def outcomes_from_rows(rows: list[dict[str, Any]], where: str) -> dict[Key, Outcome]:
    out: dict[Key, Outcome] = {}
    for i, r in enumerate(rows):
        try:
            value = float(r["resolved_to"])
        except (TypeError, ValueError):
            raise ForecastBenchError(f"{where}: resolutions[{i}] resolved_to {r['resolved_to']!r} is not a number") from None
        if not 0.0 <= value <= 1.0:
            raise ForecastBenchError(f"{where}: resolutions[{i}] resolved_to {value} outside [0, 1]")
        when = "" if r["source"] in MARKET_SOURCES else str(r["resolution_date"] or "")
        out[(r["id"], r["source"], when, direction_text(r["direction"]))] = Outcome(value, r["resolved"], r["resolution_date"])
    return out


def round_files(folder: str | Path) -> list[tuple[Path, Path | None]]:
    """(question set, resolution set or None) per round in a folder laid out like ForecastBench's
    (`question_sets/<due>-llm.json`, `resolution_sets/<due>_resolution_set.json`), oldest first."""
    folder = Path(folder)
    qdir, rdir = folder / "question_sets", folder / "resolution_sets"
    if not qdir.is_dir():
        raise ForecastBenchError(f"{folder}: no question_sets/ folder (expected ForecastBench's layout)")
    pairs = []
    for q in sorted(qdir.glob("*-llm.json")):
        r = rdir / f"{q.name.split('-llm')[0]}_resolution_set.json"
        pairs.append((q, r if r.is_file() else None))
    if not pairs:
        raise ForecastBenchError(f"{qdir}: no *-llm.json question sets")
    return pairs
