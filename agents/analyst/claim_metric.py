"""Verify a claim by computing: the metric it names, from the filing's statement rows, point-in-time.

Why: most FinanceBench-style claims state a computed metric (a margin, a turnover over averaged
balances, DPO from five line items, EBITDA from two statements). Matching such a figure against the
numbers of retrieved passages cannot reach it (one step of arithmetic) and, worse, sees "another
number" everywhere. The analyst already computes these metrics from `statement_rows`
(agents/analyst/metrics.py `detect_metric` / `compute_metric`, scope from agents/analyst/scope.py);
here the same computation is held against the claim's figure:

- which figure: the figures written after the metric's name in the claim, of the metric's kind (a
  percentage for a margin; a bare number, or a percentage, for a ratio; an amount for money); each takes
  the year written right after it ("1.82% in 2022"), else the claim's latest year, else the filing's
  fiscal year; when none carries its own year only the first is taken (the others are other facts);
  a figure right after a change word ("decreased by 1.7%") is the change of the metric from the year
  before (percentage points for a percent metric, a growth rate in % for the others);
- which period: the inputs are read for that fiscal year from the scoped filings (a 10-K also prints the
  year before, so a claim about FY2021 is checked against FY2021's columns of the FY2022 filing);
- compare: the claim's figure against the unrounded result, within the claim's own rounding (half its
  last written digit) or the relative tolerance (VerifyConfig.rel_tol, approx_tol for a hedged figure:
  "approximately 0.54"), whichever is larger (signs ignored, as in
  claim_compare: an outflow may be written either way);
- equal: status 'computed' (the formula and each input cited with its page); different: 'contradicted'
  (the computed value and its inputs said); an input missing: no check, a note naming the input, and
  the figure goes to the passage checks (claim_compare.py).

Statement rows are read with as_of = the verification's bound (statements.read_statement_rows filters
by available_at), and the read is recorded as a tool call with the chunks cited, so `agent-audit`
re-checks it like a search.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fincortex.agents.analyst.claim_compare import FigureCheck
from fincortex.agents.analyst.claim_parse import (
    UNIT_HINT,
    Figure,
    ParsedText,
    parse_claim,
)
from fincortex.agents.analyst.metrics import (
    METRICS,
    ComputedAnswer,
    Metric,
    UsedInput,
    compute_metric,
    detect_metric,
)
from fincortex.agents.analyst.scope import FilingRef, QuestionScope
from fincortex.agents.analyst.statement_pages import page_chunks
from fincortex.agents.analyst.statements import LineItem, read_statement_rows
from fincortex.agents.common.calculator import calculate
from fincortex.agents.common.errors import ToolError
from fincortex.agents.common.runs import SeenChunk

CHANGE = re.compile(r"\b(?:by|change[ds]?|increased?|decreased?|declined?|dropped|fell|rose|grew|improved|"
                    r"expanded|contracted|up|down)\s*(?:of\s*|by\s*)?[-$(\s]*$", re.IGNORECASE)
YEAR_AFTER = re.compile(r"[^.;\n\d]{0,12}?\b(?:in|for|of|during|at)?\s*(?:FY\s?'?|fiscal\s+(?:year\s+)?)?"
                        r"((?:19|20)\d{2})\b", re.IGNORECASE)


# how claims write a growth metric that metrics.py's question patterns do not catch ("sales grew by 1.3%"):
# metric name -> a pattern on the claim, tried after the metric's own
ALIASES = {
    "revenue growth": r"\b(?:revenues?|net sales|sales)\s+(?:grew|increased|rose|declined|decreased|fell|dropped)\b",
    "operating income growth": r"\boperating income\s+(?:grew|increased|rose|declined|decreased|fell|dropped)\b",
}


def _mention(metric: Metric, text: str) -> re.Match | None:
    """Where the text names the metric: its question pattern, else its claim alias."""
    found = re.search(metric.asks, text, re.IGNORECASE)
    if found is None and metric.name in ALIASES:
        found = re.search(ALIASES[metric.name], text, re.IGNORECASE)
    return found


@dataclass(frozen=True)
class Bound:
    """A claim figure tied to the metric: which fiscal year it speaks about, and whether it is a change."""

    figure: Figure
    year: int | None
    change: bool


@dataclass
class MetricVerdict:
    """What the computation said about the claim: the checks of its bound figures (their claim offsets
    are `checked`, so the passage checks skip them), the citations of the inputs and notes."""

    metric: str
    checks: list[FigureCheck]
    checked: set[int]  # Figure.start of each figure the computation decided
    citations: list[dict]
    notes: list[str]


def compatible(metric: Metric, f: Figure) -> bool:
    """Whether a claim figure can be this metric's value (a margin is a percentage, money an amount...)."""
    if metric.kind == "percent":
        return f.percent
    if metric.kind == "money":
        return not f.percent
    if metric.kind == "ratio":
        return True  # 0.12 or 12%
    return not f.percent  # times, days


