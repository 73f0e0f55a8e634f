"""MCP: the mcp SDK's own client spawns `fincortex mcp` over stdio, lists the tools and searches as of a date
that excludes the planted later documents; the call is an auditable agent run (real DuckDB, index, embedder)."""

from __future__ import annotations

import os
import sys

import anyio
import pytest
from integrations_support import AS_OF, QUERY, future_chunk_ids, indexed_client

pytest.importorskip("mcp", reason="the MCP server needs the extra: pip install 'fincortex[mcp]'")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return indexed_client(tmp_path_factory.mktemp("mcp"))


def test_mcp_stdio_session_lists_tools_and_searches_point_in_time(world):
    from mcp import ClientSession, StdioServerParameters, stdio_client

    client, store = world
    env = {"FINCORTEX_HOME": str(client.settings.home), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "OMP_NUM_THREADS": "1", "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    params = StdioServerParameters(command=sys.executable, env=env,
                                   args=["-c", "from fincortex.cli import main; main()", "mcp", "--db",
                                         str(store.path)])

    async def session_flow():
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            listed = (await session.list_tools()).tools
            found = await session.call_tool("search", {"query": QUERY, "k": 20, "as_of": AS_OF, "tickers": ["AAPL"]})
            later = await session.call_tool("search", {"query": QUERY, "k": 20, "tickers": ["AAPL"]})  # as_of: now
            bad = await session.call_tool("search", {"query": QUERY, "as_of": "not a date"})
            refused = await session.call_tool("sql", {"sql": "DROP TABLE documents"})
            return listed, found, later, bad, refused

    listed, found, later, bad, refused = anyio.run(session_flow)
    tools = {t.name: t for t in listed}
    assert set(tools) == {"search", "sql", "ask", "forecast", "backtest"}
    schema = tools["search"].input_schema
    assert schema["required"] == ["query"]
    assert {"query", "k", "as_of", "tickers", "doc_types", "sources", "mode", "rerank"} == set(schema["properties"])
    assert schema["properties"]["mode"]["enum"] == ["hybrid", "dense", "bm25"]
    assert (schema["properties"]["k"]["minimum"], schema["properties"]["k"]["maximum"]) == (1, 100)
    assert set(tools["backtest"].input_schema["required"]) == {"symbol", "start", "end"}
    assert tools["search"].annotations.read_only_hint and not tools["backtest"].annotations.read_only_hint

    assert not found.is_error, found.content
    out = found.structured_content
    ids = [h["chunk_id"] for h in out["hits"]]
    future = future_chunk_ids(store)
    assert ids and not set(ids) & future  # the planted later documents are excluded by as_of
    assert all(h["available_at"] <= AS_OF + "T23:59:59.999999" for h in out["hits"])
    assert {h["chunk_id"] for h in later.structured_content["hits"]} & future  # without it they are found
    assert ids == [h.chunk_id for h in client.search(QUERY, k=20, as_of=AS_OF, tickers=["AAPL"])]

    assert bad.is_error and "as_of" in bad.content[0].text and "not a date" in bad.content[0].text
    assert refused.is_error and "SELECT" in refused.content[0].text

    run = client.agent_run(out["run_id"])  # the call is an agent run like any other, and its audit is clean
    assert (run["kind"], run["status"]) == ("mcp", "ok") and run["as_of"].isoformat().startswith("2020-03-01T23:59")
    assert [c["tool"] for c in run["tool_calls"]] == ["search"]
    assert [c["chunk_id"] for c in run["tool_calls"][0]["chunks"]] == ids
    audit = client.agent_audit(out["run_id"])
    assert audit["clean"] and audit["n_chunks"] == len(ids)


def test_mcp_streamable_http_on_loopback_only(world):
    import socket
    import subprocess
    import time

    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client
    from typer.testing import CliRunner

    from fincortex.cli import app

    client, store = world
    refused = CliRunner().invoke(app, ["mcp", "--transport", "http", "--host", "0.0.0.0", "--db", str(store.path)])
    assert refused.exit_code == 2 and "not a loopback address" in refused.output

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "FINCORTEX_HOME": str(client.settings.home), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-c", "from fincortex.cli import main; main()", "mcp", "--transport",
                             "http", "--port", str(port), "--db", str(store.path)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.3)
        assert proc.poll() is None, proc.stdout.read()

        async def session_flow():
            async with streamable_http_client(f"http://127.0.0.1:{port}/mcp") as (read, write), \
                    ClientSession(read, write) as session:
                await session.initialize()
                names = {t.name for t in (await session.list_tools()).tools}
                found = await session.call_tool("search", {"query": QUERY, "k": 20, "as_of": AS_OF})
                return names, found

        names, found = anyio.run(session_flow)
        assert names == {"search", "sql", "ask", "forecast", "backtest"}
        ids = {h["chunk_id"] for h in found.structured_content["hits"]}
        assert ids and not ids & future_chunk_ids(store)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
