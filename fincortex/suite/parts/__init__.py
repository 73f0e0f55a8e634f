"""The suite's parts: one module per area, one registry line each.

A part module defines VERSION (bump it when its results change meaning), `units(config) -> list[str]`,
`depends(unit) -> tuple[role, ...]` (the models a unit's result depends on: embedder, reranker, chat)
and `run_unit(ctx, unit) -> UnitResult`."""

PARTS: dict[str, str] = {
    "retrieval": "fincortex.suite.parts.retrieval",
    "financebench": "fincortex.suite.parts.financebench",
    "forecasting": "fincortex.suite.parts.forecasting",
    "trading": "fincortex.suite.parts.trading",
    "lm": "fincortex.suite.parts.lm",
}
