"""Point-in-time history of ForecastBench questions and outcomes in DuckDB (migration 007).

`import_history(store, DIR)` reads a folder laid out like ForecastBench's (question_sets/,
resolution_sets/). Each outcome becomes available at resolution_date + PUBLICATION_LAG_DAYS[source]
(00:00 UTC); `HistoryView.as_of(store, D)` returns only outcomes with available_at < D and question
sets of rounds due before D, and re-checks every row it returns, so nothing a forecast due on D
learns from was unknown on D.

Publication lags (days after the resolution date before the value is taken as public):
- acled 30, fred 30: ForecastBench's own naive forecaster drops the last 30 days of these series when
  it forecasts (`DATA_OFFSETS` in src/base_eval/naive_and_dummy_forecasters/main.py): ACLED is
  published weekly with revisions, FRED series are released with a delay;
- dbnomics 7: Météo-France daily station data reach DBnomics in batches (a conservative week);
- yfinance 1, wikipedia 1: a close price / a page state is public the next day;
- market sources 1: a market's resolution (or its value on a date) is public the next day.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from fincortex.agents.forecasting.forecastbench import MARKET_SOURCES, ForecastBenchError, load_resolutions, parse_question
from fincortex.agents.forecasting.rounds import Round, direction_text, expand, load_round, outcomes_from_rows, round_files
from fincortex.store import Store

PUBLICATION_LAG_DAYS = {"acled": 30, "fred": 30, "dbnomics": 7, "yfinance": 1, "wikipedia": 1,
                        **{s: 1 for s in MARKET_SOURCES}}

_MASKS = [(re.compile(r"\{[a-z_]+\}"), "§d"), (re.compile(r"\b\d{4}-\d{2}-\d{2}\b"), "§d"),
          (re.compile(r"'[^']{1,80}'"), "§n"), (re.compile(r"\b\d+(?:[.,]\d+)*%?"), "§x"),
          (re.compile(r"(?<!^)\b[A-Z][\w.&'-]*(?:\s+[A-Z][\w.&'-]*)*"), "§n")]
_TOKENS = {"§d": "<DATE>", "§n": "<NAME>", "§x": "<NUM>"}


def template(question: str) -> str:
    """The question's first line with names, ids, dates and numbers masked, e.g. 'Will <NAME> have an
    <NAME> rating on <DATE> that's at least <NUM> higher than on <DATE>?' (the first word is kept)."""
    text = re.sub(r"\s+", " ", question.strip().split("\n", 1)[0][:300])
    for pattern, token in _MASKS:
        text = pattern.sub(token, text)
    text = re.sub(r"(§n\s*)+", "§n ", text).replace("§n 's", "§n's")
    for token, label in _TOKENS.items():
        text = text.replace(token, label)
    return text.strip()


def lag_days(source: str) -> int:
    if source not in PUBLICATION_LAG_DAYS:
        raise ForecastBenchError(f"source {source!r} has no publication lag (known: {sorted(PUBLICATION_LAG_DAYS)})")
    return PUBLICATION_LAG_DAYS[source]


def _number(value: Any) -> float | None:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if x == x else None


def import_round(store: Store, questions_file: Path, resolutions_file: Path | None) -> dict[str, int]:
    """Insert (or replace) one round's questions and outcomes; returns counts."""
    rnd = load_round(questions_file)
    due = rnd.forecast_date
    qrows = []
    for raw, q in zip(rnd.raw_questions, _first_per_question(rnd)):
        qrows.append([due.date(), rnd.question_set, q.id, q.source, str(raw.get("question") or ""),
                      template(str(raw.get("question") or "")), q.freeze_datetime, _number(raw.get("freeze_datetime_value")),
                      json.dumps(raw), due])
    orows = []
    if resolutions_file is not None:
        due_r, rows = load_resolutions(resolutions_file)
        if due_r != due:
            raise ForecastBenchError(f"{resolutions_file} resolves the round of {due_r.date()}, not {due.date()}")
        outcomes_from_rows(rows, str(resolutions_file))  # validates values
        for r in rows:
            if r["resolution_date"] is None:
                raise ForecastBenchError(f"{resolutions_file}: {r['source']} {r['id']} has no resolution_date")
            lag = lag_days(r["source"])
            orows.append([due.date(), r["id"], r["source"], r["resolution_date"], direction_text(r["direction"]),
                          bool(r["resolved"]), float(r["resolved_to"]), lag,
                          datetime.combine(r["resolution_date"] + timedelta(days=lag), datetime.min.time()),
                          str(resolutions_file)])
    with store.write() as conn:
        conn.execute("DELETE FROM fb_questions WHERE round_due = ?", [due.date()])
        conn.execute("DELETE FROM fb_outcomes WHERE round_due = ?", [due.date()])
        if qrows:
            conn.executemany("INSERT INTO fb_questions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now())", qrows)
        if orows:
            conn.executemany("INSERT INTO fb_outcomes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now())", orows)
    return {"questions": len(qrows), "outcomes": len(orows)}


