"""A claim's figures held against the figures of its evidence: equal (within tolerance, after scale), or
equal to one step of arithmetic on two line items (a ratio, a margin, a growth rate, a difference, a sum,
an average of two years), contradicted by the same line item, or not found.

Why only one step: deeper searches over every number of a page match anything by chance, so the
refutations would vanish. Metrics that need more (turnover over averaged balances, DPO, EBITDA) are
computed from the statement rows first (claim_metric.py); what reaches these checks is the rest.
Arithmetic runs in Python on parsed values (never in the chat model).

Why contradiction needs the same line item: measured on the FinanceBench dev claims, "any relevant row of
the claimed period with another value contradicts" and "the line items are there but give no one-step
ratio" refuted 23 of 46 true claims (their answers need deeper arithmetic or another line item). A
figure is now contradicted only when a row whose label is the claim's line item (same_line_item:
shares two or more of the claim's own words, or its only word, and at least half of its words are the
claim's) gives the claimed period another value within a factor of 10, or a row of that line item gives
the claimed value to another period only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import permutations

from fincortex.agents.analyst.claim_evidence import Passage, Row
from fincortex.agents.analyst.claim_parse import Figure


@dataclass
class Input:
    """One evidence value that may enter arithmetic: a row's figure for the claimed period."""

    label: str
    figure: Figure
    year: int | None
    passage: Passage
    overlap: int

    @property
    def amount(self) -> float:
        return self.figure.amount


@dataclass
class FigureCheck:
    claim_figure: str
    status: str  # computed | matched | derived | contradicted | unmatched
    detail: str
    evidence: list[dict] = field(default_factory=list)  # citations of the evidence values used
    rule: str = ""  # which rule decided (the benchmark counts each rule's hits on true and false claims)

    def as_dict(self) -> dict:
        return {"claim_figure": self.claim_figure, "status": self.status, "detail": self.detail,
                "evidence": self.evidence, "rule": self.rule}


def _close(claim: float, value: float, tol_abs: float, rel_tol: float) -> bool:
    return abs(abs(claim) - abs(value)) <= max(tol_abs, rel_tol * abs(claim), 1e-12)


def _candidates(claim: Figure, evidence: Figure) -> list[float]:
    """The evidence value in the claim's terms: percent with percent; scaled amounts when both carry a
    scale, the written number when the claim has none (a bare '0.83' or '1577' is read as written)."""
    if claim.percent != evidence.percent:
        return []
    if claim.percent:
        return [evidence.value]
    if claim.scale != 1.0 or claim.explicit_scale:
        return [evidence.amount] + ([evidence.value] if evidence.scale == 1.0 and not evidence.explicit_scale else [])
    return [evidence.value] + ([evidence.amount] if evidence.explicit_scale else [])


def _comparable(claimed: float, values: list[float]) -> bool:
    """Whether an evidence value can be another value of the claimed line item: of the same kind (percent
    with percent) and within a factor of 10 of the claimed value. Why: a row's label can share the
    claim's words while its number is something else (a count, a page, a note number in prose); the
    perturbed and the true values of the same line item differ by far less than that."""
    return any(v and claimed and 0.1 <= abs(v) / abs(claimed) <= 10 for v in values)


def _fmt(x: float) -> str:
    return f"{x:,.4f}".rstrip("0").rstrip(".") if abs(x) < 1000 else f"{x:,.0f}"


def _where(p: Passage) -> str:
    return f"{p.title or 'doc ' + str(p.doc_id)}" + (f" p. {p.page}" if p.page else "") + f" (chunk {p.chunk_id})"


def period_ok(year: int | None, claim_years: list[int]) -> bool:
    return year is None or not claim_years or year in claim_years


# the line items a metric word is computed from (a margin divides by sales, a turnover by assets or
# inventory, ...): domain knowledge the claim leaves implicit, so those rows may enter the arithmetic
IMPLIED = {
    "margin": {"sale", "revenue"}, "turnover": {"sale", "revenue", "cost", "asset", "inventory"},
    "roa": {"net", "income", "asset"}, "return": {"net", "income", "asset", "equity"},
    "ebitda": {"operating", "income", "depreciation", "amortization"},
    "capex": {"capital", "expenditure", "property", "plant", "equipment"},
    "liquidity": {"current", "asset", "liabilitie"}, "quick": {"current", "asset", "liabilitie", "cash"},
    "working": {"current", "asset", "liabilitie"}, "growth": {"sale", "revenue"}, "grew": {"sale", "revenue"},
    "payout": {"dividend", "net", "income"}, "leverage": {"debt", "equity", "asset"},
}


def expand(claim_terms: frozenset[str]) -> frozenset[str]:
    extra = set()
    for word in claim_terms:
        extra |= IMPLIED.get(word, set())
    return claim_terms | extra


def relevant_rows(passages: list[Passage], claim_terms: frozenset[str], max_rows: int) -> list[tuple[int, Row, Passage]]:
    """Rows whose label shares words with the claim (or with the line items its metric implies), most
    shared first (ties: the better-ranked passage)."""
    claim_terms = expand(claim_terms)
    scored = []
    for rank, p in enumerate(passages):
        for row in p.rows:
            overlap = len(row.label_terms & claim_terms)
            if overlap:
                scored.append((overlap, -rank, row, p))
    scored.sort(key=lambda t: (t[0], t[1]), reverse=True)
    return [(o, r, p) for o, _neg, r, p in scored[:max_rows]]


