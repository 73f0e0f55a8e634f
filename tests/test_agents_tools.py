"""Agent tools: the read-only SQL tool refuses every write/DDL and off-list reads; the calculator never
evaluates code; the point-in-time search tool never passes a future chunk and records what it returned."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from agents_support import FORECAST_DATE, future_chunk_ids, make_world

from fincortex.agents.common.runs import LeakageError, RunRecorder, audit_run, run_chunk_ids
from fincortex.agents.common.tools import PointInTimeSearch, ReadOnlySQL, ToolError, calculate
from fincortex.retrieval import service


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return make_world(tmp_path_factory.mktemp("tools"))


def recorder(store, as_of=FORECAST_DATE) -> RunRecorder:
    return RunRecorder(store, "analyst", "test", as_of).start()


def counts(store) -> tuple:
    with store.read() as conn:
        return tuple(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("documents", "chunks", "prices"))


# -- SQL --------------------------------------------------------------------------------------------
WRITES = [
    "INSERT INTO prices VALUES ('X', now(), 1, 1, 1, 1, 1, 'x', now())",
    "UPDATE chunks SET text = 'pwned'",
    "DELETE FROM documents",
    "DROP TABLE chunks",
    "CREATE TABLE evil AS SELECT * FROM chunks",
    "CREATE VIEW v AS SELECT 1",
    "ALTER TABLE chunks ADD COLUMN x INT",
    "TRUNCATE prices",
    "COPY chunks TO '/tmp/fincortex_leak.csv'",
    "ATTACH '/tmp/other.duckdb' AS other",
    "INSTALL httpfs",
    "LOAD httpfs",
    "PRAGMA enable_profiling",
    "SET threads = 1",
    "CHECKPOINT",
    "VACUUM",
    "EXPORT DATABASE '/tmp/fincortex_export'",
    "SELECT 1; DELETE FROM chunks",
    "BEGIN TRANSACTION",
    "WITH d AS (DELETE FROM chunks RETURNING *) SELECT * FROM d",
    "INSERT INTO chunks SELECT * FROM chunks",
]


@pytest.mark.parametrize("sql", WRITES)
def test_sql_tool_refuses_writes_and_ddl(world, sql):
    settings, store = world
    before = counts(store)
    tool = ReadOnlySQL(store, recorder(store))
    with pytest.raises(ToolError):
        tool(sql)
    assert counts(store) == before


@pytest.mark.parametrize("sql, why", [
    ("SELECT * FROM read_csv('/etc/passwd')", "table function"),
    ("SELECT * FROM read_text('/etc/hostname')", "table function"),
    ("SELECT * FROM '/etc/passwd'", "not readable"),
    ("SELECT * FROM llm_cache", "not readable"),
    ("SELECT * FROM agent_runs", "not readable"),
    ("SELECT * FROM information_schema.tables", "off limits"),
    ("SELECT * FROM chunks WHERE doc_id IN (SELECT doc_id FROM models)", "not readable"),
    ("SELECT * FROM other.main.chunks", "off limits"),
])
def test_sql_tool_reads_only_allowed_tables(world, sql, why):
    settings, store = world
    with pytest.raises(ToolError, match=why):
        ReadOnlySQL(store)(sql)


def test_sql_tool_answers_selects_and_records_them(world):
    settings, store = world
    rec = recorder(store)
    tool = ReadOnlySQL(store, rec, max_rows=3)
    out = tool("WITH recent AS (SELECT * FROM documents WHERE available_at <= TIMESTAMP '2020-03-01') "
               "SELECT count(*) AS n FROM recent JOIN chunks USING (doc_id)")
    assert out["columns"] == ["n"] and out["rows"][0][0] == 12
    many = tool("SELECT chunk_id FROM chunks ORDER BY chunk_id")
    assert len(many["rows"]) == 3 and many["truncated"]
    with store.read() as conn:
        logged = conn.execute("SELECT tool, ok FROM agent_tool_calls WHERE run_id = ? ORDER BY seq",
                              [rec.run_id]).fetchall()
    assert logged == [("sql", True), ("sql", True)]


def test_read_only_transaction_is_the_last_line(world):
    """Even a statement that slipped past the checks could not write: the engine refuses in READ ONLY."""
    settings, store = world
    tool = ReadOnlySQL(store)
    with pytest.raises(Exception, match="read-only"):
        tool._execute("INSERT INTO prices VALUES ('X', now(), 1, 1, 1, 1, 1, 'x', now())")
    assert counts(store)[2] == 0


# -- calculator ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("expr, value", [
    ("1 + 2 * 3", 7.0), ("(120 - 100) / 100", 0.2), ("12.5%", 0.125), ("1,234 + 1", 1235.0), ("2 ** 10", 1024.0),
    ("sqrt(16) + abs(-2)", 6.0), ("round(2.345, 2)", 2.35), ("max(1, 5, 3)", 5.0), ("-3 // 2", -2.0),
])
def test_calculator_arithmetic(expr, value):
    assert calculate(expr) == pytest.approx(value)


@pytest.mark.parametrize("expr", [
    "__import__('os').system('echo pwned')", "open('/etc/passwd').read()", "(1).__class__", "x + 1",
    "'a' * 3", "[1, 2]", "lambda: 1", "9 ** 9 ** 9", "1 / 0", "exp(1000)", "", "sqrt(-1)", "eval('1')",
])
def test_calculator_refuses_everything_else(expr):
    with pytest.raises(ToolError):
        calculate(expr)


# -- point-in-time search ----------------------------------------------------------------------------
def search_fn(world):
    settings, store = world
    return lambda query, **kw: service.search(store, settings, query, **kw)


def test_search_tool_never_returns_a_future_chunk_and_records_ids(world):
    settings, store = world
    rec = recorder(store)
    tool = PointInTimeSearch(search_fn(world), FORECAST_DATE, rec)
    hits = tool("Apple revenue dividend buyback supply chain", k=50)
    assert hits and all(h.available_at <= FORECAST_DATE for h in hits)
    assert not {h.chunk_id for h in hits} & future_chunk_ids(store)
    assert run_chunk_ids(store, rec.run_id) == [h.chunk_id for h in hits]
    assert tool.reranked_note and "rerank" in tool.reranked_note  # no cross-encoder configured: said so
    assert audit_run(store, rec.run_id)["clean"]


def test_search_tool_refuses_an_as_of_past_its_bound(world):
    settings, store = world
    rec = recorder(store)
    tool = PointInTimeSearch(search_fn(world), FORECAST_DATE, rec)
    with pytest.raises(ToolError, match="after the run's point in time"):
        tool("Apple", as_of=FORECAST_DATE + timedelta(days=10))
    earlier = tool("Apple revenue", k=50, as_of=FORECAST_DATE - timedelta(days=20))
    assert all(h.available_at <= FORECAST_DATE - timedelta(days=20) for h in earlier)


def test_search_tool_needs_an_as_of(world):
    with pytest.raises(ToolError, match="needs an as_of"):
        PointInTimeSearch(search_fn(world), None, recorder(world[1]))


def test_a_leaky_search_backend_fails_loudly(world):
    """A retrieval bug that ignores as_of must fail the call, not be filtered away silently."""
    settings, store = world
    leaky = lambda query, **kw: service.search(store, settings, query, **{**kw, "as_of": None})  # noqa: E731
    rec = recorder(store)
    with pytest.raises(LeakageError):
        PointInTimeSearch(leaky, FORECAST_DATE, rec)("FUTURE LEAK Apple revenue collapsed", k=20)
    audit = audit_run(store, rec.run_id)
    assert not audit["clean"] and all(v["problem"] == "available after as_of" for v in audit["violations"])


def test_audit_catches_a_chunk_whose_availability_moved(world, tmp_path):
    settings, store = world
    rec = recorder(store)
    rec.tool_call("search", {"query": "x"}, as_of=FORECAST_DATE,
                  chunks=[__import__("fincortex.agents.common.runs", fromlist=["SeenChunk"]).SeenChunk(
                      next(iter(future_chunk_ids(store))), 1, 1.0, FORECAST_DATE - timedelta(days=1))])
    audit = audit_run(store, rec.run_id)  # the audit re-reads chunks: the recorded date does not fool it
    assert not audit["clean"]
