"""A retrieved passage read as rows: a label (the words before a run of numbers) and its figures, each
figure tied to the year of its column when the passage carries a year header ("2022 2021 2020").

Why rows: in text extracted from a filing a line item and its values stay together ("Net sales $ 34,229
$ 35,355 $ 32,184"), so the words just before a run of numbers say what the numbers are, and the header's
year order says which period each one belongs to. A claim about FY2021 that quotes the FY2022 figure then
meets the FY2021 figure, not its own. Prose works the same way ("revenue of $4.6 billion in 2021"): a
figure without a column takes the year written right after it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from fincortex.agents.analyst.claim_parse import YEAR, Figure, figures_in, header_scale, terms

TOKEN = re.compile(r"\S+")
LABEL_WORDS = 10


@dataclass(frozen=True)
class Row:
    label: str
    label_terms: frozenset[str]
    figures: list[Figure]
    years: list[int | None]  # per figure: its column's year, the year written after it, or None


@dataclass
class Passage:
    """One hit, read: where it is from (for the citation) and its rows."""

    chunk_id: int
    doc_id: int
    title: str | None
    ticker: str | None
    page: int | None
    available_at: str
    text: str
    score: float
    header_years: list[int] = field(default_factory=list)
    scale: float | None = None
    rows: list[Row] = field(default_factory=list)
    terms: frozenset[str] = frozenset()

    def cite(self) -> dict:
        return {"chunk_id": self.chunk_id, "doc_id": self.doc_id, "document": self.title, "ticker": self.ticker,
                "page": self.page, "available_at": self.available_at}


def _header_years(text: str) -> list[int]:
    """The first run of two or more years with nothing but spaces, '$' or 'Fiscal' between them."""
    matches = [m for m in YEAR.finditer(text)]
    best: list[int] = []
    run: list[int] = []
    last_end = -1
    for m in matches:
        gap = text[last_end:m.start()] if last_end >= 0 else ""
        if run and re.fullmatch(r"[\s$,|]*(?:and|fiscal|FY)?[\s$,|]*", gap, re.I):
            run.append(int(m.group(1)))
        else:
            if len(run) >= 2:
                break
            run = [int(m.group(1))]
        last_end = m.end()
        if len(run) >= 2 and len(set(run)) == len(run):
            best = list(run)
    return best if len(best) >= 2 else []


def read_passage(hit: dict) -> Passage:
    """A hit dict (chunk_id, doc_id, text, title, ticker, page_start, available_at, score) read into rows."""
    # PDF text extraction sometimes splits a thousands group off ("1, 250" for "1,250"); rejoin it so the
    # figure reads as one number (a list "1, 250 employees" is rare in a filing's tables, a split number is not)
    text = re.sub(r"(?<![\d,.])(\d{1,3}), (\d{3})(?![\d])", r"\1,\2", hit["text"])
    passage = Passage(int(hit["chunk_id"]), int(hit["doc_id"]), hit.get("title"), hit.get("ticker"),
                      hit.get("page_start"), str(hit.get("available_at")), text, float(hit.get("score") or 0.0))
    passage.header_years = _header_years(text)
    passage.scale = header_scale(text)
    passage.terms = terms(text)
    passage.rows = list(_rows(text, passage.header_years, passage.scale))
    return passage


def _rows(text: str, header: list[int], scale: float | None):
    figures = [f for f in figures_in(text, scale)]
    cursor = 0
    i = 0
    while i < len(figures):
        group = [figures[i]]
        j = i + 1
        while j < len(figures):  # a run: only '$', '%', dashes, spaces between consecutive figures
            gap = text[_end(text, group[-1]):figures[j].start]
            if not re.fullmatch(r"[\s$%()\u2014\u2013-]*", gap):
                break
            group.append(figures[j])
            j += 1
        label_text = text[cursor:group[0].start]
        words = TOKEN.findall(re.sub(r"\d[\d,.]*", " ", label_text))[-LABEL_WORDS:]
        label = " ".join(words)
        years: list[int | None]
        if header and len(group) == len(header):
            years = list(header)
        elif header and len(group) == 2 * len(header):  # value + percent columns per year
            years = [y for y in header for _ in (0, 1)]
        else:
            years = [_year_after(text, _end(text, f)) for f in group]
        yield Row(label, terms(label), group, years)
        cursor = _end(text, group[-1])
        i = j


def _end(text: str, f: Figure) -> int:
    m = re.compile(re.escape(f.text.lstrip("-\u2212(").strip())).search(text, max(0, f.start - 6))
    return m.end() if m else f.start + len(f.text)


def _year_after(text: str, end: int) -> int | None:
    m = re.match(r"[^.;\n\d]{0,20}?\b(?:in|for|of|during|at)?\s*(?:fiscal\s+(?:year\s+)?|FY\s?)?((?:19|20)\d{2})\b",
                 text[end:end + 40], re.I)
    return int(m.group(1)) if m else None
