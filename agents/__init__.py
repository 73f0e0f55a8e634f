"""fincortex.agents: LangGraph agents, tools, market simulator and backtester."""
