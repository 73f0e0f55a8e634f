"""The analyst agent: a question (+ as_of, tickers) answered from retrieved chunks, with checked citations.

    plan -> retrieve -> compute -> compress -> answer -> check_citations -> finalize

- plan: the question itself plus chat-model-written queries (a follow-up in the same thread also
  searches with the previous question, so "and the year before?" keeps its subject); the company and
  fiscal period the question names are matched to filings (agents/analyst/scope.py);
- retrieve: hybrid search + rerank through the point-in-time search tool (agents/common/tools.py), bound to
  as_of (default: now), restricted to the scoped filings when the question names a company (widened to
  all of the company's filings, then to everything, when that finds nothing); when no cross-encoder is
  configured the hits are not reranked and the answer says so;
- compute (agents/analyst/metrics.py): a question asking for a metric is answered from the filing's
  statement rows with the calculator: formula, inputs, each input's page; a missing input is named;
- compress (after CRAG's decompose-then-recompose): deduplicate by chunk id and near-duplicate text,
  cluster by document (at most `per_doc` chunks each), keep each chunk's sentences/rows that share
  terms with the question, numbered [1]..[n] for the model;
- answer: the chat model answers from the numbered passages, citing [n] after each sentence (a computed
  answer: the figures come from the calculator, the model may only phrase the opening sentence and is
  overruled when it writes a figure that is not the result or an input); earlier answers of the thread
  re-enter the prompt only when every document they were built from was available by this turn's as_of;
- check_citations (agents/common/citations.py): every cited id must exist and have been retrieved in this
  turn; sentences without a valid citation are flagged; invalid citations are removed;
- finalize: the answer with citations rewritten to chunk ids, the flags, and the sources.

The graph is compiled with a LangGraph checkpointer (SQLite under <home>/agents/), so a conversation
resumes by thread id across processes, and `stream` yields each step as it finishes.
"""

from __future__ import annotations

import re
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Any, TypedDict

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langgraph.graph.message import add_messages

from fincortex.agents.common.deps import AgentDeps, require_search
from fincortex.agents.common.graph import clean_query_lines, linear_graph
from fincortex.agents.common.citations import CitationReport, attribute_uncited, check_citations, render_answer
from fincortex.agents.common.compression import compress
from fincortex.agents.common.runs import SeenChunk
from fincortex.agents.common.tools import PointInTimeSearch
from fincortex.agents.analyst.metrics import ComputedAnswer, compute_metric, detect_metric
from fincortex.agents.analyst.scope import QuestionScope, load_filings, parse_scope
from fincortex.agents.analyst.statement_pages import page_chunks, primary_statement_pages, statements_asked
from fincortex.agents.analyst.statements import read_statement_rows
from fincortex.progress import Progress, report as report_progress
from fincortex.retrieval.filters import parse_as_of

ANSWER_SYSTEM = ("You are a financial analyst. Answer from the numbered passages only, in one or two sentences. "
                 "End each sentence with the number of the passage it comes from in brackets. "
                 "Example: Net income was $4.1 million in 2019 [2]. "
                 "If the passages do not contain the answer, say that they do not.")


@dataclass(frozen=True)
class AnalystConfig:
    model: str | None = None  # chat model spec; None = settings.llm
    n_queries: int = 2  # model-written queries besides the question
    k: int = 8  # hits per query
    max_passages: int = 3  # the 135M default reads a few passages well and many badly
    per_doc: int = 2
    passage_chars: int = 600
    answer_tokens: int = 160
    mode: str = "hybrid"
    rerank: bool = True
    doc_types: tuple[str, ...] | None = None
    sources: tuple[str, ...] | None = None
    attribute: bool = True  # let the checker cite uncited sentences whose figures a passage carries (marked)
    scope: bool = True  # restrict search to the filings of the company and period the question names
    compute: bool = True  # answer metric questions from statement rows with the calculator
    statement_pages: bool = True  # a question about a statement reads that statement's page first

    def __post_init__(self) -> None:
        if self.k < 1 or self.max_passages < 1 or self.per_doc < 1 or self.n_queries < 0:
            raise ValueError("k, max_passages and per_doc must be >= 1 and n_queries >= 0")


