"""Who may call the REST API: the dashboard's rule (fincortex/access.py), with a bearer token for machines.

The rule is the dashboard's and its check is reused: a loopback bind needs nothing, any other bind
(`access.bind_needs_auth`, which also counts '' and unknown names as exposed) needs a secret, and the
server refuses to start without one. The dashboard's secret is a password typed into a login form
(FINCORTEX_UI_PASSWORD); an API is called by programs, so its secret is a bearer token of its own,
FINCORTEX_API_TOKEN (not the human password). When a token is set, every API route needs
`Authorization: Bearer <token>` (compared in constant time), on any bind.
"""

from __future__ import annotations

import os
import secrets

from fincortex import access
from fincortex.access import is_loopback  # noqa: F401  (the dashboard's test, reused by `fincortex mcp` too)

TOKEN_ENV = "FINCORTEX_API_TOKEN"
MIN_TOKEN_CHARS = 16


class BindRefused(ValueError):
    """A non-loopback bind without a usable token."""


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
    if access.bind_needs_auth(host) and not token:
        raise BindRefused(f"refusing to serve on {host!r} without authentication: set {TOKEN_ENV} (clients then "
                          "send 'Authorization: Bearer <token>'), or bind 127.0.0.1")


def token_matches(expected: str, authorization: str | None) -> bool:
    scheme, _, given = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and secrets.compare_digest(given.strip().encode(), expected.encode())
