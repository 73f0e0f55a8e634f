"""The SDK: one object over the service functions. The CLI and the UI are thin shells over it."""

from __future__ import annotations

from pathlib import Path

from fincortex.config import Settings
from fincortex.store import Store


class Client:
    """Entry point for developers: `Client(db=..., mirror=...)`.

    Every capability lives in a service module; methods here only wire settings and the store in.
    """

    def __init__(
        self,
        db: str | Path | None = None,
        mirror: str | Path | None = None,
        settings: Settings | None = None,
    ) -> None:
        base = settings or Settings.from_env()
        overrides = {k: Path(v) for k, v in (("db", db), ("mirror", mirror)) if v is not None}
        self.settings = base.with_(**overrides) if overrides else base
        self.store = Store(self.settings.db_path, lock_timeout_s=self.settings.lock_timeout_s)