class AnalystState(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    question: str
    as_of: str  # ISO, naive UTC
    tickers: list[str]
    run_id: str
    queries: list[str]
    hits: list[dict]
    passages: list[dict]
    draft: str
    check: dict
    scope: dict
    computed: dict  # ComputedAnswer.as_dict() plus 'chunks' (the input pages' chunks), {} when none
    answer: str
    notes: list[str]


@dataclass
class AnalystAnswer:
    question: str
    answer: str  # citations as [chunk <id>]
    draft: str  # the model's raw reply
    citations: list[dict]  # {chunk_id, ref, title, source, available_at}
    flags: list[dict]  # uncited / invalid / weakly supported sentences
    passages: list[dict]
    queries: list[str]
    notes: list[str]
    as_of: str
    thread_id: str
    run_id: str
    steps: list[str] = field(default_factory=list)
    hits: list[dict] = field(default_factory=list)  # what search returned, best first (chunk, doc, pages, score)
    scope: dict = field(default_factory=dict)  # QuestionScope.as_dict(): companies, years, the filings searched
    computed: dict = field(default_factory=dict)  # a computed answer: metric, formula, inputs with pages, value

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def default_checkpoint_path(home: Path) -> Path:
    return Path(home) / "agents" / "analyst_checkpoints.sqlite"


@contextmanager
def sqlite_checkpointer(path: Path) -> Iterator[Any]:
    """A LangGraph SqliteSaver on `path` (one short-lived connection per ask, like the DuckDB store)."""
    from langgraph.checkpoint.sqlite import SqliteSaver

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), check_same_thread=False, timeout=30)
    try:
        yield SqliteSaver(conn)
    finally:
        conn.close()


