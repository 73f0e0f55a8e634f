"""REST: /search answers on loopback (FastAPI TestClient and a real uvicorn on 127.0.0.1), long calls are jobs
with progress, and a non-loopback bind without authentication is refused (real DuckDB, index, embedder)."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from integrations_support import AS_OF, QUERY, future_chunk_ids, indexed_client
from trading_support import daily_bars, insert_prices, random_walk

pytest.importorskip("fastapi", reason="the REST API needs the extra: pip install 'fincortex[serve]'")
TOKEN = "t0k3n-for-the-tests-only-0123456789"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    client, store = indexed_client(tmp_path_factory.mktemp("rest"))
    insert_prices(client, daily_bars("TEST", "2020-01-01", random_walk(200)))
    return client, store


@pytest.fixture(scope="module")
def api(world):
    from fastapi.testclient import TestClient

    from fincortex.integrations.rest import create_app

    with TestClient(create_app(world[0])) as test_client:
        yield test_client


def test_search_on_loopback_is_point_in_time_and_recorded(world, api):
    client, store = world
    response = api.post("/search", json={"query": QUERY, "k": 20, "as_of": AS_OF, "tickers": ["AAPL"]})
    assert response.status_code == 200, response.text
    body = response.json()
    ids = [h["chunk_id"] for h in body["hits"]]
    assert ids == [h.chunk_id for h in client.search(QUERY, k=20, as_of=AS_OF, tickers=["AAPL"])]
    assert ids and not set(ids) & future_chunk_ids(store)
    assert {"dense", "bm25"} <= set(body["hits"][0]["scores"])
    run = api.get(f"/runs/{body['run_id']}").json()
    assert (run["kind"], run["status"]) == ("rest", "ok") and run["tool_calls"][0]["tool"] == "search"
    assert api.get(f"/runs/{body['run_id']}/audit").json()["clean"]
    doc = api.get(f"/documents/{body['hits'][0]['doc_id']}").json()
    assert any(c["chunk_id"] == ids[0] for c in doc["chunks"])


def test_bad_input_names_what_is_wrong(api):
    bad_date = api.post("/search", json={"query": QUERY, "as_of": "31/03/2020"})
    assert bad_date.status_code == 422 and "as_of" in bad_date.json()["detail"]
    assert api.post("/search", json={"query": QUERY, "k": 0}).status_code == 422  # schema: k >= 1
    assert api.post("/search", json={"query": QUERY, "top": 3}).status_code == 422  # unknown field
    missing = api.get("/documents/987654321")
    assert missing.status_code == 404 and "987654321" in missing.json()["detail"]
    assert api.get("/jobs/nope").status_code == 404


def test_openapi_schema_lists_every_route_with_its_body(api):
    schema = api.get("/openapi.json").json()
    assert {"/search", "/ask", "/forecast", "/forecast/round", "/backtest", "/documents/{doc_id}", "/runs/{run_id}",
            "/jobs/{job_id}"} <= set(schema["paths"])
    search_body = schema["components"]["schemas"]["SearchArgs"]
    assert search_body["required"] == ["query"] and search_body["properties"]["mode"]["enum"] == ["hybrid", "dense", "bm25"]
    assert set(schema["components"]["schemas"]["BacktestArgs"]["required"]) == {"symbol", "start", "end"}


def test_backtest_is_a_job_with_progress_and_a_stored_result(api):
    started = api.post("/backtest", json={"symbol": "TEST", "start": "2020-05-01", "end": "2020-06-30",
                                          "agents": ["buyhold", "sma"]})
    assert started.status_code == 202, started.text
    job_id = started.json()["job_id"]
    deadline = time.time() + 120
    while (job := api.get(f"/jobs/{job_id}").json())["state"] in ("queued", "running") and time.time() < deadline:
        time.sleep(0.2)
    assert job["state"] == "done", job["error"]
    assert job["progress"]["total"] and job["progress"]["done"] == job["progress"]["total"]
    result = job["result"]
    assert set(result["metrics"]) == {"buyhold", "sma"} and result["leakage"]["ok"] is True
    assert api.get(f"/runs/{result['run_id']}").json()["tool_calls"][0]["summary"] == f"backtest run {result['backtest_run_id']}"
    failing = api.post("/backtest", json={"symbol": "NOPE", "start": "2020-05-01", "end": "2020-06-30"}).json()
    while (job := api.get(f"/jobs/{failing['job_id']}").json())["state"] in ("queued", "running"):
        time.sleep(0.2)
    assert job["state"] == "failed" and "NOPE" in job["error"]


def test_a_token_protects_every_route(world):
    from fastapi.testclient import TestClient

    from fincortex.integrations.rest import create_app

    with TestClient(create_app(world[0], token=TOKEN)) as guarded:
        assert guarded.post("/search", json={"query": QUERY}).status_code == 401
        assert guarded.get("/health", headers={"Authorization": "Bearer wrong"}).status_code == 401
        ok = guarded.post("/search", json={"query": QUERY, "as_of": AS_OF}, headers={"Authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200 and ok.json()["hits"]
        schema = guarded.get("/openapi.json")  # the schema stays readable; it declares the bearer scheme
        assert schema.status_code == 200 and "HTTPBearer" in schema.json()["components"]["securitySchemes"]


def test_non_loopback_bind_without_authentication_is_refused(world, monkeypatch):
    from typer.testing import CliRunner

    from fincortex.cli import app
    from fincortex.integrations.auth import BindRefused, check_bind, is_loopback
    from fincortex.integrations.rest import server

    for host in ("0.0.0.0", "192.168.1.20", "::", "example.org", ""):
        assert not is_loopback(host)
        with pytest.raises(BindRefused, match="FINCORTEX_API_TOKEN"):
            server(world[0], host=host, port=free_port())
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.3.4.5", "::1", "localhost"))
    check_bind("0.0.0.0", TOKEN)  # with a token the same bind is allowed (every route then needs it)

    monkeypatch.delenv("FINCORTEX_API_TOKEN", raising=False)
    refused = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0", "--db", str(world[1].path)])
    assert refused.exit_code == 2 and "FINCORTEX_API_TOKEN" in refused.output
    monkeypatch.setenv("FINCORTEX_API_TOKEN", "short")
    weak = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0", "--db", str(world[1].path)])
    assert weak.exit_code == 2 and "at least 16" in weak.output


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_real_uvicorn_on_loopback_answers_search(world):
    import httpx

    from fincortex.integrations.rest import server

    client, store = world
    port = free_port()
    uv = server(client, host="127.0.0.1", port=port)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    try:
        deadline = time.time() + 60
        while not uv.started and time.time() < deadline:
            time.sleep(0.1)
        assert uv.started
        response = httpx.post(f"http://127.0.0.1:{port}/search", json={"query": QUERY, "as_of": AS_OF, "k": 5},
                              timeout=60)
        assert response.status_code == 200, response.text
        ids = [h["chunk_id"] for h in response.json()["hits"]]
        assert ids == [h.chunk_id for h in client.search(QUERY, k=5, as_of=AS_OF)]
        assert not set(ids) & future_chunk_ids(store)
    finally:
        uv.should_exit = True
        thread.join(timeout=30)
    assert not thread.is_alive()


def wait(api, job_id: str, limit_s: float = 300) -> dict:
    deadline = time.time() + limit_s
    while (job := api.get(f"/jobs/{job_id}").json())["state"] in ("queued", "running") and time.time() < deadline:
        time.sleep(0.3)
    return job


def test_forecast_jobs_one_question_and_a_round(world, api, tmp_path_factory):
    from datetime import date

    from agents_support import market_question, write_round

    from fincortex.models.llm.tiny import build_tiny_causal_lm

    client, store = world
    tiny = str(build_tiny_causal_lm(tmp_path_factory.mktemp("tiny") / "tiny-chat", seed=0))
    one = api.post("/forecast", json={"question": "Will Apple raise its dividend by June 2020?", "as_of": AS_OF,
                                      "models": [tiny], "samples": 1})
    assert one.status_code == 202, one.text
    job = wait(api, one.json()["job_id"])
    assert job["state"] == "done", job["error"]
    result = job["result"]
    assert 0 < result["probability"] < 1 and result["forecast_date"].startswith("2020-03-01T23:59")
    assert not {e["chunk_id"] for e in result["evidence"]} & future_chunk_ids(store)
    assert client.agent_audit(result["forecaster_run_id"])["clean"]

    questions = [market_question("m1", "Will Apple revenue collapse?", 0.2),
                 market_question("m2", "Will Apple raise its dividend?", 0.7, source="manifold")]
    resolutions = [{"id": q["id"], "source": q["source"], "direction": None, "resolution_date": "2020-03-08",
                    "resolved_to": outcome, "resolved": True} for q, outcome in zip(questions, (0.0, 1.0))]
    qfile, rfile = write_round(tmp_path_factory.mktemp("round"), date(2020, 3, 1), questions, resolutions)
    started = api.post("/forecast/round", json={"questions": str(qfile), "resolutions": str(rfile),
                                                "models": [tiny], "samples": 1})
    job = wait(api, started.json()["job_id"])
    assert job["state"] == "done", job["error"]
    assert job["progress"]["total"] == 2 and job["progress"]["done"] == 2
    assert {"agent", "market", "always_0.5"} <= set(job["result"]["metrics"])
    missing = wait(api, api.post("/forecast/round", json={"questions": "/nonexistent/q.json",
                                                          "resolutions": str(rfile)}).json()["job_id"])
    assert missing["state"] == "failed" and "/nonexistent/q.json" in missing["error"]
