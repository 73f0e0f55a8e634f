"""Tools the analyst and forecasting agents call: point-in-time search, read-only SQL, a calculator.

Each tool records every call (arguments, the as_of it was bound to, the chunk ids it returned) through
the run's `RunRecorder`, so the run can be audited afterwards (agents/common/runs.py).

- `PointInTimeSearch`: bound at construction to the run's as_of; every call carries an as_of no later
  than that bound and passes it to the retrieval stack, which filters exactly. Hits are re-checked
  here and a future hit fails the call loudly (a retrieval bug must never be hidden by a filter).
- `ReadOnlySQL`: writes and DDL are refused by construction, in three independent layers: DuckDB's
  own parser must classify the text as exactly one SELECT statement; its serialized syntax tree may
  only read allow-listed tables (no table functions such as read_csv, no replacement scans of files,
  no other catalogs); and the query runs inside a `BEGIN TRANSACTION READ ONLY`, where DuckDB itself
  rejects any write.
- `calculate`: arithmetic on numbers only, evaluated by walking Python's `ast` (never eval).
"""

from __future__ import annotations

import ast
import json
import math
import operator
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from fincortex.agents.common.runs import LeakageError, RunRecorder, SeenChunk
from fincortex.retrieval.filters import parse_as_of
from fincortex.store import Store


class ToolError(ValueError):
    """A tool refused its input (the message says what and why)."""


# -- point-in-time search -----------------------------------------------------------------------------
@dataclass
class PointInTimeSearch:
    """`search(query, k, as_of=...)` that can never look past the run's point in time.

    search_fn: `Client.search`-like callable (query, k=, as_of=, tickers=, doc_types=, sources=, mode=,
    rerank=) -> SearchResults (a list of hits with chunk_id, text, available_at, score, ...).
    """

    search_fn: Callable[..., Any]
    as_of: datetime
    recorder: RunRecorder
    mode: str = "hybrid"
    rerank: bool = True
    warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        bound = parse_as_of(self.as_of)
        if bound is None:
            raise ToolError("point-in-time search needs an as_of (the run's 'now'); got None")
        self.as_of = bound

    def __call__(self, query: str, k: int = 8, *, as_of: datetime | date | str | None = None,
                 tickers: list[str] | None = None, doc_types: list[str] | None = None,
                 sources: list[str] | None = None) -> list[Any]:
        call_as_of = parse_as_of(as_of) if as_of is not None else self.as_of
        args = {"query": query, "k": k, "tickers": tickers, "doc_types": doc_types, "sources": sources,
                "mode": self.mode, "rerank": self.rerank}
        started, clock = datetime.now(), time.perf_counter()
        if call_as_of > self.as_of:
            message = f"search as_of {call_as_of} is after the run's point in time {self.as_of}"
            self.recorder.tool_call("search", args, as_of=call_as_of, ok=False, error=message, started_at=started)
            raise ToolError(message)
        try:
            with warnings.catch_warnings():  # "rerank unavailable" is reported through results.warnings
                warnings.simplefilter("ignore")
                hits = self.search_fn(query, k=k, as_of=call_as_of, tickers=tickers, doc_types=doc_types,
                                      sources=sources, mode=self.mode, rerank=self.rerank)
        except Exception as exc:
            self.recorder.tool_call("search", args, as_of=call_as_of, ok=False, error=f"{type(exc).__name__}: {exc}",
                                    started_at=started, ms=_ms(clock))
            raise
        for note in getattr(hits, "warnings", []) or []:
            if note not in self.warnings:
                self.warnings.append(note)
        seen = [SeenChunk(int(h.chunk_id), int(getattr(h, "rank", i + 1)), _float(getattr(h, "score", None)),
                          h.available_at) for i, h in enumerate(hits)]
        future = [s for s in seen if s.available_at > call_as_of]
        self.recorder.tool_call("search", args, as_of=call_as_of, ok=not future, chunks=seen,
                                error=f"{len(future)} hit(s) from after as_of" if future else None,
                                summary=f"{len(seen)} hits", started_at=started, ms=_ms(clock))
        if future:
            raise LeakageError(f"search returned {len(future)} chunk(s) available after as_of {call_as_of}: "
                               f"{[s.chunk_id for s in future][:5]}")
        return list(hits)

    @property
    def reranked_note(self) -> str | None:
        """Why results are not reranked, when that is the case (None when reranking ran or was not asked)."""
        return next((w for w in self.warnings if "rerank" in w), None)