def inputs_for(rows: list[tuple[int, Row, Passage]], claim_years: list[int]) -> list[Input]:
    """Each relevant row's value for the latest claimed year (its first value when the row has no year),
    its values for the other claimed years (growth between two named years), and the average of the
    latest claimed year and the one before when the row carries both (averaged balances)."""
    out: list[Input] = []
    target = max(claim_years) if claim_years else None
    for overlap, row, p in rows:
        by_year = {y: f for f, y in zip(row.figures, row.years) if y is not None and not f.percent}
        if target is not None and target in by_year:
            out.append(Input(row.label, by_year[target], target, p, overlap))
            for other in sorted(set(claim_years) - {target}):
                if other in by_year:
                    out.append(Input(f"{row.label} ({other})", by_year[other], other, p, overlap))
            prior = by_year.get(target - 1)
            if prior is not None:
                mean = by_year[target]
                avg = Figure(f"avg({mean.text}, {prior.text})", (mean.value + prior.value) / 2, mean.scale, False,
                             max(mean.decimals, prior.decimals), mean.start, mean.explicit_scale)
                out.append(Input(f"average {row.label}", avg, target, p, overlap))
        elif not by_year and row.figures and not row.figures[0].percent:
            out.append(Input(row.label, row.figures[0], None, p, overlap))
    return out


def same_line_item(row: Row, claim_terms: frozenset[str]) -> bool:
    """Whether a row is the line item the claim speaks about: its label shares two or more of the claim's
    own words (or its only word), and at least half of the label's words are the claim's. Implied words
    (IMPLIED) do not count: a margin claim's sales row is an input, not the same line item."""
    shared = len(row.label_terms & claim_terms)
    if not row.label_terms or not shared:
        return False
    return (shared >= 2 or len(row.label_terms) == 1) and shared / len(row.label_terms) >= 0.5


def check_figure(claim: Figure, claim_years: list[int], passages: list[Passage], inputs: list[Input],
                 rows: list[tuple[int, Row, Passage]], rel_tol: float,
                 claim_terms: frozenset[str] = frozenset()) -> FigureCheck:
    """matched, derived, contradicted or unmatched (see the module doc). Contradicted only on evidence
    about the same line item: its row gives the claimed period another value, or gives the claimed value
    to another period only. Another row with another number is not a contradiction (a true claim whose
    figure needs deeper arithmetic meets many rows with other numbers)."""
    tol = claim.half_unit
    value = claim.amount if claim.explicit_scale else claim.value
    # 1. written in a relevant row for the claimed period
    wrong_period: tuple[Figure, int, Passage, Row] | None = None
    for overlap, row, p in rows:
        for f, year in zip(row.figures, row.years):
            if any(_close(value, v, tol, rel_tol) for v in _candidates(claim, f)):
                if period_ok(year, claim_years):
                    return FigureCheck(claim.text, "matched",
                                       f"{_where(p)} reports {f.text} for “{row.label[-60:]}”"
                                       + (f" ({year})" if year else ""), [p.cite()], rule="written")
                if wrong_period is None and same_line_item(row, claim_terms):
                    wrong_period = (f, year, p, row)
    # 2. one step of arithmetic on two inputs of the claimed period
    derived = _derive(claim, inputs, rel_tol)
    if derived is not None:
        formula, used = derived
        return FigureCheck(claim.text, "derived", formula, [i.passage.cite() for i in used], rule="one-step arithmetic")
    if wrong_period is not None:
        f, year, p, row = wrong_period
        return FigureCheck(claim.text, "contradicted",
                           f"{_where(p)} gives {f.text} for “{row.label[-60:]}” in {year}, not in "
                           f"{', '.join(map(str, claim_years))}", [p.cite()], rule="claimed value, other period")
    # 3. the same line item, for the claimed period, with another value of the same kind (table rows and
    # prose alike: requiring a year-header column lost 3 of the dev refutations and won none)
    if claim_years:
        for overlap, row, p in rows:
            if not same_line_item(row, claim_terms):
                continue
            for f, year in zip(row.figures, row.years):
                if year in claim_years and _comparable(value, _candidates(claim, f)):
                    return FigureCheck(claim.text, "contradicted",
                                       f"{_where(p)} gives {f.text} for “{row.label[-60:]}” ({year}), not {claim.text}",
                                       [p.cite()], rule="same line item, other value")
    return FigureCheck(claim.text, "unmatched", "no row of the evidence about the same line item states it or "
                       "another value for the claimed period, and no ratio, margin, growth rate, difference or sum "
                       "of two of its line items equals it", rule="unmatched")


def _derive(claim: Figure, inputs: list[Input], rel_tol: float) -> tuple[str, list[Input]] | None:
    target = claim.value if claim.percent or claim.scale == 1.0 else claim.amount
    tol = claim.half_unit if not claim.percent else 0.5 * 10.0 ** (-claim.decimals)
    for a, b in permutations(inputs[:12], 2):
        if a.label == b.label or a.amount == 0 or b.amount == 0:
            continue
        ops = []
        if claim.percent:
            ops += [(a.amount / b.amount * 100, f"{a.label} / {b.label} × 100"),
                    ((a.amount - b.amount) / abs(b.amount) * 100, f"({a.label} − {b.label}) / {b.label} × 100")]
        elif claim.scale == 1.0 and not claim.explicit_scale and abs(target) < 1000:
            ops += [(a.amount / b.amount, f"{a.label} / {b.label}")]
        else:  # amounts when the claim names a scale, the written numbers when it names none
            x, y = (a.amount, b.amount) if claim.explicit_scale else (a.figure.value, b.figure.value)
            ops += [(x - y, f"{a.label} − {b.label}"), (x + y, f"{a.label} + {b.label}")]
        for value, formula in ops:
            if _close(target, value, tol, rel_tol):
                detail = (f"{formula} = {_fmt(value)} from {a.figure.text} ({_where(a.passage)}) and "
                          f"{b.figure.text} ({_where(b.passage)})")
                return detail, [a, b]
    return None
