"""File parsers: one function per format, each turning a path into Documents or a clear IngestError."""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from fincortex.ingest.dates import available_from, parse_when
from fincortex.ingest.documents import Document, IngestError, Section, text_hash
from fincortex.ingest.encodings import sniff
from fincortex.ingest.text_blocks import text_to_sections

TEXT_COLUMNS = ("text", "content", "body", "article", "description")
TITLE_COLUMNS = ("title", "headline", "headlines")
DATE_COLUMNS = ("published_at", "date", "time", "timestamp", "datetime")
STREAM_BLOCK = 1 << 20  # 1 MiB: big text files are read, decoded and chunked in blocks


@dataclass(frozen=True)
class FileOptions:
    """What the operator said about a batch of files (CLI flags / SDK arguments)."""

    doc_type: str | None = None
    ticker: str | None = None
    published_at: datetime | None = None  # naive UTC
    source: str = "file"
    encoding: str = "utf-8"
    ingested_at: datetime | None = None  # the run's clock: files without a date become public now


class Parsed(list):
    """Documents from one file, plus the problems the parser survived (reported on the file's outcome)."""

    def __init__(self, documents=(), warnings: list[str] | None = None) -> None:
        super().__init__(documents)
        self.warnings = list(warnings or [])


def _base(path: Path, options: FileOptions, file_hash: str, **fields) -> dict:
    when = options.published_at
    available_at, rule = available_from(when, options.ingested_at)
    base = dict(
        source_key=str(path),
        content_hash=file_hash,
        source=options.source,
        doc_type=options.doc_type or "text",
        available_at=available_at,
        available_at_rule=rule,
        title=path.stem,
        ticker=options.ticker,
        published_at=when,
        uri=str(path),
        n_bytes=path.stat().st_size,
    )
    base.update(fields)
    return base


# -- plain text and markdown: streamed in blocks so a 200 MB file needs bounded memory -----------------
def _stream_text_sections(path: Path, encoding: str) -> Iterator[Section]:
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    carry = ""
    with open(path, "rb") as handle:
        while block := handle.read(STREAM_BLOCK):
            text = carry + decoder.decode(block)
            cut = text.rfind("\n\n")  # end the block on a paragraph boundary when there is one
            if cut < 0:
                cut = text.rfind("\n")
            if cut < 0 and len(text) < 4 * STREAM_BLOCK:
                carry = text
                continue
            cut = len(text) if cut < 0 else cut
            yield from text_to_sections(text[:cut])
            carry = text[cut:]
    carry += decoder.decode(b"", final=True)
    if carry.strip():
        yield from text_to_sections(carry)


def parse_text(path: Path, options: FileOptions, file_hash: str) -> list[Document]:
    encoding = sniff(path, options.encoding)
    with open(path, encoding=encoding) as handle:
        if not handle.read(STREAM_BLOCK).strip():
            raise IngestError("no text (only whitespace)")
    return [Document(sections=_stream_text_sections(path, encoding), **_base(path, options, file_hash))]


# -- PDF ----------------------------------------------------------------------------------------------
def parse_pdf(path: Path, options: FileOptions, file_hash: str) -> list[Document]:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        raise IngestError(f"corrupt or truncated PDF ({exc})") from None
    try:
        n_pages = len(pdf)
        sections: list[Section] = []
        texts: list[str] = []
        for number in range(n_pages):
            try:
                page = pdf[number]
                text = page.get_textpage().get_text_bounded()
            except pdfium.PdfiumError as exc:
                raise IngestError(f"corrupt PDF page {number + 1} ({exc})") from None
            texts.append(text)
            sections.extend(text_to_sections(text, page=number + 1))
    finally:
        pdf.close()
    if not any(s.text.strip() for s in sections):
        raise IngestError("PDF has no extractable text (scanned images? OCR is not supported)")
    from fincortex.ingest.filings import FilingDocument, enrich_pdf  # metadata + statement tables (filings.py)

    extra = enrich_pdf(path, texts)
    base = _base(path, options, file_hash, doc_type=options.doc_type or "filing")
    if extra.meta is not None:
        base["meta"] = {"filing": extra.meta.as_meta()}
        base["ticker"] = options.ticker or extra.meta.ticker
    return [FilingDocument(sections=sections + extra.sections, n_pages=n_pages, statement_rows=extra.rows, **base)]


# -- HTML ---------------------------------------------------------------------------------------------
def parse_html(path: Path, options: FileOptions, file_hash: str) -> list[Document]:
    from bs4 import BeautifulSoup

    encoding = sniff(path, options.encoding)
    soup = BeautifulSoup(path.read_text(encoding=encoding), "html.parser")
    for tag in soup(["script", "style", "noscript"]):
        tag.decompose()
    title = soup.title.get_text(strip=True) if soup.title else path.stem
    sections: list[Section] = []
    for table in soup.find_all("table"):
        rows = [
            " | ".join(cell.get_text(" ", strip=True) for cell in row.find_all(["th", "td"]))
            for row in table.find_all("tr")
        ]
        rows = [r for r in rows if r.strip(" |")]
        if rows:
            sections.append(Section("\n".join(rows), is_table=True))
        table.decompose()
    body = soup.get_text("\n")
    sections = list(text_to_sections(body)) + sections
    if not any(s.text.strip() for s in sections):
        raise IngestError("HTML has no visible text")
    return [Document(sections=sections, **_base(path, options, file_hash, title=title or path.stem, doc_type=options.doc_type or "web"))]