def claim_metrics(claim: str) -> list[Metric]:
    """The metrics the claim names, in the order it names them (metrics.detect_metric takes the first of
    METRICS that matches anywhere, so "operating margin ... decrease in gross margin" would be a
    gross-margin claim); at the same position, METRICS' order (the more specific name first: "EBITDA
    margin" before "EBITDA")."""
    if detect_metric(claim) is None and not any(re.search(a, claim, re.IGNORECASE) for a in ALIASES.values()):
        return []
    found = [(m.start(), i, metric) for i, metric in enumerate(METRICS) for m in [_mention(metric, claim)] if m]
    return [metric for _start, _i, metric in sorted(found, key=lambda t: (t[0], t[1]))]


def claim_metric(claim: str) -> tuple[Metric, list[Bound]] | None:
    """The first metric the claim names that a figure of the claim states, with those figures ("managing
    its CAPEX ... Return on Assets = 12.4%": capex has no amount after it, ROA has 12.4%)."""
    for metric in claim_metrics(claim):
        figures = bind_figures(claim, metric)
        if figures:
            return metric, figures
    return None


def bind_figures(claim: str, metric: Metric) -> list[Bound]:
    """The claim figures that state the metric (see the module doc). Offsets are those of parse_claim's
    body (the claim with its unit hint blanked), so they match ParsedText.figures."""
    body = UNIT_HINT.sub(" ", claim)
    mention = _mention(metric, body)
    if mention is None:
        return []
    # parse_claim's figures: a unit hint ("in USD billions") scales the bare amounts as the writer meant them
    figures = [f for f in parse_claim(claim).figures if f.start >= mention.end() and compatible(metric, f)]
    bound = []
    for f in figures:
        tail = body[f.start + len(f.text.lstrip("-\u2212($ ")):][:40]
        year = YEAR_AFTER.match(tail)
        if year and re.search(r"\b(?:from|since|compared|versus|vs)\b", tail[:year.start(1)], re.IGNORECASE):
            year = None  # "by 3% from FY2021": the base year, not the figure's
        head = body[max(mention.start(), f.start - 30):f.start]
        change = bool(CHANGE.search(head)) and not metric.name.endswith("growth")  # a growth rate is a change
        bound.append(Bound(f, int(year.group(1)) if year else None, change))
    with_year = [b for b in bound if b.year is not None]
    return with_year or bound[:1]


def _evaluate(metric: Metric, inputs: list[UsedInput], recorder: Any) -> tuple[float, str]:
    """The formula over the inputs in units (USD for amounts), unrounded, through the calculator."""
    expression = metric.formula
    values = {u.name: u.units for u in inputs}
    for name in sorted(values, key=len, reverse=True):
        expression = re.sub(rf"\b{re.escape(name)}\b", f"({values[name]!r})", expression)
    return calculate(expression, recorder), expression


