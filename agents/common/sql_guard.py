"""The parse layer of the read-only SQL tool: what a statement may name, decided on DuckDB's own tree.

This is defence in depth; the engine layer (agents/common/sql_tool.py) runs the statement on an
isolated connection where only the allowed tables exist, so a gap here cannot reach other data.

Name resolution follows SQL scoping, not a global set of CTE names: an unqualified name refers to a
CTE only where that CTE is visible (inside the query that declares it, and in later CTEs of the same
WITH); inside a non-recursive CTE's own body its name means the real table. So
`WITH llm_cache AS (SELECT * FROM llm_cache) SELECT * FROM llm_cache` reads the table `llm_cache`
in the CTE body and is refused.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

# Functions whose output size is set by an argument rather than by the data: a literal bound is the
# only way to stop `repeat('x', 2e9)` before DuckDB allocates it (an interrupt is only seen after the
# call returns, and string buffers are outside DuckDB's memory_limit).
SIZE_ARGUMENT_FUNCTIONS = {"repeat", "lpad", "rpad", "list_resize", "array_resize", "range", "generate_series",
                           "bar", "list_repeat"}
FORMAT_FUNCTIONS = {"printf", "format", "sprintf"}
ALLOWED_SHOW = "DESCRIBE/SUMMARIZE of a query"


class SqlRefused(ValueError):
    """The statement names something the tool does not allow (the message says what)."""


@dataclass(frozen=True)
class SqlPolicy:
    tables: tuple[str, ...]
    catalog: str  # the store's catalog name, accepted as a qualifier
    max_size_argument: int  # the largest literal a size argument (repeat count, pad width) may take


def check_statement(sql: str, policy: SqlPolicy) -> None:
    """Raise SqlRefused unless `sql` is exactly one SELECT whose every table reference is allowed."""
    import duckdb

    if not isinstance(sql, str) or not sql.strip():
        raise SqlRefused("sql must be a non-empty string")
    parser = duckdb.connect(":memory:")  # parsing only: nothing of the store is reachable here
    try:
        try:
            statements = parser.extract_statements(sql)
        except duckdb.Error as exc:
            raise SqlRefused(f"sql does not parse: {exc}") from exc
        if len(statements) != 1:
            raise SqlRefused(f"exactly one statement allowed, got {len(statements)}")
        kind = statements[0].type
        if kind != duckdb.StatementType.SELECT:
            raise SqlRefused(f"read-only SQL tool: {kind.name} statements are refused; only SELECT is allowed")
        tree = json.loads(parser.execute("SELECT json_serialize_sql(?)", [sql]).fetchone()[0])
    finally:
        parser.close()
    if tree.get("error"):
        raise SqlRefused(f"sql refused: {tree.get('error_message')}")
    _Walker(policy).walk(tree, frozenset())


class _Walker:
    def __init__(self, policy: SqlPolicy) -> None:
        self.policy = policy
        self.allowed = {t.lower() for t in policy.tables}
        catalog = policy.catalog.lower()
        self.qualifiers = ([], ["main"], [catalog], [catalog, "main"])

    def walk(self, node: Any, visible: frozenset[str]) -> None:
        if isinstance(node, list):
            for value in node:
                self.walk(value, visible)
            return
        if not isinstance(node, dict):
            return
        cte_map = node.get("cte_map")
        entries = cte_map.get("map", []) if isinstance(cte_map, dict) else []
        if entries:
            declared: list[str] = []
            for entry in entries:
                name = str(entry.get("key", "")).lower()
                body = (entry.get("value") or {}).get("query_node") or (entry.get("value") or {}).get("query")
                own = {name} if isinstance(body, dict) and body.get("type") == "RECURSIVE_CTE_NODE" else set()
                self.walk(body, visible | frozenset(declared) | own)
                declared.append(name)
            visible = visible | frozenset(declared)
        kind = node.get("type")
        if kind == "TABLE_FUNCTION":
            name = (node.get("function") or {}).get("function_name", "?")
            raise SqlRefused(f"table function {name}() is refused: only the tables {list(self.policy.tables)} may be read")
        if kind == "BASE_TABLE" and "table_name" in node:
            self._table(node, visible)
        if kind == "SHOW_REF" and not node.get("query"):
            raise SqlRefused(f"SHOW {node.get('table_name') or ''} is refused: only {ALLOWED_SHOW} is allowed "
                             f"(the readable tables are {list(self.policy.tables)})")
        if node.get("class") == "FUNCTION":
            self._function(node)
        for key, value in node.items():
            if key != "cte_map":
                self.walk(value, visible)

    def _table(self, ref: dict, visible: frozenset[str]) -> None:
        table = str(ref.get("table_name", ""))
        qualified = [p.lower() for p in (ref.get("catalog_name"), ref.get("schema_name")) if p]
        if not qualified and table.lower() in visible:
            return  # a CTE in scope
        if qualified not in self.qualifiers:
            raise SqlRefused(f"table {'.'.join(qualified + [table])} is refused: other catalogs/schemas are off limits")
        if table.lower() not in self.allowed:
            raise SqlRefused(f"table {table!r} is not readable by agents; allowed: {list(self.policy.tables)}")
        if ref.get("at_clause"):
            raise SqlRefused(f"time travel (AT ...) on {table!r} is refused")

    def _function(self, call: dict) -> None:
        name = str(call.get("function_name", "")).lower()
        args = [a.get("expression", a) if isinstance(a, dict) and "expression" in a else a
                for a in call.get("arguments", [])]
        limit = self.policy.max_size_argument
        if name in SIZE_ARGUMENT_FUNCTIONS:
            sized = args if name in ("range", "generate_series") else args[1:]
            for arg in sized:
                value = _literal_number(arg)
                if value is None or abs(value) > limit:
                    raise SqlRefused(f"{name}(): its size arguments must be number literals of at most {limit:,} "
                                     "(bounds the result size)")
        if name in FORMAT_FUNCTIONS and args:
            pattern = _literal_text(args[0])
            if pattern is None or any(len(run) > 4 for run in _digit_runs(pattern)):
                raise SqlRefused(f"{name}(): the format must be a string literal without widths above 9999")


def _literal(node: Any) -> Any:
    if isinstance(node, dict) and node.get("class") == "CONSTANT":
        return (node.get("literal") or {}).get("text", (node.get("value") or {}).get("value"))
    if isinstance(node, dict) and node.get("class") == "OPERATOR" and node.get("type") == "OPERATOR_UNARY_NEGATE":
        return None
    if isinstance(node, dict) and node.get("class") == "CAST":
        return _literal(node.get("child"))
    return None


def _literal_number(node: Any) -> float | None:
    text = _literal(node)
    try:
        return float(text) if text is not None else None
    except (TypeError, ValueError):
        return None


def _literal_text(node: Any) -> str | None:
    text = _literal(node)
    return text if isinstance(text, str) else None


def _digit_runs(text: str) -> list[str]:
    import re

    return re.findall(r"\d+", text)
