"""CNBC, Reuters and Guardian market headlines 2017-2020 (Kaggle), one CSV per outlet.

CNBC states a time of day in US/Eastern: available_at is that instant. Reuters and the Guardian state a
date only: the end of that day US/Eastern. Blank rows and undated rows in the published files are skipped.
"""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

from fincortex.datasets.connector import DocumentConnector
from fincortex.datasets.manifest import DatasetFile
from fincortex.ingest.dates import END_OF_DAY_RULE, parse_when
from fincortex.ingest.documents import Document, IngestError, Section, text_hash

ENCODINGS = ("utf-8", "cp1252")  # the Guardian file carries cp1252 bytes
EXACT_RULE = "stated time US/Eastern"


def read_text_any(path: Path, encodings: tuple[str, ...]) -> str:
    raw = path.read_bytes()
    for encoding in encodings:
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise IngestError(f"{path.name} is in none of the encodings {encodings}")


class Headlines(DocumentConnector):
    name = "headlines"
    description = "CNBC, Reuters and Guardian market headlines 2017-2020 (Kaggle)"
    available_at_rule = "CNBC: the stated time, US/Eastern; Reuters, Guardian: date only, end of that day US/Eastern"
    subsets = ("cnbc", "guardian", "reuters")
    mirror_prefix = "news/"

    def is_origin(self, file: DatasetFile) -> bool:
        return file.relpath.endswith(".csv")

    def parse(self, path: Path, file: DatasetFile, origin_hash: str) -> list[Document]:
        outlet = path.stem.split("_")[0]  # cnbc | reuters | guardian
        reader = csv.DictReader(io.StringIO(read_text_any(path, ENCODINGS)))
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
                available_at_rule=EXACT_RULE if exact else END_OF_DAY_RULE,
                title=headline,
                published_at=when,
                uri=f"dataset://{file.relpath}",
                n_bytes=len(text.encode()),
                meta={"description": bool(description)},
            )
        if not documents:
            raise IngestError("no dated headlines found")
        return list(documents.values())
