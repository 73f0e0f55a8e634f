"""Financial statements and other numeric tables of a PDF as rows: (page, table, line item, period, value, scale).

Why pdfplumber: its table finder (text strategy: columns from aligned words, rows from text lines)
reads the statements of SEC filings, which are laid out as text without ruling lines; this module only
names what it found (line item from the row's words left of the first figure, period from the header
years above the figures, scale from the page's "(in millions)" note) and never positions text itself.

Why candidate pages: pdfplumber costs ~0.8 s a page on one core, and a 10-K has 100-550 pages of which
a dozen are statements. `candidate_pages` picks pages cheaply from the text pypdfium already extracted:
a statement title near the top and at least 8 lines with two or more figures, or (other numeric tables)
at least `dense_lines` such lines. Only those pages are opened with pdfplumber.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

STATEMENT_TITLES: tuple[tuple[str, re.Pattern], ...] = (
    ("cashflow", re.compile(r"statements?\s+of\s+(?:consolidated\s+)?cash\s+flows?", re.I)),
    ("balance", re.compile(r"balance\s+sheets?|statements?\s+of\s+(?:consolidated\s+)?financial\s+(?:position|condition)", re.I)),
    ("income", re.compile(r"statements?\s+of\s+(?:consolidated\s+)?(?:comprehensive\s+)?(?:income|operations|earnings)"
                          r"|income\s+statements?|statements?\s+of\s+(?:consolidated\s+)?(?:net\s+)?(?:income|earnings)", re.I)),
)
_FIGURE = re.compile(r"\(?\$?\s?\d{1,3}(?:,\d{3})+(?:\.\d+)?\)?|\(?\d+\.\d+\)?|\b\d{2,}\b")
_YEAR = re.compile(r"^(?:FY)?((?:19|20)\d{2})[\*\)]?$")
_NUMBER = re.compile(r"^\(?-?\$?\s*(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?\s*\)?%?$")
_DASH = {"—", "–", "-", "—", "— ", "$—", "$ —"}
_SCALE = (("billion", 1e9), ("million", 1e6), ("thousand", 1e3))
TABLE_SETTINGS = {"vertical_strategy": "text", "horizontal_strategy": "text", "snap_tolerance": 3,
                  "join_tolerance": 3, "intersection_tolerance": 5}


@dataclass(frozen=True)
class StatementRow:
    """One figure of one table: what the `statement_rows` table stores (plus the document's ids)."""

    page: int  # 1-based PDF page
    table_index: int  # the table's number on its page, from 0
    statement: str  # income | balance | cashflow | other
    title: str | None  # the statement title found on the page
    row_index: int
    line_item: str  # 'Net cash provided by operating activities'
    section: str | None  # the heading row above it ('Operating expenses'), when there is one
    period: str | None  # the column's header year ('2022'), None when the table has no year header
    column_index: int  # the figure's column, from 0 (left to right)
    value: float  # as printed, negatives in parentheses made negative, dashes as 0
    raw: str  # the cell text
    scale: float  # what the page says figures are in: 1e6 for '(in millions)', 1 when it says nothing
    unit: str  # 'USD millions', 'percent', 'USD' ...

    def as_dict(self) -> dict:
        return asdict(self)


def figure_lines(text: str) -> int:
    """Lines carrying two or more figures: a cheap 'this page is a table' signal."""
    return sum(1 for line in text.splitlines() if len(_FIGURE.findall(line)) >= 2)


def statement_kind(text: str) -> tuple[str, str] | None:
    """(kind, title) when a statement title appears in the page's first lines."""
    head = " ".join(line.strip() for line in text.splitlines()[:10] if line.strip())
    for kind, pattern in STATEMENT_TITLES:
        found = pattern.search(head)
        if found:
            return kind, found.group(0)
    return None


def candidate_pages(page_texts: Sequence[str], dense_lines: int = 25) -> list[tuple[int, str, str | None]]:
    """(1-based page, kind, title) of the pages worth a table pass (see the module doc)."""
    out = []
    for number, text in enumerate(page_texts, start=1):
        lines = figure_lines(text)
        kind = statement_kind(text)
        if kind and lines >= 8:
            out.append((number, kind[0], kind[1]))
        elif dense_lines and lines >= dense_lines:
            out.append((number, "other", None))
    return out


def page_scale(text: str) -> tuple[float, str]:
    """(multiplier, unit) from the page's '(in millions, except per share data)' kind of note."""
    found = re.search(r"\(\s*(?:dollars\s+|amounts\s+|\$\s*)?(?:in\s+)?(billions|millions|thousands)", text, re.I) \
        or re.search(r"\bin\s+(billions|millions|thousands)\b", text, re.I)
    if not found:
        return 1.0, "USD"
    word = found.group(1).lower()
    scale = next(v for name, v in _SCALE if word.startswith(name))
    return scale, f"USD {word}"


def parse_figure(text: str) -> float | None:
    """'(2,724)' -> -2724, '34,229' -> 34229, '(389' -> -389 (a cut parenthesis), '—' -> 0; None if not a figure."""
    cell = (text or "").replace("$", "").replace(" ", "").strip()
    if not cell:
        return None
    if cell in _DASH or cell.strip("—–-") == "":
        return 0.0
    match = _NUMBER.match(cell)
    if not match:
        return None
    value = float(match.group(1).replace(",", "") + (match.group(2) or ""))
    return -value if cell.startswith("(") or cell.startswith("-") else value


def header_years(words: list[dict], min_x: float) -> tuple[float, list[tuple[float, str]]]:
    """(bottom of the header line, [(x centre, year)]): the first text line right of `min_x` made mostly of
    year words with two or more of them (else the first with one); (0, []) when the page has no year header."""
    lines: dict[int, list[dict]] = {}
    for w in words:
        if w["x0"] >= min_x:
            lines.setdefault(round(w["top"] / 3), []).append(w)
    header_lines = []
    for _, line in sorted(lines.items()):
        years = [w for w in line if _YEAR.match(w["text"])]
        # a column header is mostly years ('2022 2021 2020', 'January 1, 2023 January 2, 2022'); a title line
        # naming its periods in prose ('... December 25, 2021 and December 26, 2020') is not
        if years and len(years) * 3 >= len(line):
            header_lines.append(years)
    pick = next((ys for ys in header_lines if len(ys) >= 2), header_lines[0] if header_lines else [])
    if not pick:
        return 0.0, []
    columns: list[tuple[float, str]] = []
    for w in sorted(pick, key=lambda w: w["x0"]):
        x = (w["x0"] + w["x1"]) / 2
        if all(abs(x - cx) > 12 for cx, _ in columns):
            columns.append((x, _YEAR.match(w["text"]).group(1)))
    return max(w["bottom"] for w in pick), columns


def page_rows(page, number: int, kind: str, title: str | None, text: str) -> list[StatementRow]:
    """The figures of every table pdfplumber finds on one pdfplumber page.

    The table finder gives the rows (text lines); a row's figures are its number words right of the label
    column and its line item the words left of them (cells can cut a word in two, words never do); each
    figure's period is the header year nearest above it."""
    scale, unit = page_scale(text)
    words = page.extract_words(keep_blank_chars=False, use_text_flow=False)
    header_bottom, headers = header_years(words, page.width * 0.3)
    figure_from = (headers[0][0] - 45) if headers else page.width * 0.45
    out: list[StatementRow] = []
    for t_index, table in enumerate(page.find_tables(TABLE_SETTINGS)):
        section, pending = None, ""
        for r_index, row in enumerate(table.rows):
            top, bottom = row.bbox[1], row.bbox[3]
            if bottom <= header_bottom + 1:
                continue
            band = sorted((w for w in words if w["top"] >= top - 1 and w["bottom"] <= bottom + 1),
                          key=lambda w: w["x0"])
            figures = [(w, parse_figure(w["text"])) for w in band if w["x0"] >= figure_from]
            figures = [(w, v) for w, v in figures if v is not None and not _YEAR.match(w["text"])]
            right = min((w["x0"] for w, _ in figures), default=figure_from)
            label = re.sub(r"\s+", " ", " ".join(w["text"] for w in band if w["x1"] <= right + 1
                                                 and w["text"] not in {"$", "%"})).strip(" .:")
            if not figures:
                if label:
                    pending = f"{pending} {label}".strip() if pending and label[:1].islower() else label
                continue
            if label[:1].islower() and pending:
                label = f"{pending} {label}"
            elif not label and pending:
                label = pending
            elif pending and pending != label:
                section = pending
            pending = ""
            if len(label) < 2:
                continue
            for c_index, (w, value) in enumerate(figures):
                raw = w["text"]
                if len(figures) == len(headers):  # a full row: the k-th figure is under the k-th header
                    period = headers[c_index][1]
                else:  # a row with blanks: the nearest header (a year ending a date phrase sits off-centre)
                    period = min(headers, key=lambda h: abs(h[0] - (w["x0"] + w["x1"]) / 2))[1] if headers else None
                percent = raw.endswith("%")
                out.append(StatementRow(page=number, table_index=t_index, statement=kind, title=title,
                                        row_index=r_index, line_item=label[:200], section=section, period=period,
                                        column_index=c_index, value=value, raw=raw, scale=1.0 if percent else scale,
                                        unit="percent" if percent else unit))
    return out


def extract_statements(path: Path | str, page_texts: Sequence[str], pages: Iterable[tuple[int, str, str | None]] | None = None,
                       dense_lines: int = 25) -> list[StatementRow]:
    """Rows of the candidate pages of one PDF (pages: (1-based page, kind, title); default `candidate_pages`)."""
    import pdfplumber

    chosen = list(pages) if pages is not None else candidate_pages(page_texts, dense_lines)
    if not chosen:
        return []
    rows: list[StatementRow] = []
    with pdfplumber.open(str(path)) as pdf:
        for number, kind, title in chosen:
            page = pdf.pages[number - 1]
            try:
                rows.extend(page_rows(page, number, kind, title, page_texts[number - 1]))
            finally:
                page.close()  # pdfplumber caches each page's objects: free them as we go
    return rows


def table_text(rows: Sequence[StatementRow]) -> str:
    """One table's rows as searchable text: 'title (scale) | line item | 2022: 34,229 | 2021: 35,355'."""
    if not rows:
        return ""
    head = rows[0]
    lines = [f"{head.title or head.statement} ({head.unit})"]
    by_row: dict[int, list[StatementRow]] = {}
    for row in rows:
        by_row.setdefault(row.row_index, []).append(row)
    for items in by_row.values():
        cells = " | ".join(f"{r.period or 'col' + str(r.column_index)}: {r.raw}" for r in items)
        lines.append(f"{items[0].line_item} | {cells}")
    return "\n".join(lines)
