"""FinanceBench evaluation of the analyst in one shared store (the hard setting), with baselines in the same run.

Measured per question (FinanceBench open-source questions; `evidence_page_num` is 0-based, pages here are
1-based, so evidence page p is PDF page p + 1):
- doc recall@k: 1 when one of the top-k retrieved chunks is from the question's filing;
- page recall@k: the share of the question's evidence pages that a top-k chunk from that filing covers
  (page_start <= page <= page_end);
- numeric accuracy, on questions whose gold answer is a figure ('65.4%', '$1832.00', '0.83'): the answer's
  figure within 1% of the gold figure (relative; absolute 0.005 for gold figures below 1, where rounding to
  two decimals is the question's own instruction). The answer's figure is the calculator's result for a
  computed answer, else the first figure of the answer text that is not a year;
- refusal rate: answers that say the documents do not hold the answer or that an input is missing;
- seconds per question (wall clock, this machine).
The analyst's ranked list is its evidence: the statement-table chunks its calculator read (a computed
answer's input pages, first) and then its search hits; the JSON row keeps the computed inputs apart too.
Systems, all in the same run: retrieval only with BM25, dense, hybrid, hybrid + rerank (when a reranker
is configured; otherwise reported unavailable, never faked), hybrid restricted to the question's scoped
filings (agents/analyst/scope.py, the analyst's filter without the rest of the analyst); answers from the analyst with its defaults
(company/period scope, statement tables, calculator), the plain hybrid analyst (scope and computation
off: the analyst before this work) and closed book (the chat model with the question alone).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from fincortex.agents.analyst.graph import Analyst, AnalystConfig
from fincortex.agents.analyst.scope import load_filings, parse_scope
from fincortex.agents.common.deps import AgentDeps, require_search
from fincortex.progress import Progress, report as report_progress

KS = (1, 5, 10)
# name -> (mode, rerank, restricted to the question's scoped filings)
RETRIEVAL_BASELINES: dict[str, tuple[str, bool, bool]] = {
    "bm25": ("bm25", False, False), "dense": ("dense", False, False), "hybrid": ("hybrid", False, False),
    "hybrid+rerank": ("hybrid", True, False), "hybrid+scope": ("hybrid", False, True)}
REFUSAL = re.compile(r"do(?:es)? not contain|not (?:enough|available)|cannot be (?:computed|answered|determined)|"
                     r"no chunk available|unable to|don't know|do not know|not found in|no information", re.IGNORECASE)
_FIGURE = re.compile(r"-?\$?\s?\(?\d[\d,]*(?:\.\d+)?\)?\s?%?")
CLOSED_BOOK_SYSTEM = "You are a financial analyst. Answer the question in one or two sentences."


@dataclass(frozen=True)
class FinanceBenchQuestion:
    financebench_id: str
    question: str
    answer: str
    doc_name: str
    pages: tuple[int, ...]  # 1-based evidence pages
    question_type: str = ""


def load_questions(path: Path | str) -> list[FinanceBenchQuestion]:
    """FinanceBench JSONL; a line without the needed fields is an error naming the line and the field."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"questions file {path} does not exist")
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path} line {number}: invalid JSON ({exc.msg})") from None
        for key in ("financebench_id", "question", "answer", "doc_name", "evidence"):
            if key not in row:
                raise ValueError(f"{path} line {number}: missing field {key!r}")
        pages = tuple(sorted({int(e["evidence_page_num"]) + 1 for e in row["evidence"] if "evidence_page_num" in e}))
        out.append(FinanceBenchQuestion(row["financebench_id"], row["question"], row["answer"], row["doc_name"],
                                        pages, row.get("question_type", "")))
    if not out:
        raise ValueError(f"{path} holds no questions")
    return out


def interleave(questions: Sequence[FinanceBenchQuestion]) -> list[FinanceBenchQuestion]:
    """One question per filing in turn (filings in file order): a prefix of it spans the filings."""
    by_doc: dict[str, list[FinanceBenchQuestion]] = {}
    for q in questions:
        by_doc.setdefault(q.doc_name, []).append(q)
    out: list[FinanceBenchQuestion] = []
    while any(by_doc.values()):
        for queue in by_doc.values():
            if queue:
                out.append(queue.pop(0))
    return out