class Analyst:
    """Build once per deps (search, chat model, store) and config; `ask` runs one turn of one thread."""

    def __init__(self, deps: AgentDeps, config: AnalystConfig | None = None,
                 chunk_exists: Callable[[list[int]], set[int]] | None = None) -> None:
        self.deps, self.config = deps, config or AnalystConfig()
        self.chat, self.search_fn = deps.chat_model(self.config.model), require_search(deps, "the analyst")
        self.store = deps.store
        self.chunk_exists = chunk_exists or (lambda ids: _chunks_in_store(deps.store, ids))
        self._search: PointInTimeSearch | None = None
        self._recorder: Any = None

    NODES = ("plan", "retrieve", "compute", "compress", "answer", "check_citations", "finalize")

    def graph(self, checkpointer: Any = None):
        return linear_graph(AnalystState, self, list(self.NODES), checkpointer)

    # -- entry point ---------------------------------------------------------------------------------
    def ask(self, question: str, *, as_of: datetime | str | None = None, tickers: list[str] | None = None,
            thread_id: str | None = None, checkpointer: Any = None,
            progress: Progress | None = None) -> AnalystAnswer:
        """One turn; each finished node reaches `progress` as an 'ask' event (message: the node, item: its
        state delta)."""
        if not isinstance(question, str) or not question.strip():
            raise ValueError("question must be a non-empty string")
        bound = parse_as_of(as_of) if as_of not in (None, "") else datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
        thread_id = thread_id or uuid.uuid4().hex[:12]
        recorder = self.deps.recorder("analyst", question, bound, model=getattr(self.chat, "model_name", None),
                                      config={**asdict(self.config), "tickers": tickers}, thread_id=thread_id)
        self._recorder = recorder
        self._search = PointInTimeSearch(self.search_fn, bound, recorder, mode=self.config.mode,
                                         rerank=self.config.rerank)
        graph = self.graph(checkpointer)
        inputs: AnalystState = {"messages": [HumanMessage(question)], "question": question.strip(),
                                "as_of": bound.isoformat(sep=" "), "tickers": [t.upper() for t in tickers or []],
                                "run_id": recorder.run_id, "notes": []}
        config = {"configurable": {"thread_id": thread_id}}
        steps: list[str] = []
        state: dict[str, Any] = {}
        try:
            for update in graph.stream(inputs, config, stream_mode="updates"):
                for node, delta in update.items():
                    steps.append(node)
                    state.update(delta or {})
                    report_progress(progress, "ask", len(steps), len(self.NODES), node, delta or {})
        except Exception as exc:
            recorder.finish(error=f"{type(exc).__name__}: {exc}")
            raise
        check = state["check"]
        result = AnalystAnswer(
            question=question.strip(), answer=state["answer"], draft=state["draft"], citations=check["citations"],
            flags=check["flags"], passages=state["passages"], queries=state["queries"], notes=state["notes"],
            as_of=bound.isoformat(sep=" "), thread_id=thread_id, run_id=recorder.run_id, steps=steps,
            hits=[{k: h[k] for k in ("chunk_id", "doc_id", "title", "page_start", "page_end", "score", "rank")}
                  for h in state.get("hits", [])],
            scope=state.get("scope", {}), computed=state.get("computed", {}))
        recorder.finish(result={"answer": result.answer, "citations": result.citations, "flags": result.flags,
                                "notes": result.notes})
        return result

    # -- nodes ---------------------------------------------------------------------------------------
    def plan(self, state: AnalystState) -> AnalystState:
        question = state["question"]
        previous = [m.content for m in state.get("messages", [])[:-1] if isinstance(m, HumanMessage)]
        queries = [question]
        if previous:  # a follow-up: keep the subject of the conversation
            queries.append(f"{previous[-1]} {question}"[:300])
        if self.config.n_queries:
            context = f"Earlier question: {previous[-1]}\n" if previous else ""
            reply = self.chat.invoke(
                [("system", "You write short search queries for a financial document search engine."),
                 ("human", f"{context}Question: {question}\nWrite {self.config.n_queries} short search queries, "
                           "one per line.")], max_tokens=48, temperature=0.0)
            for q in clean_query_lines(str(reply.content), self.config.n_queries):
                if q.lower() not in {x.lower() for x in queries}:
                    queries.append(q)
        scope = QuestionScope(reason="scope off")
        if self.config.scope:
            filings = load_filings(self.store, parse_as_of(state["as_of"]))
            scope = parse_scope(question, filings)
            if not scope.companies and previous:  # "and the year before?": the subject of the thread
                scope = parse_scope(f"{previous[-1]} {question}", filings)
        return {"queries": queries, "scope": scope.as_dict()}

    def retrieve(self, state: AnalystState) -> AnalystState:
        assert self._search is not None
        by_id: dict[int, dict] = {}
        cfg = self.config
        scope = state.get("scope") or {}
        notes = list(state.get("notes", []))
        tiers = [list(scope.get("doc_ids") or ())]
        if scope.get("company_doc_ids") and list(scope["company_doc_ids"]) != tiers[0]:
            tiers.append(list(scope["company_doc_ids"]))
        if tiers[0]:
            tiers.append([])  # nothing in the company's filings: search everything (and say so)
            notes.append(f"search restricted to {', '.join(scope.get('doc_names') or ())} ({scope.get('reason')})")
        results: list[tuple[str, list]] = []
        for tier, doc_ids in enumerate(tiers):
            results = [(query, self._search(query, k=cfg.k, tickers=state.get("tickers") or None,
                                            doc_types=list(cfg.doc_types) if cfg.doc_types else None,
                                            sources=list(cfg.sources) if cfg.sources else None,
                                            doc_ids=doc_ids or None)) for query in state["queries"]]
            if any(hits for _, hits in results):
                if tier:
                    notes.append("nothing found in the scoped filings: " + ("searched all of the company's filings"
                                                                             if doc_ids else "searched all documents"))
                break
        for query, hits in results:
            for h in hits:
                row = by_id.get(int(h.chunk_id))
                if row is None or h.score > row["score"]:
                    by_id[int(h.chunk_id)] = {
                        "chunk_id": int(h.chunk_id), "doc_id": int(h.doc_id), "text": h.text, "title": h.title,
                        "source": h.source, "ticker": h.ticker, "available_at": h.available_at.isoformat(sep=" "),
                        "score": float(h.score), "rank": int(h.rank), "query": query,
                        "reranked": h.reranked, "page_start": getattr(h, "page_start", None),
                        "page_end": getattr(h, "page_end", None)}
        if self._search.reranked_note:
            notes.append(self._search.reranked_note)
        if not by_id:
            notes.append(f"no chunk available by {state['as_of']} matches the question")
        hits = page_diverse(sorted(by_id.values(), key=lambda r: (r["rank"], -r["score"])))
        return {"hits": hits, "notes": notes}

    def compute(self, state: AnalystState) -> AnalystState:
        """A metric question: inputs from the scoped filing's statement rows, result from the calculator.
        A question about a statement that computes nothing (no metric, or an input missing): that statement's
        page of the scoped filing is put first among the hits."""
        metric = detect_metric(state["question"]) if self.config.compute else None
        scope = state.get("scope") or {}
        if not scope.get("doc_ids"):
            return {"computed": {}}
        if metric is None:
            return {"computed": {}, **self._statement_pages(state)}
        as_of = parse_as_of(state["as_of"])
        # the primary statements first: a line item also printed in a note's table is read where the
        # statement prints it (find_line_item takes the first match in row order)
        pages = {doc: primary_statement_pages(self.store, doc, as_of) for doc in scope["doc_ids"]}
        primary = {(doc, page) for doc, found in pages.items() for page in found.values()}
        rows = sorted(read_statement_rows(self.store, scope["doc_ids"], as_of=as_of),
                      key=lambda r: (r.doc_id, r.page) not in primary)
        result: ComputedAnswer = compute_metric(metric, rows, scope.get("fiscal_year"), state["question"],
                                                self._recorder, period_end=scope.get("period_end"))
        extra = {} if result.ok else self._statement_pages(state, pages[scope["doc_ids"][0]])
        chunks = page_chunks(self.store, [(u.doc_id, u.page, u.line_item) for u in result.inputs if u.page], as_of)
        for used in result.inputs:
            used.chunk_id = chunks.get((used.doc_id, used.page, used.line_item), {}).get("chunk_id")
        seen = {c["chunk_id"]: c for c in chunks.values()}
        if self._recorder is not None:
            self._recorder.tool_call(
                "statements", {"metric": metric.name, "doc_ids": list(scope["doc_ids"]), "fiscal_year": scope.get("fiscal_year")},
                as_of=as_of, summary=f"{len(result.inputs)} inputs, missing: {result.missing or 'none'}",
                chunks=[SeenChunk(cid, i + 1, None, parse_as_of(c["available_at"]), {})
                        for i, (cid, c) in enumerate(seen.items())])
        return {"computed": {**result.as_dict(), "chunks": list(seen.values())}, **extra}

    def _statement_pages(self, state: AnalystState, pages: dict[str, int] | None = None) -> AnalystState:
        """{'hits': statement pages + hits} when the question asks about statements the scoped filing prints
        (agents/analyst/statement_pages.py; `pages`: its primary pages when already read), else {}
        (statement_pages=False turns this off)."""
        asked = statements_asked(state["question"]) if self.config.statement_pages else ()
        doc_ids = (state.get("scope") or {}).get("doc_ids") or ()
        if not asked or not doc_ids:
            return {}
        as_of = parse_as_of(state["as_of"])
        pages = primary_statement_pages(self.store, doc_ids[0], as_of) if pages is None else pages
        chunks = page_chunks(self.store, [(doc_ids[0], pages[s], "") for s in asked if s in pages], as_of)
        pinned = list({c["chunk_id"]: {**c, "rank": 0, "score": 1.0, "query": f"{s} statement"}
                       for s in asked if s in pages
                       for c in [chunks.get((doc_ids[0], pages[s], ""))] if c}.values())
        if not pinned:
            return {}
        if self._recorder is not None:
            self._recorder.tool_call(
                "statement_pages", {"statements": list(asked), "doc_id": doc_ids[0]}, as_of=as_of,
                summary=", ".join(f"{c['query']} p. {c['page_start']}" for c in pinned),
                chunks=[SeenChunk(c["chunk_id"], i + 1, None, parse_as_of(c["available_at"]), {})
                        for i, c in enumerate(pinned)])
        ids = {c["chunk_id"] for c in pinned}
        return {"hits": pinned + [h for h in state.get("hits", []) if h["chunk_id"] not in ids]}

    def compress(self, state: AnalystState) -> AnalystState:
        cfg = self.config
        computed = state.get("computed") or {}
        pinned = [{**c, "rank": 0, "score": 1.0} for c in computed.get("chunks", [])] if computed.get("value") is not None else []
        passages = compress(state["question"], pinned + state["hits"], max_passages=max(cfg.max_passages, len(pinned)),
                            per_doc=max(cfg.per_doc, len(pinned)), max_chars=cfg.passage_chars)
        return {"passages": passages}

    def answer(self, state: AnalystState) -> AnalystState:
        passages = state["passages"]
        computed = state.get("computed") or {}
        if computed and computed.get("value") is None:
            return {"draft": missing_inputs_answer(computed, state.get("scope") or {})}
        if computed:
            return {"draft": self._computed_draft(state, computed)}
        if not passages:
            return {"draft": "The documents available do not contain information to answer this question."}
        history, dropped = visible_history(state.get("messages", [])[:-1][-4:], state["as_of"])
        if dropped:
            state.setdefault("notes", []).append(
                f"{dropped} earlier answer(s) of this thread left out of the prompt: built from documents "
                f"not available by as_of {state['as_of']} (or of unknown date)")
        numbered = "\n".join(f"[{p['ref']}] ({p['title'] or p['source']}, {p['available_at'][:10]}) {p['text']}"
                             for p in passages)
        reply = self.chat.invoke(
            [("system", ANSWER_SYSTEM), *history,
             ("human", f"Passages:\n{numbered}\n\nQuestion: {state['question']}\nAnswer with citations:")],
            max_tokens=self.config.answer_tokens, temperature=0.0)
        return {"draft": str(reply.content).strip(), "notes": state.get("notes", [])}

    def _computed_draft(self, state: AnalystState, computed: dict) -> str:
        """Formula, inputs and result from the calculator; the chat model may phrase only the lead sentence."""
        ref = {p["chunk_id"]: p["ref"] for p in state["passages"]}
        scope = state.get("scope") or {}
        company = ", ".join(scope.get("doc_names") or ()) or "the filing"
        cites = "".join(f"[{ref[u['chunk_id']]}]" for u in _distinct(computed["inputs"]) if u.get("chunk_id") in ref)
        lead = f"The FY{computed['fiscal_year']} {computed['metric']} from {company} is {computed['display']} {cites}."
        phrased = self._phrase(state["question"], computed, lead)
        lines = [phrased or lead,
                 f"Formula: {computed['metric']} = {computed['formula']} = {computed['expression']} = {computed['value']:g} {cites}."]
        for u in computed["inputs"]:
            if not u["page"]:  # an optional input the statements lack
                lines.append(f"Input {u['name']} = {u['label']}: not in the statement tables, counted as 0.")
                continue
            cite = f" [{ref[u['chunk_id']]}]" if u.get("chunk_id") in ref else ""
            lines.append(f"Input {u['name']} = {u['label']}: \"{u['line_item']}\" {u['period']} = {u['value']:,.2f} "
                         f"({u['unit']}), {u['doc_name']} page {u['page']}{cite}.")
        return "\n".join(lines)

    def _phrase(self, question: str, computed: dict, lead: str) -> str | None:
        """The chat model's rewording of the lead sentence, kept only if every figure in it is one the
        calculator produced or an input (the model never supplies a number)."""
        try:
            reply = self.chat.invoke(
                [("system", "Rewrite the sentence as a direct answer to the question. Keep every number exactly as given. "
                            "Do not add numbers."),
                 ("human", f"Question: {question}\nSentence: {lead}\nRewritten sentence:")],
                max_tokens=60, temperature=0.0)
        except Exception:  # noqa: BLE001 - phrasing is optional; the template sentence stands
            return None
        text = str(reply.content).strip().split("\n")[0]
        allowed = set(re.findall(r"\d[\d,]*(?:\.\d+)?", lead))
        used = set(re.findall(r"\d[\d,]*(?:\.\d+)?", text))
        result = re.findall(r"\d[\d,]*(?:\.\d+)?", computed["display"])
        if not text or not used <= allowed or not set(result) <= used or not re.search(r"\[\d+\]", text):
            return None
        return text

    def check_citations(self, state: AnalystState) -> AnalystState:
        retrieved = {h["chunk_id"] for h in state["hits"]} | {c["chunk_id"] for c in (state.get("computed") or {}).get("chunks", [])}
        report: CitationReport = check_citations(state["draft"], state["passages"], retrieved_ids=retrieved,
                                                 chunk_exists=self.chunk_exists)
        if self.config.attribute:
            report = attribute_uncited(report, state["passages"])
        return {"check": report.as_dict()}

    def finalize(self, state: AnalystState) -> AnalystState:
        check = state["check"]
        notes = list(state.get("notes", []))
        if state["passages"] and not check["citations"]:
            notes.append("the answer cites no retrieved passage: treat it as unsupported")
        elif any(s["status"] == "attributed" for s in check["sentences"]):
            notes.append("some citations were added by the citation checker, not by the model (flag 'attributed')")
        answer = render_answer(check)
        shown = [p["available_at"] for p in state["passages"]] + [c["available_at"] for c in (state.get("computed") or {}).get("chunks", [])]
        message = AIMessage(answer, additional_kwargs={"as_of": state["as_of"], "latest_source": max(shown, default="")})
        return {"answer": answer, "notes": notes, "messages": [message]}


