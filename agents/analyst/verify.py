"""Claim verification: supported / refuted / not enough evidence, with an explanation and citations.

    parse claim -> resolve company -> retrieve (point in time) -> read passages -> compare -> verdict -> phrase

The verdict comes from the evidence, not from the chat model (the default is a 135M model):
- parse (claim_parse.py): the claim's figures (value, scale from "million"/"billion" or a unit hint such
  as "in USD millions", percent), its years and quarter, its content words;
- company and period: when the store's filings carry metadata (company, ticker, fiscal period: written at
  ingest, read by agents/analyst/scope.py), the filings public by as_of that the claim's company and
  years point at are searched; otherwise a company the claim names (a ticker, spelled loosely:
  "Johnson & Johnson" ~ JOHNSON_JOHNSON, "JPM" ~ JPMORGAN) restricts retrieval to that company's
  documents; a claim naming none searches everything;
- retrieve: hybrid search through `PointInTimeSearch` bound to as_of (default now), so a document made
  public after as_of is never read (a hit from later fails the run with LeakageError) and every call is
  recorded (`agent_runs` kind 'verify', audit with `fincortex agent-audit RUN_ID`);
- compute (claim_metric.py): a claim naming a metric the analyst computes (metrics.py: margins, turnover,
  ROA, DPO, EBITDA, free cash flow, ...) about one company whose filings resolve is checked against that
  metric computed from the filing's statement rows for the claimed fiscal year, read point-in-time (the
  rows available by as_of): equal within the claim's rounding or rel_tol -> 'computed' (formula and each
  input cited with its page), different -> 'contradicted' (the computed value and its inputs said); a
  missing input leaves the figure to the passage checks, and the notes say so;
- compare (claim_evidence.py, claim_compare.py): passages read as rows (label + figures, each figure tied
  to its column's year); a claim figure is matched when a row of the claimed period carries it, derived
  when one step of arithmetic on two line items of the claimed period gives it, contradicted only when
  the row of the same line item gives the claimed period another value (or gives the claimed value to
  another period only); another row with another number does not contradict;
- verdict: supported when every figure is computed, matched or derived; refuted when one is
  contradicted; not enough evidence when no document of the company (or of the period) is available,
  or nothing in it speaks about the claim. A claim without figures is judged on word coverage of the company's passages
  and can be supported or not enough evidence, never refuted (words alone cannot contradict);
- phrase: the chat model rewrites the deterministic explanation as one sentence; a phrasing that states a
  figure the facts do not carry, or that contradicts the verdict, is discarded (and the notes say so).
- entailment (optional, `VerifyConfig(entailment=True)`): the chat model's own supported/refuted
  log-probabilities over the best passage, reported beside the verdict, never replacing it.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

from fincortex.agents.analyst.claim_compare import (
    FigureCheck,
    check_figure,
    inputs_for,
    relevant_rows,
)
from fincortex.agents.analyst.claim_evidence import Passage, read_passage
from fincortex.agents.analyst.claim_metric import check_metric
from fincortex.agents.analyst.claim_parse import (
    UNIT_HINT,
    Figure,
    ParsedText,
    figures_in,
    hedged,
    normalise_name,
    parse_claim,
    terms,
)
from fincortex.agents.analyst.scope import (
    FilingRef,
    QuestionScope,
    load_filings,
    parse_scope,
)
from fincortex.agents.common.deps import AgentDeps, require_search
from fincortex.agents.common.tools import PointInTimeSearch
from fincortex.retrieval.filters import parse_as_of

VERDICTS = ("supported", "refuted", "not enough evidence")
DECIDED = ("computed", "matched", "derived", "contradicted")  # check statuses whose evidence is cited
PHRASE_SYSTEM = ("You explain fact-check results in one plain sentence. Use only the facts given. "
                 "Do not add numbers.")


@dataclass(frozen=True)
class VerifyConfig:
    model: str | None = None  # chat model spec for the phrasing; None = settings.llm
    k: int = 10  # hits read
    mode: str = "hybrid"
    rerank: bool = True
    rel_tol: float = 0.01  # relative tolerance on figures (besides the claim's own rounding)
    approx_tol: float = 0.05  # relative tolerance on a hedged figure ("approximately 0.54", "roughly 2.7")
    max_rows: int = 10  # relevant rows whose values may enter arithmetic
    text_support: float = 0.5  # share of a figure-less claim's words the company's best passage must carry
    # (0.5 tuned on the FinanceBench dev claims, the only split: of their 22 figure-less claims, 0.7 supported
    # 2 of 11 true ones, 0.5 supports 6 and 1 of the 11 false ones; words never refute)
    phrase: bool = True  # let the chat model phrase the explanation
    phrase_tokens: int = 60
    entailment: bool = False  # also record the chat model's own supported/refuted judgment
    sources: tuple[str, ...] | None = None
    doc_types: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.k < 1 or self.max_rows < 1:
            raise ValueError(f"k and max_rows must be >= 1 (got k={self.k}, max_rows={self.max_rows})")
        if not 0 <= self.rel_tol < 1:
            raise ValueError(f"rel_tol must be in [0, 1) (got {self.rel_tol})")
        if not 0 <= self.approx_tol < 1:
            raise ValueError(f"approx_tol must be in [0, 1) (got {self.approx_tol})")
        if not 0 < self.text_support <= 1:
            raise ValueError(f"text_support must be in (0, 1] (got {self.text_support})")


@dataclass
class Verification:
    claim: str
    verdict: str  # supported | refuted | not enough evidence
    explanation: str  # the chat model's phrasing when it kept to the facts, else the facts
    facts: str  # the deterministic explanation the verdict rests on
    citations: list[dict]  # {chunk_id, doc_id, document, ticker, page, available_at}
    checks: list[dict]  # per claim figure: status computed | matched | derived | contradicted | unmatched, detail, rule
    company: str | None  # the ticker the claim was resolved to (None: the claim names no known company)
    years: list[int]
    as_of: str
    run_id: str
    passages: list[dict]  # what was read: citation fields + score
    notes: list[str] = field(default_factory=list)
    entailment: dict | None = None  # {supported: logp, refuted: logp, label} when asked for
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)


def _bound(as_of: Any) -> datetime:
    if as_of in (None, ""):
        return _now()
    try:
        return parse_as_of(as_of)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"as_of {as_of!r} is not a date: {exc}") from None


def known_companies(store: Any) -> dict[str, str]:
    """normalised name -> ticker, from every document's ticker and metadata company name. Names only:
    which documents may be read is decided by the point-in-time search, not here."""
    if store is None:
        return {}
    with store.read() as conn:
        rows = conn.execute("SELECT DISTINCT ticker, json_extract_string(meta, '$.company') FROM documents "
                            "WHERE ticker IS NOT NULL").fetchall()
    out: dict[str, str] = {}
    for ticker, company in rows:
        for name in (ticker, company):
            if name and len(normalise_name(name)) >= 2:
                out.setdefault(normalise_name(name), ticker)
    return out


def resolve_company(claim: str, companies: dict[str, str]) -> str | None:
    """The ticker whose name the claim spells (1-4 consecutive words, punctuation ignored), longest name
    first; an all-capital word of 3+ letters also matches a name it begins ('JPM' ~ JPMORGAN)."""
    words = re.findall(r"[A-Za-z0-9&]+", claim)
    best: tuple[int, str] | None = None
    for n in (4, 3, 2, 1):
        for i in range(len(words) - n + 1):
            key = normalise_name("".join(words[i:i + n]))
            if key in companies and (best is None or len(key) > best[0]):
                best = (len(key), companies[key])
    if best:
        return best[1]
    for w in words:
        if len(w) >= 3 and w.isupper() and w.isalpha():
            hits = {t for name, t in companies.items() if name.startswith(w.lower())}
            if len(hits) == 1:
                return hits.pop()
    return None


class ClaimVerifier:
    """Build once per deps and config; `verify` checks one claim."""

    def __init__(self, deps: AgentDeps, config: VerifyConfig | None = None) -> None:
        self.deps, self.config = deps, config or VerifyConfig()
        self.search_fn = require_search(deps, "claim verification")
        self._chat: Any = None

    def chat(self) -> Any:
        if self._chat is None:
            self._chat = self.deps.chat_model(self.config.model)
        return self._chat

    def verify(self, claim: str, as_of: Any = None) -> Verification:
        if not isinstance(claim, str) or not claim.strip():
            raise ValueError("claim must be a non-empty string (got an empty claim)")
        claim = " ".join(claim.split())
        if len(claim) > 2000:
            raise ValueError(f"claim is {len(claim)} characters long; give at most 2000")
        bound = _bound(as_of)
        started = time.perf_counter()
        cfg = self.config
        recorder = self.deps.recorder("verify", claim, bound, model=cfg.model, config=asdict(cfg))
        try:
            result = self._verify(claim, bound, recorder)
        except Exception as exc:
            recorder.finish(error=f"{type(exc).__name__}: {exc}")
            raise
        result.seconds = round(time.perf_counter() - started, 3)
        recorder.finish(result={"verdict": result.verdict, "citations": result.citations, "checks": result.checks,
                                "notes": result.notes})
        return result

    # -- stages ----------------------------------------------------------------------------------------
    def _verify(self, claim: str, bound: datetime, recorder: Any) -> Verification:
        cfg = self.config
        parsed = parse_claim(claim)
        # company and period: the filings' metadata when the store has it (agents/analyst/scope.py: the
        # filings public by as_of that the claim's company and years point at), else the tickers
        filings = load_filings(self.deps.store, bound) if self.deps.store is not None else []
        scope = parse_scope(claim, filings) if self.deps.store is not None else None
        scoped = scope is not None and scope.active
        company = ", ".join(scope.companies) if scoped else resolve_company(claim, known_companies(self.deps.store))
        search = PointInTimeSearch(self.search_fn, bound, recorder, mode=cfg.mode, rerank=cfg.rerank)
        hits = search(claim, k=cfg.k, tickers=[company] if company and not scoped else None,
                      doc_ids=list(scope.doc_ids) if scoped else None,
                      doc_types=list(cfg.doc_types) if cfg.doc_types else None,
                      sources=list(cfg.sources) if cfg.sources else None)
        notes = [w for w in search.warnings if "rerank" in w][:1]
        if scoped:
            notes.append(f"filings searched: {scope.reason}")
        passages = [read_passage(_hit_dict(h)) for h in hits]
        base = dict(claim=claim, company=company, years=parsed.years, as_of=bound.isoformat(sep=" "),
                    run_id=recorder.run_id, passages=[{**p.cite(), "score": p.score} for p in passages], notes=notes)
        verdict, facts, citations, checks, judged_notes = self._judge(claim, parsed, passages, company, bound,
                                                                      scope, filings, recorder)
        notes += judged_notes
        explanation = facts
        if cfg.phrase:
            explanation, note = self._phrase(claim, verdict, facts)
            if note:
                notes.append(note)
        entail = self._entail(claim, passages) if cfg.entailment and passages else None
        return Verification(verdict=verdict, explanation=explanation, facts=facts, citations=citations,
                            checks=[c.as_dict() for c in checks], entailment=entail, **base)

    def _judge(self, claim: str, parsed: ParsedText, passages: list[Passage], company: str | None, bound: datetime,
               scope: QuestionScope | None, filings: list[FilingRef],
               recorder: Any) -> tuple[str, str, list[dict], list[FigureCheck], list[str]]:
        """(verdict, facts, citations, checks, notes): the computed-metric checks first (claim_metric.py),
        then the passage checks for the figures the computation did not decide."""
        cfg = self.config
        who = f"of {company} " if company else ""
        body = UNIT_HINT.sub(" ", claim)  # the text parse_claim's figure offsets refer to

        def tolerance(f: Figure) -> float:
            return max(cfg.rel_tol, cfg.approx_tol) if hedged(body, f) else cfg.rel_tol

        computed = check_metric(claim, parsed, scope, filings, self.deps.store, bound, tolerance, recorder)
        metric_checks = computed.checks if computed else []
        notes = list(computed.notes) if computed else []
        rest = [f for f in parsed.figures if not computed or f.start not in computed.checked]
        if metric_checks and not rest:
            return (*self._verdict(metric_checks, who), notes)
        if not passages:
            return (*self._verdict(metric_checks, who, f"No document {who}available by {bound:%Y-%m-%d} speaks about "
                                   "the claim."), notes)
        if parsed.years:
            covering = [p for p in passages if _covers(p, parsed.years)]
            if not covering:
                years = ", ".join(map(str, parsed.years))
                return (*self._verdict(metric_checks, who, f"The documents {who}available by {bound:%Y-%m-%d} that "
                                       f"were retrieved do not cover {years}."), notes)
            passages = covering
        claim_terms = parsed.terms - _company_terms(company)
        if not parsed.figures:
            return (*self._judge_words(claim_terms, passages, who), notes)
        rows = relevant_rows(passages, claim_terms, cfg.max_rows)
        inputs = inputs_for(rows, parsed.years)
        checks = metric_checks + [check_figure(f, parsed.years, passages, inputs, rows, tolerance(f), claim_terms)
                                  for f in rest]
        return (*self._verdict(checks, who), notes)

    @staticmethod
    def _verdict(checks: list[FigureCheck], who: str,
                 nothing: str | None = None) -> tuple[str, str, list[dict], list[FigureCheck]]:
        """supported when every figure is computed, matched or derived; refuted when one is contradicted;
        else not enough evidence. `nothing`: why the passages could not be read (the figures the
        computation did not decide stay unchecked)."""
        citations = _unique([c for check in checks if check.status in DECIDED for c in check.evidence])
        statuses = {c.status for c in checks}
        lines = "; ".join(f"{c.claim_figure}: {c.status} ({c.detail})" for c in checks)
        if "contradicted" in statuses:
            return "refuted", f"The evidence disagrees with the claim: {lines}.", citations, checks
        if checks and statuses <= {"computed", "matched", "derived"} and nothing is None:
            return "supported", f"Every figure of the claim is in the evidence: {lines}.", citations, checks
        if nothing is not None:
            return ("not enough evidence", nothing + (f" Checked: {lines}; the other figures are unchecked." if lines
                                                      else ""), citations, checks)
        return ("not enough evidence", f"The passages {who}read do not state the claim's figures: {lines}.",
                citations, checks)

    def _judge_words(self, claim_terms: frozenset[str], passages: list[Passage],
                     who: str) -> tuple[str, str, list[dict], list[FigureCheck]]:
        if not claim_terms:
            return "not enough evidence", "The claim has no figure and no content word to check.", [], []
        best = max(passages, key=lambda p: len(p.terms & claim_terms))
        share = len(best.terms & claim_terms) / len(claim_terms)
        missing = sorted(claim_terms - best.terms)[:8]
        if share >= self.config.text_support:
            return ("supported", f"{best.title} p. {best.page} carries {share:.0%} of the claim's words"
                    + (f" (missing: {', '.join(missing)})" if missing else "") + ".", [best.cite()], [])
        return ("not enough evidence", f"The best passage {who}({best.title} p. {best.page}) carries only "
                f"{share:.0%} of the claim's words (missing: {', '.join(missing)}); words alone cannot refute.",
                [], [])

    def _phrase(self, claim: str, verdict: str, facts: str) -> tuple[str, str | None]:
        reply = self.chat().invoke(
            [("system", PHRASE_SYSTEM),
             ("human", f"Claim: {claim[:400]}\nVerdict: {verdict}\nFacts: {facts[:900]}\n"
                       "Explain the verdict in one sentence:")],
            max_tokens=self.config.phrase_tokens, temperature=0.0)
        text = " ".join(str(reply.content).split())
        problem = phrasing_problem(text, verdict, facts + " " + claim)
        if problem:
            return facts, f"the chat model's phrasing was discarded ({problem}); the explanation is the facts"
        return text, None

    def _entail(self, claim: str, passages: list[Passage]) -> dict:
        best = passages[0]
        scores = self.chat().score_choices(
            [("system", "Decide whether the passage supports or refutes the claim. Reply with one word."),
             ("human", f"Passage: {best.text[:1200]}\nClaim: {claim[:400]}\nSupported or refuted?")],
            ["supported", "refuted"])
        return {**scores, "label": max(scores, key=scores.get), "chunk_id": best.chunk_id}


def phrasing_problem(text: str, verdict: str, facts: str) -> str | None:
    """Why a model-written explanation may not be shown, or None: empty, a figure the facts lack, or a
    word of another verdict."""
    if len(text) < 12:
        return "empty"
    known = {round(abs(f.value), 6) for f in figures_in(facts)}
    extra = [f.text for f in figures_in(text) if round(abs(f.value), 6) not in known]
    if extra:
        return f"it states figures the evidence does not: {', '.join(extra[:3])}"
    low = text.lower()
    others = {"supported": ("refuted", "not supported", "false", "incorrect", "not enough"),
              "refuted": ("is supported", "is true", "correct", "not enough"),
              "not enough evidence": ("is supported", "refuted", "is true", "is false")}[verdict]
    if any(o in low for o in others):
        return "it contradicts the verdict"
    return None


def _hit_dict(h: Any) -> dict:
    return {"chunk_id": h.chunk_id, "doc_id": h.doc_id, "text": h.text, "title": h.title, "ticker": h.ticker,
            "page_start": getattr(h, "page_start", None), "available_at": h.available_at.isoformat(sep=" "),
            "score": h.score}


def _covers(p: Passage, years: list[int]) -> bool:
    written = set(p.header_years) | {int(y) for y in re.findall(r"(?<!\d)((?:19|20)\d{2})(?!\d)", p.text)}
    written |= {int(y) for y in re.findall(r"(?:19|20)\d{2}", p.title or "")}
    return any(y in written for y in years)


def _company_terms(company: str | None) -> frozenset[str]:
    return terms(company.replace("_", " ")) if company else frozenset()


def _unique(cites: list[dict]) -> list[dict]:
    seen, out = set(), []
    for c in cites:
        if c["chunk_id"] not in seen:
            seen.add(c["chunk_id"])
            out.append(c)
    return out


def verify_claim(deps: AgentDeps, claim: str, *, as_of: Any = None,
                 config: VerifyConfig | None = None) -> Verification:
    """The service behind `Client.verify` and `fincortex verify`."""
    return ClaimVerifier(deps, config).verify(claim, as_of=as_of)
