"""Dataset entry points shared by the SDK, the CLI, ingestion and the agents: pull one, list them all."""

from __future__ import annotations

from collections.abc import Callable

from fincortex.config import Settings
from fincortex.datasets.connector import DOCUMENTS, PRICES, Connector, RecordConnector
from fincortex.datasets.fetch import PulledDataset
from fincortex.datasets.manifest import DatasetError, DatasetFile
from fincortex.datasets.registry import all_connectors, get_connector


def split_spec(spec: str) -> tuple[str, str | None]:
    """'ectsum:val' -> ('ectsum', 'val'); 'headlines' -> ('headlines', None)."""
    name, _, subset = spec.partition(":")
    return name.strip(), subset.strip() or None


def pull(settings: Settings, spec: str, on_file: Callable[[DatasetFile], None] | None = None) -> PulledDataset:
    """Bring a dataset (or NAME:SUBSET) into the cache: a mirror copy or a download, sha256-verified."""
    name, subset = split_spec(spec)
    return get_connector(name).pull(subset, mirror=settings.mirror, cache_dir=settings.cache_dir, on_file=on_file)


def records(settings: Settings, spec: str) -> list:
    """The parsed records of a labelled-pairs or forecast-questions dataset (pulled first, verified)."""
    name, subset = split_spec(spec)
    connector = get_connector(name)
    if not isinstance(connector, RecordConnector):
        raise DatasetError(f"dataset {name!r} holds {connector.kind}, not records: `fincortex ingest --dataset {name}`")
    pulled = connector.pull(subset, mirror=settings.mirror, cache_dir=settings.cache_dir)
    return list(connector.transform_data(pulled))


def describe(connector: Connector, settings: Settings) -> dict:
    files = connector.files()
    return {
        "name": connector.name,
        "kind": connector.kind,
        "description": connector.description,
        "files": len(files),
        "bytes": sum(f.size for f in files),
        "present": connector.present(settings.cache_dir),
        "licenses": connector.licences(),
        "available_at_rule": connector.available_at_rule,
        "subsets": list(connector.subsets),
    }


def list_datasets(settings: Settings) -> list[dict]:
    return [describe(c, settings) for c in all_connectors()]


def spec_help(kinds: tuple[str, ...] = (DOCUMENTS, PRICES)) -> str:
    """'ectsum[:train|:val], headlines[:cnbc|...], ...' for the registered connectors of these kinds."""
    return ", ".join(
        c.name + (f"[:{'|:'.join(c.subsets)}]" if c.subsets else "") for c in all_connectors() if c.kind in kinds
    )
