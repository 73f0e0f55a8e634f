"""Public datasets as connectors: one class per dataset (connectors/), one registry, pull (mirror or download,
sha256-verified) and the dataset list. Adding a dataset: docs/datasets.md."""

from fincortex.lazy import lazy_exports

_EXPORTS = {  # module -> its public names
    "connector": ("Connector", "DocumentConnector", "PriceConnector", "RecordConnector", "KINDS"),
    "registry": ("get_connector", "all_connectors", "register", "unregister"),
    "service": ("pull", "list_datasets", "records"),
    "manifest": ("DatasetError", "DatasetFile"),
    "fetch": ("DatasetFetcher", "PulledDataset"),
}
__all__ = sorted(name for names in _EXPORTS.values() for name in names)
__getattr__ = lazy_exports(__name__, _EXPORTS)
