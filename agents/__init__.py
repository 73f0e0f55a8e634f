"""fincortex.agents: LangGraph agents over point-in-time evidence.

`common` (tools, run recorder, leakage audit, citations, compression, graph helpers) is shared by
`analyst`, `forecasting` and `trading`; no sub-package imports another's internals except through
`common`, and no agent imports the SDK above it (dependencies come in through `AgentDeps`).
"""
