"""Reading a claim or a passage into comparable pieces: figures (value, scale, percent), years, terms.

Why by hand (regular expressions, not a library): the figures of a filing come in the shapes SEC text
extraction leaves behind ("$ 34,229", "(1,577)", "16.5%", "$4.6 billion", a "(Millions, except per share
amounts)" table header), and quantity parsers such as `quantulum3` read "2022" as a count and know no
table-header scale. The rules here are the few that matter for comparing a claim with its evidence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

SCALES = {"thousand": 1e3, "thousands": 1e3, "k": 1e3, "million": 1e6, "millions": 1e6, "mn": 1e6, "mm": 1e6,
          "m": 1e6, "billion": 1e9, "billions": 1e9, "bn": 1e9, "b": 1e9, "trillion": 1e12, "trillions": 1e12}

# a number with an optional sign / parenthesis / currency before it and a percent or scale word after it
NUMBER = re.compile(
    r"(?P<neg>[-\u2212(])?\s?(?P<cur>\$|USD\s?|US\$)?\s?"
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)"
    r"(?P<close>\))?\s?(?P<pct>%|percent\b|per\s?cent\b)?"
    r"(?:\s?(?P<scale>thousands?|millions?|billions?|trillions?|mn|bn|mm|[kmb])\b)?",
    re.IGNORECASE)
YEAR = re.compile(r"(?<![\d,.$])(?:FY\s?'?|fiscal\s+(?:year\s+)?)?((?:19|20)\d{2})(?![\d%,.]\d)", re.IGNORECASE)
SHORT_FY = re.compile(r"\bFY\s?'?(\d{2})\b", re.IGNORECASE)
QUARTER = re.compile(r"\b(?:Q([1-4])\b|([1-4])Q\b|(first|second|third|fourth)\s+(?:fiscal\s+)?quarter)", re.IGNORECASE)
ORDINAL = {"first": 1, "second": 2, "third": 3, "fourth": 4}
HEADER_SCALE = re.compile(r"\(\s*(?:\$|dollars|amounts|in|us\$|usd|\s)*\s*(?:in\s+)?(thousands|millions|billions)\b",
                          re.IGNORECASE)
UNIT_HINT = re.compile(r"\bin\s+(?:USD|US\$|\$|dollars)?\s*(thousands|millions|billions)\b", re.IGNORECASE)
WORD = re.compile(r"[a-z][a-z&'-]+")
STOP = frozenset("""a an the of and or for to in on at by as is are was were be been its it this that these those
with from than then what which who whom how much many does did do has have had based data answer question
company companys fiscal year years fy per share total amount value usd dollars million millions billion billions
thousand thousands percent ratio according reported report filing change changed between during over into
same about also not no yes only their there they we our us can may might would should could will""".split())


@dataclass(frozen=True)
class Figure:
    """One number as written: `value` is the number itself (sign kept), `scale` the multiplier it names or
    inherits (1 when none), `percent` whether it is a percentage; `start` its offset in the text."""

    text: str
    value: float
    scale: float
    percent: bool
    decimals: int
    start: int
    explicit_scale: bool = False

    @property
    def amount(self) -> float:
        return self.value * self.scale

    @property
    def half_unit(self) -> float:
        """Half of the last written digit, in the figure's own scale (the rounding the writer allowed)."""
        return 0.5 * 10.0 ** (-self.decimals) * self.scale


@dataclass(frozen=True)
class ParsedText:
    figures: list[Figure]
    years: list[int]
    quarter: int | None
    terms: frozenset[str]
    scale_hint: float | None = None
    extra: dict = field(default_factory=dict)


def terms(text: str) -> frozenset[str]:
    """Content words, lower-cased, a plural 's' dropped (why: 'expenditures' in a claim, 'expenditure' in a row)."""
    out = set()
    for w in WORD.findall(text.lower()):
        w = w.strip("'-").replace("'s", "")
        if len(w) > 2 and w not in STOP:
            out.add(w[:-1] if w.endswith("s") and len(w) > 4 else w)
    return frozenset(out)


def years_in(text: str) -> list[int]:
    found = [int(m.group(1)) for m in YEAR.finditer(text)]
    found += [2000 + int(m.group(1)) for m in SHORT_FY.finditer(text)]
    return list(dict.fromkeys(found))


def quarter_in(text: str) -> int | None:
    m = QUARTER.search(text)
    if not m:
        return None
    return int(m.group(1) or m.group(2)) if (m.group(1) or m.group(2)) else ORDINAL[m.group(3).lower()]


