"""The agents' SQL tool against a hostile corpus (tests/hostile_sql.py): nothing outside the allow-list
leaks, and the isolation holds even for statements that skip the parse layer."""

from __future__ import annotations

import pytest
from agents_support import make_world
from hostile_sql import BENIGN, CANARY, STATEMENTS, judge, plant_secrets, store_state

from fincortex.agents.common.sql_tool import isolated_connection
from fincortex.agents.common.tools import ReadOnlySQL, ToolError

TIMEOUT_S = 1.5


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    settings, store = make_world(root / "store")
    return store, plant_secrets(store, root / "secrets")


def test_hostile_corpus_leaks_nothing(world):
    store, secrets = world
    tool = ReadOnlySQL(store, timeout_s=TIMEOUT_S)
    before = store_state(store)
    verdicts = [judge(tool, secrets, sql, TIMEOUT_S, tool.max_bytes) for _, sql in STATEMENTS]
    leaked = [(v["sql"], v["reasons"]) for v in verdicts if v["leaked"]]
    assert len(STATEMENTS) >= 100
    assert leaked == [], f"{len(leaked)} of {len(STATEMENTS)} leaked"
    assert store_state(store) == before


@pytest.mark.parametrize("sql", BENIGN)
def test_ordinary_queries_still_answer(world, sql):
    store, secrets = world
    out = ReadOnlySQL(store)(secrets.fill(sql))
    assert out["columns"] and isinstance(out["rows"], list)


@pytest.mark.parametrize("sql", [
    "SELECT * FROM llm_cache", "SELECT * FROM '{dir}/secret.csv'", "SELECT * FROM read_csv('{dir}/secret.csv')",
    "SELECT * FROM information_schema.tables WHERE table_name = 'llm_cache'", "ATTACH '{other}' AS o",
    "SET enable_external_access = true", "SELECT * FROM glob('{dir}/*')", "INSTALL httpfs",
])
def test_isolation_holds_without_the_parse_layer(world, sql):
    """_execute skips check(): the isolated connection alone must still refuse or find nothing."""
    store, secrets = world
    tool = ReadOnlySQL(store)
    try:
        out = tool._execute(secrets.fill(sql))
    except Exception as exc:  # noqa: BLE001 - refusal by the engine is the expected outcome
        assert CANARY not in str(exc)
        return
    assert out["rows"] == [] and CANARY not in str(out)


def test_isolated_connection_has_duckdbs_switches_locked(world):
    store, _ = world
    tool = ReadOnlySQL(store)
    conn = isolated_connection(tool._replica.path(), store.catalog, "256MB")
    try:
        settings = dict(conn.execute(
            "SELECT name, value FROM duckdb_settings() WHERE name IN ('enable_external_access', "
            "'autoinstall_known_extensions', 'autoload_known_extensions', 'lock_configuration')").fetchall())
        assert settings == {"enable_external_access": "false", "autoinstall_known_extensions": "false",
                            "autoload_known_extensions": "false", "lock_configuration": "true"}
        with pytest.raises(Exception, match="locked"):
            conn.execute("SET enable_external_access = true")
        tables = {r[0] for r in conn.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        assert tables == {"documents", "chunks", "prices", "statement_rows"}  # DEFAULT_SQL_TABLES
    finally:
        conn.close()


def test_scope_correct_cte_resolution(world):
    store, _ = world
    tool = ReadOnlySQL(store)
    with pytest.raises(ToolError, match="llm_cache"):  # the CTE body reads the real table
        tool.check("WITH llm_cache AS (SELECT * FROM llm_cache) SELECT * FROM llm_cache")
    with pytest.raises(ToolError, match="llm_cache"):  # a CTE of an inner scope does not cover the outer one
        tool.check("SELECT * FROM (WITH llm_cache AS (SELECT 1) SELECT * FROM llm_cache) t, llm_cache")
    tool.check("WITH a AS (SELECT * FROM chunks), b AS (SELECT * FROM a) SELECT * FROM b")
    tool.check("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT * FROM r")


def test_result_byte_and_row_limits(world):
    store, _ = world
    tool = ReadOnlySQL(store, max_bytes=2000)
    out = tool("SELECT repeat(text, 5) AS t FROM chunks")
    assert out["truncated"] and 0 < len(out["rows"]) < 15
    assert sum(len(r[0]) for r in out["rows"]) <= 2000
    with pytest.raises(ToolError, match="larger than"):
        tool("SELECT repeat('x', 1500) || repeat('y', 1500) AS t")
    with pytest.raises(ToolError, match="size arguments"):
        ReadOnlySQL(store)("SELECT repeat('x', 200000000)")


def test_the_replica_follows_the_store(world, tmp_path):
    settings, store = make_world(tmp_path / "fresh")
    tool = ReadOnlySQL(store)
    first = tool("SELECT count(*) FROM documents")["rows"][0][0]
    with store.write() as conn:
        conn.execute("DELETE FROM chunks WHERE doc_id IN (SELECT doc_id FROM documents LIMIT 1)")
        conn.execute("DELETE FROM documents WHERE doc_id IN (SELECT doc_id FROM documents LIMIT 1)")
    assert tool("SELECT count(*) FROM documents")["rows"][0][0] == first - 1
    assert len(list(tool._replica.folder.glob("*.duckdb"))) == 1  # the old state's copy is gone
