"""BEIR-format datasets: read a folder, write one, convert TAT-QA into one, load a corpus into a store.

BEIR layout (Thakur et al., 2021): corpus.jsonl ({"_id", "title", "text"}), queries.jsonl ({"_id",
"text"}), qrels/<split>.tsv (query-id, corpus-id, score; a header line). Reading and writing is a few
lines of json/csv, so it is done here instead of pulling in the `beir` package and its dependencies.
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from fincortex.retrieval.corpus_rows import DocRow, write_documents
from fincortex.store import Store

BEIR_SOURCE = "beir"
NO_TIME = datetime(1970, 1, 1)  # BEIR corpora carry no publication time: everything is "always public"


class BeirFormatError(ValueError):
    """A BEIR folder or a TAT-QA file is missing a part or has a malformed record (names file and line)."""


@dataclass
class BeirDataset:
    name: str
    corpus: dict[str, tuple[str, str]]  # doc id -> (title, text)
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]  # query id -> {doc id: relevance}
    corpus_sha256: str

    def summary(self) -> dict:
        return {"name": self.name, "n_docs": len(self.corpus), "n_queries": len(self.queries),
                "n_qrels": sum(len(v) for v in self.qrels.values())}


def _read_jsonl(path: Path, required: tuple[str, ...]) -> list[dict]:
    if not path.exists():
        raise BeirFormatError(f"missing {path} (a BEIR folder needs corpus.jsonl, queries.jsonl, qrels/<split>.tsv)")
    records = []
    with open(path, encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise BeirFormatError(f"{path}:{line_no}: not JSON ({exc.msg})") from exc
            missing = [key for key in required if key not in record]
            if missing:
                raise BeirFormatError(f"{path}:{line_no}: record lacks {missing}")
            records.append(record)
    return records


def load_beir(folder: Path | str, split: str = "test") -> BeirDataset:
    folder = Path(folder)
    if not folder.is_dir():
        raise BeirFormatError(f"BEIR folder {folder} does not exist or is not a folder")
    corpus_file = folder / "corpus.jsonl"
    corpus = {str(r["_id"]): (str(r.get("title") or ""), str(r["text"]))
              for r in _read_jsonl(corpus_file, ("_id", "text"))}
    queries = {str(r["_id"]): str(r["text"]) for r in _read_jsonl(folder / "queries.jsonl", ("_id", "text"))}
    qrels_file = folder / "qrels" / f"{split}.tsv"
    if not qrels_file.exists():
        raise BeirFormatError(f"missing {qrels_file}")
    qrels: dict[str, dict[str, int]] = {}
    with open(qrels_file, encoding="utf-8", newline="") as handle:
        for line_no, row in enumerate(csv.reader(handle, delimiter="\t"), start=1):
            if not row or (line_no == 1 and not row[-1].strip().lstrip("-").isdigit()):
                continue  # header
            if len(row) < 3:
                raise BeirFormatError(f"{qrels_file}:{line_no}: expected query-id, corpus-id, score")
            qid, doc_id, score = row[0], row[1], int(row[2])
            if doc_id not in corpus:
                raise BeirFormatError(f"{qrels_file}:{line_no}: corpus-id {doc_id!r} is not in corpus.jsonl")
            if qid not in queries:
                raise BeirFormatError(f"{qrels_file}:{line_no}: query-id {qid!r} is not in queries.jsonl")
            if score > 0:
                qrels.setdefault(qid, {})[doc_id] = score
    if not corpus or not qrels:
        raise BeirFormatError(f"{folder}: empty corpus or no positive qrels")
    digest = hashlib.sha256(corpus_file.read_bytes()).hexdigest()
    return BeirDataset(folder.name, corpus, queries, qrels, digest)


def write_beir(out: Path | str, corpus: list[dict], queries: list[dict], qrels: list[tuple[str, str, int]],
               split: str = "test") -> None:
    out = Path(out)
    (out / "qrels").mkdir(parents=True, exist_ok=True)
    for name, records in (("corpus.jsonl", corpus), ("queries.jsonl", queries)):
        with open(out / name, "w", encoding="utf-8") as handle:
            for record in records:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    with open(out / "qrels" / f"{split}.tsv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(["query-id", "corpus-id", "score"])
        writer.writerows(qrels)


def table_to_text(rows: list[list[str]]) -> str:
    """A TAT-QA table as pipe-separated lines, empty cells kept so columns stay aligned."""
    return "\n".join(" | ".join(str(cell).strip() for cell in row) for row in rows if any(str(c).strip() for c in row))


def read_tatqa(tatqa_file: Path | str) -> list[dict]:
    """The TAT-QA file as its list of contexts (table + paragraphs + questions)."""
    tatqa_file = Path(tatqa_file)
    try:
        contexts = json.loads(tatqa_file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise BeirFormatError(f"cannot read TAT-QA file {tatqa_file}: {exc}") from exc
    if not isinstance(contexts, list):
        raise BeirFormatError(f"{tatqa_file}: expected a JSON list of contexts (TAT-QA format)")
    return contexts


def tatqa_records(contexts: list[dict], origin: str = "TAT-QA") -> tuple[list[dict], list[dict], list[tuple[str, str, int]]]:
    """TAT-QA contexts -> BEIR (corpus, queries, qrels): each table and paragraph is a corpus document,
    each question a query; qrels are the question's `rel_paragraphs`, plus its context's table when the
    answer comes from the table."""
    corpus, queries, qrels = [], [], []
    for n, context in enumerate(contexts):
        try:
            table = context["table"]
            paragraphs = {str(p["order"]): p for p in context["paragraphs"]}
            questions = context["questions"]
        except (KeyError, TypeError) as exc:
            raise BeirFormatError(f"{origin}: context #{n} lacks table/paragraphs/questions ({exc})") from exc
        corpus.append({"_id": table["uid"], "title": "", "text": table_to_text(table["table"])})
        corpus.extend({"_id": p["uid"], "title": "", "text": p["text"]} for p in paragraphs.values())
        for q in questions:
            relevant = {paragraphs[str(order)]["uid"] for order in q.get("rel_paragraphs", []) if str(order) in paragraphs}
            if q.get("answer_from") in ("table", "table-text"):
                relevant.add(table["uid"])
            if not relevant:
                continue
            queries.append({"_id": q["uid"], "text": q["question"]})
            qrels.extend((q["uid"], doc_id, 1) for doc_id in sorted(relevant))
    return corpus, queries, qrels


def export_tatqa(tatqa_file: Path | str, out: Path | str) -> dict:
    """TAT-QA -> BEIR folder (see tatqa_records)."""
    contexts = read_tatqa(tatqa_file)
    corpus, queries, qrels = tatqa_records(contexts, str(tatqa_file))
    write_beir(out, corpus, queries, qrels)
    return {"out": str(out), "n_docs": len(corpus), "n_queries": len(queries), "n_qrels": len(qrels),
            "n_tables": len(contexts)}


def source_key(dataset: BeirDataset, doc_id: str) -> str:
    return f"beir:{dataset.corpus_sha256[:16]}:{doc_id}"


def load_into_store(store: Store, dataset: BeirDataset) -> dict[int, str]:
    """Write the corpus (one document = one chunk, so qrels map 1:1) unless it is already there;
    return chunk_id -> BEIR doc id."""
    prefix = source_key(dataset, "")
    docs = [
        DocRow(source_key=source_key(dataset, doc_id), chunks=[f"{title}\n{text}" if title else text],
               available_at=NO_TIME, available_at_rule="beir corpus: no publication time",
               source=BEIR_SOURCE, doc_type="passage", title=title or None)
        for doc_id, (title, text) in dataset.corpus.items() if text.strip() or title.strip()
    ]
    rows = _loaded(store, prefix)
    if len(rows) != len(docs):
        write_documents(store, docs)
        rows = _loaded(store, prefix)
    return {chunk_id: key[len(prefix):] for chunk_id, key in rows}


def _loaded(store: Store, prefix: str) -> list[tuple[int, str]]:
    with store.read() as conn:
        return conn.execute(
            "SELECT c.chunk_id, d.source_key FROM chunks c JOIN documents d ON d.doc_id = c.doc_id "
            "WHERE starts_with(d.source_key, ?)", [prefix]).fetchall()
