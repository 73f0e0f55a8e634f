"""What a PDF filing adds to its parsed text: metadata (company, ticker, form, fiscal period) and statement rows.

`parse_pdf` (ingest/parsers.py) calls `enrich_pdf` with the per-page texts it already extracted, so the
cover page and the candidate statement pages cost no second text pass. The statement tables are also
added to the document as table sections (one per table, on its page), so search finds them like any
chunk, and their figures land in `statement_rows` for the SQL tool and the analyst's calculator.

FINCORTEX_PDF_TABLES=off skips the table pass (pdfplumber, ~1 s a candidate page on one core).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from fincortex.ingest.documents import Document, Section
from fincortex.ingest.filing_meta import FilingMeta, filing_meta
from fincortex.ingest.statements import StatementRow, extract_statements, table_text


@dataclass
class FilingDocument(Document):
    """A parsed PDF plus the statement rows read from its tables (written to `statement_rows`)."""

    statement_rows: list[StatementRow] = field(default_factory=list)


@dataclass(frozen=True)
class Enrichment:
    meta: FilingMeta | None
    rows: list[StatementRow]
    sections: list[Section]  # one table section per extracted table, with its page


def tables_enabled() -> bool:
    return os.environ.get("FINCORTEX_PDF_TABLES", "on").strip().lower() not in {"0", "off", "false", "no"}


def enrich_pdf(path: Path, page_texts: list[str]) -> Enrichment:
    """Metadata from the file name and cover page (first two pages), statement rows from candidate pages."""
    meta = filing_meta(path, "\n".join(page_texts[:2]))
    rows = extract_statements(path, page_texts) if tables_enabled() else []
    tables: dict[tuple[int, int], list[StatementRow]] = {}
    for row in rows:
        tables.setdefault((row.page, row.table_index), []).append(row)
    sections = [Section(table_text(items), page=page, is_table=True) for (page, _), items in sorted(tables.items())]
    return Enrichment(meta, rows, [s for s in sections if s.text])
