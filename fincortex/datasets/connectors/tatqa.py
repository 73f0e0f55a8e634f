"""TAT-QA dev (ACL 2021, MIT): annual-report excerpts, one table plus its paragraphs per context.

The excerpts carry no dates: available_at is the dataset's publication, 2021-06-01.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from fincortex.datasets.connector import DocumentConnector
from fincortex.datasets.manifest import DatasetFile
from fincortex.ingest.documents import Document, Section, text_hash

RULE = "TAT-QA: undated excerpts -> dataset publication 2021-06-01"
PUBLISHED = datetime(2021, 6, 1)


def table_text(table: list[list[str]]) -> str:
    rows = [" | ".join(str(cell).strip() for cell in row) for row in table]
    return "\n".join(row for row in rows if row.strip(" |"))


class TatQA(DocumentConnector):
    name = "tatqa"
    description = "TAT-QA dev: annual-report tables + paragraphs with questions (MIT)"
    available_at_rule = "undated: the dataset's publication, 2021-06-01"
    mirror_prefix = "tatqa/"

    def is_origin(self, file: DatasetFile) -> bool:
        return file.relpath.endswith(".json")

    def parse(self, path: Path, file: DatasetFile, origin_hash: str) -> list[Document]:
        documents = []
        for item in json.loads(path.read_text(encoding="utf-8")):
            uid = item["table"]["uid"]
            paragraphs = sorted(item.get("paragraphs", []), key=lambda p: p.get("order", 0))
            sections = [Section(table_text(item["table"]["table"]), is_table=True)]
            sections += [Section(p["text"]) for p in paragraphs if p.get("text", "").strip()]
            documents.append(
                Document(
                    source_key=f"tatqa:{uid}",
                    content_hash=text_hash(*(s.text for s in sections)),
                    sections=sections,
                    source="tatqa",
                    doc_type="report",
                    available_at=PUBLISHED,
                    available_at_rule=RULE,
                    title=f"TAT-QA annual report excerpt {uid[:8]}",
                    uri=f"dataset://{file.relpath}",
                    meta={"table_uid": uid, "paragraph_uids": [p["uid"] for p in paragraphs]},
                )
            )
        return documents