def choose_filing(scope: QuestionScope, filings: list[FilingRef], year: int) -> FilingRef | None:
    """The one scoped filing a fiscal year is read from: the filing of that year, else the nearest later
    one (a 10-K prints the year before as its comparative column), else None. One filing, so a figure
    is never built from inputs of two filings."""
    mine = [f for f in filings if f.doc_id in set(scope.doc_ids) and f.fiscal_year is not None]
    same = [f for f in mine if f.fiscal_year == year]
    later = sorted((f for f in mine if f.fiscal_year > year), key=lambda f: f.fiscal_year)
    pick = same or later
    annual = [f for f in pick if f.form_type == "10-K" and f.fiscal_year == pick[0].fiscal_year] if pick else []
    return (annual or pick or [None])[0]


def _period_end(filing: FilingRef, year: int) -> str | None:
    """The period end of fiscal year `year` as the filing's calendar shift says (a 52/53-week year ending
    in January: J&J's FY2022 ends 2023-01-01, so its FY2021 ends in January 2022)."""
    end = filing.period_end
    if not end or filing.fiscal_year is None or not end[:4].isdigit():
        return None
    return f"{year + int(end[:4]) - filing.fiscal_year}{end[4:]}"


def _value(metric: Metric, rows: list[LineItem], year: int, claim: str, filing: FilingRef,
           recorder: Any) -> tuple[float | None, ComputedAnswer, str | None]:
    """The metric for fiscal year `year` from one filing's rows: (unrounded value or None, the computed
    answer with its inputs and missing inputs, the expression evaluated)."""
    rows = [r for r in rows if r.doc_id == filing.doc_id]
    end = _period_end(filing, year)
    if end and filing.period_end and not any(r.statement == "balance" and r.period == filing.period_end[:4] for r in rows):
        # the balance sheet heads its columns with fiscal years, not with the period end's calendar year
        # (J&J's FY2022 10-K as read: 2022 / 2021): reading by period end would take FY2022 for FY2021
        end = None
    result = compute_metric(metric, rows, year, claim, recorder, period_end=end)
    if result.missing:
        return None, result, None
    try:
        value, expression = _evaluate(metric, result.inputs, recorder)
    except ToolError as exc:
        result.missing.append(f"a computable formula ({exc})")
        return None, result, None
    return value, result, expression


def _target(metric: Metric, f: Figure, inputs: list[UsedInput], change: bool) -> tuple[float, float, str]:
    """The claim figure in the computed value's terms, its rounding tolerance, and how to write the value."""
    half = 0.5 * 10.0 ** (-f.decimals)
    if change and (metric.kind == "percent" or f.percent):
        return f.value, half, "%"
    if metric.kind == "ratio" and f.percent:
        return f.value / 100, half / 100, "ratio"
    if metric.kind == "money":
        scale = f.scale if (f.explicit_scale or f.scale != 1.0) else _input_scale(inputs)
        return f.value * scale, half * scale, "money"
    return f.value, half, "%" if metric.kind == "percent" else metric.kind


def _input_scale(inputs: list[UsedInput]) -> float:
    """The scale the statements print amounts in (a bare '3215' in a claim means what the table means)."""
    for u in inputs:
        if u.value:
            return abs(u.units / u.value) if u.units else 1.0
    return 1.0


def _show(value: float, how: str) -> str:
    if how == "%":
        return f"{value:.2f}%"
    if how == "money":
        return f"${value / 1e6:,.1f} million"
    return f"{value:.4f}".rstrip("0").rstrip(".")


