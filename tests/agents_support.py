"""Shared helpers for tests/test_agents_*.py: a small corpus with planted future documents, a tiny chat model."""

from __future__ import annotations

import json
import os
from datetime import date, datetime, timedelta
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from fincortex.config import Settings  # noqa: E402
from fincortex.retrieval.corpus_rows import DocRow, write_documents  # noqa: E402
from fincortex.store import Store  # noqa: E402

FORECAST_DATE = datetime(2020, 3, 1)
PAST_TEXTS = (
    "Apple quarterly revenue grew on strong iPhone sales and services.",
    "Apple raised its dividend and announced a larger share buyback.",
    "Microsoft cloud revenue rose as Azure demand stayed strong.",
    "Oil prices fell as demand weakened and inventories rose.",
    "The Federal Reserve held interest rates steady in January.",
    "Apple supply chain disruptions were reported in China factories.",
)
FUTURE_TEXTS = (  # planted: the same words as the past, but public only after the forecast date
    "FUTURE LEAK Apple quarterly revenue collapsed, iPhone sales and services fell.",
    "FUTURE LEAK Apple cut its dividend and cancelled the share buyback.",
    "FUTURE LEAK Apple revenue guidance withdrawn; supply chain in China halted.",
)


def corpus() -> list[DocRow]:
    docs = []
    for i, text in enumerate(PAST_TEXTS):
        when = FORECAST_DATE - timedelta(days=30 - 3 * i)
        docs.append(DocRow(source_key=f"past-{i}", chunks=[text, f"{text} Analysts commented on the report {i}."],
                           available_at=when, available_at_rule="test: fixed", source="test", doc_type="news",
                           ticker="AAPL" if "Apple" in text else None, title=f"past {i}"))
    for i, text in enumerate(FUTURE_TEXTS):
        when = FORECAST_DATE + timedelta(days=1 + i)
        docs.append(DocRow(source_key=f"future-{i}", chunks=[text], available_at=when, available_at_rule="test: fixed",
                           source="test", doc_type="news", ticker="AAPL", title=f"future {i}"))
    return docs


def make_world(folder: Path) -> tuple[Settings, Store]:
    settings = Settings(home=folder)
    store = Store(settings.db_path)
    store.ensure_schema()
    write_documents(store, corpus())
    from fincortex.retrieval import service

    service.build_index(store, settings)  # as `fincortex index build` after an ingest: a search never builds
    return settings, store


def future_chunk_ids(store: Store) -> set[int]:
    with store.read() as conn:
        return {r[0] for r in conn.execute("SELECT chunk_id FROM chunks WHERE available_at > ?",
                                           [FORECAST_DATE]).fetchall()}


def write_round(folder: Path, due: date, questions: list[dict], resolutions: list[dict]) -> tuple[Path, Path]:
    """A tiny ForecastBench-shaped question set + resolution set."""
    folder.mkdir(parents=True, exist_ok=True)
    qpath, rpath = folder / f"{due}-llm.json", folder / f"{due}_resolution_set.json"
    qpath.write_text(json.dumps({"forecast_due_date": str(due), "question_set": qpath.name, "questions": questions}))
    rpath.write_text(json.dumps({"forecast_due_date": str(due), "question_set": qpath.name, "resolutions": resolutions}))
    return qpath, rpath


def market_question(qid: str, text: str, value: float, source: str = "polymarket") -> dict:
    return {"id": qid, "source": source, "question": text, "resolution_criteria": "Resolves Yes if it happens.",
            "background": "Apple sells phones.", "freeze_datetime": "2020-02-20T00:00:00+00:00",
            "freeze_datetime_value": str(value), "freeze_datetime_value_explanation": "The market price.",
            "source_intro": "Predict the market.", "resolution_dates": "N/A", "url": "https://example.invalid/q"}


def dataset_question(qid: str, source: str = "yfinance") -> dict:
    return {"id": qid, "source": source,
            "question": f"Will {qid}'s close on {{resolution_date}} be higher than on {{forecast_due_date}}?",
            "resolution_criteria": "Yahoo close.", "background": "A company.",
            "freeze_datetime": "2020-02-20T00:00:00+00:00", "freeze_datetime_value": "123.4",
            "freeze_datetime_value_explanation": "Last close.", "source_intro": "", "resolution_dates": ["2020-03-08"]}
