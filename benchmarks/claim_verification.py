"""Claim verification on the FinanceBench dev split: accuracy and macro-F1 beside a lexical baseline.

    python benchmarks/claim_verification.py --db /tmp/verify/fb.duckdb \
        --out benchmarks/results/claim_verification_dev.json

The claims are generated here, at run time, from the dev questions (never stored): each gold answer makes
a true claim ("<question's first sentence> Answer: <gold answer>", with the question's unit hint such as
"(in USD millions)" kept); the same claim with one perturbation makes a false one, the kind drawn with a
seeded generator per question among those that apply:
- figure: the answer's first figure multiplied by 0.5, 0.7, 1.4 or 2 (written in the same style);
- period: every year of the claim moved one year back (the filing also reports the year before);
- company: the company replaced by another dev company with a filing covering the claim's year.
Gold: true -> supported, false -> refuted. A "not enough evidence" verdict counts as wrong for either.

Baseline (same run, same store): BM25 top-5 passages without company filter; the share of the claim's
words and numbers found in them; "supported" above a threshold tuned on these very claims (dev), else
"refuted". Also measured: the chat model's own entailment judgment over the best passage (recorded by the
verifier with entailment=True) and a point-in-time check: each true claim verified one day before its
filing became available must never cite that filing (or anything later).

The store: every dev PDF ingested once (`ensure_store`), each with a conservative published_at (a 10-K of
fiscal year Y: Y+1-03-31; a 10-Q: 45 days after its quarter; an 8-K: its date), ticker = the file's
company stem (file names are the reliable metadata here; cover pages vary).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import re
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = Path(os.environ.get("FINCORTEX_DATA_MIRROR", "/work/shared/data")) / "financebench"
STEM = re.compile(r"(?P<company>.+?)_(?P<year>\d{4})(?P<q>Q[1-4])?_(?P<form>10K|10Q|8K)(?:_dated-(?P<dated>\d{4}-\d{2}-\d{2}))?$")
FORMS = {"10K": "10-K", "10Q": "10-Q", "8K": "8-K"}
FACTORS = (0.5, 0.7, 1.4, 2.0)


# -- the store ------------------------------------------------------------------------------------------
def filing_meta(stem: str) -> dict:
    """Company stem, fiscal year, form and a conservative publication date from a FinanceBench file name."""
    m = STEM.match(stem)
    if not m:
        raise ValueError(f"file name {stem!r} is not COMPANY_YEAR[Qn]_FORM[_dated-YYYY-MM-DD]")
    year = int(m["year"])
    if m["dated"]:
        published = dt.date.fromisoformat(m["dated"])
    elif m["form"] == "10Q":
        month, day = {"Q1": (3, 31), "Q2": (6, 30), "Q3": (9, 30), "Q4": (12, 31)}[m["q"]]
        published = dt.date(year, month, day) + dt.timedelta(days=45)
    else:
        published = dt.date(year + 1, 3, 31)
    covers = {year, year - 1} if m["form"] == "10K" else {year}
    return {"company": m["company"], "year": year, "form": FORMS[m["form"]], "published": published, "covers": covers}


def company_names(doc_info: Path) -> dict[str, str]:
    """File-name company stem -> the company's name as FinanceBench writes it ('American Express')."""
    out = {}
    for line in doc_info.read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            out[filing_meta(row["doc_name"])["company"]] = row["company"]
    return out


def ensure_store(client, pdfs: Path, names: dict[str, str], build_index: bool = True) -> dict[str, dict]:
    """Ingest each PDF once (unchanged files are skipped by hash) and build the index when missing.

    On a store that already holds these PDFs (--db of another run's store) nothing is re-ingested or
    re-embedded, and the options here (ticker, published_at) are not re-applied to those unchanged files:
    their stored dates stay (docs/verify.md says what that meant for the measured store)."""
    metas = {}
    for pdf in sorted(pdfs.glob("*.pdf")):
        meta = filing_meta(pdf.stem)
        meta["name"] = names.get(meta["company"], meta["company"].replace("_", " ").title())
        metas[pdf.stem] = meta
        client.ingest(pdf, ticker=meta["company"], doc_type=meta["form"], published_at=meta["published"].isoformat(),
                      source="financebench", update_index=False)
    if build_index:
        client.build_index()  # incremental: only chunks not indexed yet are embedded
    return metas


# -- the claims -------------------------------------------------------------------------------------------
def _first_sentence(question: str) -> str:
    q = " ".join(question.split())
    return q[: q.index("?") + 1] if "?" in q[:400] else q[:300]


