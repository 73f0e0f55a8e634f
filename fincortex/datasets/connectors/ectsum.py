"""ECTSum (EMNLP 2022): earnings-call transcripts, one sentence per line, file `TICKER_qN_YYYY.txt`.

The files carry no call date. Calls happen within ~6 weeks of the fiscal quarter's end, and fiscal
quarters end at most ~1 month after the calendar quarter of the same name, so available_at is the end of
calendar quarter N of YYYY + 92 days: an upper bound, never earlier than the real call.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

from fincortex.datasets.connector import DocumentConnector
from fincortex.datasets.manifest import DatasetFile
from fincortex.ingest.dates import end_of_day
from fincortex.ingest.documents import Document, IngestError, Section

FILE_NAME = re.compile(r"^(?P<ticker>[A-Z.\-]+)_q(?P<quarter>[1-4])_(?P<year>\d{4})$")
RULE = "ECTSum: end of calendar quarter N of YYYY + 92 days (upper bound for the call date)"


def available_at(year: int, quarter: int) -> datetime:
    quarter_end = datetime(year + (quarter == 4), (quarter * 3) % 12 + 1, 1) - timedelta(days=1)
    return end_of_day(quarter_end + timedelta(days=92))


class ECTSum(DocumentConnector):
    name = "ectsum"
    description = "ECTSum earnings-call transcripts and bullet summaries (EMNLP 2022)"
    available_at_rule = "end of calendar quarter N of YYYY + 92 days (an upper bound for the call date)"
    subsets = ("train", "val")
    mirror_prefix = "transcripts/ectsum/"

    def is_origin(self, file: DatasetFile) -> bool:
        return "/ects/" in file.relpath  # the gt_summaries are references for tuning, not documents

    def parse(self, path: Path, file: DatasetFile, origin_hash: str) -> list[Document]:
        match = FILE_NAME.match(path.stem)
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
                available_at=available_at(year, quarter),
                available_at_rule=RULE,
                title=f"{ticker} Q{quarter} {year} earnings call",
                ticker=ticker,
                uri=f"dataset://{file.relpath}",
                n_bytes=file.size,
                meta={"split": split, "fiscal_quarter": quarter, "fiscal_year": year},
            )
        ]