# -- records: CSV, JSON, JSONL ------------------------------------------------------------------------
def _pick(record: dict, names: tuple[str, ...]) -> str | None:
    lowered = {str(k).strip().lower(): v for k, v in record.items()}
    for name in names:
        value = lowered.get(name)
        if value not in (None, ""):
            return str(value)
    return None


def _record_documents(
    path: Path, options: FileOptions, file_hash: str, records: Iterator[tuple[str, dict]]
) -> list[Document]:
    documents: list[Document] = []
    for key, record in records:
        text = _pick(record, TEXT_COLUMNS)
        title = _pick(record, TITLE_COLUMNS)
        if title and text and title not in text:
            text = f"{title}\n{text}"
        text = text or title
        if not text or not text.strip():
            continue  # blank rows are common in real exports; counted in meta below
        stated = _pick(record, DATE_COLUMNS)
        when = options.published_at
        if stated:
            try:
                when = parse_when(stated)
            except ValueError as exc:
                raise IngestError(f"record {key}: {exc}") from None
        available_at, rule = available_from(when, options.ingested_at)
        ticker = _pick(record, ("ticker", "symbol")) or options.ticker
        documents.append(
            Document(
                source_key=f"{path}#{key}",
                content_hash=text_hash(text, str(when)),
                sections=list(text_to_sections(text)),
                source=options.source,
                doc_type=_pick(record, ("doc_type", "type")) or options.doc_type or "record",
                available_at=available_at,
                available_at_rule=rule,
                title=title or f"{path.stem} #{key}",
                ticker=ticker,
                published_at=when,
                uri=str(path),
                n_bytes=len(text.encode("utf-8")),
            )
        )
    if not documents:
        raise IngestError("no records with text")
    return documents


def _require_text_fields(fields: list[str], where: str) -> None:
    lowered = {f.strip().lower() for f in fields if f}
    if not lowered & set(TEXT_COLUMNS + TITLE_COLUMNS):
        raise IngestError(
            f"{where} lacks a text column: expected one of {', '.join(TEXT_COLUMNS + TITLE_COLUMNS)}; "
            f"found {', '.join(sorted(lowered)) or 'no columns'}"
        )


def parse_csv(path: Path, options: FileOptions, file_hash: str) -> list[Document]:
    encoding = sniff(path, options.encoding)
    with open(path, newline="", encoding=encoding) as handle:
        reader = csv.DictReader(handle)
        _require_text_fields(reader.fieldnames or [], "CSV header")

        def rows() -> Iterator[tuple[str, dict]]:
            for number, row in enumerate(reader, start=1):
                if None in row:  # more cells than header columns
                    raise IngestError(f"CSV row {number + 1} has more fields than the header")
                yield _pick(row, ("id",)) or str(number), row

        return _record_documents(path, options, file_hash, rows())


def parse_json(path: Path, options: FileOptions, file_hash: str) -> list[Document]:
    encoding = sniff(path, options.encoding)
    try:
        data = json.loads(path.read_text(encoding=encoding))
    except json.JSONDecodeError as exc:
        raise IngestError(f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    if isinstance(data, dict):
        data = data.get("documents", data.get("records", [data]))
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise IngestError("JSON must be an object, a list of objects, or {\"documents\": [...]}")
    if data:
        _require_text_fields(sorted({k for r in data for k in r}), "JSON records")
    return _record_documents(path, options, file_hash, ((_pick(r, ("id",)) or str(i), r) for i, r in enumerate(data, 1)))


def parse_jsonl(path: Path, options: FileOptions, file_hash: str) -> list[Document]:
    """One record per line; a broken line is left out and reported, the good lines still land."""
    encoding = sniff(path, options.encoding)
    problems: list[str] = []

    def records() -> Iterator[tuple[str, dict]]:
        with open(path, encoding=encoding) as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    problems.append(f"line {number}: invalid JSON ({exc.msg} at column {exc.colno})")
                    continue
                if not isinstance(record, dict):
                    problems.append(f"line {number}: not a JSON object")
                    continue
                try:
                    _require_text_fields(list(record), f"line {number}")
                except IngestError as exc:
                    problems.append(str(exc))
                    continue
                yield _pick(record, ("id",)) or str(number), record

    try:
        documents = _record_documents(path, options, file_hash, records())
    except IngestError as exc:
        raise IngestError("; ".join([str(exc), *problems[:5]])) from None
    if not problems:
        return documents
    shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
    return Parsed(documents, [f"{len(problems)} JSONL line(s) left out, the other records landed: {shown}"])


PARSERS: dict[str, Callable[[Path, FileOptions, str], list[Document]]] = {
    ".txt": parse_text,
    ".md": parse_text,
    ".markdown": parse_text,
    ".pdf": parse_pdf,
    ".html": parse_html,
    ".htm": parse_html,
    ".csv": parse_csv,
    ".json": parse_json,
    ".jsonl": parse_jsonl,
}


def parse_file(path: Path, options: FileOptions, file_hash: str) -> list[Document]:
    parser = PARSERS.get(path.suffix.lower())
    if parser is None:
        raise IngestError(
            f"unsupported file type {path.suffix or '(no extension)'}; supported: {', '.join(sorted(PARSERS))}"
        )
    return parser(path, options, file_hash)
