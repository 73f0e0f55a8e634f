"""The dashboard's door: a password form when one is configured, a refusal when the server is public without one.

The decision rules live in fincortex/access.py (also used by `fincortex ui` before it binds). The
"signed in" flag lives in Streamlit's server-side session state, which a browser cannot set.
"""

from __future__ import annotations

import os

import streamlit as st

from fincortex import access

SIGNED_IN = "_fincortex_signed_in"


def bind_address() -> str | None:
    """Where this server listens: what `fincortex ui` passed, else Streamlit's server.address (None = all)."""
    return os.environ.get(access.HOST_ENV) or st.get_option("server.address") or None


def gate() -> bool:
    """True when this session may use the dashboard; otherwise draws the form or the refusal."""
    if access.configured_password() is None:
        if access.bind_needs_auth(bind_address()):
            st.error(f"This dashboard listens on {bind_address() or 'every network interface'} without a password. "
                     f"Set {access.PASSWORD_ENV} for the server, or bind 127.0.0.1.", icon=":material/lock:")
            return False
        return True
    if st.session_state.get(SIGNED_IN):
        return True
    st.title("fincortex")
    with st.form("login_form"):
        given = st.text_input("Password", type="password", key="login_password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        if access.password_matches(given or ""):
            st.session_state[SIGNED_IN] = True
            st.session_state.pop("login_password", None)
            st.rerun()
        st.error("Wrong password.", icon=":material/lock:")
    return False
