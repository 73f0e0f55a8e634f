"""fincortex inside other stacks: a LangChain retriever and tools, an MCP server, a REST API.

Each is a thin shell over `fincortex.Client` (the same layer as the CLI and the dashboard): the argument
schemas are shared (schemas.py), the calls and their run records are the SDK's (calls.py), and every
transport only adapts them. Optional dependencies (`mcp`, `fastapi`, `uvicorn`) are imported by the module
that needs them, so `import fincortex.integrations.langchain` needs only langchain-core.
"""
