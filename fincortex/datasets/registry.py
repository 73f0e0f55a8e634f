"""Every dataset fincortex knows: one line per connector ("module:Class"), imported on first use.

`fincortex data list`, `fincortex ingest --dataset`, `Client.list_datasets/pull/ingest` and the CLI's help
read this registry; nothing else names a dataset. `register` adds one at run time (a plugin, a test).
"""

from __future__ import annotations

from importlib import import_module

from fincortex.datasets.connector import KINDS, Connector
from fincortex.datasets.manifest import DatasetError

CONNECTORS = (
    "fincortex.datasets.connectors.ectsum:ECTSum",
    "fincortex.datasets.connectors.headlines:Headlines",
    "fincortex.datasets.connectors.phrasebank:PhraseBank",
    "fincortex.datasets.connectors.tatqa:TatQA",
    "fincortex.datasets.connectors.forecastbench:ForecastBench",
    "fincortex.datasets.connectors.crypto_prices:CryptoPrices",
    "fincortex.datasets.connectors.filings:Filings",
)

_registered: dict[str, Connector] = {}
_loaded = False


def _load_builtin() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for line in CONNECTORS:
        module, _, cls = line.partition(":")
        register(getattr(import_module(module), cls)())


def register(connector: Connector) -> Connector:
    """Add a connector under its name; a bad or duplicate one is refused with the reason."""
    _load_builtin()
    if not isinstance(connector, Connector):
        raise DatasetError(f"{connector!r} is not a Connector (fincortex.datasets.connector)")
    name = getattr(connector, "name", "")
    if not name or ":" in name:
        raise DatasetError(f"{type(connector).__name__}: a connector needs a name without ':' (got {name!r})")
    if connector.kind not in KINDS:
        raise DatasetError(f"connector {name!r}: kind {connector.kind!r} is not one of {', '.join(KINDS)}")
    if name in _registered:
        raise DatasetError(f"a dataset named {name!r} is already registered ({type(_registered[name]).__name__})")
    _registered[name] = connector
    return connector


def unregister(name: str) -> None:
    _load_builtin()
    if _registered.pop(name, None) is None:
        raise DatasetError(f"no dataset {name!r} is registered")


def all_connectors() -> list[Connector]:
    """In registration order (the built-in lines first)."""
    _load_builtin()
    return list(_registered.values())


def get_connector(name: str) -> Connector:
    _load_builtin()
    if name not in _registered:
        raise DatasetError(f"unknown dataset {name!r}; known: {', '.join(sorted(_registered))}")
    return _registered[name]