def visible_history(messages: list[AnyMessage], as_of: str) -> tuple[list[tuple[str, str]], int]:
    """The earlier turns a follow-up may see, and how many answers were left out.

    Why: an earlier answer is text built from that turn's documents; a follow-up asked with an earlier
    as_of must not read it when any of those documents became available after that as_of (that is
    look-ahead through the conversation). Each answer carries `latest_source` (the latest available_at of
    the passages it was built from, '' when none) since this check exists; an answer without it is of
    unknown provenance and is left out too. The user's own questions are not document text and stay."""
    out: list[tuple[str, str]] = []
    dropped = 0
    for m in messages:
        if isinstance(m, HumanMessage):
            out.append(("human", str(m.content)[:400]))
            continue
        latest = (getattr(m, "additional_kwargs", None) or {}).get("latest_source")
        if latest is None or (latest and parse_as_of(latest) > parse_as_of(as_of)):
            dropped += 1
            continue
        out.append(("ai", str(m.content)[:400]))
    return out, dropped


def missing_inputs_answer(computed: dict, scope: dict) -> str:
    """What a computed answer says when an input is not in the statements: which one, never a guess."""
    where = ", ".join(scope.get("doc_names") or ()) or "the filing"
    return (f"The {computed['metric']} cannot be computed from {where}: "
            f"{'; '.join(computed['missing'])} not found in its statement tables.")


