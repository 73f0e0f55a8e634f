"""Where training pairs come from; each source is switchable (PairsConfig.sources).

- tatqa: TAT-QA question -> its relevant paragraphs / table, training contexts only (heldout.py);
  negatives from an index of the training contexts' documents.
- headlines: an ingested CNBC/Reuters headline -> its description; negatives are other descriptions.
- ectsum: an ECTSum summary bullet -> the ingested transcript chunk that supports it (mining rule in
  pair_mining.py and docs/tuning.md); negatives from transcripts.
- synthetic: a question the chat LLM writes for a sampled chunk, kept only when that chunk ranks in
  the dense top-k for it (FinPersona-style persona prompts).
Store-based sources never use documents of source 'tatqa' (TAT-QA enters training only through the
tatqa source, which knows the held-apart split).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

from fincortex.config import Settings
from fincortex.models.tuning.heldout import HeldoutSplit, beir_folder, contexts_of
from fincortex.models.tuning.pair_mining import Candidate, IndexMiner, Pair, best_support, clean_bullet
from fincortex.progress import Progress, report
from fincortex.retrieval.embedder import Embedder
from fincortex.retrieval.filters import SearchFilters
from fincortex.retrieval.searcher import Searcher
from fincortex.store import Store

SOURCES = ("tatqa", "headlines", "ectsum", "synthetic")
NEWS_WITH_DESCRIPTIONS = ("cnbc", "reuters")
PERSONAS = (
    "equity research analyst", "retail investor", "credit risk officer", "portfolio manager",
    "financial journalist", "corporate treasurer",
)


@dataclass
class SourcePairs:
    """One source's output: training candidates (mined by `miner`), evaluation pairs, and a note
    saying what the source lacked, if anything."""

    name: str
    candidates: list[Candidate] = field(default_factory=list)
    miner: IndexMiner | None = None
    eval_pairs: list[Pair] = field(default_factory=list)
    note: str | None = None


def _cap(items: list, limit: int | None, rng: random.Random) -> list:
    if limit is None or len(items) <= limit:
        return items
    return rng.sample(items, limit)


def _chunk_ref(hit) -> str:
    return f"chunk:{hit.chunk_id}"


# -- tatqa -----------------------------------------------------------------------------------------
def tatqa_pairs(settings: Settings, split: HeldoutSplit, embedder: Embedder, limit: int | None,
                rng: random.Random, miner_args: dict) -> SourcePairs:
    from fincortex.retrieval.beir import load_beir, load_into_store
    from fincortex.retrieval.evaluation import eval_store_path
    from fincortex.retrieval.options import RetrievalOptions

    train = load_beir(beir_folder(settings, split, "train"))
    store_path = eval_store_path(settings.cache_dir, train)  # shared with `eval retrieval` on the same corpus
    pool = Store(store_path)
    uid_of = load_into_store(pool, train)
    chunk_of = {uid: chunk_id for chunk_id, uid in uid_of.items()}
    searcher = Searcher(pool, store_path.parent / (store_path.stem + ".indexes"), embedder,
                        RetrievalOptions.from_env())
    context_of = {q["uid"]: c["table"]["uid"] for c in contexts_of(split, "train") for q in c["questions"]}
    candidates = []
    for qid, relevant in train.qrels.items():
        positives = [uid for uid in sorted(relevant) if uid in chunk_of]
        exclude = frozenset(chunk_of[uid] for uid in positives)
        for uid in positives:
            pair = Pair("tatqa", "train", context_of[qid], train.queries[qid], train.corpus[uid][1], uid)
            candidates.append(Candidate(pair, exclude, positive_chunk=chunk_of[uid]))
    miner = IndexMiner(searcher, ref_of=lambda hit: uid_of[hit.chunk_id], **miner_args)
    return SourcePairs("tatqa", _cap(candidates, limit, rng), miner, eval_pairs=heldout_pairs(split))


def heldout_pairs(split: HeldoutSplit) -> list[Pair]:
    """The evaluation side as pairs (no negatives): stored with the run so leaks can be audited."""
    from fincortex.retrieval.beir import tatqa_records

    pairs = []
    for context in contexts_of(split, "eval"):
        corpus, queries, qrels = tatqa_records([context])
        text = {d["_id"]: d["text"] for d in corpus}
        question = {q["_id"]: q["text"] for q in queries}
        pairs += [Pair("tatqa", "eval", context["table"]["uid"], question[qid], text[uid], uid)
                  for qid, uid, _ in qrels]
    return pairs


# -- headlines -------------------------------------------------------------------------------------
def _description(text: str, title: str | None) -> str:
    head, _, rest = text.partition("\n")
    return rest.strip() if title and head.strip() == title.strip() else ""


def headline_pairs(store: Store, searcher: Searcher, limit: int | None, rng: random.Random,
                   miner_args: dict) -> SourcePairs:
    with store.read() as conn:
        rows = conn.execute(
            f"""SELECT d.source_key, d.title, c.chunk_id, c.text FROM documents d JOIN chunks c USING (doc_id)
                WHERE d.doc_type = 'news' AND d.source IN ({', '.join('?' * len(NEWS_WITH_DESCRIPTIONS))})
                  AND c.ordinal = 0 ORDER BY c.chunk_id""", list(NEWS_WITH_DESCRIPTIONS)).fetchall()
    filters = SearchFilters(sources=NEWS_WITH_DESCRIPTIONS)
    candidates = []
    for source_key, title, chunk_id, text in rows:
        description = _description(text, title)
        if len(description.split()) < 5:
            continue
        pair = Pair("headlines", "train", source_key, title.strip(), description, f"chunk:{chunk_id}", chunk_id)
        candidates.append(Candidate(pair, frozenset({chunk_id}), filters, positive_chunk=chunk_id))
    note = None if candidates else (
        "no CNBC/Reuters headlines with descriptions ingested: `fincortex ingest --dataset headlines`")
    miner = IndexMiner(searcher, _chunk_ref, passage_of=lambda hit: _description(hit.text, hit.title), **miner_args)
    return SourcePairs("headlines", _cap(candidates, limit, rng), miner, note=note)


# -- ectsum ----------------------------------------------------------------------------------------
def _summary_files(settings: Settings, splits: set[str]) -> tuple[dict[str, Path], list[str]]:
    from fincortex.datasets import service

    folders, problems = {}, []
    for split in sorted(splits):
        try:
            pulled = service.pull(settings, f"ectsum:{split}")
        except Exception as exc:  # DatasetError: mirror lacks it, offline; reported in the note
            problems.append(f"ectsum:{split} summaries unavailable ({exc})")
            continue
        folders[split] = pulled.root / "transcripts" / "ectsum" / split / "gt_summaries"
    return folders, problems


def ectsum_pairs(settings: Settings, store: Store, searcher: Searcher, limit: int | None, rng: random.Random,
                 miner_args: dict) -> SourcePairs:
    with store.read() as conn:
        docs = conn.execute("SELECT doc_id, source_key FROM documents WHERE source = 'ectsum' "
                            "AND starts_with(source_key, 'ectsum:') ORDER BY source_key").fetchall()
    if not docs:
        return SourcePairs("ectsum", note="no ECTSum transcripts ingested: `fincortex ingest --dataset ectsum:val`")
    folders, problems = _summary_files(settings, {key.split(":")[1] for _, key in docs})
    rng.shuffle(docs)
    filters = SearchFilters(sources=("ectsum",))
    candidates: list[Candidate] = []
    for doc_id, source_key in docs:
        _, split, stem = source_key.split(":", 2)
        summary = folders.get(split, Path("/nonexistent")) / f"{stem}.txt"
        if not summary.is_file():
            continue
        with store.read() as conn:
            chunks = conn.execute("SELECT chunk_id, text FROM chunks WHERE doc_id = ? ORDER BY ordinal",
                                  [doc_id]).fetchall()
        for line in summary.read_text(encoding="utf-8").splitlines():
            bullet = clean_bullet(line)
            if len(bullet.split()) < 4:
                continue
            best, passing = best_support(bullet, chunks)
            if best is None:
                continue
            text = next(t for c, t in chunks if c == best)
            pair = Pair("ectsum", "train", source_key, bullet, text, f"chunk:{best}", best)
            candidates.append(Candidate(pair, frozenset(passing), filters, positive_chunk=best))
        if limit is not None and len(candidates) >= limit:
            break
    note = "; ".join(problems) or (None if candidates else "no ECTSum bullet passed the mining rule")
    return SourcePairs("ectsum", candidates[:limit] if limit else candidates,
                       IndexMiner(searcher, _chunk_ref, **miner_args), note=note)


# -- synthetic ---------------------------------------------------------------------------------------
def _question(reply: str) -> str | None:
    line = next((l.strip() for l in reply.strip().splitlines() if l.strip()), "")
    for prefix in ("question:", "q:"):
        if line.lower().startswith(prefix):
            line = line[len(prefix):].strip()
    line = line.strip("\"' ")
    words = line.split()
    return line if 4 <= len(words) <= 40 and line.endswith("?") else None


def synthetic_pairs(settings: Settings, store: Store, searcher: Searcher, limit: int | None, rng: random.Random,
                    miner_args: dict, model: str | None, top_k: int, seed: int,
                    progress: Progress | None = None) -> SourcePairs:
    from fincortex.models.llm.factory import get_chat_model

    with store.read() as conn:
        sources = [r[0] for r in conn.execute("SELECT DISTINCT source FROM documents WHERE source <> 'tatqa' "
                                              "ORDER BY 1").fetchall()]
        rows = conn.execute("SELECT c.chunk_id, c.text, d.source_key FROM chunks c JOIN documents d USING (doc_id) "
                            "WHERE d.source <> 'tatqa' AND c.n_tokens >= 40 ORDER BY c.chunk_id").fetchall()
    if not rows:
        return SourcePairs("synthetic", note="no chunk of 40+ tokens outside TAT-QA to write questions for: "
                                             "ingest documents first (`fincortex ingest PATH`)")
    wanted = limit or 100
    sample = rng.sample(rows, min(len(rows), 2 * wanted))  # about half survive the top-k filter
    chat = get_chat_model(settings, model, temperature=0.7, max_tokens=48, seed=seed)
    filters = SearchFilters(sources=tuple(sources))
    candidates, written = [], 0
    for i, (chunk_id, text, source_key) in enumerate(sample):
        persona = PERSONAS[i % len(PERSONAS)]
        reply = chat.invoke([
            ("system", f"You are a {persona}. You write one short search question."),
            ("human", f"Passage:\n{text[:1200]}\n\nWrite one question that this passage answers. "
                      "Reply with the question only."),
        ]).content
        question = _question(str(reply))
        if question:
            written += 1
            hits = searcher.search(question, k=top_k, mode="dense", rerank=False, filters=filters)
            if any(h.chunk_id == chunk_id for h in hits):
                pair = Pair("synthetic", "train", source_key, question, text, f"chunk:{chunk_id}", chunk_id)
                candidates.append(Candidate(pair, frozenset({chunk_id}), filters, positive_chunk=chunk_id))
        report(progress, "synthetic questions", i + 1, len(sample))
        if len(candidates) >= wanted:
            break
    note = f"{written} questions written for {i + 1} chunks, {len(candidates)} ranked their chunk in the top {top_k}"
    return SourcePairs("synthetic", candidates, IndexMiner(searcher, _chunk_ref, **miner_args), note=note)
