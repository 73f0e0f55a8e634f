"""fincortex.ui: the Streamlit dashboard; talks to the SDK only."""
