"""`fincortex serve`: a REST API (FastAPI) over `fincortex.Client`, with its OpenAPI schema at /openapi.json.

POST /search, /ask                      answered directly; each call is an agent run of kind 'rest'
POST /forecast, /forecast/round, /backtest   long: 202 with a job id; GET /jobs/{id} gives progress + result
GET  /documents/{id}, /runs/{id}, /runs/{id}/audit, /jobs/{id}, /health

Request bodies are the shared schemas (fincortex/integrations/schemas.py). Authentication: when a token is
given (FINCORTEX_API_TOKEN) every route needs `Authorization: Bearer <token>`; `serve` refuses a
non-loopback bind without one (fincortex/integrations/auth.py).
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from fincortex.integrations import calls
from fincortex.integrations.auth import check_bind, token_matches
from fincortex.integrations.jobs import JobRunner
from fincortex.integrations.schemas import AskArgs, BacktestArgs, ForecastArgs, ForecastRoundArgs, SearchArgs

RUN_KIND = "rest"


class JobRef(BaseModel):
    job_id: str
    kind: str
    state: str
    status_url: str


def create_app(client: Any, token: str | None = None, jobs: JobRunner | None = None) -> FastAPI:
    """The API over `client`; with `token`, every route requires it as a bearer token."""
    from fincortex.agents.common.leakage import LeakageError
    from fincortex.retrieval.searcher import EmptyIndexError
    from fincortex.version import __version__

    bearer = HTTPBearer(auto_error=False, description="FINCORTEX_API_TOKEN (required when the server has one)")

    def authorized(credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:
        given = f"{credentials.scheme} {credentials.credentials}" if credentials else None
        if token is not None and not token_matches(token, given):
            raise HTTPException(401, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"})

    runner = jobs or JobRunner()
    app = FastAPI(title="fincortex", version=__version__, dependencies=[Depends(authorized)],
                  description="Point-in-time financial search, analyst, forecaster and backtester (fincortex.Client).")
    app.state.jobs = runner

    @app.exception_handler(EmptyIndexError)
    def empty_index(_: Request, exc: EmptyIndexError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=409)

    @app.exception_handler(KeyError)
    def not_found(_: Request, exc: KeyError) -> JSONResponse:
        return JSONResponse({"detail": exc.args[0] if exc.args else "not found"}, status_code=404)

    @app.exception_handler(ValueError)  # ToolError, BacktestError, a bad as_of: the input and what is wrong
    def bad_input(_: Request, exc: ValueError) -> JSONResponse:
        return JSONResponse({"detail": f"{type(exc).__name__}: {exc}"}, status_code=422)

    @app.exception_handler(LeakageError)
    def leakage(_: Request, exc: LeakageError) -> JSONResponse:
        return JSONResponse({"detail": f"LeakageError: {exc}"}, status_code=500)

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"ok": True, "version": __version__, "db": str(client.settings.db_path)}

    @app.post("/search", summary="Point-in-time hybrid search (recorded as an agent run)")
    def search(args: SearchArgs) -> dict[str, Any]:
        return calls.search(client, args, RUN_KIND)

    @app.post("/ask", summary="The analyst: an answer with checked citations, as of a point in time")
    def ask(args: AskArgs) -> dict[str, Any]:
        return calls.ask(client, args, RUN_KIND)

    def job(kind: str, args: BaseModel, fn) -> JSONResponse:
        started = runner.submit(kind, args.model_dump(), fn)
        ref = JobRef(job_id=started.job_id, kind=kind, state=started.state, status_url=f"/jobs/{started.job_id}")
        return JSONResponse(ref.model_dump(), status_code=202)

    @app.post("/forecast", status_code=202, response_model=JobRef, summary="Forecast one yes/no question (a job)")
    def forecast(args: ForecastArgs) -> JSONResponse:
        return job("forecast", args, lambda progress: calls.forecast(client, args, RUN_KIND))

    @app.post("/forecast/round", status_code=202, response_model=JobRef,
              summary="Forecast and score a ForecastBench round against its baselines (a job)")
    def forecast_round(args: ForecastRoundArgs) -> JSONResponse:
        return job("forecast_round", args, lambda progress: calls.forecast_round(client, args, progress))

    @app.post("/backtest", status_code=202, response_model=JobRef, summary="Backtest strategies on one symbol (a job)")
    def backtest(args: BacktestArgs) -> JSONResponse:
        return job("backtest", args, lambda progress: calls.backtest(client, args, RUN_KIND, progress))

    @app.get("/jobs/{job_id}", summary="A job's state, progress (done/total/message) and, when done, its result")
    def get_job(job_id: str) -> dict[str, Any]:
        return runner.get(job_id).as_dict()

    @app.get("/documents/{doc_id}", summary="One document with its chunks in order")
    def document(doc_id: int) -> dict[str, Any]:
        return calls.jsonable(client.document(doc_id))

    @app.get("/runs/{run_id}", summary="An agent run as recorded: every tool call with the chunks it returned")
    def run(run_id: str) -> dict[str, Any]:
        return calls.jsonable(client.agent_run(run_id))

    @app.get("/runs/{run_id}/audit", summary="Re-check a run's chunks against its as_of (clean = no look-ahead)")
    def audit(run_id: str) -> dict[str, Any]:
        return calls.jsonable(client.agent_audit(run_id))

    return app


def server(client: Any, host: str = "127.0.0.1", port: int = 8700, token: str | None = None):
    """A uvicorn.Server for the API (refuses a non-loopback host without a token); `.run()` blocks."""
    import uvicorn

    check_bind(host, token)
    config = uvicorn.Config(create_app(client, token), host=host, port=port, log_level="info")
    return uvicorn.Server(config)


def serve(client: Any, host: str = "127.0.0.1", port: int = 8700, token: str | None = None) -> None:
    server(client, host, port, token).run()
