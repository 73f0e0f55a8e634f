"""fincortex: retrieval-augmented financial agents over a DuckDB system of record."""

from __future__ import annotations

from fincortex.version import __version__

__all__ = ["Client", "__version__"]


def __getattr__(name: str):  # lazy: `import fincortex` must stay cheap for the CLI's --help
    if name == "Client":
        from fincortex.client import Client

        return Client
    raise AttributeError(name)
