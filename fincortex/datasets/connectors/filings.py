"""SEC 10-K filings as PDF from the FinanceBench repository, file `COMPANY_YYYY_10K.pdf`.

A 10-K for fiscal year YYYY is filed within 60-90 days of a fiscal year end that falls no later than
~1 month after Dec 31 YYYY, so available_at is the end of April 30 of YYYY+1 (an upper bound).
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from fincortex.datasets.connector import DocumentConnector
from fincortex.datasets.manifest import DatasetFile
from fincortex.ingest.dates import end_of_day
from fincortex.ingest.documents import Document, IngestError
from fincortex.ingest.parsers import FileOptions, parse_pdf

FILE_NAME = re.compile(r"^(?P<company>[A-Z]+)_(?P<year>\d{4})_10K$")
TICKERS = {
    "AMAZON": "AMZN", "AMCOR": "AMCR", "AMD": "AMD", "APPLE": "AAPL", "BOEING": "BA",
    "LOCKHEEDMARTIN": "LMT", "MICROSOFT": "MSFT", "NIKE": "NKE",
}
RULE = "10-K for fiscal YYYY: end of April 30, YYYY+1 (upper bound for the filing date)"


class Filings(DocumentConnector):
    name = "filings"
    description = "SEC 10-K filings as PDF (FinanceBench, CC BY-NC)"
    available_at_rule = "end of April 30 of YYYY+1 (upper bound for the filing date)"
    mirror_prefix = "filings/"

    def is_origin(self, file: DatasetFile) -> bool:
        return file.relpath.endswith(".pdf")

    def parse(self, path: Path, file: DatasetFile, origin_hash: str) -> list[Document]:
        match = FILE_NAME.match(path.stem)
        if not match:
            raise IngestError(f"filing name {path.name} is not COMPANY_YYYY_10K.pdf")
        year = int(match["year"])
        options = FileOptions(doc_type="filing", source="financebench", ticker=TICKERS.get(match["company"]))
        (doc,) = parse_pdf(path, options, origin_hash)
        doc.source_key = f"filings:{path.stem}"
        doc.uri = f"dataset://{file.relpath}"
        doc.title = f"{match['company'].title()} {year} 10-K"
        doc.available_at = end_of_day(datetime(year + 1, 4, 30))
        doc.available_at_rule = RULE
        doc.meta = {"fiscal_year": year}
        return [doc]