def _number(text: str) -> float | None:
    raw = text.replace("$", "").replace(",", "").replace(" ", "").replace("%", "")
    negative = raw.startswith("(") or raw.startswith("-")
    raw = raw.strip("()-")
    try:
        value = float(raw)
    except ValueError:
        return None
    return -value if negative else value


def gold_figure(answer: str) -> float | None:
    """The gold answer's figure when the gold answer *is* a figure ('65.4%', '$1832.00', '0.83'), else None."""
    text = answer.strip().rstrip(".")
    if not re.fullmatch(r"-?\$?\s?\(?\d[\d,]*(?:\.\d+)?\)?\s?%?", text):
        return None
    return _number(text)


def answer_figure(answer: str, computed: dict | None = None) -> float | None:
    """The figure an answer states: the calculator's result, else its first figure that is not a year."""
    if computed and computed.get("value") is not None:
        return float(computed["value"])
    for match in _FIGURE.finditer(answer or ""):
        token = match.group(0).strip()
        value = _number(token)
        if value is None:
            continue
        if re.fullmatch(r"(19|20)\d{2}", token.strip("$ ")):
            continue
        return value
    return None


def figure_correct(predicted: float | None, gold: float) -> bool:
    if predicted is None:
        return False
    if abs(gold) < 1:
        return abs(predicted - gold) <= 0.005 + 1e-9
    return abs(predicted - gold) <= 0.01 * abs(gold)


def recall(retrieved: Sequence[dict], question: FinanceBenchQuestion, k: int) -> tuple[float, float]:
    """(doc recall@k, page recall@k) of a ranked list of {doc_name, page_start, page_end}."""
    top = list(retrieved)[:k]
    same = [h for h in top if h.get("doc_name") == question.doc_name]
    doc = 1.0 if same else 0.0
    if not question.pages:
        return doc, doc
    found = {p for p in question.pages for h in same
             if h.get("page_start") is not None and h["page_start"] <= p <= (h.get("page_end") or h["page_start"])}
    return doc, len(found) / len(question.pages)


ANSWER_SYSTEMS = ("analyst", "plain_hybrid_analyst", "closed_book")


def summarize(rows: Sequence[dict], questions: Sequence[FinanceBenchQuestion],
              unavailable: dict[str, str] | None = None, retrieval: dict | None = None) -> list[dict]:
    """Per system: recall@k (systems with a ranked list), numeric accuracy and refusal rate (answering
    systems), seconds per question; from the rows alone, so a partial run summarizes the same way."""
    by_id = {q.financebench_id: q for q in questions}
    out = []
    names = list(RETRIEVAL_BASELINES if retrieval is None else retrieval)
    names += [n for n in (unavailable or {}) if n not in names and n not in ANSWER_SYSTEMS]
    for name in (*names, *ANSWER_SYSTEMS):
        entries = [(by_id[r["financebench_id"]], r, r["baselines"][name]) for r in rows if name in r["baselines"]]
        answers = name in ANSWER_SYSTEMS
        summary: dict[str, Any] = {"system": name, "kind": "answers" if answers else "retrieval", "n": len(entries),
                                   "available": name not in (unavailable or {})}
        if not summary["available"]:
            summary["note"] = (unavailable or {})[name]
            out.append(summary)
            continue
        if entries and "retrieved" in entries[0][2]:
            for k in KS:
                pairs = [recall(e["retrieved"], q, k) for q, _, e in entries]
                summary[f"doc_recall@{k}"] = round(sum(d for d, _ in pairs) / len(pairs), 4)
                summary[f"page_recall@{k}"] = round(sum(p for _, p in pairs) / len(pairs), 4)
        if answers and entries:
            numeric = [(r["gold_figure"], e["figure"]) for _, r, e in entries if r["gold_figure"] is not None]
            correct = sum(figure_correct(f, g) for g, f in numeric)
            summary.update({"numeric_n": len(numeric), "numeric_correct": correct,
                            "numeric_accuracy": round(correct / len(numeric), 4) if numeric else None,
                            "refusal_rate": round(sum(e["refused"] for _, _, e in entries) / len(entries), 4)})
        summary["seconds_per_question"] = round(sum(e["seconds"] for _, _, e in entries) / len(entries), 3) if entries else None
        out.append(summary)
    return out


