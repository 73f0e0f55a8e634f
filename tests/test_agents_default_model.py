"""The agents with the real default chat model (SmolLM2-135M-Instruct) on a real TAT-QA context: slow."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

pytestmark = pytest.mark.slow


def test_analyst_and_forecaster_with_the_default_model(tmp_path, mirror):
    from models_support import SHARED_MODELS

    from fincortex.agents.common.deps import AgentDeps
    from fincortex.agents.common.runs import audit_run, run_chunk_ids
    from fincortex.agents.analyst.graph import AnalystConfig, ask_question
    from fincortex.agents.forecasting.forecastbench import load_targets, take
    from fincortex.agents.forecasting.graph import ForecastConfig, Forecaster
    from fincortex.config import Settings
    from fincortex.models.llm.default_model import ensure_default_chat_model
    from fincortex.models.llm.factory import get_chat_model
    from fincortex.retrieval.corpus_rows import DocRow, write_documents
    from fincortex.store import Store

    settings = Settings(home=tmp_path)
    store = Store(settings.db_path)
    store.ensure_schema()
    item = json.loads((mirror / "tatqa" / "tatqa_dataset_dev.json").read_text())[0]
    table = "\n".join(" | ".join(cell for cell in row) for row in item["table"]["table"])
    chunks = [table] + [p["text"] for p in item["paragraphs"]]
    write_documents(store, [DocRow(source_key="tatqa-dev-0", chunks=chunks, available_at=datetime(2021, 6, 1),
                                   available_at_rule="test: TAT-QA publication", source="tatqa", doc_type="report",
                                   title="TAT-QA dev context 0")])
    from fincortex.retrieval import service

    service.build_index(store, settings)  # as `fincortex index build` after an ingest: a search never builds
    chat = get_chat_model(settings, str(ensure_default_chat_model(SHARED_MODELS)))

    question = item["questions"][0]["question"]
    deps = AgentDeps.build(settings, store).with_chats({None: chat, "local": chat})
    answer = ask_question(deps, question, as_of="2021-06-02", config=AnalystConfig(n_queries=1, answer_tokens=96))
    seen = set(run_chunk_ids(store, answer.run_id))
    assert seen and {c["chunk_id"] for c in answer.citations} <= seen
    assert answer.answer or answer.flags or answer.notes
    assert audit_run(store, answer.run_id)["clean"]

    round_dir = mirror / "forecastbench"
    targets = load_targets(round_dir / "question_sets" / "2025-10-26-llm.json",
                           round_dir / "resolution_sets" / "2025-10-26_resolution_set.json", sources=["polymarket"])
    q = take(targets.targets, 1)[0]
    result = Forecaster(deps, ForecastConfig(samples=2, reasoning_tokens=64)).forecast(q)
    assert 0 < result.probability < 1 and len(result.samples) == 2
    assert result.moved_from_market == pytest.approx(result.probability - q.market_value)
    assert audit_run(store, result.run_id)["clean"]
