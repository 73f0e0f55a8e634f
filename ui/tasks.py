"""The SDK calls that dashboard jobs run inside the worker process, one function per job kind.

Each task takes the client, the JSON params the page sent and a progress reporter
`report(done, total, message)`, and returns the SDK's report (serialised by the worker).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from fincortex.client import Client

Report = Callable[..., None]


class Unavailable(RuntimeError):
    """The SDK in this install does not offer the capability the job needs yet."""


def _sdk(client: Client, name: str) -> Callable[..., Any]:
    method = getattr(client, name, None)
    if not callable(method):
        raise Unavailable(f"Client.{name} is not available in this fincortex build yet")
    return method


def _with_progress(method: Callable[..., Any], kwargs: dict[str, Any], report: Report) -> dict[str, Any]:
    """Pass the reporter to SDK methods that accept a progress callback."""
    params = inspect.signature(method).parameters
    for name in ("progress", "on_progress", "progress_callback"):
        if name in params:
            return {**kwargs, name: report}
    return kwargs


def ingest(client: Client, params: dict[str, Any], report: Report) -> Any:
    method = _sdk(client, "ingest")
    kwargs = {k: params[k] for k in ("doc_type", "ticker", "published_at", "source") if params.get(k)}
    report(0, None, f"ingesting {len(params['paths'])} path(s)")
    return method(params["paths"], **_with_progress(method, kwargs, report))


def pull(client: Client, params: dict[str, Any], report: Report) -> Any:
    method = _sdk(client, "pull")
    report(0, None, f"pulling {params['name']}")
    return method(params["name"], **_with_progress(method, {}, report))


def import_prices(client: Client, params: dict[str, Any], report: Report) -> Any:
    method = _sdk(client, "import_prices")
    report(0, None, f"importing {params['symbol']} prices")
    return method(params["file"], params["symbol"])


def backtest(client: Client, params: dict[str, Any], report: Report) -> Any:
    method = _sdk(client, "backtest")
    return method(**_with_progress(method, dict(params), report))


def forecast(client: Client, params: dict[str, Any], report: Report) -> Any:
    method = _sdk(client, "forecast")
    return method(**_with_progress(method, dict(params), report))


TASKS: dict[str, Callable[[Client, dict[str, Any], Report], Any]] = {
    "ingest": ingest,
    "pull": pull,
    "import_prices": import_prices,
    "backtest": backtest,
    "forecast": forecast,
}
