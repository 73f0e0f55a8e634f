"""Filing metadata (company, ticker, form type, fiscal period) from a filing's file name and cover page.

Which source is reliable for what, checked on the 24 FinanceBench dev filings (tests/test_filings_meta.py):
- the file name (FinanceBench's `COMPANY_YYYY[Qn]_FORM[_dated-YYYY-MM-DD]`) is the reliable source of the
  company key and the fiscal *label* (FY2022, 2021Q1): the cover page's period-end date does not give the
  label (Johnson & Johnson's FY2022 ended on January 1, 2023; JPMorgan's 10-Q covers lay the date out in
  a separate text column);
- the cover page is the reliable source of the form type (the FORM 10-K / 10-Q / 8-K line), the period-end
  or event date, the registrant's exact name and, since 2019 covers carry a "Trading Symbol" column, the
  ticker of the common stock (older covers have no ticker: it stays None, never guessed).
When both give a form type they agree on the dev filings; the cover wins when they differ.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path

_FORMS = {"10K": "10-K", "10Q": "10-Q", "8K": "8-K", "EARNINGS": "earnings"}
_NAME = re.compile(r"^(?P<company>.+?)_(?P<year>(?:19|20)\d{2})(?:Q(?P<quarter>[1-4]))?_(?P<form>10K|10Q|8K|EARNINGS)"
                   r"(?:_dated-(?P<dated>\d{4}-\d{2}-\d{2}))?$", re.IGNORECASE)
_COVER_FORM = re.compile(r"\bFORM\s+(10-K|10-Q|8-K)\b", re.IGNORECASE)
_MONTH = r"(?:January|February|March|April|May|June|July|August|September|October|November|December)"
_DATE = rf"({_MONTH}\s+\d{{1,2}},\s+(?:19|20)\d{{2}})"
_PERIOD_END = re.compile(rf"(?:fiscal\s+year|quarterly\s+period|year)\s+ended\s*(?:\n[^\n]*?)??\s*{_DATE}",
                         re.IGNORECASE)
_EVENT_DATE = re.compile(rf"Date\s+of\s+(?:earliest\s+event\s+reported|Report)[^\n]*?{_DATE}", re.IGNORECASE)
_ANY_DATE = re.compile(_DATE, re.IGNORECASE)
_EXCHANGE = re.compile(r"\b([A-Z]{1,5}(?:\.[A-Z])?)\s+(?:The\s+)?(?:New\s+York\s+Stock\s+Exchange|NYSE|Nasdaq|NASDAQ)")
_REGISTRANT = re.compile(r"exact\s+name\s+of\s+registrant", re.IGNORECASE)


@dataclass(frozen=True)
class FilingMeta:
    """What a filing is: the fields documents.meta carries (and documents.ticker, when known)."""

    company: str  # the company key (file name: 'AMERICANEXPRESS'), what question parsing matches against
    registrant: str | None  # the cover page's exact name ('American Express Company')
    ticker: str | None  # the common stock's trading symbol from the cover page
    form_type: str | None  # 10-K | 10-Q | 8-K | earnings
    fiscal_year: int | None  # the fiscal year label (file name)
    fiscal_quarter: int | None  # 1-4 for a quarterly report
    period_end: str | None  # ISO date: the cover's fiscal period end, or the 8-K's event date
    sources: dict[str, str]  # field -> 'file name' | 'cover page'

    @property
    def fiscal_period(self) -> str | None:
        """'FY2022', '2021Q1', or None."""
        if self.fiscal_year is None:
            return None
        return f"{self.fiscal_year}Q{self.fiscal_quarter}" if self.fiscal_quarter else f"FY{self.fiscal_year}"

    def as_meta(self) -> dict:
        return {**asdict(self), "fiscal_period": self.fiscal_period}


def from_file_name(path: Path | str) -> dict:
    """The fields a FinanceBench-style file name states; {} when the name does not follow that pattern."""
    match = _NAME.match(Path(path).stem)
    if not match:
        return {}
    out: dict = {"company": match["company"].upper(), "fiscal_year": int(match["year"]),
                 "form_type": _FORMS[match["form"].upper()]}
    if match["quarter"]:
        out["fiscal_quarter"] = int(match["quarter"])
    if match["dated"]:
        out["period_end"] = match["dated"]
    return out


def _iso(text: str) -> str | None:
    try:
        return datetime.strptime(re.sub(r"\s+", " ", text.strip()), "%B %d, %Y").date().isoformat()
    except ValueError:
        return None


def from_cover_page(text: str) -> dict:
    """The fields a cover page states (first one or two pages of text); each only when found."""
    head = text[:6000]
    out: dict = {}
    form = _COVER_FORM.search(head)
    if form:
        out["form_type"] = form.group(1).upper()
    if out.get("form_type") == "8-K":
        when = _EVENT_DATE.search(head)
    else:
        when = _PERIOD_END.search(head)
    if when:
        out["period_end"] = _iso(when.group(1))
    elif out.get("form_type") == "10-Q":  # JPMorgan's covers print the date in another text column
        anchor = re.search(r"quarterly\s+period\s+ended", head, re.IGNORECASE)
        later = _ANY_DATE.search(head, anchor.end()) if anchor else None
        if later and later.start() - anchor.end() < 400:
            out["period_end"] = _iso(later.group(1))
    lines = [line.strip() for line in head.splitlines()]
    for i, line in enumerate(lines):
        if _REGISTRANT.search(line):
            before = line[: _REGISTRANT.search(line).start()].strip(" (")
            candidates = [before] if before else [lines[j] for j in range(i - 1, max(-1, i - 4), -1)]
            for name in candidates:
                name = re.sub(r"\s*(Commission|For the transition|Date of Report).*$", "", name, flags=re.I).strip()
                if name and re.search(r"[A-Za-z]{2}", name) and not re.search(r"file|number|\d{3}-\d|pursuant|report|section", name, re.I):
                    out["registrant"] = name
                    break
            break
    symbol_at = re.search(r"Trading\s+Symbol", head, re.IGNORECASE)
    if symbol_at:
        for line in head[symbol_at.end():].splitlines()[1:8]:
            if re.search(r"common|ordinary|shares", line, re.IGNORECASE):
                found = _EXCHANGE.search(line)
                if found:
                    out["ticker"] = found.group(1)
                    break
    return out


def filing_meta(path: Path | str, cover_text: str) -> FilingMeta | None:
    """Merge both sources (see the module doc for which wins); None when neither says it is a filing."""
    named, cover = from_file_name(path), from_cover_page(cover_text)
    if not named and "form_type" not in cover:
        return None
    sources: dict[str, str] = {}
    values: dict = {}
    for key in ("company", "fiscal_year", "fiscal_quarter"):
        if key in named:
            values[key], sources[key] = named[key], "file name"
    for key in ("form_type", "period_end", "registrant", "ticker"):
        if key in cover and cover[key]:
            values[key], sources[key] = cover[key], "cover page"
        elif key in named:
            values[key], sources[key] = named[key], "file name"
    if "company" not in values:  # not a FinanceBench name: the registrant is the company key
        registrant = values.get("registrant")
        if not registrant:
            return None
        values["company"], sources["company"] = re.sub(r"[^A-Z0-9]", "", registrant.upper()), "cover page"
    if "fiscal_year" not in values and values.get("period_end"):
        values["fiscal_year"], sources["fiscal_year"] = date.fromisoformat(values["period_end"]).year, "cover page"
    return FilingMeta(company=values["company"], registrant=values.get("registrant"), ticker=values.get("ticker"),
                      form_type=values.get("form_type"), fiscal_year=values.get("fiscal_year"),
                      fiscal_quarter=values.get("fiscal_quarter"), period_end=values.get("period_end"),
                      sources=sources)
