"""Public-data connectors: pinned manifests, mirror copies or verified downloads, record readers."""
