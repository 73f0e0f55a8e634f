"""Who may use the dashboard and what it may touch on the server (shared by `fincortex ui` and the app).

- Authentication: Streamlit's own `st.login` needs an OpenID Connect provider, which an offline
  deployment does not have, so the dashboard checks a shared password (FINCORTEX_UI_PASSWORD) with a
  constant-time compare. It is required whenever the server listens on a non-loopback address (or an
  unknown one: Streamlit without --server.address listens on every interface); `fincortex ui` refuses
  to bind such an address without it (fincortex/cli/ui.py).
- Server paths: the folder/file inputs may only name paths inside the configured ingest roots
  (FINCORTEX_UI_INGEST_ROOTS, os.pathsep-separated; default: the data folder FINCORTEX_HOME and the
  server's data mirror), after
  resolving symlinks and '..', so a visitor cannot read arbitrary server files through ingestion.
- Database: the session's database must be a .duckdb file inside the data folder (or the folder of the
  database the server was started with): pointing the session at any DuckDB file was a file read.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import time
from pathlib import Path

from fincortex.config import Settings

PASSWORD_ENV = "FINCORTEX_UI_PASSWORD"
HOST_ENV = "FINCORTEX_UI_HOST"  # set by `fincortex ui`; otherwise Streamlit's server.address is read
FAILED_LOGIN_DELAY_S = 1.0


class PathRefused(ValueError):
    """A server path the dashboard may not use (the message says which folders are allowed)."""


def is_loopback(host: str | None) -> bool:
    """True for localhost / 127.0.0.0/8 / ::1; False for anything else, including '' and None (all interfaces)."""
    if not host:
        return False
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def configured_password() -> str | None:
    value = os.environ.get(PASSWORD_ENV, "")
    return value or None


def password_matches(given: str) -> bool:
    expected = configured_password()
    ok = bool(expected) and hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))
    if not ok:
        time.sleep(FAILED_LOGIN_DELAY_S)  # slows guessing; the compare itself is constant-time
    return ok


def bind_needs_auth(host: str | None) -> bool:
    return not is_loopback(host)


def ingest_roots(settings: Settings) -> list[Path]:
    raw = settings.ui_ingest_roots.strip()
    if raw:
        roots = [Path(p).expanduser() for p in raw.split(os.pathsep) if p.strip()]
    else:  # the data folder, and the server's own data mirror (public data it was started with)
        roots = [settings.home] + ([settings.mirror] if settings.mirror else [])
    return [r.resolve() for r in roots]


def _inside(path: Path, roots: list[Path]) -> bool:
    return any(path == root or path.is_relative_to(root) for root in roots)


def allowed_server_path(text: str, settings: Settings) -> Path:
    """The resolved path if it lies inside an ingest root; PathRefused otherwise (existence is not revealed)."""
    roots = ingest_roots(settings)
    path = Path(text.strip()).expanduser()
    if not path.is_absolute():
        path = roots[0] / path
    resolved = path.resolve()
    if not _inside(resolved, roots):
        raise PathRefused(f"{text.strip()} is outside the folders this dashboard may read "
                          f"({', '.join(map(str, roots))}); the operator sets them with FINCORTEX_UI_INGEST_ROOTS")
    return resolved


def allowed_db_path(text: str, settings: Settings) -> Path:
    """A .duckdb file inside the data folder (or beside the server's own database)."""
    folders = sorted({settings.home.resolve(), settings.db_path.expanduser().resolve().parent})
    path = Path(text.strip()).expanduser()
    resolved = (folders[0] / path if not path.is_absolute() else path).resolve()
    if resolved.suffix != ".duckdb" or not _inside(resolved, folders):
        raise PathRefused(f"database {text.strip()} refused: it must be a .duckdb file inside "
                          f"{' or '.join(map(str, folders))}")
    return resolved


def allowed_mirror_path(text: str, settings: Settings) -> Path:
    """The data mirror may be the server's own or a folder inside an ingest root."""
    resolved = Path(text.strip()).expanduser().resolve()
    own = settings.mirror.expanduser().resolve() if settings.mirror else None
    if resolved == own or _inside(resolved, ingest_roots(settings)):
        return resolved
    raise PathRefused(f"data mirror {text.strip()} refused: use the server's mirror ({own}) or a folder inside "
                      f"{', '.join(map(str, ingest_roots(settings)))}")
