"""The package version, importable from every layer (the root package lazily reaches the SDK)."""

__version__ = "0.1.0"
