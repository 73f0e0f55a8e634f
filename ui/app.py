"""The fincortex dashboard: `fincortex ui` runs `streamlit run` on this file.

This entry script draws the frame every page shares (title, settings sidebar, running jobs) and
hands over to the selected page through st.navigation. Pages are files under ui/views/.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from fincortex.ui import common, login

PAGES_DIR = Path(__file__).parent / "views"  # not "pages/": that name switches on the old file-based navigation

st.set_page_config(page_title="fincortex", page_icon=":material/insights:", layout="wide")


def _settings_sidebar() -> None:
    base = common.base_settings()
    if "cfg_db" not in st.session_state:
        st.session_state["cfg_db"] = str(base.db_path)
    if "cfg_mirror" not in st.session_state:
        st.session_state["cfg_mirror"] = str(base.mirror) if base.mirror else ""
    with st.sidebar:
        st.markdown("### fincortex")
        for refused in common.refused_settings():
            st.error(refused)
        with st.expander("Settings", expanded=False):
            st.text_input("Database file", key="cfg_db",
                          help="DuckDB file inside the data folder (FINCORTEX_DB / --db)")
            st.text_input(
                "Data mirror folder",
                key="cfg_mirror",
                help="Local folder laid out like shared/data (FINCORTEX_DATA_MIRROR / --mirror); "
                "empty = download from the public source",
            )
        cfg = common.ui_settings()
        if cfg.db.exists():
            size_mb = cfg.db.stat().st_size / 1e6
            st.caption(f":material/database: `{cfg.db}` ({size_mb:,.1f} MB)")
        else:
            st.caption(f":material/database: `{cfg.db}` (not created yet)")
        if cfg.mirror is not None and not cfg.mirror.is_dir():
            st.warning(f"Data mirror {cfg.mirror} is not a folder.")
        running = [j for j in common.jobs().list() if not j.finished]
        if running:
            st.caption(f":material/hourglass_top: {len(running)} background job(s) running")


def _navigation() -> st.navigation:
    def page(name: str, title: str, icon: str, default: bool = False) -> st.Page:
        return st.Page(PAGES_DIR / f"{name}.py", title=title, icon=icon, url_path=name, default=default)

    return st.navigation(
        {
            "Analyst": [
                page("ask", "Ask", ":material/chat:", default=True),
                page("search", "Search", ":material/search:"),
                page("forecasts", "Forecasts", ":material/online_prediction:"),
            ],
            "Quant": [page("trading", "Trading", ":material/candlestick_chart:")],
            "Data": [
                page("ingest", "Ingest", ":material/upload_file:"),
                page("data", "Data", ":material/database:"),
                page("models", "Models", ":material/model_training:"),
                page("evaluations", "Evaluations", ":material/analytics:"),
            ],
        }
    )


if not login.gate():  # authentication before any page, setting or job list is drawn
    st.stop()
_nav = _navigation()
_settings_sidebar()
_nav.run()
