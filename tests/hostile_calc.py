"""A hostile calculator corpus: (expression, expected value or None for "must be refused").

An entry is *contained* when the calculator returns the expected value, or raises ToolError where None is
expected, within `MAX_SECONDS`; any other exception type, a wrong value or a slow answer is a failure.
Used by tests/test_reliability_calc.py and benchmarks/reliability.py (which also runs the d35fc97 version).
"""

from __future__ import annotations

import time

MAX_SECONDS = 1.0
CORPUS: list[tuple[str, float | None]] = [
    # the probes
    ("round(1, -10**8)", None), ("1" + "0" * 400, None), ("log(10, 1)", None), ("5 % 3", 2.0), ("5%", 0.05),
    # percent vs modulo
    ("12.5%", 0.125), ("12.5% * 200", 25.0), ("(5% + 1)", 1.05), ("50% - 20%", 0.3), ("10 % 4 + 1", 3.0),
    ("10 %(3)", 1.0), ("7.5 % 2", 1.5), ("1,234 % 1,000", 234.0), ("100 * 3%", 3.0),
    # bounded rounding
    ("round(2.345, 2)", 2.35), ("round(1234.5, -2)", 1200.0), ("round(1, 10**8)", None), ("round(1, 0.5)", None),
    ("round(1e300, -300)", None), ("round(1, 101)", None),
    # huge literals, overflow, magnitude
    ("1e400", None), ("-" + "9" * 120, None), ("9 ** 9 ** 9", None), ("10 ** 10 ** 10", None), ("(10 ** 50) ** 3", None),
    ("999999 ** 100", None), ("exp(1000)", None), ("exp(1e10)", None), ("1e308 * 10", None), ("2 ** 1000", None),
    ("10 ** 100 * 10 ** 100", None), ("(2 ** 100) * 3", float(2 ** 100 * 3)),
    # math domain errors
    ("log(0)", None), ("log(-1)", None), ("log10(0)", None), ("sqrt(-1)", None), ("log(1, 1)", None),
    ("log(2, 0)", None), ("(-1) ** 0.5", None), ("(-8) ** (1/3)", None), ("1 / 0", None), ("1 // 0", None),
    ("1 % 0", None), ("0 ** -1", None), ("ln(0)", None),
    # wrong arity / types
    ("max()", None), ("min(1)", None), ("abs(1, 2)", None), ("sqrt()", None), ("round()", None), ("1j", None),
    ("True + 1", None), ("None", None), ("...", None),
    # code, not arithmetic
    ("__import__('os').system('echo pwned')", None), ("open('/etc/passwd').read()", None), ("(1).__class__", None),
    ("().__class__.__bases__[0].__subclasses__()", None), ("'a' * 3", None), ("[1] * 10 ** 9", None),
    ("lambda: 1", None), ("(x := 1)", None), ("f'{1}'", None), ("eval('1')", None), ("exec('1')", None),
    ("x + 1", None), ("pi.real", None), ("abs.__call__(1)", None), ("{1: 2}", None), ("1 if 1 else 2", None),
    ("1 < 2", None), ("not 1", None), ("~1", None), ("1 << 10000", None), ("1 & 1", None),
    # parser stress
    ("(" * 200 + "1" + ")" * 200, 1.0), ("-" * 400 + "1", 1.0), ("1 +" * 150 + " 1", 151.0), ("", None),
    ("   ", None), ("1" * 501, None), ("1 +", None), ("(1", None), ("1,2", None),
    # ordinary arithmetic still works
    ("1 + 2 * 3", 7.0), ("(120 - 100) / 100", 0.2), ("2 ** 10", 1024.0), ("sqrt(16) + abs(-2)", 6.0),
    ("max(1, 5, 3)", 5.0), ("-3 // 2", -2.0), ("log(100, 10)", 2.0), ("pi * 2", 6.283185307179586),
    ("1,234,567 / 1,000", 1234.567), ("0x10", 16.0), ("1_000 + 1", 1001.0),
]


def judge(calculate, tool_error: type, expression: str, expected: float | None) -> dict:
    started = time.perf_counter()
    outcome, value, problem = "value", None, None
    try:
        value = calculate(expression)
    except tool_error as exc:
        outcome, problem = "refused", str(exc)
    except Exception as exc:  # noqa: BLE001 - any other exception type is a failure of the tool
        outcome, problem = "crashed", f"{type(exc).__name__}: {exc}"
    seconds = time.perf_counter() - started
    if outcome == "crashed":
        ok = False
    elif expected is None:
        ok = outcome == "refused"
    else:
        ok = outcome == "value" and abs(value - expected) <= 1e-9 * max(1.0, abs(expected))
    ok = ok and seconds <= MAX_SECONDS
    return {"expression": expression[:80], "expected": expected, "outcome": outcome, "value": value,
            "problem": (problem or "")[:160], "seconds": round(seconds, 4), "contained": ok}
