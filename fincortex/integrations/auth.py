"""Who may call the REST API: loopback freely; any other bind only with a bearer token.

The rule (the dashboard's, docs/ui.md): binding a non-loopback address needs a secret. Here the secret is
FINCORTEX_API_TOKEN; `fincortex serve --host 0.0.0.0` without it refuses to start, and when a token is set
every API route needs `Authorization: Bearer <token>` (compared in constant time), on any bind.
"""

from __future__ import annotations

import ipaddress
import os
import secrets

TOKEN_ENV = "FINCORTEX_API_TOKEN"
MIN_TOKEN_CHARS = 16


class BindRefused(ValueError):
    """A non-loopback bind without a usable token."""


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and 'localhost'; every other name or address (0.0.0.0 included) is not."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve anywhere


def api_token(env: dict[str, str] | None = None) -> str | None:
    """FINCORTEX_API_TOKEN, or None when unset/empty; a set but short token is an error (it names the rule)."""
    token = (os.environ if env is None else env).get(TOKEN_ENV, "").strip()
    if not token:
        return None
    if len(token) < MIN_TOKEN_CHARS:
        raise BindRefused(f"{TOKEN_ENV} is {len(token)} characters; use at least {MIN_TOKEN_CHARS} "
                          f"(e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))')")
    return token


def check_bind(host: str, token: str | None) -> None:
    """Raise BindRefused for a non-loopback `host` without a token."""
    if not is_loopback(host) and not token:
        raise BindRefused(f"refusing to serve on {host!r} without authentication: set {TOKEN_ENV} (clients then "
                          "send 'Authorization: Bearer <token>'), or bind 127.0.0.1")


def token_matches(expected: str, authorization: str | None) -> bool:
    scheme, _, given = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and secrets.compare_digest(given.strip().encode(), expected.encode())