def true_claim(row: dict) -> str:
    q = _first_sentence(row["question"])
    hint = re.search(r"\bin (?:USD )?(millions|billions|thousands)\b", row["question"], re.I)
    if hint and hint.group(0).lower() not in q.lower():
        q += f" (in USD {hint.group(1).lower()})"
    answer = " ".join(row["answer"].split())[:300]
    return f"{q} Answer: {answer}"


def _answer_figure(claim: str):
    from fincortex.agents.analyst.claim_parse import figures_in

    cut = claim.index(" Answer: ") + len(" Answer: ")
    figs = [f for f in figures_in(claim[cut:]) if f.value != 0]
    return (cut, figs[0]) if figs else (cut, None)


def _scaled_text(text: str, factor: float) -> str:
    """The number inside `text` times factor (the drawn one, else the next that survives rounding to the
    same decimals by at least 25%), written with the same decimals and thousands separator."""
    m = re.search(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+", text)
    num = m.group(0)
    decimals = len(num.split(".")[1]) if "." in num else 0
    old = float(num.replace(",", ""))
    for f in (factor, *FACTORS, 3.0, 5.0):
        new = f"{old * f:,.{decimals}f}" if "," in num else f"{old * f:.{decimals}f}"
        if abs(float(new.replace(",", "")) - old) >= 0.25 * abs(old):
            return text[: m.start()] + new + text[m.end():]
    raise ValueError(f"cannot perturb {num!r}")


def _years(claim: str) -> list[int]:
    from fincortex.agents.analyst.claim_parse import years_in

    return years_in(claim)


def false_claim(row: dict, claim: str, metas: dict[str, dict], rng: random.Random) -> tuple[str, str]:
    """(perturbed claim, kind); the kind is drawn among those that apply to this claim."""
    cut, fig = _answer_figure(claim)
    years = _years(claim)
    company = row["company"]
    own = metas[row["doc_name"]]["company"]
    others = sorted({m["company"] for m in metas.values() if m["company"] != own
                     and (not years or max(years) in m["covers"])})
    kinds = (["figure"] if fig else []) + (["period"] if years else [])
    if others and re.search(re.escape(company), claim, re.I):
        kinds.append("company")
    if not kinds:
        raise ValueError(f"no perturbation applies to {row['financebench_id']}")
    kind = rng.choice(kinds)
    if kind == "figure":
        start = cut + fig.start
        end = claim.index(fig.text.lstrip("-\u2212(").strip(), max(cut, start - 3)) + len(fig.text.lstrip("-\u2212(").strip())
        begin = max(cut, claim.rfind(" ", cut, start) + 1)
        new = _scaled_text(claim[begin:end], rng.choice(FACTORS))
        return claim[:begin] + new + claim[end:], kind
    if kind == "period":
        return re.sub(r"(?<!\d)((?:19|20)\d{2})(?!\d)", lambda m: str(int(m.group(1)) - 1), claim), kind
    other = rng.choice(others)
    name = next(m for m in metas.values() if m["company"] == other)["name"]
    return re.sub(re.escape(company), name, claim, flags=re.I), kind


def build_claims(questions: Path, metas: dict[str, dict], seed: int) -> list[dict]:
    claims = []
    for line in questions.read_text().splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        rng = random.Random(f"{seed}:{row['financebench_id']}")
        text = true_claim(row)
        claims.append({"id": row["financebench_id"], "doc_name": row["doc_name"], "claim": text, "label": "supported",
                       "kind": "gold"})
        false, kind = false_claim(row, text, metas, rng)
        claims.append({"id": row["financebench_id"], "doc_name": row["doc_name"], "claim": false, "label": "refuted",
                       "kind": kind})
    return claims


# -- scoring ---------------------------------------------------------------------------------------------
def scores(gold: list[str], pred: list[str]) -> dict:
    from sklearn.metrics import accuracy_score, f1_score

    return {"accuracy": round(float(accuracy_score(gold, pred)), 4),
            "macro_f1": round(float(f1_score(gold, pred, labels=["supported", "refuted"], average="macro",
                                             zero_division=0)), 4),
            "nei_rate": round(sum(p == "not enough evidence" for p in pred) / len(pred), 4),
            "n": len(pred)}


WORDS = re.compile(r"[a-z]+|\d[\d,.]*\d|\d")


def _tokens(text: str) -> set[str]:
    return {t.replace(",", "") for t in WORDS.findall(text.lower()) if len(t) > 2 or t[0].isdigit()}


def lexical_overlap(client, claim: str, as_of) -> float:
    hits = client.search(claim, k=5, as_of=as_of, mode="bm25", rerank=False)
    seen = set().union(*(_tokens(h.text) for h in hits)) if len(hits) else set()
    toks = _tokens(claim)
    return len(toks & seen) / max(1, len(toks))


def rule_counts(rows: list[dict]) -> dict:
    """Per decisive rule (claim_compare / claim_metric FigureCheck.rule): on how many true and false claims
    it fired, and on how many it decided the verdict right. What a rule is worth on these dev claims."""
    out: dict[str, dict] = {}
    for r in rows:
        for rule in set(r.get("rules") or []):
            if rule in ("", "unmatched"):
                continue
            c = out.setdefault(rule, {"true_claims": 0, "false_claims": 0, "verdict_right": 0})
            c["true_claims" if r["label"] == "supported" else "false_claims"] += 1
            c["verdict_right"] += r["verdict"] == r["label"]
    return dict(sorted(out.items()))


def tune_threshold(values: list[float], gold: list[str]) -> float:
    best = (-1.0, 0.0)
    for t in sorted(set(values)) + [1.01]:
        acc = sum((v >= t) == (g == "supported") for v, g in zip(values, gold))
        best = max(best, (acc, -t))
    return -best[1]


def paired_differences(rows: list[dict], threshold: float, resamples: int = 2000, seed: int = 0) -> dict:
    """Verifier minus lexical baseline, accuracy and macro-F1, with 95% percentile intervals from a paired
    bootstrap over questions (a question's true and false claim are resampled together: they share a
    filing and a retrieval). Macro-F1 is not a mean of per-item scores, hence the resampling by hand."""
    import numpy as np
    from sklearn.metrics import f1_score

    gold = np.array([r["label"] for r in rows])
    ours = np.array([r["verdict"] for r in rows])
    lexical = np.array(["supported" if r["overlap"] >= threshold else "refuted" for r in rows])
    groups = [np.flatnonzero(np.array([r["id"] for r in rows]) == q) for q in dict.fromkeys(r["id"] for r in rows)]

    def diff(idx):
        f1 = lambda pred: f1_score(gold[idx], pred[idx], labels=["supported", "refuted"], average="macro", zero_division=0)  # noqa: E731
        return (ours[idx] == gold[idx]).mean() - (lexical[idx] == gold[idx]).mean(), f1(ours) - f1(lexical)

    rng = np.random.default_rng(seed)
    draws = np.array([diff(np.concatenate([groups[i] for i in rng.integers(0, len(groups), len(groups))]))
                      for _ in range(resamples)])
    point = diff(np.arange(len(rows)))
    return {name: {"difference": round(float(point[j]), 4),
                   "ci95": [round(float(x), 4) for x in np.percentile(draws[:, j], [2.5, 97.5])]}
            for j, name in enumerate(("accuracy", "macro_f1"))} | {
        "method": f"paired bootstrap over {len(groups)} questions, {resamples} resamples, seed {seed}"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--questions", type=Path, default=DEFAULT_DATA / "financebench_open_source_dev.jsonl")
    parser.add_argument("--pdfs", type=Path, default=DEFAULT_DATA / "pdfs")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/claim_verification_dev.json")
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--limit", type=int, default=None, help="first N questions (2N claims)")
    parser.add_argument("--no-phrase", action="store_true", help="skip the chat model's phrasing")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--mode", default="hybrid", choices=("hybrid", "dense", "bm25"),
                        help="the verifier's retrieval mode (bm25 needs no dense index)")
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    import torch

    torch.set_num_threads(args.threads)
    from fincortex.client import Client

    load_start = os.getloadavg()
    client = Client(db=args.db)
    t0 = time.perf_counter()
    metas = ensure_store(client, args.pdfs, company_names(args.questions.parent / "financebench_document_information_dev.jsonl"),
                         build_index=args.mode != "bm25")
    store_s = time.perf_counter() - t0
    claims = build_claims(args.questions, metas, args.seed)
    if args.limit:
        keep = {c["id"] for c in claims[: 2 * args.limit]}
        claims = [c for c in claims if c["id"] in keep]

    rows, t_verify = [], 0.0
    for c in claims:
        t = time.perf_counter()
        v = client.verify(c["claim"], phrase=not args.no_phrase, entailment=True, mode=args.mode)
        t_verify += time.perf_counter() - t
        t = time.perf_counter()
        overlap = lexical_overlap(client, c["claim"], None)
        rows.append({**{k: c[k] for k in ("id", "doc_name", "label", "kind")}, "verdict": v.verdict,
                     "entailment": (v.entailment or {}).get("label", "not enough evidence"),
                     "overlap": round(overlap, 4), "lexical_s": round(time.perf_counter() - t, 3),
                     "seconds": v.seconds, "checks": [ch["status"] for ch in v.checks],
                     "rules": [ch["rule"] for ch in v.checks],
                     "cited": [(ci["document"], ci["page"]) for ci in v.citations][:5],
                     "explanation_is_model": v.explanation != v.facts})
        print(f"{c['id']} {c['kind']:8s} gold={c['label']:9s} pred={v.verdict:20s} {v.seconds:5.1f}s", flush=True)

    gold = [r["label"] for r in rows]
    threshold = tune_threshold([r["overlap"] for r in rows], gold)
    lexical = ["supported" if r["overlap"] >= threshold else "refuted" for r in rows]

    # point in time: each true claim one day before its filing became available
    pit = []
    with client.store.read() as conn:
        available = dict(conn.execute("SELECT title, min(available_at) FROM documents GROUP BY title").fetchall())
    for c in claims:
        if c["label"] != "supported" or c["doc_name"] not in available:
            continue
        before = available[c["doc_name"]] - dt.timedelta(days=1)
        v = client.verify(c["claim"], as_of=before, phrase=False, mode=args.mode)
        later = [ci for ci in v.citations + v.passages if str(ci["available_at"]) > before.isoformat(sep=" ")]
        pit.append({"id": c["id"], "as_of": before.isoformat(sep=" "), "verdict": v.verdict,
                    "cites_own_filing": any(ci["document"] == c["doc_name"] for ci in v.citations + v.passages),
                    "later_documents_read": len(later)})

    rules = rule_counts(rows)
    by_kind = {}
    for kind in sorted({r["kind"] for r in rows}):
        sub = [r for r in rows if r["kind"] == kind]
        by_kind[kind] = {"n": len(sub), "accuracy": round(sum(r["verdict"] == r["label"] for r in sub) / len(sub), 4)}
    report = {
        "benchmark": "claim verification on FinanceBench dev (46 questions -> true + perturbed claims)",
        "command": f"python benchmarks/claim_verification.py --db {args.db} --mode {args.mode}"
                   + (" --no-phrase" if args.no_phrase else "")
                   + (f" --limit {args.limit}" if args.limit else ""),
        "seed": args.seed, "n_claims": len(rows), "retrieval_mode": args.mode, "chat_model": client.settings.llm or "local (default)",
        "verifier": scores(gold, [r["verdict"] for r in rows]),
        "lexical_baseline": {**scores(gold, lexical), "threshold_tuned_on_dev": round(threshold, 4),
                             "rule": "BM25 top-5, share of claim tokens found >= threshold -> supported"},
        "model_entailment": {**scores(gold, [r["entailment"] for r in rows]),
                             "rule": "chat model score_choices(supported|refuted) over the verifier's best passage"},
        "verifier_minus_lexical": paired_differences(rows, threshold),
        "false_claims_by_kind": {k: v for k, v in by_kind.items() if k != "gold"},
        "rules": rules,
        "true_claims_accuracy": round(sum(r["verdict"] == "supported" for r in rows if r["label"] == "supported")
                                      / max(1, sum(r["label"] == "supported" for r in rows)), 4),
        "point_in_time": {"n": len(pit), "later_documents_read": sum(p["later_documents_read"] for p in pit),
                          "own_filing_used": sum(p["cites_own_filing"] for p in pit),
                          "verdicts": {v: sum(p["verdict"] == v for p in pit) for v in
                                       ("supported", "refuted", "not enough evidence")}},
        "seconds_per_claim": round(t_verify / max(1, len(rows)), 3),
        "lexical_seconds_per_claim": round(sum(r["lexical_s"] for r in rows) / max(1, len(rows)), 3),
        "store_seconds": round(store_s, 1),
        "model_phrasing_kept": sum(r["explanation_is_model"] for r in rows),
        "loadavg_start": load_start, "loadavg_end": os.getloadavg(), "threads": args.threads,
        "python": sys.version.split()[0],
        "rows": rows,  # ids, labels and verdicts only: no claim text or excerpt of the data set
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, default=str))
    print(json.dumps({k: report[k] for k in ("verifier", "lexical_baseline", "verifier_minus_lexical",
                                             "model_entailment", "false_claims_by_kind",
                                             "true_claims_accuracy", "rules", "point_in_time", "seconds_per_claim")},
                     indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
