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
    typer.Option("--mirror", help="Local data mirror laid out like shared/data (env FINCORTEX_MIRROR)."),
]


def make_client(db: Optional[Path] = None, mirror: Optional[Path] = None):
    from fincortex.client import Client

    return Client(db=db, mirror=mirror)


def main() -> None:
    app()
