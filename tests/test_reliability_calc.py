"""The calculator against a hostile corpus (tests/hostile_calc.py): every entry answers right or is refused
with a ToolError, quickly; never a bare Python exception or an unbounded computation."""

from __future__ import annotations

import pytest
from hostile_calc import CORPUS, judge

from fincortex.agents.common.tools import ToolError, calculate


@pytest.mark.parametrize("expression, expected", CORPUS, ids=[e[:40] for e, _ in CORPUS])
def test_hostile_calculator_corpus(expression, expected):
    verdict = judge(calculate, ToolError, expression, expected)
    assert verdict["contained"], verdict


def test_percent_and_modulo_are_told_apart():
    assert calculate("5 % 3") == 2.0 and calculate("5%") == 0.05 and calculate("200 * 5% + 7 % 4") == 13.0


def test_errors_name_the_problem():
    with pytest.raises(ToolError, match="ndigits"):
        calculate("round(1, -10**8)")
    with pytest.raises(ToolError, match="magnitude"):
        calculate("1" + "0" * 400)
    with pytest.raises(ToolError, match=r"log\(10, 1\).*domain"):
        calculate("log(10, 1)")