def _hit_rows(hits: Sequence[Any]) -> list[dict]:
    out = []
    for h in hits:
        get = h.get if isinstance(h, dict) else (lambda key, _h=h: getattr(_h, key, None))
        out.append({"doc_name": get("title"), "page": get("page_start"), "page_start": get("page_start"),
                    "page_end": get("page_end"), "chunk_id": int(get("chunk_id")), "score": round(float(get("score")), 6)})
    return out


def _dedupe(hits: list[dict]) -> list[dict]:
    seen: set[int] = set()
    out = []
    for h in hits:
        if h["chunk_id"] not in seen:
            seen.add(h["chunk_id"])
            out.append(h)
    return out


def evaluate(deps: AgentDeps, questions: Sequence[FinanceBenchQuestion], *, config: AnalystConfig | None = None,
             k: int = 10, progress: Progress | None = None, on_row: Callable[[dict, list[dict]], None] | None = None,
             retrieval: dict[str, tuple[str, bool, bool]] | None = None,
             unavailable: dict[str, str] | None = None) -> dict:
    """Every system on every question (see the module doc); returns {summary: [...], rows: [...]}.
    `on_row(row, summary so far)` after each question (a long run can be followed, or cut short).
    `retrieval`: the retrieval-only systems to run (default RETRIEVAL_BASELINES); `unavailable`: systems
    not run, each with the reason, reported as such."""
    search = require_search(deps, "the FinanceBench evaluation")
    config = config or AnalystConfig()
    systems = dict(RETRIEVAL_BASELINES if retrieval is None else retrieval)
    answer_configs = {"analyst": config,
                      "plain_hybrid_analyst": AnalystConfig(**{**asdict(config), "scope": False, "compute": False})}
    analysts = {name: Analyst(deps, cfg) for name, cfg in answer_configs.items()}
    filings = load_filings(deps.store)
    chat = analysts["analyst"].chat
    unavailable = dict(unavailable or {})
    rows: list[dict] = []
    for index, q in enumerate(questions, start=1):
        gold = gold_figure(q.answer)
        row: dict[str, Any] = {"financebench_id": q.financebench_id, "question": q.question, "doc_name": q.doc_name,
                               "evidence_pages": list(q.pages), "gold": q.answer, "gold_figure": gold, "baselines": {}}
        for name, (mode, rerank, scope) in systems.items():
            if name in unavailable:
                continue
            clock = time.perf_counter()
            scoped = parse_scope(q.question, filings).doc_ids if scope else ()
            results = search(q.question, k=k, mode=mode, rerank=rerank, **({"doc_ids": list(scoped)} if scoped else {}))
            elapsed = time.perf_counter() - clock
            if rerank and not getattr(results, "reranked", False):
                unavailable[name] = next((w for w in getattr(results, "warnings", []) if "rerank" in w), "reranker unavailable")
                continue
            row["baselines"][name] = {"retrieved": _hit_rows(results), "seconds": round(elapsed, 3)}
        for name, analyst in analysts.items():
            clock = time.perf_counter()
            result = analyst.ask(q.question)
            elapsed = time.perf_counter() - clock
            computed = result.computed or {}
            # the analyst's evidence: the statement pages its calculator read (statement tool), then its search hits
            pinned = [{**c, "score": 1.0} for c in computed.get("chunks", [])] if computed.get("value") is not None else []
            entry = {"answer": result.answer, "retrieved": _dedupe(_hit_rows(pinned) + _hit_rows(result.hits)),
                     "figure": answer_figure(result.answer, computed), "refused": bool(REFUSAL.search(result.answer or "")),
                     "seconds": round(elapsed, 3), "scope": result.scope.get("doc_names"), "notes": result.notes}
            if computed:
                entry["computed"] = {key: computed.get(key) for key in
                                     ("metric", "formula", "expression", "value", "display", "missing")}
                entry["computed"]["inputs"] = [{key: u[key] for key in ("name", "line_item", "period", "value", "unit",
                                                                        "doc_name", "page", "chunk_id")}
                                               for u in computed.get("inputs", [])]
            if name == "analyst":
                row.update({"answer": result.answer, "retrieved": entry["retrieved"]})
            row["baselines"][name] = entry
        clock = time.perf_counter()
        reply = chat.invoke([("system", CLOSED_BOOK_SYSTEM), ("human", q.question)], max_tokens=config.answer_tokens,
                            temperature=0.0)
        elapsed = time.perf_counter() - clock
        text = str(reply.content).strip()
        row["baselines"]["closed_book"] = {"answer": text, "figure": answer_figure(text),
                                           "refused": bool(REFUSAL.search(text)), "seconds": round(elapsed, 3)}
        rows.append(row)
        if on_row is not None:
            on_row(row, summarize(rows, questions, unavailable, systems))
        report_progress(progress, "financebench", index, len(questions), q.financebench_id, row)
    return {"summary": summarize(rows, questions, unavailable, systems), "rows": rows, "k": k,
            "config": asdict(config), "loadavg": list(os.getloadavg())}


