"""Where origins come from: the operator's files and folders, or a pulled public dataset.

Each dataset states how it derives `available_at` (stored per document in `available_at_rule`):
- ectsum (earnings calls, file TICKER_qN_YYYY): the files carry no call date. Calls happen within
  ~6 weeks of the fiscal quarter's end, and fiscal quarters end at most ~1 month after the calendar
  quarter of the same name, so we use the end of calendar quarter N of YYYY + 92 days (an upper bound:
  never earlier than the real call).
- headlines: CNBC states a time of day in US/Eastern -> that instant; Reuters and the Guardian state a
  date only -> end of that day US/Eastern.
- filings (COMPANY_YYYY_10K.pdf): a 10-K for fiscal year YYYY is filed within 60-90 days of a fiscal
  year end that falls no later than ~1 month after Dec 31 YYYY -> end of April 30 of YYYY+1.
- tatqa (annual-report excerpts without dates): the dataset's publication, 2021-06-01 (TAT-QA, ACL 2021).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

from fincortex.datasets.fetch import PulledDataset, sha256_file
from fincortex.datasets.registry import DatasetFile
from fincortex.ingest.dates import END_OF_DAY_RULE, end_of_day, parse_when
from fincortex.ingest.documents import Document, IngestError, Section, text_hash
from fincortex.ingest.parsers import PARSERS, FileOptions, parse_file, parse_pdf
from fincortex.ingest.pipeline import Origin

# -- the operator's files --------------------------------------------------------------------------


def file_origins(paths: list[Path], options: FileOptions) -> Iterator[Origin]:
    """Expand folders (recursively, supported extensions, sorted) and report missing paths as failures."""
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.exists():
            yield Origin(str(raw), str(path), 0, lambda: "", lambda h: [], error="no such file or directory")
            continue
        files = (
            sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
            if path.is_dir()
            else [path]
        )
        if path.is_dir():
            files = [p for p in files if p.suffix.lower() in PARSERS]
        for file in files:
            resolved = file.resolve()
            if resolved in seen:
                continue
            seen.add(resolved)
            yield Origin(
                item=str(file),
                uri=str(resolved),
                size=resolved.stat().st_size,
                hash=partial(sha256_file, resolved),
                parse=partial(_parse_file_as, resolved, options),
            )


def _parse_file_as(path: Path, options: FileOptions, file_hash: str) -> list[Document]:
    return parse_file(path, options, file_hash)


# -- public datasets -------------------------------------------------------------------------------
ECTSUM_NAME = re.compile(r"^(?P<ticker>[A-Z.\-]+)_q(?P<quarter>[1-4])_(?P<year>\d{4})$")
FILING_NAME = re.compile(r"^(?P<company>[A-Z]+)_(?P<year>\d{4})_10K$")
FILING_TICKERS = {
    "AMAZON": "AMZN", "AMCOR": "AMCR", "AMD": "AMD", "APPLE": "AAPL", "BOEING": "BA",
    "LOCKHEEDMARTIN": "LMT", "MICROSOFT": "MSFT", "NIKE": "NKE",
}
ECTSUM_RULE = "ECTSum: end of calendar quarter N of YYYY + 92 days (upper bound for the call date)"
FILING_RULE = "10-K for fiscal YYYY: end of April 30, YYYY+1 (upper bound for the filing date)"
TATQA_RULE = "TAT-QA: undated excerpts -> dataset publication 2021-06-01"
TATQA_AVAILABLE = datetime(2021, 6, 1)
HEADLINE_ENCODINGS = ("utf-8", "cp1252")  # the Guardian file carries cp1252 bytes


def _dataset_origin(pulled: PulledDataset, file: DatasetFile, parse) -> Origin:
    path = pulled.path(file)
    return Origin(
        item=f"{pulled.name}:{file.relpath}",
        uri=f"dataset://{file.relpath}",
        size=file.size,
        hash=lambda: file.sha256,  # verified by the fetcher
        parse=partial(parse, path, file),
    )


def ectsum_available_at(year: int, quarter: int) -> datetime:
    quarter_end = datetime(year + (quarter == 4), (quarter * 3) % 12 + 1, 1) - timedelta(days=1)
    return end_of_day(quarter_end + timedelta(days=92))


def _parse_ectsum(path: Path, file: DatasetFile, origin_hash: str) -> list[Document]:
    match = ECTSUM_NAME.match(path.stem)
    if not match:
        raise IngestError(f"ECTSum file name {path.name} is not TICKER_qN_YYYY.txt")
    ticker, quarter, year = match["ticker"], int(match["quarter"]), int(match["year"])
    text = path.read_text(encoding="utf-8")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        raise IngestError("empty transcript")
    split = file.relpath.split("/")[2]
    return [
        Document(
            source_key=f"ectsum:{split}:{path.stem}",
            content_hash=origin_hash,
            sections=[Section(line) for line in lines],
            source="ectsum",
            doc_type="transcript",
            available_at=ectsum_available_at(year, quarter),
            available_at_rule=ECTSUM_RULE,
            title=f"{ticker} Q{quarter} {year} earnings call",
            ticker=ticker,
            uri=f"dataset://{file.relpath}",
            n_bytes=file.size,
            meta={"split": split, "fiscal_quarter": quarter, "fiscal_year": year},
        )
    ]


def _read_text_any(path: Path, encodings: tuple[str, ...]) -> str:
    raw = path.read_bytes()
    for encoding in encodings:
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise IngestError(f"{path.name} is in none of the encodings {encodings}")


def _parse_headlines(path: Path, file: DatasetFile, origin_hash: str) -> list[Document]:
    outlet = path.stem.split("_")[0]  # cnbc | reuters | guardian
    reader = csv.DictReader(io.StringIO(_read_text_any(path, HEADLINE_ENCODINGS)))
    documents: dict[str, Document] = {}
    for row in reader:
        headline = " ".join((row.get("Headlines") or "").split())
        stamp = (row.get("Time") or "").strip()
        if not headline or not stamp:
            continue  # the published files contain blank rows
        description = " ".join((row.get("Description") or "").split())
        try:
            when = parse_when(stamp)
        except ValueError:
            continue
        exact = ":" in stamp
        key = hashlib.sha1(f"{stamp}|{headline}".encode()).hexdigest()[:16]
        text = f"{headline}\n{description}" if description else headline
        documents[key] = Document(
            source_key=f"headlines:{outlet}:{key}",
            content_hash=text_hash(text, stamp),
            sections=[Section(text)],
            source=outlet,
            doc_type="news",
            available_at=when,
            available_at_rule="stated time US/Eastern" if exact else END_OF_DAY_RULE,
            title=headline,
            published_at=when,
            uri=f"dataset://{file.relpath}",
            n_bytes=len(text.encode()),
            meta={"description": bool(description)},
        )
    if not documents:
        raise IngestError("no dated headlines found")
    return list(documents.values())


def _parse_filing(path: Path, file: DatasetFile, origin_hash: str) -> list[Document]:
    match = FILING_NAME.match(path.stem)
    if not match:
        raise IngestError(f"filing name {path.name} is not COMPANY_YYYY_10K.pdf")
    year = int(match["year"])
    options = FileOptions(doc_type="filing", source="financebench", ticker=FILING_TICKERS.get(match["company"]))
    (doc,) = parse_pdf(path, options, origin_hash)
    doc.source_key = f"filings:{path.stem}"
    doc.uri = f"dataset://{file.relpath}"
    doc.title = f"{match['company'].title()} {year} 10-K"
    doc.available_at = end_of_day(datetime(year + 1, 4, 30))
    doc.available_at_rule = FILING_RULE
    doc.meta = {"fiscal_year": year}
    return [doc]


def tatqa_table_text(table: list[list[str]]) -> str:
    rows = [" | ".join(str(cell).strip() for cell in row) for row in table]
    return "\n".join(row for row in rows if row.strip(" |"))


def _parse_tatqa(path: Path, file: DatasetFile, origin_hash: str) -> list[Document]:
    documents = []
    for item in json.loads(path.read_text(encoding="utf-8")):
        uid = item["table"]["uid"]
        paragraphs = sorted(item.get("paragraphs", []), key=lambda p: p.get("order", 0))
        sections = [Section(tatqa_table_text(item["table"]["table"]), is_table=True)]
        sections += [Section(p["text"]) for p in paragraphs if p.get("text", "").strip()]
        documents.append(
            Document(
                source_key=f"tatqa:{uid}",
                content_hash=text_hash(*(s.text for s in sections)),
                sections=sections,
                source="tatqa",
                doc_type="report",
                available_at=TATQA_AVAILABLE,
                available_at_rule=TATQA_RULE,
                title=f"TAT-QA annual report excerpt {uid[:8]}",
                uri=f"dataset://{file.relpath}",
                meta={"table_uid": uid, "paragraph_uids": [p["uid"] for p in paragraphs]},
            )
        )
    return documents


DOCUMENT_DATASETS = {
    "ectsum": (lambda f: "/ects/" in f.relpath, _parse_ectsum),
    "headlines": (lambda f: f.relpath.endswith(".csv"), _parse_headlines),
    "filings": (lambda f: f.relpath.endswith(".pdf"), _parse_filing),
    "tatqa": (lambda f: f.relpath.endswith(".json"), _parse_tatqa),
}
NOT_DOCUMENTS = {
    "crypto-prices": "holds prices, not documents: `fincortex prices import` (or ingest --dataset crypto-prices imports them)",
    "phrasebank": "holds labelled sentences used for training (sentiment, tuning), not documents to search",
    "forecastbench": "holds forecasting questions, used by `fincortex forecast`, not documents to search",
}


def dataset_origins(pulled: PulledDataset) -> Iterator[Origin]:
    if pulled.name not in DOCUMENT_DATASETS:
        raise IngestError(f"dataset {pulled.name!r} {NOT_DOCUMENTS.get(pulled.name, 'has no documents')}")
    wanted, parse = DOCUMENT_DATASETS[pulled.name]
    for file in pulled.files:
        if wanted(file):
            yield _dataset_origin(pulled, file, parse)
