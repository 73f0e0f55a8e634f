"""Lazy public names for packages: `import fincortex.agents.trading` stays cheap (no torch, no LangGraph)
until a name is used, so the CLI's --help and the UI's first paint do not pay for every area."""

from __future__ import annotations

import importlib
from typing import Any, Callable


def lazy_exports(package: str, exports: dict[str, tuple[str, ...]]) -> Callable[[str], Any]:
    """A module `__getattr__` that imports a public name from `package.<its module>` on first use."""
    where = {name: module for module, names in exports.items() for name in names}

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{module}"), name)

    return __getattr__
