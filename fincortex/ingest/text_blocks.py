"""Turn raw page/plain text into Sections: paragraphs joined from wrapped lines, tables kept apart.

Why by hand: PDF text extraction gives wrapped lines and tables laid out as text; no library splits
that into paragraphs and table blocks for us. The rule is simple and documented here: a run of at least
3 consecutive lines that each carry 2+ numeric cells (or pipe/tab separated cells) is a table.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from fincortex.ingest.documents import Section

_NUMBER = re.compile(r"(?<![\w.])[(\-$€£]?\d[\d,.]*%?\)?(?![\w])")
_CELL_SEPARATOR = re.compile(r"\t|\s\|\s|\s{3,}")
MIN_TABLE_LINES = 3


def _looks_tabular(line: str) -> bool:
    stripped = line.strip()
    if not stripped or len(stripped) > 300:
        return False
    if len(_CELL_SEPARATOR.findall(stripped)) >= 2:
        return True
    numbers = _NUMBER.findall(stripped)
    words = len(stripped.split())
    return len(numbers) >= 2 and len(numbers) * 2 >= words - 2


def text_to_sections(text: str, page: int | None = None) -> Iterator[Section]:
    """Paragraphs and table blocks of one page (or one plain-text document) in reading order."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    paragraph: list[str] = []
    table: list[str] = []

    def flush_paragraph() -> Iterator[Section]:
        if paragraph:
            joined = " ".join(part.strip() for part in paragraph if part.strip())
            if joined:
                yield Section(joined, page=page)
            paragraph.clear()

    def flush_table() -> Iterator[Section]:
        if len(table) >= MIN_TABLE_LINES:
            yield Section("\n".join(line.strip() for line in table), page=page, is_table=True)
        else:
            paragraph.extend(table)
        table.clear()

    for line in lines:
        if _looks_tabular(line):
            if not table:
                yield from flush_paragraph()
            table.append(line)
            continue
        if table:
            yield from flush_table()
            yield from flush_paragraph()
        if not line.strip():
            yield from flush_paragraph()
        else:
            paragraph.append(line)
    yield from flush_table()
    yield from flush_paragraph()