def _is_year(m: re.Match, text: str) -> bool:
    num = m.group("num")
    if m.group("cur") or m.group("pct") or m.group("scale") or "," in num or "." in num:
        return False
    return len(num) == 4 and 1900 <= int(num) <= 2099


def figures_in(text: str, inherited_scale: float | None = None) -> list[Figure]:
    """Every number that is not a year, a quarter number or a footnote-sized ordinal in `text`."""
    out: list[Figure] = []
    for m in NUMBER.finditer(text):
        if _is_year(m, text):
            continue
        num = m.group("num")
        before = text[max(0, m.start("num") - 1):m.start("num")]
        after = text[m.end("num"):m.end("num") + 2]
        if not m.group("cur") and (before.isalpha() or re.match(r"[A-Za-z]|-[A-Za-z]", after)):
            continue  # part of a name, not a figure: 'Q2', 'FY22', '3M', '10-K', '8K'
        if _is_day(m, text) or _is_list_marker(m, text):
            continue

        value = float(num.replace(",", ""))
        negative = bool(m.group("neg")) and (m.group("neg") != "(" or bool(m.group("close")))
        if negative:
            value = -value
        scale_word = (m.group("scale") or "").lower()
        if scale_word in ("m", "b", "k") and not (m.group("cur") or text[m.end("scale"):m.end("scale") + 1] in ("", " ", ".", ",", ")")):
            scale_word = ""
        pct = bool(m.group("pct"))
        explicit = scale_word in SCALES
        scale = SCALES[scale_word] if explicit else (1.0 if pct or inherited_scale is None else inherited_scale)
        decimals = len(num.split(".")[1]) if "." in num else 0
        out.append(Figure(m.group(0).strip(), value, scale, pct, decimals, m.start("num"), explicit))
    return out


MONTH = re.compile(r"\b(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
                   r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?\s*$", re.IGNORECASE)


def _plain(m: re.Match) -> bool:
    return not (m.group("cur") or m.group("pct") or m.group("scale") or "," in m.group("num") or "." in m.group("num"))


def _is_day(m: re.Match, text: str) -> bool:
    """The day of a date ('May 26, 2023', 'At December 31'), not a figure (why: a date's day read as a
    value matched claims and contradicted them with '26' or '31')."""
    return _plain(m) and 1 <= int(m.group("num")) <= 31 and bool(MONTH.search(text[max(0, m.start("num") - 12):m.start("num")]))


def _is_list_marker(m: re.Match, text: str) -> bool:
    """'(1) usual and customary pricing ...': an enumeration or footnote marker, not minus one."""
    return (_plain(m) and m.group("neg") == "(" and bool(m.group("close")) and len(m.group("num")) == 1
            and bool(re.match(r"\s*[A-Za-z]", text[m.end():m.end() + 3])))


HEDGE = re.compile(r"\b(?:approximately|approx\.?|roughly|about|around|nearly|almost|some|~)\s*$", re.IGNORECASE)


def hedged(text: str, f: Figure) -> bool:
    """Whether the writer hedged the figure ("approximately 0.54", "roughly 2.7 times"): it is then not
    meant to the last written digit."""
    return bool(HEDGE.search(text[max(0, f.start - 20):f.start].rstrip("$ ")))


def header_scale(text: str) -> float | None:
    """The scale a table header declares ("(in millions)", "(Millions, except per share amounts)")."""
    m = HEADER_SCALE.search(text) or re.search(r"\b(thousands|millions|billions)\s+of\s+dollars\b", text, re.I)
    return SCALES[m.group(1).lower()] if m else None


def parse_claim(claim: str) -> ParsedText:
    """The figures, years, quarter and terms of a claim. A unit hint ("in USD millions") scales the bare
    figures of the claim, as the writer meant them."""
    hint_m = UNIT_HINT.search(claim)
    hint = SCALES[hint_m.group(1).lower()] if hint_m else None
    body = UNIT_HINT.sub(" ", claim)
    figs = [f for f in figures_in(body) if not (f.value.is_integer() and 0 < abs(f.value) <= 4
                                               and re.search(r"\bQ\s?$", body[max(0, f.start - 2):f.start]))]
    if hint:
        figs = [f if (f.explicit_scale or f.percent or abs(f.value) < 1e-9 or _per_share(body, f))
                else Figure(f.text, f.value, hint, False, f.decimals, f.start, True) for f in figs]
    return ParsedText(figs, years_in(claim), quarter_in(claim), terms(claim), hint)


def _per_share(text: str, f: Figure) -> bool:
    return bool(re.search(r"per\s+share", text[f.start:f.start + 40], re.I))


def normalise_name(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())
