"""`fincortex mcp`: a Model Context Protocol server (the official `mcp` SDK) over `fincortex.Client`.

Tools: search, sql, ask, forecast, backtest, each with the input schema of fincortex/integrations/schemas.py.
Every call is an agent run of kind 'mcp' (agent_runs / agent_tool_calls / agent_tool_chunks), bound to the
call's as_of (default: now): search and sql go through the agents' own point-in-time search and read-only
SQL tools, ask / forecast / backtest also record their own analyst / forecaster / backtest runs, whose ids
the 'mcp' run and the reply carry. Transports: stdio (what desktop assistants spawn) and streamable HTTP,
on loopback only (this server has no authentication of its own; use `fincortex serve` with a token to
serve a network).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fincortex.integrations import calls
from fincortex.integrations.schemas import (AskArgs, BacktestArgs, ForecastArgs, SearchArgs, SqlArgs,
                                            signature_of)

RUN_KIND = "mcp"
INSTRUCTIONS = (
    "fincortex: point-in-time financial search, an analyst with checked citations, a forecaster and a "
    "backtester over a local DuckDB corpus. Pass as_of (ISO date) to see only what was public then; every "
    "reply carries run_id, auditable with `fincortex agent-audit RUN_ID`.")


def _tools() -> list[tuple[str, type, str, Callable[..., dict[str, Any]], bool]]:
    """(name, argument model, description, call(client, args), read-only)."""
    return [
        ("search", SearchArgs, "Hybrid (dense + BM25) search of financial documents as of a point in time; hits "
         "carry chunk ids, citations, available_at and per-stage scores.",
         lambda client, a: calls.search(client, a, RUN_KIND), True),
        ("sql", SqlArgs, "One read-only SELECT over the documents, chunks and prices tables (row/byte/time limits).",
         lambda client, a: calls.sql(client, a, RUN_KIND), True),
        ("ask", AskArgs, "Ask the analyst: an answer from passages retrieved as of as_of, with checked citations.",
         lambda client, a: calls.ask(client, a, RUN_KIND), False),
        ("forecast", ForecastArgs, "Probability that a yes/no question resolves Yes, from evidence public at as_of.",
         lambda client, a: calls.forecast(client, a, RUN_KIND), False),
        ("backtest", BacktestArgs, "Backtest strategies on one symbol's daily bars (no look-ahead; fees and "
         "slippage); returns metrics with bootstrap CIs and the leakage audit.",
         lambda client, a: calls.backtest(client, a, RUN_KIND), False),
    ]


def build_server(client: Any):
    """An `MCPServer` whose tools call `client` (a fincortex.Client)."""
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError as MCPToolError
    from mcp_types import ToolAnnotations

    from fincortex.agents.common.leakage import LeakageError
    from fincortex.version import __version__

    server = MCPServer("fincortex", instructions=INSTRUCTIONS, version=__version__)
    for name, model, description, call, read_only in _tools():
        def tool(*, _model=model, _call=call, **kwargs: Any) -> dict[str, Any]:
            try:
                return _call(client, _model(**kwargs))
            except (ValueError, LookupError, LeakageError) as exc:  # refused input / look-ahead: the model reads why
                raise MCPToolError(f"{type(exc).__name__}: {exc}") from exc

        tool.__name__ = name
        tool.__signature__ = signature_of(model)  # the published input schema is the model's
        server.add_tool(tool, name=name, description=description,
                        annotations=ToolAnnotations(read_only_hint=read_only, open_world_hint=False))
    return server


def check_loopback(host: str) -> None:
    from fincortex.integrations.auth import is_loopback

    if not is_loopback(host):
        raise ValueError(f"--host {host!r} is not a loopback address: the MCP server binds 127.0.0.1/::1/localhost "
                         "only (it has no authentication; for the network use `fincortex serve` with "
                         "FINCORTEX_API_TOKEN)")


def serve(client: Any, transport: str = "stdio", host: str = "127.0.0.1", port: int = 8765,
          path: str = "/mcp") -> None:
    """Run until stopped: stdio, or streamable HTTP on http://HOST:PORT/PATH (loopback only)."""
    server = build_server(client)
    if transport == "stdio":
        server.run("stdio")
    elif transport in ("http", "streamable-http"):
        check_loopback(host)
        server.run("streamable-http", host=host, port=port, streamable_http_path=path)
    else:
        raise ValueError(f"transport {transport!r}: choose stdio or http")