def _first_per_question(rnd: Round):
    seen = set()
    for t in rnd.targets:
        if (t.id, t.source) not in seen:
            seen.add((t.id, t.source))
            yield t


def import_history(store: Store, folder: str | Path) -> dict[str, Any]:
    """Import every round of a ForecastBench-style folder (question sets with their resolution sets)."""
    out = {}
    for qfile, rfile in round_files(folder):
        out[qfile.name] = import_round(store, qfile, rfile)
    return {"rounds": out, "lags_days": PUBLICATION_LAG_DAYS}


@dataclass
class HistoryView:
    """What was known as of `as_of`: outcomes public strictly before it, question sets due before it."""

    as_of: datetime
    outcomes: pd.DataFrame  # round_due, id, source, resolution_date, direction, resolved, resolved_to, available_at
    questions: pd.DataFrame  # round_due, id, source, template, freeze_datetime, freeze_value, raw

    @classmethod
    def load(cls, store: Store, as_of: datetime | date) -> "HistoryView":
        if not isinstance(as_of, datetime):
            as_of = datetime.combine(as_of, datetime.min.time())
        with store.read() as conn:
            outcomes = conn.execute(
                "SELECT round_due, id, source, resolution_date, direction, resolved, resolved_to, available_at "
                "FROM fb_outcomes WHERE available_at < ? ORDER BY available_at", [as_of]).df()
            questions = conn.execute(
                "SELECT round_due, id, source, template, freeze_datetime, freeze_value, raw FROM fb_questions "
                "WHERE available_at <= ? AND round_due < CAST(? AS DATE) ORDER BY round_due", [as_of, as_of]).df()
        view = cls(as_of, outcomes, questions)
        view.check()
        return view

    def check(self) -> None:
        """Re-check every row (the queries forbid later rows; a bug here must fail, not leak)."""
        if len(self.outcomes) and (pd.to_datetime(self.outcomes["available_at"]) >= self.as_of).any():
            raise RuntimeError(f"history view for {self.as_of} holds an outcome public on or after it")
        if len(self.questions) and (pd.to_datetime(self.questions["round_due"]) >= self.as_of).any():
            raise RuntimeError(f"history view for {self.as_of} holds a question set due on or after it")

    def rounds(self) -> list[Round]:
        """Earlier rounds rebuilt from their stored question sets (targets only; outcomes via `outcomes`)."""
        out = []
        for due, group in self.questions.groupby("round_due", sort=True):
            when = datetime.combine(pd.Timestamp(due).date(), datetime.min.time())
            targets = []
            for i, raw in enumerate(group["raw"]):
                q = json.loads(raw)
                targets += expand(parse_question(q, when, f"history {due} [{i}]"), q, f"history {due} [{i}]")
            out.append(Round(when, f"{pd.Timestamp(due).date()}-llm.json", targets))
        return out


def history_rounds(store: Store) -> list[date]:
    with store.read() as conn:
        return [r[0] for r in conn.execute("SELECT DISTINCT round_due FROM fb_questions ORDER BY 1").fetchall()]


def audit_stack_fits(store: Store) -> dict[str, Any]:
    """Re-check every stored stack fit against fb_outcomes: each outcome it trained on must have been
    public (available_at) strictly before the fit's as_of. Returns {clean, n_fits, n_keys, violations}."""
    violations, n_keys = [], 0
    with store.read() as conn:
        fits = conn.execute("SELECT fit_id, as_of, family, train_keys FROM fb_stack_fits").fetchall()
        for fit_id, as_of, fam, keys in fits:
            for due, qid, source, rdate, direction in json.loads(keys):
                n_keys += 1
                row = conn.execute(
                    "SELECT max(available_at) FROM fb_outcomes WHERE round_due = CAST(? AS DATE) AND id = ? AND source = ? "
                    "AND direction = ? AND (? = '' OR CAST(resolution_date AS VARCHAR) = ?)",
                    [due, qid, source, direction, rdate, rdate]).fetchone()
                if row[0] is None or row[0] >= as_of:
                    violations.append(f"fit {fit_id} ({fam}, as of {as_of}) used {source} {qid} {rdate}: public {row[0]}")
    return {"clean": not violations, "n_fits": len(fits), "n_keys": n_keys, "violations": violations[:20],
            "n_violations": len(violations)}
