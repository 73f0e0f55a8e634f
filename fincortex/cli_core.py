"""Core commands: doctor, data, prices, ingest, stats."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Attach the core commands to the main app."""