def check_metric(claim: str, parsed: ParsedText, scope: QuestionScope | None, filings: list[FilingRef], store: Any,
                 bound: datetime, rel_tol: Callable[[Figure], float], recorder: Any = None) -> MetricVerdict | None:
    """The computed-metric checks of a claim, or None when the claim names no known metric, does not name
    exactly one company with filings available by `bound`, or has no figure of the metric's kind.
    `filings`: scope.load_filings(store, bound), the filings public by the bound; `rel_tol`: the relative
    tolerance of a claim figure (wider for a hedged one, "approximately 0.54")."""
    if scope is None or not scope.active or store is None:
        return None
    named = claim_metric(claim)
    if named is None:
        return None
    metric, figures = named
    if len(scope.companies) != 1:
        return MetricVerdict(metric.name, [], set(), [], [(
            f"{metric.name}: the claim names {len(scope.companies)} companies ({', '.join(scope.companies)}); "
            "not computed, the figures go to the passage checks")])
    rows = read_statement_rows(store, scope.doc_ids, as_of=bound)
    checks: list[FigureCheck] = []
    checked: set[int] = set()
    cites: list[dict] = []
    notes: list[str] = []
    default_year = max(parsed.years) if parsed.years else scope.fiscal_year
    for b in figures:
        year = b.year or default_year
        filing = choose_filing(scope, filings, year) if year is not None else None
        if year is None or filing is None:
            notes.append(f"{metric.name}" + (f" FY{year}" if year else "") + ": no filing of "
                         f"{scope.companies[0]} available by {bound:%Y-%m-%d} reports that year; not computed, the "
                         f"figure {b.figure.text} goes to the passage checks")
            continue
        value, result, expression = _value(metric, rows, year, claim, filing, recorder)
        used = list(result.inputs)
        label = f"FY{year} {metric.name}"
        if value is not None and b.change:
            label = f"FY{year - 1}→FY{year} " + ("change (percentage points)" if metric.kind == "percent" else "growth")
            label += f" of {metric.name}"
            before, prior, _prior_expression = _value(metric, rows, year - 1, claim, filing, recorder)
            used += prior.inputs
            if before is None or (metric.kind != "percent" and before == 0):
                value, result = None, prior
            elif metric.kind == "percent":
                value = value - before
            else:
                value = (value - before) / abs(before) * 100
        if value is None:
            missing = "; ".join(result.missing) or "an input"
            notes.append(f"{label} not computed from {filing.doc_name}: {missing} not in its statement rows "
                         f"available by {bound:%Y-%m-%d}; the figure {b.figure.text} goes to the passage checks")
            continue
        target, tol, how = _target(metric, b.figure, used, b.change)
        equal = abs(abs(target) - abs(value)) <= max(tol, rel_tol(b.figure) * abs(target), 1e-12)
        evidence = input_citations(store, used, bound)
        inputs_text = "; ".join(f"{u.name} = {u.line_item} {u.period} = {u.value:,.2f} ({u.doc_name} p. {u.page})"
                                if u.page else f"{u.name} = {u.label} {u.period}: not in the statements, counted as 0"
                                for u in used)
        evaluated = f" = {expression}" if not b.change else ""
        detail = (f"{label} computed from {filing.doc_name}'s statements, {metric.name} = {metric.formula}{evaluated}: "
                  f"{_show(value, how)}" + ("" if equal else f", not {b.figure.text}") + f" (inputs: {inputs_text})")
        checks.append(FigureCheck(b.figure.text, "computed" if equal else "contradicted", detail, evidence,
                                  rule="computed metric equal" if equal else "computed metric differs"))
        checked.add(b.figure.start)
        cites += evidence
        if recorder is not None:
            recorder.tool_call("statements", {"metric": metric.name, "fiscal_year": year, "doc_id": filing.doc_id},
                               as_of=bound, summary=f"{len(used)} inputs, {_show(value, how)}",
                               chunks=[SeenChunk(c["chunk_id"], i + 1, None, datetime.fromisoformat(c["available_at"]), {})
                                       for i, c in enumerate(evidence)])
    return MetricVerdict(metric.name, checks, checked, cites, notes)


def input_citations(store: Any, inputs: list[UsedInput], as_of: datetime) -> list[dict]:
    """For each input with a page: the chunk of that page that prints it (statement_pages.page_chunks: a
    table chunk holding the line item first), available by as_of, as a verification citation."""
    wanted = [(u.doc_id, u.page, u.line_item) for u in inputs if u.page]  # no page: an optional input the statements lack
    chunks = page_chunks(store, wanted, as_of)
    out: dict[int, dict] = {}
    for key in wanted:
        c = chunks.get(key)
        if c is not None:
            out.setdefault(c["chunk_id"], {"chunk_id": c["chunk_id"], "doc_id": c["doc_id"], "document": c["title"],
                                           "ticker": c["ticker"], "page": key[1], "available_at": c["available_at"]})
    return list(out.values())