def _float(x: Any) -> float | None:
    return None if x is None else float(x)


def _ms(clock: float) -> float:
    return round((time.perf_counter() - clock) * 1000, 3)


# -- read-only SQL ------------------------------------------------------------------------------------
DEFAULT_SQL_TABLES = ("documents", "chunks", "prices")


@dataclass
class ReadOnlySQL:
    """SELECT over allow-listed tables of the store, nothing else (see the module doc for the layers)."""

    store: Store
    recorder: RunRecorder | None = None
    tables: tuple[str, ...] = DEFAULT_SQL_TABLES
    max_rows: int = 200
    timeout_s: float = 10.0

    def check(self, sql: str) -> None:
        """Raise ToolError unless `sql` is one SELECT reading only allowed tables (no execution)."""
        import duckdb

        if not isinstance(sql, str) or not sql.strip():
            raise ToolError("sql must be a non-empty string")
        parser = duckdb.connect(":memory:")  # parsing only: nothing of the store is reachable here
        try:
            try:
                statements = parser.extract_statements(sql)
            except duckdb.Error as exc:
                raise ToolError(f"sql does not parse: {exc}") from exc
            if len(statements) != 1:
                raise ToolError(f"exactly one statement allowed, got {len(statements)}")
            kind = statements[0].type
            if kind != duckdb.StatementType.SELECT:
                raise ToolError(f"read-only SQL tool: {kind.name} statements are refused; only SELECT is allowed")
            tree = json.loads(parser.execute("SELECT json_serialize_sql(?)", [sql]).fetchone()[0])
        finally:
            parser.close()
        if tree.get("error"):
            raise ToolError(f"sql refused: {tree.get('error_message')}")
        ctes: set[str] = set()
        refs: list[dict] = []
        _walk(tree, ctes, refs)
        for ref in refs:
            if ref["type"] == "TABLE_FUNCTION":
                name = ref.get("function", {}).get("function_name", "?")
                raise ToolError(f"table function {name}() is refused: only the tables {list(self.tables)} may be read")
            table = ref.get("table_name", "")
            qualified = [p for p in (ref.get("catalog_name"), ref.get("schema_name")) if p]
            if table.lower() in ctes and not qualified:
                continue
            if qualified and qualified not in (["main"], [self._catalog()], [self._catalog(), "main"]):
                raise ToolError(f"table {'.'.join(qualified + [table])} is refused: other catalogs/schemas are off limits")
            if table.lower() not in {t.lower() for t in self.tables}:
                raise ToolError(f"table {table!r} is not readable by agents; allowed: {list(self.tables)}")

    def _catalog(self) -> str:
        return self.store.path.stem

    def __call__(self, sql: str) -> dict[str, Any]:
        started, clock = datetime.now(), time.perf_counter()
        try:
            self.check(sql)
            result = self._execute(sql)
        except Exception as exc:
            if self.recorder is not None:
                self.recorder.tool_call("sql", {"sql": sql}, ok=False, error=f"{type(exc).__name__}: {exc}",
                                        started_at=started, ms=_ms(clock))
            if isinstance(exc, ToolError):
                raise
            raise ToolError(f"sql failed: {exc}") from exc
        if self.recorder is not None:
            self.recorder.tool_call("sql", {"sql": sql}, summary=f"{len(result['rows'])} rows"
                                    + (" (truncated)" if result["truncated"] else ""), started_at=started, ms=_ms(clock))
        return result

    def _execute(self, sql: str) -> dict[str, Any]:
        with self.store.read() as conn:
            conn.execute("BEGIN TRANSACTION READ ONLY")
            timer = threading.Timer(self.timeout_s, conn.interrupt)
            timer.start()
            try:
                cursor = conn.execute(sql)
                columns = [d[0] for d in cursor.description]
                rows = cursor.fetchmany(self.max_rows + 1)
            finally:
                timer.cancel()
                conn.execute("ROLLBACK")
        truncated = len(rows) > self.max_rows
        return {"columns": columns, "rows": [list(r) for r in rows[: self.max_rows]], "truncated": truncated}


