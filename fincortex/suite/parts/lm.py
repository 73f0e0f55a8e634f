"""The chat model's LM evaluation (models/merging/lm_eval.py): financial perplexity on held-out chunks
of the user's database and chat retention against the packaged model. Aggregate figures only: there is
no per-item series, so comparisons report the difference without an interval."""

from __future__ import annotations

from fincortex.suite.runs import UnitResult

VERSION = 1


def units(config) -> list[str]:
    return ["lm:heldout"]


def depends(unit: str) -> tuple[str, ...]:
    return ("chat",)


def run_unit(ctx, unit: str) -> UnitResult:
    from fincortex.models.merging.lm_eval import evaluate_lm
    from fincortex.models.merging.lm_data import load_chunks

    if not load_chunks(ctx.store, split="heldout"):
        # held-out chunks must come from the database the chat model's CPT read (its card lists the training
        # documents by id there, which is how leakage is ruled out), so the suite does not ingest its own
        return UnitResult({"primary": None, "skipped": f"no held-out chunks in {ctx.store.path}: ingest a corpus "
                                                       "first (e.g. `fincortex ingest --dataset ectsum:val`)"})
    spec = ctx.config.chat.path or ctx.config.chat.asked or "local"
    rows = evaluate_lm([spec], ctx.settings, reference="local", n_chunks=ctx.config.profile.lm_chunks,
                       store=ctx.store, record=False, progress=ctx.progress)
    row = rows[-1]  # the reference comes first; when spec is the reference it is the only row
    summary = {"primary": None, "model": row.model, "reference": rows[0].model, "fin_ppl": row.fin_ppl,
               "fin_tokens": row.fin_tokens, "answer_likelihood": row.answer_likelihood,
               "format_pass": row.format_pass, "chat_score": row.chat_score, "retention": row.retention}
    return UnitResult(summary)
