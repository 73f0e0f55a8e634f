"""Search page (grows as its SDK capability lands)."""

from __future__ import annotations

import streamlit as st

from fincortex.ui import common

st.title("Search")
common.require("search")