def page_diverse(hits: list[dict]) -> list[dict]:
    """The first hit of each (document, page) in order, then the pages' further hits in order. Why: search
    ranks chunks, and several chunks of one page often lead (a statement page cut into table chunks); the
    evidence and the passages then cover as many pages as there are slots, and no hit is dropped."""
    seen: set[tuple] = set()
    first, later = [], []
    for h in hits:
        key = (h.get("doc_id"), h.get("page_start"))
        (later if key in seen and key[1] is not None else first).append(h)
        seen.add(key)
    return first + later


def _distinct(inputs: list[dict]) -> list[dict]:
    seen, out = set(), []
    for u in inputs:
        if u.get("chunk_id") not in seen:
            seen.add(u.get("chunk_id"))
            out.append(u)
    return out


def _chunks_in_store(store: Any, ids: list[int]) -> set[int]:
    if store is None or not ids:
        return set()
    with store.read() as conn:
        rows = conn.execute(f"SELECT chunk_id FROM chunks WHERE chunk_id IN ({', '.join('?' * len(ids))})",
                            [int(i) for i in ids]).fetchall()
    return {r[0] for r in rows}


def thread_history(checkpoint_path: Path, thread_id: str) -> list[dict[str, str]]:
    """The messages of a stored conversation (for `fincortex ask --thread ID --history`)."""
    with sqlite_checkpointer(checkpoint_path) as saver:
        tup = saver.get_tuple({"configurable": {"thread_id": thread_id}})
    if tup is None:
        raise KeyError(f"no conversation with thread id {thread_id!r} in {checkpoint_path}")
    messages = tup.checkpoint["channel_values"].get("messages", [])
    return [{"role": "user" if isinstance(m, HumanMessage) else "assistant", "content": str(m.content)} for m in messages]



def ask_question(deps: AgentDeps, question: str, *, as_of: datetime | str | None = None,
                 tickers: list[str] | None = None, thread_id: str | None = None,
                 config: AnalystConfig | None = None, progress: Progress | None = None,
                 checkpoint_path: Path | None = None) -> AnalystAnswer:
    """The service behind `Client.ask` and `fincortex ask`: the deps' chat model and search, the SQLite
    checkpointer under <home>/agents/ (so `thread_id` resumes a conversation)."""
    analyst = Analyst(deps, config or AnalystConfig())
    with sqlite_checkpointer(checkpoint_path or default_checkpoint_path(deps.settings.home)) as saver:
        return analyst.ask(question, as_of=as_of, tickers=tickers, thread_id=thread_id, checkpointer=saver,
                           progress=progress)