def run_financebench(deps: AgentDeps, questions: Path | str, pdfs: Path | str, *, limit: int | None = None,
                     json_out: Path | str | None = None, config: AnalystConfig | None = None,
                     progress: Progress | None = None, on_row: Callable[[dict, list[dict]], None] | None = None,
                     order: str = "file", sync_index: bool = True,
                     retrieval: dict[str, tuple[str, bool, bool]] | None = None,
                     unavailable: dict[str, str] | None = None) -> dict:
    """The service behind `fincortex eval financebench`: every PDF of `pdfs` into the deps' store (one shared
    store; unchanged files are skipped), the indexes brought level, then `evaluate` on the questions
    (the first `limit`; order='interleave' takes one question per filing in turn, so a run cut short or
    limited still covers every filing). Ingest and index seconds are reported beside the per-question figures."""
    from fincortex.ingest.parsers import FileOptions
    from fincortex.ingest.service import ingest_paths
    from fincortex.retrieval import service as search_service

    folder = Path(pdfs)
    if not folder.is_dir():
        raise FileNotFoundError(f"--pdfs {folder} is not a folder")
    files = sorted(folder.glob("*.pdf"))
    if not files:
        raise ValueError(f"--pdfs {folder} holds no .pdf files")
    if limit is not None and limit < 1:
        raise ValueError(f"--limit must be >= 1, got {limit}")
    if order not in ("file", "interleave"):
        raise ValueError(f"order must be 'file' or 'interleave', got {order!r}")
    loaded = load_questions(questions)
    if order == "interleave":
        loaded = interleave(loaded)
    loaded = loaded[:limit]
    names = {f.stem for f in files}
    unknown = sorted({q.doc_name for q in loaded} - names)
    if unknown:
        raise ValueError(f"questions refer to filings not in {folder}: {', '.join(unknown[:5])}")
    if deps.store is None:
        raise ValueError("the FinanceBench evaluation needs a store (AgentDeps.store)")
    clock = time.perf_counter()
    ingest = ingest_paths(deps.settings, deps.store, files, FileOptions(), progress)
    ingest_seconds = time.perf_counter() - clock
    clock = time.perf_counter()
    if sync_index:
        index = search_service.build_index(deps.store, deps.settings, progress=progress)
    else:  # the caller says which systems the indexes as they stand can serve (`retrieval`, `unavailable`)
        index = search_service.index_status(deps.store, deps.settings)
    index_seconds = time.perf_counter() - clock
    with deps.store.read() as conn:
        pages, statement_rows, table_pages = conn.execute(
            "SELECT (SELECT coalesce(sum(n_pages), 0) FROM documents WHERE uri LIKE ?), count(*), "
            "count(DISTINCT (doc_id, page)) FROM statement_rows", [f"{folder.resolve()}%"]).fetchone()
    result = evaluate(deps, loaded, config=config, progress=progress, on_row=on_row, retrieval=retrieval,
                      unavailable=unavailable)
    result["store"] = {"database": str(deps.store.path), "filings": len(files), "pages": int(pages),
                       "statement_rows": int(statement_rows), "statement_pages": int(table_pages),
                       "ingest": ingest.summary(), "ingest_seconds_this_run": round(ingest_seconds, 1),
                       "index_seconds_this_run": round(index_seconds, 1),
                       "reranker": index.get("reranker"), "index_synced": sync_index,
                       "indexes": [{key: i.get(key) for key in ("name", "kind", "n_items", "up_to_date")}
                                   for i in index.get("indexes", [])], "n_chunks": index.get("n_chunks")}
    result["questions"] = str(questions)
    if json_out:
        out = Path(json_out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=1, default=str))
    return result
