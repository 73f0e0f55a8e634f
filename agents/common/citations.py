"""Citation check for agent answers: every cited id exists and was retrieved; uncited claims are flagged.

A model may cite a passage by its number in the prompt ("[2]") or by chunk id ("[chunk 123]",
"[123]"). Each citation is resolved against the passages shown and the chunks retrieved in this
turn:
- `ok`: a passage number shown, or the id of a retrieved chunk;
- `not_retrieved`: a real chunk id (it exists in the store) that this turn never retrieved;
- `unknown`: neither a passage number nor an existing chunk.
Only `ok` citations survive into the final answer (rewritten as "[chunk <id>]"); the others are
removed and listed as flags. A sentence with no `ok` citation is flagged `uncited`; a cited sentence
that shares almost no content words with what it cites is flagged `weak_support` (a cheap lexical
check, not entailment: it catches citations pasted on unrelated text, not subtle misreadings).

`attribute_uncited` (optional, on by default in the analyst) repairs what small models do most: a
right sentence with no citation. An uncited sentence is attributed to a shown passage when every
figure in it (at least one that is not a year) occurs in that passage, or, for a sentence without
figures, when that passage holds >= 60% of its content words. Such citations are marked
`attributed` (added by the checker, not by the model) in the sentence status and in the flags.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

CITATION = re.compile(r"\[\s*((?:chunk\s*[:#]?\s*)?\d+(?:\s*[,;]\s*(?:chunk\s*[:#]?\s*)?\d+)*)\s*\]", re.IGNORECASE)
SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])|\n+")
WORD = re.compile(r"[a-z0-9][a-z0-9.%$-]*", re.IGNORECASE)
STOP = frozenset("""a an and are as at be by for from has have in is it its of on or that the their this to was were
which with will would what how did does do than then there these those not no yes also more less""".split())
MIN_CLAIM_WORDS = 4
WEAK_SUPPORT = 0.2
ATTRIBUTE_WORDS = 0.6
NUMBER = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?")


@dataclass
class CitationReport:
    sentences: list[dict] = field(default_factory=list)  # {text, rendered, cited: [chunk ids], status}
    citations: list[dict] = field(default_factory=list)  # distinct ok citations with their passage
    flags: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def valid(self) -> bool:
        """True when no citation is invalid (unknown / not retrieved)."""
        return not any(f["kind"] in ("unknown", "not_retrieved") for f in self.flags)


def content_words(text: str) -> set[str]:
    return {w.lower().strip(".") for w in WORD.findall(text) if w.lower() not in STOP and len(w) > 1}


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in SENTENCE.split(text or "") if s and s.strip()]


def check_citations(answer: str, passages: list[dict], retrieved_ids: set[int],
                    chunk_exists: Callable[[list[int]], set[int]]) -> CitationReport:
    """passages: [{ref, chunk_id, text, title, source, available_at}] as shown to the model."""
    by_ref = {int(p["ref"]): p for p in passages}
    by_chunk = {int(p["chunk_id"]): p for p in passages}
    retrieved = {int(i) for i in retrieved_ids}
    raw_numbers = {int(n) for m in CITATION.finditer(answer or "") for n in re.findall(r"\d+", m.group(1))}
    candidates = [n for n in raw_numbers if n not in by_ref and n not in retrieved]
    existing = chunk_exists(candidates) if candidates else set()

    report = CitationReport()
    seen_ok: set[int] = set()
    for sentence in split_sentences(answer):
        cited_ok: list[int] = []

        def resolve(match: re.Match) -> str:
            kept = []
            for item in re.split(r"[,;]", match.group(1)):
                number = int(re.sub(r"\D", "", item))
                is_chunk_form = "chunk" in item.lower()
                if not is_chunk_form and number in by_ref:
                    kept.append(int(by_ref[number]["chunk_id"]))
                elif number in retrieved:
                    kept.append(number)
                else:
                    kind = "not_retrieved" if number in existing else "unknown"
                    report.flags.append({"kind": kind, "citation": match.group(0), "sentence": sentence,
                                         "detail": ("chunk exists but was not retrieved in this turn"
                                                    if kind == "not_retrieved" else "no such passage or chunk")})
            cited_ok.extend(kept)
            return "".join(f"[chunk {cid}]" for cid in dict.fromkeys(kept))

        rendered = re.sub(r"\s+([.,;:!?])", r"\1", re.sub(r"\s{2,}", " ", CITATION.sub(resolve, sentence))).strip()
        text = CITATION.sub("", sentence).strip()
        if not text and report.sentences:  # a citation on its own line belongs to the sentence before it
            last = report.sentences[-1]
            if cited_ok and last["status"] == "uncited":
                last["status"] = "cited"
                report.flags = [f for f in report.flags if not (f["kind"] == "uncited" and f["sentence"] == last["text"])]
            last["cited"] = list(dict.fromkeys(last["cited"] + cited_ok))
            last["rendered"] = (last["rendered"] + " " + rendered).strip()
            _add_citations(report, cited_ok, by_chunk, seen_ok)
            continue
        words = content_words(text)
        status = "cited" if cited_ok else "uncited"
        if not cited_ok and len(text.split()) >= MIN_CLAIM_WORDS:
            report.flags.append({"kind": "uncited", "sentence": text, "detail": "claim without a valid citation"})
        elif cited_ok and words:
            support_words = set().union(*(content_words(_passage_text(cid, by_chunk)) for cid in cited_ok))
            overlap = len(words & support_words) / len(words)
            if overlap < WEAK_SUPPORT:
                status = "weak_support"
                report.flags.append({"kind": "weak_support", "sentence": text,
                                     "detail": f"shares {overlap:.0%} of its content words with the cited text"})
        report.sentences.append({"text": text, "rendered": rendered, "cited": list(dict.fromkeys(cited_ok)),
                                 "status": status})
        _add_citations(report, cited_ok, by_chunk, seen_ok)
    return report


def _add_citations(report: CitationReport, cited: list[int], by_chunk: dict[int, dict], seen: set[int]) -> None:
    for cid in cited:
        if cid not in seen:
            seen.add(cid)
            p = by_chunk.get(cid, {})
            report.citations.append({"chunk_id": cid, "ref": p.get("ref"), "title": p.get("title"),
                                     "source": p.get("source"), "available_at": p.get("available_at")})


def _passage_text(chunk_id: int, by_chunk: dict[int, dict]) -> str:
    p = by_chunk.get(chunk_id)
    return (p.get("full_text") or p.get("text") or "") if p else ""


def figures(text: str) -> set[str]:
    """Numbers in a text, normalised ('1,496.5' -> '1496.5', '12.50' -> '12.5')."""
    out = set()
    for raw in NUMBER.findall(text or ""):
        n = raw.replace(",", "").rstrip(".")
        if "." in n:
            n = n.rstrip("0").rstrip(".")
        if n:
            out.add(n)
    return out


def _is_year(n: str) -> bool:
    return len(n) == 4 and n.isdigit() and 1900 <= int(n) <= 2100


def attribute_uncited(report: CitationReport, passages: list[dict]) -> CitationReport:
    """Attribute uncited sentences to the shown passage that carries their figures (see module doc)."""
    by_chunk = {int(p["chunk_id"]): p for p in passages}
    seen = {c["chunk_id"] for c in report.citations}
    for sentence in report.sentences:
        if sentence["status"] != "uncited" or not sentence["text"]:
            continue
        nums, words = figures(sentence["text"]), content_words(sentence["text"])
        match, why = None, ""
        if any(not _is_year(n) for n in nums):
            for p in passages:  # best-ranked passage first
                if nums <= figures(_passage_text(int(p["chunk_id"]), by_chunk)):
                    match, why = p, f"the passage contains the figures {sorted(nums)}"
                    break
        elif not nums and words:
            best = max(passages, key=lambda p: len(words & content_words(_passage_text(int(p["chunk_id"]), by_chunk))),
                       default=None)
            if best is not None:
                share = len(words & content_words(_passage_text(int(best["chunk_id"]), by_chunk))) / len(words)
                if share >= ATTRIBUTE_WORDS:
                    match, why = best, f"the passage holds {share:.0%} of the sentence's content words"
        if match is None:
            continue
        cid = int(match["chunk_id"])
        text, tag = sentence["rendered"], f" [chunk {cid}]"
        rendered = text[:-1] + tag + text[-1] if text[-1:] in (".", "!", "?") else text + tag
        sentence.update(status="attributed", cited=[cid], rendered=rendered)
        report.flags = [f for f in report.flags if not (f["kind"] == "uncited" and f["sentence"] == sentence["text"])]
        report.flags.append({"kind": "attributed", "sentence": sentence["text"],
                             "detail": f"the model gave no citation; the checker cited chunk {cid}: {why}"})
        if cid not in seen:  # a chunk the model cited elsewhere stays a model citation
            _add_citations(report, [cid], by_chunk, seen)
            report.citations[-1]["attributed"] = True
    return report


def render_answer(check: dict[str, Any]) -> str:
    """The answer with valid citations rewritten in place as [chunk <id>] and invalid ones removed."""
    return " ".join(s["rendered"] for s in check["sentences"] if s["rendered"]).strip()
