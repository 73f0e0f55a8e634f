"""Computed answers: a metric question answered from statement line items through the calculator.

Why: a 135M chat model cannot do arithmetic (nor can larger ones reliably). For a question that asks for
a standard metric (ratio, margin, growth, average-based turnover, ...) the analyst finds each input
line item in the chosen filing's statements (agents/analyst/statements.py), evaluates the formula with
the agents' calculator (agents/common/calculator.py, recorded as a tool call) and answers with the
formula, every input with its page, and the result. A missing input is named, never guessed.

A metric is a name, the words that ask for it, its inputs (which statement, which line-item patterns,
which year relative to the filing's fiscal year) and a calculator formula over the inputs' names.
Adding one is one entry in METRICS.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from fincortex.agents.analyst.statements import LineItem, find_line_item
from fincortex.agents.common.calculator import calculate
from fincortex.agents.common.errors import ToolError

INCOME, BALANCE, CASHFLOW = ("income",), ("balance",), ("cashflow",)


@dataclass(frozen=True)
class Input:
    name: str  # the formula's variable
    label: str  # what the answer calls it
    statements: tuple[str, ...]
    patterns: tuple[str, ...]  # regexes on the line item, highest priority first
    year_offset: int = 0  # 0: the filing's fiscal year; -1: the year before
    absolute: bool = False  # capex is printed negative in cash-flow statements
    optional: bool = False  # a line many balance sheets lack (short-term investments): absent counts as 0, said so


def _inp(name: str, label: str, statements: tuple[str, ...], patterns: tuple[str, ...], **kw: Any) -> Input:
    return Input(name, label, statements, patterns, **kw)


REVENUE = (r"^total (net )?revenues?$", r"^sales to customers$", r"^net revenues?$", r"^net operating revenues$", r"^total net sales$",
           r"^net sales$", r"^revenues?$", r"^sales$", r"^total revenues? and other income")
COGS = (r"^cost of (goods|products) sold", r"^cost of sales$", r"^cost of sales\b(?!.*per)", r"^total cost of revenues?$",
        r"^cost of revenues?$")
OPERATING_INCOME = (r"^operating income$", r"^operating profit$", r"^income from operations$", r"^operating income \(loss\)",
                    r"^total operating income")
NET_INCOME = (r"^net (income|earnings) attributable to (?!non)", r"^net (income|earnings)$",
              r"^net (income|earnings) \(loss\)$", r"^consolidated net income$")
TOTAL_ASSETS = (r"^total assets$",)
CURRENT_ASSETS = (r"^total current assets$",)
CURRENT_LIABILITIES = (r"^total current liabilities$",)
PPE = (r"^property,? plant,? and equipment,? (—|-|–)?\s*net", r"^property(,)? and equipment,? net", r"^net property",
       r"^property,? plant and equipment,? net", r"^property, plant and equipment$")
INVENTORY = (r"^(total )?inventor(y|ies)(,? net)?$", r"^merchandise inventories$")
PAYABLES = (r"^accounts payable$", r"^trade accounts payable$", r"^accounts payable and accrued", r"^accounts payable")
CFO = (r"^net cash (provided by|from|generated).*operating activities", r"operating activities.*net cash",
       r"^cash provided by operations", r"^net cash provided by \(used in\) operating")
CAPEX = (r"^capital (spending|expenditures?)$", r"^(purchases?|additions?|acquisitions?) (of|to) property",
         r"^purchases? of (land|buildings|plant|equipment|premises)",
         r"^payments? for (acquisition of )?property", r"^capital (spending|expenditures?)")
DA = (r"^depreciation(,)? (depletion )?and amortization", r"^depreciation, amortization", r"^depreciation$")
CASH = (r"^cash and cash equivalents$", r"^cash and equivalents$", r"^cash$")
SHORT_INVEST = (r"^short-term investments$", r"^marketable securities", r"^short-term investments")
RECEIVABLES = (r"^(accounts|trade) receivables?", r"^receivables?,? net", r"^accounts receivable")
TAX = (r"^provision for income taxes", r"^income tax (expense|provision)", r"^income taxes$")
PRETAX = (r"^income before income taxes", r"^pretax income", r"^income before (provision for )?taxes", r"^(income|earnings) (from continuing operations )?before (provision for )?income taxes")


@dataclass(frozen=True)
class Metric:
    name: str
    asks: str  # regex on the question
    inputs: tuple[Input, ...]
    formula: str  # calculator expression over the inputs' names
    kind: str = "ratio"  # ratio | percent | money | days | times
    decimals: int = 2


METRICS: tuple[Metric, ...] = (
    Metric("days payable outstanding", r"days payable outstanding|\bDPO\b",
           (_inp("ap", "accounts payable", BALANCE, PAYABLES), _inp("ap_prev", "accounts payable", BALANCE, PAYABLES, year_offset=-1),
            _inp("cogs", "cost of goods sold", INCOME, COGS), _inp("inv", "inventory", BALANCE, INVENTORY),
            _inp("inv_prev", "inventory", BALANCE, INVENTORY, year_offset=-1)),
           "365 * ((ap + ap_prev) / 2) / (cogs + (inv - inv_prev))", "days"),
    Metric("inventory turnover", r"inventory turnover|times has .* sold its inventory|sold its inventory",
           (_inp("cogs", "cost of goods sold", INCOME, COGS), _inp("inv", "inventory", BALANCE, INVENTORY),
            _inp("inv_prev", "inventory", BALANCE, INVENTORY, year_offset=-1)),
           "cogs / ((inv + inv_prev) / 2)", "times"),
    Metric("fixed asset turnover", r"fixed asset turnover",
           (_inp("revenue", "revenue", INCOME, REVENUE), _inp("ppe", "net PP&E", BALANCE, PPE),
            _inp("ppe_prev", "net PP&E", BALANCE, PPE, year_offset=-1)),
           "revenue / ((ppe + ppe_prev) / 2)", "times"),
    Metric("return on assets", r"return on assets|\bROA\b",
           (_inp("net_income", "net income", INCOME, NET_INCOME), _inp("assets", "total assets", BALANCE, TOTAL_ASSETS),
            _inp("assets_prev", "total assets", BALANCE, TOTAL_ASSETS, year_offset=-1)),
           "net_income / ((assets + assets_prev) / 2)", "ratio"),
    Metric("operating cash flow ratio", r"operating cash flow ratio",
           (_inp("cfo", "cash from operations", CASHFLOW, CFO), _inp("cl", "total current liabilities", BALANCE, CURRENT_LIABILITIES)),
           "cfo / cl", "ratio"),
    Metric("quick ratio", r"quick ratio|acid[- ]test",
           (_inp("cash", "cash and cash equivalents", BALANCE, CASH), _inp("sti", "short-term investments", BALANCE, SHORT_INVEST, optional=True),
            _inp("receivables", "receivables", BALANCE, RECEIVABLES), _inp("cl", "total current liabilities", BALANCE, CURRENT_LIABILITIES)),
           "(cash + sti + receivables) / cl", "ratio"),
    Metric("working capital ratio", r"working capital ratio|current ratio",
           (_inp("ca", "total current assets", BALANCE, CURRENT_ASSETS), _inp("cl", "total current liabilities", BALANCE, CURRENT_LIABILITIES)),
           "ca / cl", "ratio"),
    Metric("working capital", r"working capital",
           (_inp("ca", "total current assets", BALANCE, CURRENT_ASSETS), _inp("cl", "total current liabilities", BALANCE, CURRENT_LIABILITIES)),
           "ca - cl", "money"),
    Metric("EBITDA less capex", r"EBITDA less capex|EBITDA minus capex",
           (_inp("oi", "operating income", INCOME, OPERATING_INCOME), _inp("da", "depreciation and amortization", CASHFLOW, DA),
            _inp("capex", "capital expenditure", CASHFLOW, CAPEX, absolute=True)),
           "oi + da - capex", "money"),
    Metric("EBITDA margin", r"EBITDA\s*%?\s*margin",
           (_inp("oi", "operating income", INCOME, OPERATING_INCOME), _inp("da", "depreciation and amortization", CASHFLOW, DA),
            _inp("revenue", "revenue", INCOME, REVENUE)),
           "(oi + da) / revenue * 100", "percent", 1),
    Metric("D&A margin", r"(D&A|depreciation and amortization)[^?]*%?\s*margin",
           (_inp("da", "depreciation and amortization", CASHFLOW, DA), _inp("revenue", "revenue", INCOME, REVENUE)),
           "da / revenue * 100", "percent", 1),
    Metric("EBITDA", r"EBITDA",
           (_inp("oi", "operating income", INCOME, OPERATING_INCOME), _inp("da", "depreciation and amortization", CASHFLOW, DA)),
           "oi + da", "money"),
    Metric("free cash flow", r"free cash flow|\bFCF\b",
           (_inp("cfo", "cash from operations", CASHFLOW, CFO), _inp("capex", "capital expenditure", CASHFLOW, CAPEX, absolute=True)),
           "cfo - capex", "money"),
    Metric("capital expenditure", r"capital expenditure|\bcapex\b",
           (_inp("capex", "capital expenditure", CASHFLOW, CAPEX, absolute=True),), "capex", "money"),
    Metric("operating income growth", r"(year-over-year|yoy|y/y).*change.*operating income|operating income.*(year-over-year|growth)",
           (_inp("oi", "operating income", INCOME, OPERATING_INCOME), _inp("oi_prev", "operating income", INCOME, OPERATING_INCOME, year_offset=-1)),
           "(oi - oi_prev) / oi_prev * 100", "percent", 1),
    Metric("revenue growth", r"(year-over-year|yoy|y/y).*change.*(revenue|net sales)|(revenue|sales) growth",
           (_inp("revenue", "revenue", INCOME, REVENUE), _inp("revenue_prev", "revenue", INCOME, REVENUE, year_offset=-1)),
           "(revenue - revenue_prev) / revenue_prev * 100", "percent", 1),
    Metric("gross margin", r"gross (profit )?margin",
           (_inp("revenue", "revenue", INCOME, REVENUE), _inp("cogs", "cost of goods sold", INCOME, COGS)),
           "(revenue - cogs) / revenue * 100", "percent", 1),
    Metric("operating margin", r"operating (profit )?margin",
           (_inp("oi", "operating income", INCOME, OPERATING_INCOME), _inp("revenue", "revenue", INCOME, REVENUE)),
           "oi / revenue * 100", "percent", 1),
    Metric("net profit margin", r"net (profit )?margin",
           (_inp("net_income", "net income", INCOME, NET_INCOME), _inp("revenue", "revenue", INCOME, REVENUE)),
           "net_income / revenue * 100", "percent", 1),
    Metric("effective tax rate", r"effective tax rate",
           (_inp("tax", "provision for income taxes", INCOME, TAX), _inp("pretax", "income before income taxes", INCOME, PRETAX)),
           "tax / pretax * 100", "percent", 1),
)
_DECIMALS = re.compile(r"round(?:ed)?\s+(?:your\s+answer\s+|it\s+)?to\s+(one|two|three|four|\d)\s+decimal", re.IGNORECASE)
_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4}
_UNITS = re.compile(r"\bin\s+(?:units\s+of\s+)?(?:USD\s+|US\$\s*|\$\s*)?(billions|millions|thousands)\b", re.IGNORECASE)


@dataclass
class UsedInput:
    name: str
    label: str
    line_item: str
    period: str | None
    value: float  # as printed
    units: float  # value * scale (absolute when the input says so)
    unit: str
    doc_id: int
    doc_name: str
    page: int
    chunk_id: int | None = None  # the chunk holding that page's table, for the citation


@dataclass
class ComputedAnswer:
    metric: str
    formula: str
    fiscal_year: int | None
    inputs: list[UsedInput] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # 'inventory (2017)' for each input not found
    absent_optional: list[str] = field(default_factory=list)  # optional inputs not in the statements, counted as 0
    expression: str | None = None  # the formula with the figures put in (what the calculator evaluated)
    value: float | None = None  # the calculator's result, rounded as asked
    display: str | None = None  # '16.5%', '$9,068 million', '0.83'

    @property
    def ok(self) -> bool:
        return self.value is not None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def detect_metric(question: str) -> Metric | None:
    """The first metric of METRICS the question asks for (more specific names come first), or None."""
    for metric in METRICS:
        if re.search(metric.asks, question, re.IGNORECASE):
            return metric
    return None


def _unit_scale(question: str, metric: Metric, inputs: Sequence[UsedInput]) -> tuple[float, str]:
    found = _UNITS.search(question)
    if found:
        word = found.group(1).lower()
        return {"billions": 1e9, "millions": 1e6, "thousands": 1e3}[word], f"USD {word}"
    unit = inputs[0].unit if inputs else "USD"
    scale = {"USD billions": 1e9, "USD millions": 1e6, "USD thousands": 1e3}.get(unit, 1.0)
    return scale, unit


def compute_metric(metric: Metric, rows: Sequence[LineItem], fiscal_year: int | None, question: str = "",
                   recorder: Any = None, period_end: str | None = None) -> ComputedAnswer:
    """Find each input, evaluate the formula with the calculator; missing inputs are named, not guessed."""
    result = ComputedAnswer(metric.name, metric.formula, fiscal_year)
    if fiscal_year is None:
        result.missing = [f"{i.label} (no fiscal year: the question names no period and the filing states none)"
                          for i in metric.inputs]
        return result
    money = metric.kind == "money"
    # a 52/53-week year can end in January of the next calendar year (J&J's FY2022 ended 2023-01-01): balance
    # sheets head their columns with the period-end date, income and cash-flow statements with the fiscal year
    shift = int(period_end[:4]) - fiscal_year if period_end and period_end[:4].isdigit() else 0
    for spec in metric.inputs:
        period = str(fiscal_year + spec.year_offset)
        row = None
        if shift and "balance" in spec.statements:
            row = find_line_item(rows, spec.patterns, str(fiscal_year + spec.year_offset + shift), spec.statements)
        row = row or find_line_item(rows, spec.patterns, period, spec.statements)
        if row is None and spec.optional:
            result.absent_optional.append(f"{spec.label} ({period})")
            result.inputs.append(UsedInput(spec.name, spec.label, "(not in the statements: counted as 0)", period,
                                           0.0, 0.0, "", 0, "", 0))
            continue
        if row is None:
            result.missing.append(f"{spec.label} ({period})")
            continue
        units = row.value * row.scale
        result.inputs.append(UsedInput(spec.name, spec.label, row.line_item, row.period, row.value,
                                       abs(units) if spec.absolute else units, row.unit, row.doc_id, row.doc_name,
                                       row.page))
    if result.missing:
        return result
    scale, unit = _unit_scale(question, metric, [u for u in result.inputs if u.unit]) if money else (1.0, "")
    values = {u.name: u.units / scale if money else u.units for u in result.inputs}
    expression = metric.formula
    for name in sorted(values, key=len, reverse=True):
        expression = re.sub(rf"\b{re.escape(name)}\b", f"({values[name]:.6g})" if abs(values[name]) < 1e15 else repr(values[name]), expression)
    decimals = metric.decimals
    asked = _DECIMALS.search(question)
    if asked:
        decimals = _WORDS.get(asked.group(1).lower()) or int(asked.group(1))
    try:
        value = calculate(f"round({expression}, {decimals})", recorder)
    except ToolError as exc:
        result.missing.append(f"a computable formula ({exc})")
        return result
    result.expression, result.value = expression, value
    if metric.kind == "percent":
        result.display = f"{value:.{decimals}f}%"
    elif money:
        result.display = f"${value:,.{decimals}f} {unit.replace('USD ', '')}".strip()
    elif metric.kind == "days":
        result.display = f"{value:.{decimals}f} days"
    else:
        result.display = f"{value:.{decimals}f}"
    return result