def _walk(node: Any, ctes: set[str], refs: list[dict]) -> None:
    """Collect CTE names and every table reference (BASE_TABLE / TABLE_FUNCTION) of a serialized tree."""
    if isinstance(node, dict):
        cte_map = node.get("cte_map")
        if isinstance(cte_map, dict):
            for entry in cte_map.get("map", []):
                ctes.add(str(entry.get("key", "")).lower())
        if node.get("type") in ("BASE_TABLE", "TABLE_FUNCTION") and ("table_name" in node or "function" in node):
            refs.append(node)
        for value in node.values():
            _walk(value, ctes, refs)
    elif isinstance(node, list):
        for value in node:
            _walk(value, ctes, refs)


# -- calculator ---------------------------------------------------------------------------------------
# Hand-written on purpose: agents need numbers-only arithmetic with hard bounds (exponent size, result
# magnitude, expression length), nothing else; general "safe eval" libraries also admit strings,
# comprehensions and attribute access, which an agent's calculator has no use for.
_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow}
_UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_FUNCTIONS: dict[str, Callable[..., float]] = {
    "abs": abs, "round": round, "min": min, "max": max, "sqrt": math.sqrt, "log": math.log, "ln": math.log,
    "log10": math.log10, "exp": math.exp,
}
_CONSTANTS = {"pi": math.pi, "e": math.e}
MAX_EXPRESSION = 500
MAX_MAGNITUDE = 1e100


def calculate(expression: str, recorder: RunRecorder | None = None) -> float:
    """Evaluate + - * / // % ** ( ), numbers, pi, e and abs/round/min/max/sqrt/log/ln/log10/exp.

    '12.5%' is read as 0.125 and '1,234' as 1234. Anything else (names, attributes, strings, calls of
    other functions) raises ToolError.
    """
    started, clock = datetime.now(), time.perf_counter()
    try:
        value = _evaluate(expression)
    except ToolError as exc:
        if recorder is not None:
            recorder.tool_call("calculator", {"expression": expression}, ok=False, error=str(exc), started_at=started)
        raise
    if recorder is not None:
        recorder.tool_call("calculator", {"expression": expression}, summary=repr(value), started_at=started,
                           ms=_ms(clock))
    return value


def _evaluate(expression: str) -> float:
    if not isinstance(expression, str) or not expression.strip():
        raise ToolError("calculator needs a non-empty expression")
    if len(expression) > MAX_EXPRESSION:
        raise ToolError(f"expression longer than {MAX_EXPRESSION} characters")
    import re

    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", expression)  # thousands separators
    text = re.sub(r"(\d+(?:\.\d+)?)\s*%", r"(\1/100)", text)  # percentages
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ToolError(f"cannot parse expression {expression!r}: {exc.msg}") from exc
    value = _node(tree.body)
    if isinstance(value, complex) or not math.isfinite(value):
        raise ToolError(f"expression {expression!r} has no finite real value")
    return float(value)


def _node(node: ast.AST) -> float:
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    if isinstance(node, ast.Name) and node.id in _CONSTANTS:
        return _CONSTANTS[node.id]
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_node(node.operand))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _node(node.left), _node(node.right)
        if isinstance(node.op, ast.Pow) and (abs(right) > 100 or abs(left) > 1e6 and abs(right) > 10):
            raise ToolError(f"exponent too large: {left} ** {right}")
        try:
            value = _BINARY[type(node.op)](left, right)
        except ZeroDivisionError as exc:
            raise ToolError("division by zero") from exc
        except OverflowError as exc:
            raise ToolError(f"overflow: {exc}") from exc
        if abs(value) > MAX_MAGNITUDE:
            raise ToolError(f"result magnitude above {MAX_MAGNITUDE:g}")
        return value
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS
            and not node.keywords and node.args):
        args = [_node(a) for a in node.args]
        try:
            value = _FUNCTIONS[node.func.id](*args)
        except (ValueError, TypeError, OverflowError) as exc:
            raise ToolError(f"{node.func.id}{tuple(args)}: {exc}") from exc
        if abs(value) > MAX_MAGNITUDE:
            raise ToolError(f"result magnitude above {MAX_MAGNITUDE:g}")
        return value
    raise ToolError(f"calculator refuses {ast.dump(node)[:80]}: only numbers, + - * / // % ** and "
                    f"{', '.join(sorted(_FUNCTIONS))} are allowed")
