"""`fincortex eval lm MODEL...`: the gate a tuned or merged chat model must pass.

Two questions, one table:
1. Did it learn the domain? Perplexity on held-out financial chunks (documents no CPT run trains on,
   see lm_data; checked against each model's lineage: any overlap is an error, not a footnote).
2. Is it still a chat model? The chat score = mean of
   - answer likelihood: exp(mean token log-prob) of the REFERENCE instruct model's own greedy answers
     (end-of-turn token included) to a fixed set of general instructions, and
   - format pass rate: the share of format-constrained instructions whose greedy reply obeys the
     format (yes/no only, JSON with a key, a bulleted list of three, a number only, ...).
   Retention = chat score / the reference model's chat score.
Reference answers and format replies go through the LLM cache, so re-running the table is cheap.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from fincortex.config import Settings
from fincortex.progress import Progress, report
from fincortex.store import Store

INSTRUCTIONS = [
    "Explain what a household budget is in two sentences.",
    "Write a short poem about the sea.",
    "Give me three tips for staying focused while studying.",
    "What is the capital of Japan?",
    "Summarize the story of Cinderella in one sentence.",
    "How do I boil an egg?",
    "Write a polite note declining a meeting invitation.",
    "What is photosynthesis?",
    "Suggest a name for a pet cat and say why.",
    "Why is regular exercise good for health?",
    "Describe a sunset in one sentence.",
    "What are the primary colors?",
    "How many days are in a leap year?",
    "Give an example of a renewable energy source.",
    "What does a thermometer measure?",
    "What should I pack for a weekend hiking trip?",
]


def _only_yes_no(text: str) -> bool:
    return re.fullmatch(r"\W*(yes|no)\W*", text.strip(), re.IGNORECASE) is not None


def _json_sentiment(text: str) -> bool:
    match = re.search(r"\{.*\}", text, re.DOTALL)
    if not match:
        return False
    try:
        obj = json.loads(match.group(0))
    except ValueError:
        return False
    return isinstance(obj, dict) and str(obj.get("sentiment", "")).lower() in {"positive", "negative", "neutral"}


def _three_bullets(text: str) -> bool:
    return len([ln for ln in text.splitlines() if re.match(r"\s*([-*•]|\d+[.)])\s+\S", ln)]) == 3


def _number_only(text: str) -> bool:
    return re.fullmatch(r"\s*-?\d+(\.\d+)?\s*\.?\s*", text) is not None


def _uppercase_hello(text: str) -> bool:
    return "HELLO" in text and not re.search(r"[a-z]", text)


def _one_word(text: str) -> bool:
    return re.fullmatch(r"\W*[A-Za-z-]+\W*", text.strip()) is not None


def _short_line(text: str) -> bool:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return len(lines) == 1 and len(lines[0].split()) <= 8


FORMAT_TASKS: list[tuple[str, Callable[[str], bool]]] = [
    ("Is 17 a prime number? Answer with only yes or no.", _only_yes_no),
    ("Does water freeze at 0 degrees Celsius? Answer with only yes or no.", _only_yes_no),
    ('Return a JSON object with one key "sentiment" whose value is "positive", "negative" or "neutral" '
     "for this sentence: Profits doubled this quarter.", _json_sentiment),
    ("List three fruits as a bulleted list, one per line, each line starting with '- '.", _three_bullets),
    ("What is 12 plus 30? Answer with the number only.", _number_only),
    ("Write the word hello in uppercase letters only, nothing else.", _uppercase_hello),
    ("Answer in exactly one word: what is the opposite of hot?", _one_word),
    ("Give a title for an article about rising interest rates. Reply with the title only, "
     "at most eight words.", _short_line),
]


class EvalError(ValueError):
    """An evaluation that would not mean what it claims (no held-out data, leaked documents)."""


@dataclass
class LMEvalRow:
    model: str
    path: str
    sha256: str
    fin_ppl: float
    fin_tokens: int
    answer_loglik: float      # mean token log-prob of the reference answers
    answer_likelihood: float  # exp(answer_loglik)
    format_pass: float
    chat_score: float
    retention: float | None = None  # chat_score / reference chat_score

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def training_doc_ids(card_data: Any) -> set[int]:
    """All `doc_ids` anywhere in a lineage data summary (a merge nests its parents' summaries)."""
    found: set[int] = set()
    if isinstance(card_data, dict):
        for k, v in card_data.items():
            if k == "doc_ids" and isinstance(v, list):
                found.update(int(x) for x in v)
            else:
                found |= training_doc_ids(v)
    elif isinstance(card_data, list):
        for v in card_data:
            found |= training_doc_ids(v)
    return found


def spread_over_documents(chunks: list[Any], n: int) -> list[Any]:
    """Up to n chunks taken round-robin across documents (each in reading order), so the score
    reflects many held-out documents rather than the first one or two."""
    by_doc: dict[int, list[Any]] = {}
    for c in chunks:
        by_doc.setdefault(c.doc_id, []).append(c)
    queues = [list(v) for _, v in sorted(by_doc.items())]
    picked: list[Any] = []
    depth = 0
    while len(picked) < n and any(depth < len(q) for q in queues):
        picked.extend(q[depth] for q in queues if depth < len(q))
        depth += 1
    return picked[:n]


def perplexity(lm: Any, texts: list[str], max_len: int = 256, batch_size: int = 8) -> tuple[float, int]:
    """Token-level perplexity of each text on its own (after an EOS as context), pooled over texts."""
    import torch

    tok = lm.tokenizer
    eos = tok.eos_token_id
    seqs = [[eos] + ids[: max_len - 1] for ids in tok(texts, add_special_tokens=False)["input_ids"] if ids]
    total_nll, total_tokens = 0.0, 0
    for i in range(0, len(seqs), batch_size):
        batch = seqs[i: i + batch_size]
        width = max(len(s) for s in batch)
        ids = torch.full((len(batch), width), eos, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for j, s in enumerate(batch):
            ids[j, : len(s)] = torch.tensor(s)
            mask[j, : len(s)] = 1
        with torch.no_grad():
            logits = lm.model(input_ids=ids.to(lm.device), attention_mask=mask.to(lm.device)).logits.float()
        logp = torch.log_softmax(logits[:, :-1], dim=-1)
        target = ids[:, 1:].to(logp.device)
        nll = -logp.gather(2, target[..., None])[..., 0]
        valid = mask[:, 1:].to(logp.device).bool()
        total_nll += float(nll[valid].sum())
        total_tokens += int(valid.sum())
    if total_tokens == 0:
        raise EvalError("no tokens to score")
    return math.exp(total_nll / total_tokens), total_tokens


def answer_loglik(lm: Any, instructions: list[str], answers: list[str]) -> float:
    """Mean token log-prob of each answer (+ end of turn) after its templated instruction."""
    from fincortex.models.llm.local import continuation_logprobs, render_chat

    tok = lm.tokenizer
    end = lm.model.generation_config.eos_token_id
    end = end[0] if isinstance(end, list) else end
    total, n = 0.0, 0
    for instruction, answer in zip(instructions, answers):
        prefix = tok(render_chat(tok, [{"role": "user", "content": instruction}]), add_special_tokens=False)["input_ids"]
        cont = tok(answer, add_special_tokens=False)["input_ids"] + [end]
        total += continuation_logprobs(lm, prefix, [cont])[0]
        n += len(cont)
    return total / n


def evaluate_lm(
    models: list[str],
    settings: Settings,
    *,
    reference: str = "local",
    sources: list[str] | None = None,
    n_chunks: int = 64,
    max_len: int = 256,
    answer_tokens: int = 64,
    format_tokens: int = 48,
    store: Store | None = None,
    record: bool = True,
    progress: Progress | None = None,
) -> list[LMEvalRow]:
    """Evaluate `models` (specs: local | path | registered name) against `reference`; the reference
    row comes first. Results are written into each model's lineage card and registry row."""
    from fincortex.models import registry
    from fincortex.models.merging.lineage import model_digest, read_card, update_metrics
    from fincortex.models.llm.factory import get_chat_model
    from fincortex.models.llm.local import load_lm
    from fincortex.models.merging.lm_data import load_chunks

    store = store or Store(settings.db_path, lock_timeout_s=settings.lock_timeout_s)
    ref_model = get_chat_model(settings, reference, max_tokens=answer_tokens)
    specs = [reference] + [m for m in models if m != reference]
    said: list[str] = []

    def say(message: str) -> None:  # reference answers, then perplexity + retention per model
        said.append(message)
        report(progress, "evaluate lm", len(said) - 1, 1 + 2 * len(specs), message)

    chats = [ref_model] + [get_chat_model(settings, m, max_tokens=answer_tokens) for m in specs[1:]]

    heldout = spread_over_documents(load_chunks(store, sources=sources, split="heldout"), n_chunks)
    if not heldout:
        raise EvalError(f"no held-out chunks in {settings.db_path} (sources={sources or 'all'}): "
                        "ingest a dataset first, e.g. `fincortex ingest --dataset ectsum:val`")
    eval_docs = {c.doc_id for c in heldout}
    for spec, chat in zip(specs, chats):
        card = read_card(chat.path)
        leaked = training_doc_ids(card.data_summary if card else {}) & eval_docs
        if leaked:
            raise EvalError(f"model {spec!r} was trained on {len(leaked)} of the evaluation documents "
                            f"(e.g. doc_id {sorted(leaked)[0]}): its perplexity would be meaningless")

    say(f"reference answers from {ref_model.model_name} ({len(INSTRUCTIONS)} instructions)")
    ref_answers = [ref_model.invoke(i, temperature=0.0).content for i in INSTRUCTIONS]
    texts = [c.text for c in heldout]
    rows: list[LMEvalRow] = []
    for spec, chat in zip(specs, chats):
        say(f"{spec}: financial perplexity on {len(texts)} held-out chunks")
        lm = load_lm(chat.path)
        ppl, n_tok = perplexity(lm, texts, max_len)
        say(f"{spec}: chat retention")
        ll = answer_loglik(lm, INSTRUCTIONS, ref_answers)
        replies = [chat.invoke(q, temperature=0.0, max_tokens=format_tokens).content for q, _ in FORMAT_TASKS]
        fmt = sum(check(r) for r, (_, check) in zip(replies, FORMAT_TASKS)) / len(FORMAT_TASKS)
        lik = math.exp(ll)
        rows.append(LMEvalRow(model=spec if spec != "local" else chat.model_name, path=chat.path,
                              sha256=model_digest(chat.path), fin_ppl=ppl, fin_tokens=n_tok, answer_loglik=ll,
                              answer_likelihood=lik, format_pass=fmt, chat_score=(lik + fmt) / 2))
    ref_score = rows[0].chat_score
    for row in rows:
        row.retention = row.chat_score / ref_score if ref_score > 0 else None
    if record:
        for row in rows:
            metrics = {"lm_eval": {**row.to_dict(), "reference": rows[0].model, "reference_sha256": rows[0].sha256,
                                   "heldout_chunks": len(texts), "heldout_documents": len(eval_docs)}}
            card = update_metrics(row.path, metrics)
            if card is not None and registry.find(store, card.kind, card.name) is not None:
                registry.update_metrics(store, card.kind, card.name, metrics)
    return rows


def rows_to_markdown(rows: list[LMEvalRow]) -> str:
    head = ("| model | financial ppl (held-out) | answer likelihood | format pass | chat score | retention |\n"
            "|---|---|---|---|---|---|\n")
    body = "".join(
        f"| {r.model} | {r.fin_ppl:.2f} | {r.answer_likelihood:.3f} | {r.format_pass:.2f} | {r.chat_score:.3f} | "
        f"{(r.retention or 0) * 100:.1f}% |\n" for r in rows)
    return head + body
