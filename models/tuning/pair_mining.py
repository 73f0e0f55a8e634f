"""Hard negatives from the current dense index, and the ECTSum bullet -> transcript chunk mining rule.

Hard negatives go through the product's own `Searcher` (FAISS index + DuckDB embedding cache of the
current embedder), so "hardest" means what today's search would wrongly rank high, and a rerun does
not re-embed the corpus. sentence-transformers' `mine_hard_negatives` would re-encode every corpus
text on each run and cannot use that index, hence the few lines below.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from fincortex.progress import Progress, report
from fincortex.retrieval import embedding_cache
from fincortex.retrieval.filters import SearchFilters
from fincortex.retrieval.searcher import Hit, Searcher



@dataclass
class Pair:
    """One training example: a query, the passage that answers it, and passages that do not."""

    source: str
    split: str  # train | eval
    group_key: str  # the unit of the split (TAT-QA context uid, document source_key)
    query: str
    positive: str
    positive_ref: str
    positive_chunk_id: int | None = None
    negatives: list[str] = field(default_factory=list)
    negative_refs: list[str] = field(default_factory=list)


@dataclass
class Candidate:
    """A pair before mining, with the chunks of its pool that must never be its negatives."""

    pair: Pair
    exclude: frozenset[int]  # every chunk that answers this query (all its positives)
    filters: SearchFilters | None = None  # where negatives may come from (e.g. the same source)
    positive_chunk: int | None = None  # the positive's chunk id in the miner's store (for its score)


class IndexMiner:
    """Top-ranked non-positive chunks of a store's dense index, with a false-negative margin.

    A chunk scoring within `margin` (relative) of the positive is skipped: on real corpora such a
    near-tie is more often a second correct answer (a repeated figure, a duplicate story) than a
    useful negative.
    """

    def __init__(self, searcher: Searcher, ref_of: Callable[[Hit], str], passage_of: Callable[[Hit], str] | None = None,
                 n_negatives: int = 3, margin: float = 0.05, depth: int = 30) -> None:
        self.searcher, self.ref_of = searcher, ref_of
        self.passage_of = passage_of or (lambda hit: hit.text)
        self.n_negatives, self.margin, self.depth = n_negatives, margin, depth

    def mine(self, candidates: list[Candidate], progress: Progress | None = None, label: str = "mine") -> None:
        """Fill each candidate's pair.negatives / negative_refs in place."""
        if not candidates:
            return
        self.searcher.sync(stages=("dense",))  # the dense index of the current embedder, level with the chunks
        embedder = self.searcher.embedder
        vectors = embedder.encode([c.pair.query for c in candidates])
        wanted = np.unique([c.positive_chunk for c in candidates if c.positive_chunk is not None]).astype(np.int64)
        ids, pos_vectors = embedding_cache.load_embeddings(self.searcher.store, embedder.key, wanted)
        positive_vector = dict(zip(ids.tolist(), pos_vectors))
        for i, candidate in enumerate(candidates):
            pair = candidate.pair
            ceiling = np.inf
            if candidate.positive_chunk in positive_vector:
                ceiling = float(vectors[i] @ positive_vector[candidate.positive_chunk]) * (1 - self.margin)
            for depth in (self.depth, 4 * self.depth):  # a positive ranked low leaves nothing below it at first
                hits = self.searcher.search(pair.query, k=depth, mode="dense", rerank=False,
                                            filters=candidate.filters, query_vector=vectors[i])
                chosen = [h for h in hits if h.chunk_id not in candidate.exclude and h.score < ceiling]
                if len(chosen) >= self.n_negatives or len(hits) < depth:
                    break
            seen = {pair.positive.strip()}
            for hit in chosen:
                text = self.passage_of(hit).strip()
                if not text or text in seen:
                    continue
                seen.add(text)
                pair.negatives.append(text)
                pair.negative_refs.append(self.ref_of(hit))
                if len(pair.negatives) >= self.n_negatives:
                    break
            if (i + 1) % 50 == 0 or i + 1 == len(candidates):
                report(progress, label, i + 1, len(candidates))


# -- ECTSum: summary bullet -> supporting transcript chunk ------------------------------------------
_NUMBER = re.compile(r"(?<![\w.\-])\d+(?:,\d{3})*(?:\.\d+)?")
_WORD = re.compile(r"[a-z]+")
PLACEHOLDER = "compname"  # ECTSum anonymises company names in the bullets


def numbers(text: str) -> set[str]:
    """Figures in a text, normalised ('1,200.50' -> '1200.5'); years and digits glued to words
    ('q3', 'covid-19') are not evidence and are left out."""
    found = set()
    for raw in _NUMBER.findall(text):
        value = raw.replace(",", "")
        if "." in value:
            value = value.rstrip("0").rstrip(".")
        if re.fullmatch(r"(19[5-9]\d|20[0-4]\d)", value):
            continue  # a year
        found.add(value)
    return found


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer  # PyStemmer, already used by the BM25 index

    return Stemmer.Stemmer("english")


def content_stems(text: str) -> set[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    words = [w for w in _WORD.findall(text.lower()) if len(w) > 2 and w not in ENGLISH_STOP_WORDS and w != PLACEHOLDER]
    return set(_stemmer().stemWords(words))


@dataclass(frozen=True)
class Support:
    shared_numbers: int
    lexical: float  # share of the bullet's content stems found in the chunk


def support(bullet: str, chunk: str) -> Support:
    stems = content_stems(bullet)
    lexical = len(stems & content_stems(chunk)) / len(stems) if stems else 0.0
    return Support(len(numbers(bullet) & numbers(chunk)), lexical)


MIN_LEXICAL_WITH_NUMBER = 0.3
MIN_LEXICAL_WITHOUT_NUMBER = 0.5


def supports(bullet: str, s: Support) -> bool:
    """The mining rule (docs/tuning.md): a bullet with figures needs a chunk sharing at least one of
    them and >= 30% of its content words; a bullet without figures needs >= 50% of its content words."""
    if numbers(bullet):
        return s.shared_numbers >= 1 and s.lexical >= MIN_LEXICAL_WITH_NUMBER
    return s.lexical >= MIN_LEXICAL_WITHOUT_NUMBER


def best_support(bullet: str, chunks: list[tuple[int, str]]) -> tuple[int | None, set[int]]:
    """(the chunk id that best supports the bullet or None, every chunk id that passes the rule)."""
    passing = []
    for chunk_id, text in chunks:
        s = support(bullet, text)
        if supports(bullet, s):
            passing.append(((s.shared_numbers, s.lexical), chunk_id))
    if not passing:
        return None, set()
    passing.sort(key=lambda item: (-item[0][0], -item[0][1], item[1]))
    return passing[0][1], {chunk_id for _, chunk_id in passing}


def clean_bullet(line: str) -> str:
    return " ".join(line.replace(PLACEHOLDER, " ").split()).strip(" -*•")
