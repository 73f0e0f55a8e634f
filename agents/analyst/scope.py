"""Which filings a question (or a claim) is about: company and fiscal period read from its text.

Why: with every filing in one shared store, the wrong document is FinanceBench's main failure. The
filings carry company, ticker, registrant, form type and fiscal period as document metadata
(`documents.meta.filing`, written at ingest by fincortex/ingest/filing_meta.py); this module matches a
question against them and returns the document ids to search, or none when the question names no
company (then everything is searched).

Matching, deterministic and model-free:
- company: the question squashed to letters and digits contains the company key ('AMERICANEXPRESS') or
  the registrant's name without its legal suffix; or a word of the question is the ticker ('JPM', 'JnJ'
  -> JNJ) or the registrant's short form made of the first two letters of its words ('AMEX');
- period: the years the question names ('FY2022', 'FY 2021', '2021 Q1', 'May 26, 2023') and a quarter
  ('Q2', 'second fiscal quarter'); among the company's filings, the one of the latest named year that
  has a filing is chosen (comparisons 'from FY2015 to FY2016' are answered from the later filing, which
  carries both years), a quarterly report when a quarter is named, an annual report before other forms.
Used by the analyst and by claim verification (`parse_scope` on a claim's text).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

_SUFFIXES = {"INC", "INCORPORATED", "CORPORATION", "CORP", "COMPANY", "CO", "THE", "LTD", "PLC", "LLC",
             "HOLDINGS", "GROUP", "INTERNATIONAL", "SYSTEMS", "COMMUNICATIONS"}
_YEAR = re.compile(r"(?<!\d)(?:FY\s?'?|fiscal\s+(?:year\s+)?)?((?:19|20)\d{2})(?!\d)", re.IGNORECASE)
_QUARTER = re.compile(r"\bQ([1-4])\b|\b(first|second|third|fourth)\s+(?:fiscal\s+)?quarter\b", re.IGNORECASE)
_ORDINAL = {"first": 1, "second": 2, "third": 3, "fourth": 4}
_FORM = re.compile(r"\b(10-?K|10-?Q|8-?K)\b", re.IGNORECASE)


@dataclass(frozen=True)
class FilingRef:
    """One ingested filing as the question matcher sees it (from documents + documents.meta.filing)."""

    doc_id: int
    doc_name: str  # the document title: the PDF's file stem
    company: str
    registrant: str | None
    ticker: str | None
    form_type: str | None
    fiscal_year: int | None
    fiscal_quarter: int | None
    period_end: str | None
    available_at: datetime | None = None


@dataclass(frozen=True)
class QuestionScope:
    """What a question is about. `doc_ids` empty = no company named: search everything."""

    companies: tuple[str, ...] = ()
    years: tuple[int, ...] = ()
    quarter: int | None = None
    form_type: str | None = None
    doc_ids: tuple[int, ...] = ()  # the chosen filings (the period's, else all of the company's)
    company_doc_ids: tuple[int, ...] = ()  # every filing of the named companies (to widen an empty search)
    doc_names: tuple[str, ...] = ()
    fiscal_year: int | None = None  # the chosen filing's fiscal year (what "this year" means for metrics)
    period_end: str | None = None  # that filing's period end (ISO date), when its cover states one
    reason: str = ""  # how it was decided, for the answer's notes

    @property
    def active(self) -> bool:
        return bool(self.doc_ids)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_filings(store: Any, as_of: datetime | None = None) -> list[FilingRef]:
    """Every document that carries filing metadata (available by `as_of` when given)."""
    if store is None:
        return []
    sql = "SELECT doc_id, title, meta, available_at FROM documents WHERE meta IS NOT NULL"
    params: list = []
    if as_of is not None:
        sql += " AND available_at <= ?"
        params.append(as_of)
    with store.read() as conn:
        rows = conn.execute(sql, params).fetchall()
    out = []
    for doc_id, title, meta, available_at in rows:
        filing = (json.loads(meta) if isinstance(meta, str) else meta or {}).get("filing")
        if not filing:
            continue
        out.append(FilingRef(int(doc_id), title or "", filing.get("company") or "", filing.get("registrant"),
                             filing.get("ticker"), filing.get("form_type"), filing.get("fiscal_year"),
                             filing.get("fiscal_quarter"), filing.get("period_end"), available_at))
    return sorted(out, key=lambda f: f.doc_name)


def _squash(text: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", text.upper())


def _name_words(registrant: str | None) -> list[str]:
    words = re.findall(r"[A-Z0-9]+", (registrant or "").upper())
    return [w for w in words if w not in _SUFFIXES]


def company_aliases(filing: FilingRef) -> tuple[set[str], set[str]]:
    """(squashed names matched inside the squashed text, whole words matched as tokens)."""
    squashed, tokens = set(), set()
    key = _squash(filing.company)
    (squashed if len(key) >= 4 else tokens).add(key)
    words = _name_words(filing.registrant)
    if words:
        name = "".join(words)
        (squashed if len(name) >= 4 else tokens).add(name)
        if len(words) >= 2:
            tokens.add("".join(w[:2] for w in words))  # American Express -> AMEX
            tokens.add("".join(w[0] for w in words))  # Advanced Micro Devices -> AMD
    if filing.ticker:
        tokens.add(filing.ticker.upper().replace(".", ""))
    return squashed, {t for t in tokens if len(t) >= 2}


def match_companies(text: str, filings: list[FilingRef]) -> list[str]:
    """Company keys the text names, in the order of the filings."""
    squashed_text = _squash(text)
    words = {w.upper() for w in re.findall(r"[A-Za-z0-9&]+", text)} | {w.upper().replace("&", "") for w in re.findall(r"[A-Za-z0-9&]+", text)}
    found: list[str] = []
    for filing in filings:
        if filing.company in found:
            continue
        squashed, tokens = company_aliases(filing)
        if any(s in squashed_text for s in squashed) or tokens & words:
            found.append(filing.company)
    return found


def parse_period(text: str) -> tuple[tuple[int, ...], int | None, str | None]:
    """(years named, quarter named, form type named) of a question or claim."""
    years = tuple(sorted({int(m.group(1)) for m in _YEAR.finditer(text)}))
    quarter = None
    q = _QUARTER.search(text)
    if q:
        quarter = int(q.group(1)) if q.group(1) else _ORDINAL[q.group(2).lower()]
    form = _FORM.search(text)
    form_type = None
    if form:
        raw = form.group(1).upper().replace("-", "")
        form_type = {"10K": "10-K", "10Q": "10-Q", "8K": "8-K"}[raw]
    return years, quarter, form_type


def choose_filings(filings: list[FilingRef], years: tuple[int, ...], quarter: int | None,
                   form_type: str | None) -> tuple[list[FilingRef], str]:
    """The filings of one company that a period points at (see the module doc), and why."""
    if not filings:
        return [], "no filing"
    pool = filings
    if form_type:
        same = [f for f in pool if f.form_type == form_type]
        pool = same or pool
    if quarter is not None:
        quarterly = [f for f in pool if f.fiscal_quarter == quarter]
        pool = quarterly or pool
    for year in sorted(years, reverse=True):
        at_year = [f for f in pool if f.fiscal_year == year]
        if at_year:
            annual = [f for f in at_year if f.form_type == "10-K"] if quarter is None else []
            chosen = annual or at_year
            return chosen, f"fiscal year {year}" + (f" Q{quarter}" if quarter else "")
    return pool, "no named period has a filing: all of the company's filings"


def parse_scope(text: str, filings: list[FilingRef]) -> QuestionScope:
    """Company and period of `text` resolved to filings (empty scope when no company is named)."""
    years, quarter, form_type = parse_period(text)
    companies = match_companies(text, filings)
    if not companies:
        return QuestionScope(years=years, quarter=quarter, form_type=form_type, reason="no company named: all documents")
    chosen: list[FilingRef] = []
    all_company: list[FilingRef] = []
    reasons = []
    for company in companies:
        own = [f for f in filings if f.company == company]
        all_company += own
        picked, why = choose_filings(own, years, quarter, form_type)
        chosen += picked
        reasons.append(f"{company}: {why} -> {', '.join(f.doc_name for f in picked)}")
    fiscal_year = max((f.fiscal_year for f in chosen if f.fiscal_year), default=None)
    period_end = next((f.period_end for f in chosen if f.fiscal_year == fiscal_year and f.period_end), None)
    return QuestionScope(companies=tuple(companies), years=years, quarter=quarter, form_type=form_type,
                         doc_ids=tuple(f.doc_id for f in chosen), company_doc_ids=tuple(f.doc_id for f in all_company),
                         doc_names=tuple(f.doc_name for f in chosen), fiscal_year=fiscal_year, period_end=period_end,
                         reason="; ".join(reasons))
