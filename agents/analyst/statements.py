"""The statement-table reader: line items of ingested filings read back from `statement_rows`, point-in-time.

Why a reader of its own (and not the agents' SQL tool): the analyst and claim verification need typed
rows (value, scale, page, period) to compute with, filtered by the run's as_of exactly as search is;
the SQL tool (agents/common/sql_tool.py, which also allows `statement_rows`) is for free-form reading.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any


_NOTES = re.compile(r"\s*\((?:see\s+)?notes?\s[^)]*\)|\s*\(note\s*\d+\)", re.IGNORECASE)


@dataclass(frozen=True)
class LineItem:
    """One figure of a statement table, with where it is printed."""

    doc_id: int
    doc_name: str
    page: int  # 1-based
    statement: str  # income | balance | cashflow | other
    line_item: str
    section: str | None
    period: str | None  # header year of its column
    column_index: int
    value: float  # as printed
    scale: float  # value * scale = units (USD)
    unit: str
    raw: str
    available_at: datetime

    @property
    def name(self) -> str:
        """The line item without its note references: 'Inventories (Notes 1 and 3)' -> 'Inventories'."""
        return _NOTES.sub("", self.line_item).strip()

    @property
    def label(self) -> str:
        """The line item with its heading, for matching wrapped labels ('NET INCOME ATTRIBUTABLE TO ...')."""
        return f"{self.section} {self.name}" if self.section else self.name

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["available_at"] = self.available_at.isoformat(sep=" ")
        return out


def read_statement_rows(store: Any, doc_ids: Sequence[int], *, as_of: datetime | None = None,
                        statements: Sequence[str] | None = None) -> list[LineItem]:
    """Every figure of the given documents' tables (available by `as_of`), in page and row order."""
    if store is None or not doc_ids:
        return []
    sql = ("SELECT s.doc_id, d.title, s.page, s.statement, s.line_item, s.section, s.period, s.column_index, "
           "s.value, s.scale, s.unit, s.raw, s.available_at FROM statement_rows s JOIN documents d ON d.doc_id = s.doc_id "
           f"WHERE s.doc_id IN ({', '.join('?' * len(doc_ids))})")
    params: list = [int(d) for d in doc_ids]
    if as_of is not None:
        sql += " AND s.available_at <= ? AND d.available_at <= ?"
        params += [as_of, as_of]
    if statements:
        sql += f" AND s.statement IN ({', '.join('?' * len(statements))})"
        params += list(statements)
    sql += " ORDER BY s.doc_id, s.page, s.table_index, s.row_index, s.column_index"
    with store.read() as conn:
        rows = conn.execute(sql, params).fetchall()
    return [LineItem(int(r[0]), r[1] or "", int(r[2]), r[3], r[4], r[5], r[6], int(r[7]), float(r[8]), float(r[9]),
                     r[10], r[11], r[12]) for r in rows]


def find_line_item(rows: Sequence[LineItem], patterns: Sequence[str], period: str | None,
                   statements: Sequence[str] = ()) -> LineItem | None:
    """The first row (patterns in priority order; within one, page order) whose line item matches a
    pattern (case-insensitive regex), in `statements` when given, in the `period` column when given.
    A pattern is tried on the line item first and on heading + line item second."""
    pool = [r for r in rows if (not statements or r.statement in statements) and (period is None or r.period == period)]
    for pattern in patterns:
        regex = re.compile(pattern, re.IGNORECASE)
        for attr in ("name", "label"):
            for row in pool:
                if regex.search(getattr(row, attr)):
                    return row
    return None
