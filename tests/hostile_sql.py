"""A hostile SQL corpus for the agents' read-only SQL tool, with a world of planted secrets and a leak oracle.

Used by tests/test_reliability_sql.py (every statement, the current tool: 0 leaked) and by
benchmarks/reliability.py (the same corpus against the tool as it was at d35fc97, as the baseline).

A statement *leaks* when its outcome shows anything outside the allow-list: a canary from a secret table,
a file, another DuckDB file or the environment; the name of a table agents may not read; a result over
the byte limit; a run past the time limit (plus grace); any change to the store or to files on disk; or an
attempt to download/install an extension. A refusal (ToolError) or an engine error is contained.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CANARY = "CANARY-7f3a9e"  # every secret below contains it
ENV_CANARY = "FINCORTEX_RELIABILITY_CANARY"
SECRET_TABLES = ("llm_cache", "agent_runs", "agent_tool_calls", "models", "ingest_runs", "ingest_files",
                 "schema_migrations", "backtest_runs", "forecasts", "memory_items")

# {dir} = a folder of secret files; {db} = the store's catalog name; {other} = another DuckDB file
STATEMENTS: list[tuple[str, str]] = [
    # -- CTE shadowing / scoping -------------------------------------------------------------------
    ("cte", "WITH llm_cache AS (SELECT * FROM llm_cache) SELECT * FROM llm_cache"),
    ("cte", "WITH chunks AS (SELECT * FROM llm_cache) SELECT * FROM chunks"),
    ("cte", "WITH documents AS (SELECT request::VARCHAR AS title FROM llm_cache) SELECT title FROM documents"),
    ("cte", "SELECT * FROM (WITH llm_cache AS (SELECT 1 AS x) SELECT * FROM llm_cache) t, llm_cache"),
    ("cte", "SELECT * FROM llm_cache WHERE EXISTS (WITH llm_cache AS (SELECT 1) SELECT * FROM llm_cache)"),
    ("cte", "WITH a AS (SELECT * FROM llm_cache), llm_cache AS (SELECT 1 AS x) SELECT * FROM a"),
    ("cte", "WITH RECURSIVE llm_cache AS (SELECT * FROM llm_cache) SELECT * FROM llm_cache"),
    ("cte", "SELECT (WITH models AS (SELECT 1) SELECT count(*) FROM models), * FROM models"),
    ("cte", "WITH x AS (SELECT 1) SELECT * FROM x UNION ALL SELECT count(*) FROM agent_runs"),
    ("cte", "WITH x AS (SELECT 1 AS n) SELECT * FROM x, LATERAL (SELECT count(*) FROM ingest_runs) y"),
    ("cte", "WITH llm_cache AS MATERIALIZED (SELECT * FROM main.llm_cache) SELECT * FROM llm_cache"),
    ("cte", "SELECT * FROM (WITH \"{dir}/secret.csv\" AS (SELECT 1) SELECT 1) a, \"{dir}/secret.csv\" b"),
    ("cte", "SELECT * FROM (WITH \"{dir}/secret.parquet\" AS (SELECT 1) SELECT 1) a, \"{dir}/secret.parquet\" b"),
    ("cte", "SELECT * FROM (WITH \"{dir}/secret.json\" AS (SELECT 1) SELECT 1) a, \"{dir}/secret.json\" b"),
    ("cte", "SELECT * FROM (WITH \"{dir}/*.csv\" AS (SELECT 1) SELECT 1) a, \"{dir}/*.csv\" b"),
    ("cte", "SELECT * FROM (WITH \"{dir}/secret.tsv\" AS (SELECT 1) SELECT 1) a, \"{dir}/secret.tsv\" b"),
    ("cte", "SELECT * FROM (WITH \"{other}\" AS (SELECT 1) SELECT 1) a, \"{other}\" b"),
    ("cte", "SELECT (WITH \"{dir}/secret.csv\" AS (SELECT 1) SELECT 1) AS a, * FROM \"{dir}/secret.csv\""),
    ("cte", "SELECT * FROM chunks WHERE text IN (WITH \"{dir}/secret.csv\" AS (SELECT 1) SELECT 'x') "
            "OR text IN (SELECT secret FROM \"{dir}/secret.csv\")"),
    ("cte", "SELECT * FROM (WITH \"{dir}/secret.csv.gz\" AS (SELECT 1) SELECT 1) a, \"{dir}/secret.csv.gz\" b"),
    # -- replacement scans and table functions reading files -----------------------------------
    ("file", "SELECT * FROM '{dir}/secret.csv'"),
    ("file", "SELECT * FROM \"{dir}/secret.parquet\""),
    ("file", "SELECT * FROM '{dir}/*.json'"),
    ("file", "FROM '{dir}/secret.csv'"),
    ("file", "SELECT * FROM read_csv('{dir}/secret.csv')"),
    ("file", "SELECT * FROM read_csv_auto('{dir}/secret.csv')"),
    ("file", "SELECT * FROM read_parquet('{dir}/secret.parquet')"),
    ("file", "SELECT * FROM read_json('{dir}/secret.json')"),
    ("file", "SELECT * FROM read_json_auto('{dir}/secret.json')"),
    ("file", "SELECT * FROM read_ndjson('{dir}/secret.json')"),
    ("file", "SELECT * FROM read_text('{dir}/secret.txt')"),
    ("file", "SELECT * FROM read_blob('{dir}/secret.txt')"),
    ("file", "SELECT * FROM glob('{dir}/*')"),
    ("file", "SELECT * FROM parquet_metadata('{dir}/secret.parquet')"),
    ("file", "SELECT * FROM parquet_schema('{dir}/secret.parquet')"),
    ("file", "SELECT * FROM sniff_csv('{dir}/secret.csv')"),
    ("file", "SELECT * FROM read_csv(['{dir}/secret.csv', '{dir}/secret.tsv'])"),
    ("file", "SELECT * FROM chunks, read_text('/etc/hostname')"),
    ("file", "SELECT (SELECT content FROM read_text('{dir}/secret.txt')) AS x"),
    ("file", "SELECT * FROM '/etc/passwd'"),
    ("file", "SELECT * FROM '{other}'"),
    ("file", "SELECT * FROM query_table('llm_cache')"),
    ("file", "SELECT * FROM query('SELECT * FROM llm_cache')"),
    # -- other tables, catalogs and the catalog itself ---------------------------------------------
    ("catalog", "SELECT * FROM llm_cache"),
    ("catalog", "SELECT * FROM main.llm_cache"),
    ("catalog", "SELECT * FROM {db}.llm_cache"),
    ("catalog", "SELECT * FROM {db}.main.llm_cache"),
    ("catalog", "SELECT * FROM \"llm_cache\""),
    ("catalog", "SELECT * FROM LLM_CACHE"),
    ("catalog", "SELECT * FROM chunks WHERE doc_id IN (SELECT count(*) FROM models)"),
    ("catalog", "SELECT * FROM chunks JOIN ingest_runs ON true"),
    ("catalog", "SELECT * FROM information_schema.tables"),
    ("catalog", "SELECT table_name, column_name FROM information_schema.columns"),
    ("catalog", "SELECT * FROM sqlite_master"),
    ("catalog", "SELECT * FROM duckdb_tables()"),
    ("catalog", "SELECT * FROM duckdb_columns()"),
    ("catalog", "SELECT * FROM duckdb_databases()"),
    ("catalog", "SELECT * FROM duckdb_settings()"),
    ("catalog", "SELECT * FROM duckdb_extensions()"),
    ("catalog", "SELECT * FROM duckdb_secrets()"),
    ("catalog", "SELECT * FROM pragma_table_info('llm_cache')"),
    ("catalog", "SELECT * FROM system.main.duckdb_tables()"),
    ("catalog", "SELECT * FROM pg_catalog.pg_tables"),
    ("catalog", "SELECT * FROM temp.main.anything"),
    ("catalog", "SHOW ALL TABLES"),
    ("catalog", "SHOW TABLES"),
    ("catalog", "DESCRIBE llm_cache"),
    ("catalog", "SUMMARIZE llm_cache"),
    ("catalog", "DESCRIBE SELECT * FROM llm_cache"),
    ("catalog", "SELECT getenv('" + ENV_CANARY + "')"),
    ("catalog", "SELECT CAST(response AS INTEGER) FROM llm_cache"),
    ("catalog", "SELECT * FROM chunks WHERE CAST((SELECT max(cache_key) FROM llm_cache) AS INTEGER) > 0"),
    ("catalog", "SELECT current_setting('home_directory'), current_setting('temp_directory')"),
    # -- statements that are not SELECT ----------------------------------------------------------
    ("statement", "ATTACH '{other}' AS other"),
    ("statement", "ATTACH '{other}' AS other (READ_ONLY)"),
    ("statement", "COPY llm_cache TO '{dir}/out.csv'"),
    ("statement", "COPY (SELECT * FROM chunks) TO '{dir}/out.parquet' (FORMAT parquet)"),
    ("statement", "EXPORT DATABASE '{dir}/export'"),
    ("statement", "PRAGMA show_tables"),
    ("statement", "PRAGMA table_info('llm_cache')"),
    ("statement", "SET enable_external_access = true"),
    ("statement", "SET autoinstall_known_extensions = true"),
    ("statement", "RESET lock_configuration"),
    ("statement", "INSTALL httpfs"),
    ("statement", "LOAD httpfs"),
    ("statement", "CALL duckdb_tables()"),
    ("statement", "EXPLAIN SELECT * FROM llm_cache"),
    ("statement", "EXPLAIN ANALYZE SELECT * FROM llm_cache"),
    ("statement", "CREATE TEMP TABLE t AS SELECT * FROM llm_cache"),
    ("statement", "CREATE MACRO leak() AS TABLE SELECT * FROM llm_cache"),
    ("statement", "USE memory"),
    ("statement", "DETACH {db}"),
    ("statement", "SELECT 1; SELECT * FROM llm_cache"),
    ("statement", "PIVOT llm_cache ON kind"),
    ("statement", "DELETE FROM chunks"),
    # -- result-size and time bombs ----------------------------------------------------------------
    ("bomb", "SELECT repeat('x', 200000000)"),
    ("bomb", "SELECT repeat('x', 20000 * 10000)"),
    ("bomb", "SELECT lpad('x', 200000000, 'y')"),
    ("bomb", "SELECT rpad('x', 200000000, 'y')"),
    ("bomb", "SELECT printf('%200000000d', 1)"),
    ("bomb", "SELECT format('{{:>200000000}}', 'x')"),
    ("bomb", "SELECT string_agg(repeat(c1.text, 500), '') FROM chunks c1, chunks c2"),
    ("bomb", "SELECT c1.text, c2.text, c3.text FROM chunks c1, chunks c2, chunks c3"),
    ("bomb", "SELECT range(50000000)"),
    ("bomb", "SELECT list_resize([1], 50000000)"),
    ("bomb", "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r"),
    ("bomb", "WITH RECURSIVE r(s) AS (SELECT 'xx' UNION ALL SELECT s || s FROM r WHERE length(s) < 400000000) "
             "SELECT max(length(s)) FROM r"),
    ("bomb", "SELECT count(*) FROM chunks a, chunks b, chunks c, chunks d, chunks e, chunks f, chunks g, chunks h"),
    # -- unknown functions: extension auto-install/auto-load ---------------------------------------
    ("extension", "SELECT st_point(1, 2)"),
    ("extension", "SELECT h3_latlng_to_cell(1.0, 2.0, 3)"),
    ("extension", "SELECT * FROM 'https://example.invalid/secret.csv'"),
    ("extension", "SELECT * FROM read_parquet('s3://bucket/secret.parquet')"),
    ("extension", "SELECT * FROM sqlite_scan('{other}', 'x')"),
    ("extension", "SELECT * FROM read_xlsx('{dir}/secret.xlsx')"),
]
# what agents should still be able to do (none of these may be refused)
BENIGN = [
    "SELECT count(*) FROM chunks",
    "WITH recent AS (SELECT * FROM documents) SELECT count(*) AS n FROM recent JOIN chunks USING (doc_id)",
    "WITH a AS (SELECT doc_id FROM documents), b AS (SELECT * FROM a) SELECT count(*) FROM b",
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 10) SELECT sum(n) FROM r",
    "SELECT d.title, count(*) FROM documents d JOIN chunks c USING (doc_id) GROUP BY 1 ORDER BY 2 DESC",
    "SELECT symbol, max(close) FROM prices GROUP BY symbol",
    "DESCRIBE SELECT * FROM chunks",
    "FROM {db}.main.documents SELECT count(*)",
    "SELECT repeat('-', 20) AS line",
]
EXTENSION_ATTEMPT = re.compile(r"download|failed to (?:install|load)|auto-?install|could not (?:fetch|install)|"
                               r"HTTP (?:GET|HEAD|error)|unable to connect|extension .* not found", re.IGNORECASE)


@dataclass
class SqlWorld:
    folder: Path  # secret files
    other: Path  # another DuckDB file holding a canary
    catalog: str

    def fill(self, template: str) -> str:
        return template.format(dir=self.folder, other=self.other, db=self.catalog)


def plant_secrets(store, folder: Path) -> SqlWorld:
    """Canaries in tables agents may not read, in files of each format, in another DuckDB file and the env."""
    import duckdb

    folder.mkdir(parents=True, exist_ok=True)
    with store.write() as conn:
        conn.execute("INSERT INTO llm_cache VALUES (?, 'chat', ?, 'h', ?, ?, now())",
                     [CANARY + "-key", CANARY + "-model", json.dumps({"q": CANARY}), json.dumps({"a": CANARY})])
        conn.execute("INSERT INTO ingest_runs (run_id, started_at, status, args) VALUES (?, now(), 'ok', ?)",
                     [CANARY + "-run", json.dumps({"paths": [CANARY]})])
    (folder / "secret.csv").write_text(f"secret,n\n{CANARY}-csv,1\n")
    (folder / "secret.tsv").write_text(f"secret\tn\n{CANARY}-tsv\t1\n")
    (folder / "secret.json").write_text(json.dumps([{"secret": CANARY + "-json"}]))
    (folder / "secret.txt").write_text(CANARY + "-txt\n")
    import gzip

    (folder / "secret.csv.gz").write_bytes(gzip.compress(f"secret\n{CANARY}-gz\n".encode()))
    other = folder / "other.duckdb"
    conn = duckdb.connect(str(other))
    conn.execute(f"CREATE TABLE x AS SELECT '{CANARY}-other' AS secret")
    conn.execute(f"COPY (SELECT '{CANARY}-parquet' AS secret) TO '{folder / 'secret.parquet'}' (FORMAT parquet)")
    conn.close()
    os.environ[ENV_CANARY] = CANARY + "-env"
    return SqlWorld(folder, other, store.catalog)


def _disk_state(folder: Path) -> dict[str, float]:
    return {str(p): p.stat().st_mtime for p in sorted(folder.rglob("*"))}


def store_file_state(store) -> tuple:
    """Cheap per-statement write detector: the database file and its WAL as the filesystem sees them."""
    wal = store.path.with_name(store.path.name + ".wal")
    return tuple((p.stat().st_size, p.stat().st_mtime_ns) if p.exists() else None for p in (store.path, wal))


def store_state(store) -> list:
    """Row counts of every table (checked around a whole corpus run)."""
    with store.read() as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database() "
            "AND table_schema = 'main' ORDER BY 1").fetchall()]
        return [(t, conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]) for t in tables]


def judge(tool, world: SqlWorld, template: str, timeout_s: float, max_bytes: int, grace_s: float = 5.0) -> dict:
    """Run one statement through `tool` and say whether anything leaked, and why."""
    sql = world.fill(template)
    before_disk, before_store = _disk_state(world.folder), store_file_state(tool.store)
    started = time.perf_counter()
    error: str | None = None
    output = ""
    try:
        result: Any = tool(sql)
        output = json.dumps(result, default=str)
    except Exception as exc:  # noqa: BLE001 - every refusal/engine error is an outcome here
        error = f"{type(exc).__name__}: {exc}"
    seconds = time.perf_counter() - started
    reasons = []
    text = output + (error or "")  # a value echoed in an error message leaks as much as a row
    if CANARY in text:
        reasons.append("canary in the result")
    named = sorted(t for t in SECRET_TABLES if re.search(rf"\b{t}\b", output))
    if named:
        reasons.append(f"names tables agents may not read: {named}")
    if len(output) > max_bytes * 1.1 + 1024:
        reasons.append(f"result of {len(output):,} bytes (limit {max_bytes:,})")
    if seconds > timeout_s + grace_s:
        reasons.append(f"ran {seconds:.1f}s (limit {timeout_s}s)")
    if error and EXTENSION_ATTEMPT.search(error):
        reasons.append("tried to install or load an extension")
    if _disk_state(world.folder) != before_disk:
        reasons.append("changed files on disk")
    if store_file_state(tool.store) != before_store:
        reasons.append("changed the store")
    return {"sql": template, "leaked": bool(reasons), "reasons": reasons, "seconds": round(seconds, 3),
            "refused": error is not None, "error": (error or "")[:200]}
