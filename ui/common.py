"""What every page shares: the settings chosen in the sidebar, the cached SDK client, the job runner,
and one way to say "not available yet" or "this went wrong".

The UI only talks to `fincortex.Client`; a capability whose SDK method has not landed is reported
as unavailable (never faked).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from fincortex import access
from fincortex.client import Client
from fincortex.config import Settings
from fincortex.ui.jobs import JobRunner

# Which issue brings which SDK method: shown when a page's capability has not landed yet.
CAPABILITIES: dict[str, str] = {
    "ingest": "batch ingestion (Client.ingest)",
    "pull": "dataset pulls (Client.pull)",
    "list_datasets": "the dataset catalogue (Client.list_datasets)",
    "import_prices": "price imports (Client.import_prices)",
    "stats": "database statistics (Client.stats)",
    "documents": "the document reader (Client.documents)",
    "document": "the document view (Client.document)",
    "prices": "the price reader (Client.prices)",
    "search": "hybrid search (Client.search)",
    "ask": "the analyst agent (Client.ask)",
    "forecast": "forecast runs (Client.forecast)",
    "forecast_round": "the default forecaster (Client.forecast_round)",
    "backtest": "trading simulations (Client.backtest)",
    "models": "the model registry (Client.models)",
    "eval_suite_runs": "the evaluation suite (Client.eval_suite_runs)",
    "eval_compare": "suite comparisons (Client.eval_compare)",
}


@dataclass(frozen=True)
class UiSettings:
    db: Path
    mirror: Path | None


def base_settings() -> Settings:
    """The settings the server was started with (`fincortex ui --db/--mirror` passes them via env)."""
    return Settings.from_env()


def ui_settings() -> UiSettings:
    """The database and mirror this session works on (the sidebar may change them, within fincortex/access.py's
    bounds: a refused choice falls back to the server's own and `refused_settings` says why)."""
    base = base_settings()
    refused: list[str] = []
    db_text = st.session_state.get("cfg_db") or str(base.db_path)
    try:
        db = access.allowed_db_path(db_text, base)
    except access.PathRefused as exc:
        refused.append(str(exc))
        db = base.db_path.expanduser()
    mirror_text = st.session_state.get("cfg_mirror")
    if mirror_text is None:
        mirror_text = str(base.mirror) if base.mirror else ""
    mirror: Path | None = None
    if mirror_text:
        try:
            mirror = access.allowed_mirror_path(mirror_text, base)
        except access.PathRefused as exc:
            refused.append(str(exc))
            mirror = base.mirror
    st.session_state["_cfg_refused"] = refused
    return UiSettings(db=db, mirror=mirror)


def refused_settings() -> list[str]:
    """Why the sidebar's database or mirror choice was not taken (empty when both were)."""
    ui_settings()
    return list(st.session_state.get("_cfg_refused") or [])


@st.cache_resource(show_spinner=False)
def _client_for(db: str, mirror: str | None) -> Client:
    # One client per (db, mirror) for the whole server: the SDK caches models inside it, and its
    # store opens short-lived connections, so sharing it across sessions is safe.
    return Client(db=db, mirror=mirror)


def client() -> Client:
    cfg = ui_settings()
    return _client_for(str(cfg.db), str(cfg.mirror) if cfg.mirror else None)


def jobs() -> JobRunner:
    return JobRunner(base_settings().cache_dir / "ui-jobs")


def has(capability: str) -> bool:
    """Whether the SDK in this install offers a method (capabilities land issue by issue)."""
    return callable(getattr(Client, capability, None))


def require(*capabilities: str) -> bool:
    """Show a clear notice for each missing capability; True when all are there."""
    missing = [c for c in capabilities if not has(c)]
    for name in missing:
        what = CAPABILITIES.get(name, f"Client.{name}")
        st.info(f"Not available yet: {what} has not landed in this fincortex build.", icon=":material/construction:")
    return not missing


def show_error(what: str, exc: BaseException) -> None:
    """A failure of one action, stated for the user; the page goes on rendering."""
    st.error(f"{what} failed: {exc}", icon=":material/error:")


def db_ready() -> bool:
    """True when the database file exists; otherwise tell the user where to start."""
    cfg = ui_settings()
    if cfg.db.exists():
        return True
    st.warning(
        f"No database at {cfg.db} yet. Ingest files or pull a dataset on the Ingest page, "
        "or point the sidebar at an existing database.",
        icon=":material/database:",
    )
    return False


# Streamlit's date picker defaults to a window of ten years around its value; filings and prices go back
# further, so every date picker gets this floor explicitly.
EARLIEST_DATE = dt.date(1990, 1, 1)


def as_of_to_datetime(day: dt.date | None) -> dt.datetime | None:
    """An as-of date means 'everything public by the end of that day' (naive UTC)."""
    if day is None:
        return None
    return dt.datetime.combine(day, dt.time(23, 59, 59))


def parse_list(text: str) -> list[str]:
    """'AAPL, msft  nvda' -> ['AAPL', 'MSFT', 'NVDA'] (tickers and symbols are upper-case)."""
    return [t.strip().upper() for t in text.replace(";", ",").replace(" ", ",").split(",") if t.strip()]


def records(value: Any) -> list[dict[str, Any]]:
    """Whatever tabular shape the SDK returned, as a list of plain dicts."""
    from fincortex.ui.serialize import to_jsonable

    data = to_jsonable(value)
    if isinstance(data, dict):
        return [data]
    return [r if isinstance(r, dict) else {"value": r} for r in (data or [])]
