"""The analyst agent: a question (+ as_of, tickers) answered from retrieved chunks, with checked citations.

    plan -> retrieve -> compress -> answer -> check_citations -> finalize

- plan: the question itself plus chat-model-written queries (a follow-up in the same thread also
  searches with the previous question, so "and the year before?" keeps its subject);
- retrieve: hybrid search + rerank through the point-in-time search tool (agents/common/tools.py), bound to
  as_of (default: now); when no cross-encoder is configured the hits are not reranked and the answer
  says so;
- compress (after CRAG's decompose-then-recompose): deduplicate by chunk id and near-duplicate text,
  cluster by document (at most `per_doc` chunks each), keep each chunk's sentences/rows that share
  terms with the question, numbered [1]..[n] for the model;
- answer: the chat model answers from the numbered passages, citing [n] after each sentence;
- check_citations (agents/common/citations.py): every cited id must exist and have been retrieved in this
  turn; sentences without a valid citation are flagged; invalid citations are removed;
- finalize: the answer with citations rewritten to chunk ids, the flags, and the sources.

The graph is compiled with a LangGraph checkpointer (SQLite under <home>/agents/), so a conversation
resumes by thread id across processes, and `stream` yields each step as it finishes.
"""

from __future__ import annotations

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
from fincortex.agents.common.tools import PointInTimeSearch
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

    NODES = ("plan", "retrieve", "compress", "answer", "check_citations", "finalize")

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
            as_of=bound.isoformat(sep=" "), thread_id=thread_id, run_id=recorder.run_id, steps=steps)
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
        return {"queries": queries}

    def retrieve(self, state: AnalystState) -> AnalystState:
        assert self._search is not None
        by_id: dict[int, dict] = {}
        cfg = self.config
        for query in state["queries"]:
            hits = self._search(query, k=cfg.k, tickers=state.get("tickers") or None,
                                doc_types=list(cfg.doc_types) if cfg.doc_types else None,
                                sources=list(cfg.sources) if cfg.sources else None)
            for h in hits:
                row = by_id.get(int(h.chunk_id))
                if row is None or h.score > row["score"]:
                    by_id[int(h.chunk_id)] = {
                        "chunk_id": int(h.chunk_id), "doc_id": int(h.doc_id), "text": h.text, "title": h.title,
                        "source": h.source, "ticker": h.ticker, "available_at": h.available_at.isoformat(sep=" "),
                        "score": float(h.score), "rank": int(h.rank), "query": query,
                        "reranked": h.reranked}
        notes = list(state.get("notes", []))
        if self._search.reranked_note:
            notes.append(self._search.reranked_note)
        if not by_id:
            notes.append(f"no chunk available by {state['as_of']} matches the question")
        hits = sorted(by_id.values(), key=lambda r: (r["rank"], -r["score"]))
        return {"hits": hits, "notes": notes}

    def compress(self, state: AnalystState) -> AnalystState:
        cfg = self.config
        passages = compress(state["question"], state["hits"], max_passages=cfg.max_passages, per_doc=cfg.per_doc,
                            max_chars=cfg.passage_chars)
        return {"passages": passages}

    def answer(self, state: AnalystState) -> AnalystState:
        passages = state["passages"]
        if not passages:
            return {"draft": "The documents available do not contain information to answer this question."}
        history = []
        for m in state.get("messages", [])[:-1][-4:]:  # the last two turns, for follow-ups
            history.append(("human" if isinstance(m, HumanMessage) else "ai", str(m.content)[:400]))
        numbered = "\n".join(f"[{p['ref']}] ({p['title'] or p['source']}, {p['available_at'][:10]}) {p['text']}"
                             for p in passages)
        reply = self.chat.invoke(
            [("system", ANSWER_SYSTEM), *history,
             ("human", f"Passages:\n{numbered}\n\nQuestion: {state['question']}\nAnswer with citations:")],
            max_tokens=self.config.answer_tokens, temperature=0.0)
        return {"draft": str(reply.content).strip()}

    def check_citations(self, state: AnalystState) -> AnalystState:
        report: CitationReport = check_citations(state["draft"], state["passages"],
                                                 retrieved_ids={h["chunk_id"] for h in state["hits"]},
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
        return {"answer": answer, "notes": notes, "messages": [AIMessage(answer)]}


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
