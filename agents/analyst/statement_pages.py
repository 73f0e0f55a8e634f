"""The primary financial statements of a filing as pages, and the questions that ask about them.

Why: a question such as "Is 3M a capital-intensive business?" or "What was the largest liability in the
balance sheet?" is answered from the income statement, balance sheet or cash-flow statement, but its words
rarely match those pages' text (tables of figures with terse labels), so search ranks notes and MD&A prose
above them. The statement rows extracted at ingest (`statement_rows`) say where each statement is; the
primary statements are the one page of each kind that sit together (a filing's notes hold many smaller
tables also classified as income or balance rows, but not all three kinds within a few pages).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

STATEMENTS = ("income", "balance", "cashflow")
WINDOW_PAGES = 6  # the three primary statements are printed within this many pages of each other

# words that ask about a statement (general financial-analysis vocabulary; checked on the dev questions only)
ASKS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (r"capital[- ]intensive", STATEMENTS),  # capex / revenue, PP&E / assets, ROA: all three statements
    (r"balance sheet|statement of financial position|\bliabilit(?:y|ies)\b|\btotal assets\b", ("balance",)),
    (r"income statement|statements? of (?:income|earnings|operations)|\b(?:gross|operating|net|profit) margin|"
     r"margin profile", ("income",)),
    (r"cash[- ]flows?\b|operating activities|investing activities|financing activities|"
     r"\boperations, investing,? and financing", ("cashflow",)),
)


def statements_asked(question: str) -> tuple[str, ...]:
    """The statements a question is about, in STATEMENTS order (empty when it names none)."""
    wanted: set[str] = set()
    for pattern, statements in ASKS:
        if re.search(pattern, question, re.IGNORECASE):
            wanted.update(statements)
    return tuple(s for s in STATEMENTS if s in wanted)


def primary_statement_pages(store: Any, doc_id: int, as_of: datetime | None = None) -> dict[str, int]:
    """statement -> page (1-based) of the filing's primary income statement, balance sheet and cash-flow
    statement: among windows of WINDOW_PAGES pages holding all three kinds, the one with the most rows
    (ties: the tighter window); {} when the filing has no such window (an 8-K, a press release)."""
    if store is None:
        return {}
    sql = ("SELECT statement, page, count(*) FROM statement_rows WHERE doc_id = ? AND statement IN (?, ?, ?)"
           + (" AND available_at <= ?" if as_of is not None else "") + " GROUP BY statement, page ORDER BY page")
    params: list = [int(doc_id), *STATEMENTS] + ([as_of] if as_of is not None else [])
    with store.read() as conn:
        rows = conn.execute(sql, params).fetchall()
    best: tuple[tuple[int, int], dict[str, int]] | None = None
    for _statement, start, _n in rows:
        by_kind: dict[str, tuple[int, int]] = {}
        for statement, page, n in rows:
            if start <= page <= start + WINDOW_PAGES and (statement not in by_kind or n > by_kind[statement][1]):
                by_kind[statement] = (page, n)
        if len(by_kind) < len(STATEMENTS):
            continue
        pages = [p for p, _ in by_kind.values()]
        score = (sum(n for _, n in by_kind.values()), min(pages) - max(pages))
        if best is None or score > best[0]:
            best = (score, {s: p for s, (p, _) in by_kind.items()})
    return best[1] if best else {}


def page_chunks(store: Any, wanted: list[tuple[int, int, str]], as_of: datetime | None) -> dict[tuple, dict]:
    """For each (doc_id, page, text hint): the chunk that shows that page: a table chunk of it holding the
    hint (a line item), else its first table chunk, else any chunk of the page (it and its document
    available by as_of; `available_at` is the later of the two)."""
    out: dict[tuple, dict] = {}
    if store is None or not wanted:
        return out
    with store.read() as conn:
        for doc_id, page, hint in wanted:
            rows = conn.execute(
                "SELECT c.chunk_id, c.doc_id, c.text, d.title, d.source, d.ticker, greatest(c.available_at, d.available_at), "
                "c.page_start, c.page_end, c.is_table FROM chunks c JOIN documents d ON d.doc_id = c.doc_id "
                "WHERE c.doc_id = ? AND c.page_start <= ? AND coalesce(c.page_end, c.page_start) >= ? "
                "AND c.available_at <= ? AND d.available_at <= ? ORDER BY c.is_table DESC, c.ordinal",
                [doc_id, page, page, as_of or datetime.max, as_of or datetime.max]).fetchall()
            if not rows:
                continue
            best = next((r for r in rows if hint and hint.lower() in r[2].lower()), rows[0])
            out[(doc_id, page, hint)] = {
                "chunk_id": int(best[0]), "doc_id": int(best[1]), "text": best[2], "title": best[3], "source": best[4],
                "ticker": best[5], "available_at": best[6].isoformat(sep=" "), "page_start": best[7], "page_end": best[8],
                "query": "statement rows", "reranked": False}
    return out
