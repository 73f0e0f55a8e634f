"""Context compression for the analyst (after CRAG's decompose-then-recompose): fewer, shorter passages.

Why: the default chat model reads a few hundred tokens well and a few thousand badly. Steps:
1. deduplicate: one hit per chunk id (best score), then drop near-duplicates (word 3-shingle
   Jaccard >= 0.7, e.g. the same headline syndicated twice) keeping the better-ranked one;
2. cluster by document: at most `per_doc` chunks from one document, so one long filing cannot crowd
   out the rest;
3. strip: split each kept chunk into sentences / table rows and keep, in their original order, those
   sharing terms with the question, most first, up to `max_chars` (the best one is always kept).
Deterministic and model-free, so the same hits always give the same passages.
"""

from __future__ import annotations

import re

from fincortex.agents.common.citations import content_words

NEAR_DUPLICATE = 0.7


def shingles(text: str, n: int = 3) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i:i + n]) for i in range(max(1, len(words) - n + 1))}


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def units(text: str) -> list[str]:
    """Sentences of prose, lines of tables."""
    parts = re.split(r"\n+", text)
    out: list[str] = []
    for part in parts:
        out += [s.strip() for s in re.split(r"(?<=[.!?])\s+(?=[A-Z0-9(])", part) if s.strip()]
    return out


def strip_to_question(question: str, text: str, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text.strip()
    q = content_words(question)
    pieces = units(text)
    scored = sorted(range(len(pieces)), key=lambda i: (-len(q & content_words(pieces[i])), i))
    keep: list[int] = []
    used = 0
    for i in scored:
        cost = len(pieces[i]) + 1
        if keep and (used + cost > max_chars or not q & content_words(pieces[i])):
            continue  # over budget, or shares no term with the question
        keep.append(i)
        used += cost
    kept = " ".join(pieces[i] for i in sorted(keep))
    return kept if len(kept) <= max_chars else kept[: max_chars - 1].rstrip() + "…"


def compress(question: str, hits: list[dict], max_passages: int = 5, per_doc: int = 2,
             max_chars: int = 600) -> list[dict]:
    """hits (dicts with chunk_id, doc_id, text, rank, score, ...) -> numbered passages {ref, ..., text,
    full_text}, best first."""
    best: dict[int, dict] = {}
    for h in hits:
        cid = int(h["chunk_id"])
        if cid not in best or (h["rank"], -h["score"]) < (best[cid]["rank"], -best[cid]["score"]):
            best[cid] = h
    ordered = sorted(best.values(), key=lambda h: (h["rank"], -h["score"]))
    kept: list[dict] = []
    kept_shingles: list[set] = []
    per_document: dict[int, int] = {}
    for h in ordered:
        sh = shingles(h["text"])
        if any(jaccard(sh, other) >= NEAR_DUPLICATE for other in kept_shingles):
            continue
        if per_document.get(h["doc_id"], 0) >= per_doc:
            continue
        per_document[h["doc_id"]] = per_document.get(h["doc_id"], 0) + 1
        kept.append(h)
        kept_shingles.append(sh)
        if len(kept) >= max_passages:
            break
    return [{**h, "ref": ref, "full_text": h["text"], "text": strip_to_question(question, h["text"], max_chars)}
            for ref, h in enumerate(kept, start=1)]
