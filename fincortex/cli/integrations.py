"""`fincortex mcp` (Model Context Protocol server) and `fincortex serve` (REST API): fincortex.integrations."""

from __future__ import annotations

from importlib import import_module
from types import ModuleType
from typing import Annotated

import typer

from fincortex.cli import DbOption, MirrorOption, console, make_client

PortOption = Annotated[int, typer.Option("--port", help="Port to listen on (1..65535).", min=1, max=65535)]


def _with_extra(module: str, extra: str) -> ModuleType:
    """The server module, or a clear error naming the extra that installs what it needs."""
    try:
        return import_module(module)
    except ImportError as exc:
        raise typer.BadParameter(f"{exc}; install the extra: pip install 'fincortex[{extra}]'") from None


def register(app: typer.Typer) -> None:
    @app.command()
    def mcp(
        transport: Annotated[str, typer.Option("--transport", help="stdio (spawned by an assistant) or http "
                                               "(streamable HTTP on loopback).")] = "stdio",
        host: Annotated[str, typer.Option("--host", help="Loopback address for --transport http.")] = "127.0.0.1",
        port: PortOption = 8765,
        path: Annotated[str, typer.Option("--path", help="URL path of the streamable HTTP endpoint.")] = "/mcp",
        db: DbOption = None,
        mirror: MirrorOption = None,
    ) -> None:
        """Serve search, sql, ask, forecast and backtest as MCP tools (every call an auditable agent run)."""
        mcp_server = _with_extra("fincortex.integrations.mcp_server", "mcp")
        check_loopback, serve = mcp_server.check_loopback, mcp_server.serve
        if transport not in ("stdio", "http"):
            raise typer.BadParameter(f"{transport!r}: choose stdio or http", param_hint="--transport")
        if transport == "http":
            try:
                check_loopback(host)
            except ValueError as exc:
                raise typer.BadParameter(str(exc), param_hint="--host") from None
            # stdout belongs to the protocol under stdio: only the HTTP mode may say where it listens
            console.print(f"fincortex MCP server on http://{host}:{port}{path}  (Ctrl+C stops it)")
        serve(make_client(db, mirror), transport, host=host, port=port, path=path)

    @app.command()
    def serve(
        host: Annotated[str, typer.Option("--host", help="Address to bind; a non-loopback one needs "
                                          "FINCORTEX_API_TOKEN.")] = "127.0.0.1",
        port: PortOption = 8700,
        db: DbOption = None,
        mirror: MirrorOption = None,
    ) -> None:
        """REST API (FastAPI): /search /ask /forecast /backtest /documents/{id} /runs/{id} /jobs/{id}; docs at /docs."""
        serve_rest = _with_extra("fincortex.integrations.rest", "serve").serve
        from fincortex.integrations.auth import BindRefused, api_token, check_bind

        try:
            token = api_token()
            check_bind(host, token)
        except BindRefused as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from None
        console.print(f"fincortex API on http://{host}:{port}  (OpenAPI: /openapi.json, /docs; "
                      f"{'bearer token required' if token else 'loopback, no token'}; Ctrl+C stops it)")
        serve_rest(make_client(db, mirror), host=host, port=port, token=token)
