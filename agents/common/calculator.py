"""The agents' calculator: arithmetic on numbers only, evaluated by walking Python's `ast` (never eval).

Hand-written on purpose: agents need numbers-only arithmetic with hard bounds (literal size, exponent
size, result magnitude, round() digits, expression length), nothing else; general "safe eval" libraries
also admit strings, comprehensions and attribute access, which an agent's calculator has no use for.
Every failure is a ToolError that names the expression and the problem (never a bare Python exception).
"""

from __future__ import annotations

import ast
import math
import operator
import re
import time
from collections.abc import Callable
from datetime import datetime

from fincortex.agents.common.errors import ToolError
from fincortex.agents.common.runs import RunRecorder

_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow}
_UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg}
MAX_ROUND_DIGITS = 100  # |ndigits| of round(): Python computes 10**ndigits, so an unbounded one never ends


def _round(value: float, ndigits: float = 0) -> float:
    if ndigits != int(ndigits) or abs(ndigits) > MAX_ROUND_DIGITS:
        raise ValueError(f"ndigits must be a whole number between -{MAX_ROUND_DIGITS} and {MAX_ROUND_DIGITS}")
    return round(value, int(ndigits))


_FUNCTIONS: dict[str, Callable[..., float]] = {
    "abs": abs, "round": _round, "min": min, "max": max, "sqrt": math.sqrt, "log": math.log, "ln": math.log,
    "log10": math.log10, "exp": math.exp,
}
_CONSTANTS = {"pi": math.pi, "e": math.e}
MAX_EXPRESSION = 500
MAX_MAGNITUDE = 1e100
# '12.5%' is a percentage when nothing that could be a right operand follows the '%'; '5 % 3' is modulo
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*%(?!\s*[\w.(])")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")


def calculate(expression: str, recorder: RunRecorder | None = None) -> float:
    """Evaluate + - * / // % ** ( ), numbers, pi, e and abs/round/min/max/sqrt/log/ln/log10/exp.

    '12.5%' is read as 0.125 and '1,234' as 1234; '5 % 3' is modulo. Anything else (names, attributes,
    strings, calls of other functions) raises ToolError.
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
                           ms=round((time.perf_counter() - clock) * 1000, 3))
    return value


def _evaluate(expression: str) -> float:
    if not isinstance(expression, str) or not expression.strip():
        raise ToolError("calculator needs a non-empty expression")
    if len(expression) > MAX_EXPRESSION:
        raise ToolError(f"expression longer than {MAX_EXPRESSION} characters")
    text = _PERCENT.sub(r"(\1/100)", _THOUSANDS.sub("", expression))
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ToolError(f"cannot parse expression {expression!r}: {exc.msg}") from exc
    except (ValueError, MemoryError, RecursionError) as exc:  # e.g. an int literal above Python's digit limit
        raise ToolError(f"cannot parse expression {expression!r}: {exc}") from exc
    try:
        value = _node(tree.body)
    except RecursionError as exc:
        raise ToolError(f"expression {expression!r} is nested too deeply") from exc
    if isinstance(value, complex) or not math.isfinite(value):
        raise ToolError(f"expression {expression!r} has no finite real value")
    return float(value)


def _bounded(value: float, what: str) -> float:
    if isinstance(value, complex):
        raise ToolError(f"{what} has no real value")
    if abs(value) > MAX_MAGNITUDE:
        raise ToolError(f"{what}: magnitude above {MAX_MAGNITUDE:g}")
    return value


def _node(node: ast.AST) -> float:
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        if isinstance(node.value, float) and not math.isfinite(node.value):
            raise ToolError(f"number literal {node.value} is not finite")
        return _bounded(node.value, f"number literal of {len(str(node.value))} digits")
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
        except (OverflowError, ValueError) as exc:
            raise ToolError(f"{left} {type(node.op).__name__} {right}: {exc}") from exc
        return _bounded(value, "result")
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS
            and not node.keywords and node.args):
        args = [_node(a) for a in node.args]
        call = f"{node.func.id}({', '.join(f'{a:g}' for a in args)})"
        try:
            value = _FUNCTIONS[node.func.id](*args)
        except ZeroDivisionError as exc:
            raise ToolError(f"{call}: math domain error (division by zero)") from exc
        except (ValueError, TypeError, OverflowError) as exc:
            raise ToolError(f"{call}: {exc}") from exc
        return _bounded(value, call)
    raise ToolError(f"calculator refuses {ast.dump(node)[:80]}: only numbers, + - * / // % ** and "
                    f"{', '.join(sorted(_FUNCTIONS))} are allowed")
