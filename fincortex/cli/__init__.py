"""The `fincortex` command: a thin typer shell over `fincortex.Client`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

app = typer.Typer(help="fincortex: retrieval-augmented financial agents.", no_args_is_help=True)
console = Console()

DbOption = Annotated[Optional[Path], typer.Option("--db", help="DuckDB file (env FINCORTEX_DB).")]
MirrorOption = Annotated[
    Optional[Path],
    typer.Option("--mirror", help="Local data mirror laid out like shared/data (env FINCORTEX_DATA_MIRROR)."),
]


def group(app: typer.Typer, name: str, fallback: typer.Typer) -> typer.Typer:
    """The sub-app registered under `name` by another area (e.g. `eval`, `tune`), else `fallback`."""
    for info in app.registered_groups:
        if info.name == name and info.typer_instance is not None:
            return info.typer_instance
    app.add_typer(fallback, name=name)
    return fallback


def make_client(db: Optional[Path] = None, mirror: Optional[Path] = None):
    from fincortex.client import Client

    return Client(db=db, mirror=mirror)


# Each area keeps its commands in its own module, which imports heavy libraries only inside
# command bodies so that `fincortex --help` stays fast. One line per area here.
AREA_COMMAND_MODULES = ("fincortex.cli.core", "fincortex.cli.ui", "fincortex.cli.trading", "fincortex.cli.retrieval", "fincortex.cli.models", "fincortex.cli.agents", "fincortex.cli.tuning", "fincortex.cli.integrations", "fincortex.cli.suite")
AREA_COMMAND_MODULES += ("fincortex.cli.verify",)  # claim verification (agents/analyst/verify.py)
AREA_COMMAND_MODULES += ("fincortex.cli.filings",)  # eval financebench (agents/analyst/financebench.py)


def _register_commands() -> None:
    import importlib

    for module in AREA_COMMAND_MODULES:
        importlib.import_module(module).register(app)


def main() -> None:
    app()


_register_commands()
