"""eval lm: held-out perplexity, chat retention, leakage check; and the CLI over the whole flow."""

from __future__ import annotations

import json
import math

import pytest
import torch
from typer.testing import CliRunner

from models_support import settings, tiny_dir  # noqa: F401
from test_models_cpt import insert_docs

from fincortex.models import registry
from fincortex.models.merging.lineage import read_card
from fincortex.models.merging.lm_data import load_chunks
from fincortex.models.merging.lm_eval import FORMAT_TASKS, EvalError, evaluate_lm, perplexity
from fincortex.store import Store


def test_perplexity_matches_the_model_loss(tiny_dir):
    from fincortex.models.llm.local import load_lm

    lm = load_lm(tiny_dir)
    text = "Revenue rose 12 percent year over year."
    ppl, n = perplexity(lm, [text])
    ids = [lm.tokenizer.eos_token_id] + lm.tokenizer(text, add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        loss = lm.model(input_ids=torch.tensor([ids]), labels=torch.tensor([ids])).loss
    assert n == len(ids) - 1 and ppl == pytest.approx(math.exp(float(loss)), rel=1e-4)


def test_format_checkers_accept_and_reject():
    samples = {0: ("Yes.", "Yes, because 17 has no divisors"), 2: ('{"sentiment": "positive"}', "positive"),
               3: ("- apple\n- pear\n- plum", "apple, pear, plum"), 4: ("42", "The answer is 42"),
               5: ("HELLO", "Hello"), 6: ("Cold.", "It is cold"), 7: ("Rates Rise Again", "A\nB")}
    for i, (good, bad) in samples.items():
        check = FORMAT_TASKS[i][1]
        assert check(good) and not check(bad), FORMAT_TASKS[i][0]


def test_eval_table_cpt_vs_reference_and_recorded(settings, tiny_dir):
    from fincortex.models.merging.cpt import CPTConfig, run_cpt

    store = Store(settings.db_path)
    insert_docs(store)
    run_cpt(CPTConfig(base=str(tiny_dir), name="tiny-cpt", seq_len=32, max_steps=12, learning_rate=3e-3), settings, store)
    rows = evaluate_lm(["tiny-cpt"], settings, reference=str(tiny_dir), n_chunks=20, answer_tokens=8,
                       format_tokens=6, store=store)
    ref, cpt = rows
    assert ref.retention == pytest.approx(1.0) and ref.path == str(tiny_dir.resolve())
    assert cpt.fin_ppl < ref.fin_ppl  # it learned the held-out documents' language
    assert cpt.answer_loglik != ref.answer_loglik and 0 < cpt.answer_likelihood < 1
    assert cpt.retention == pytest.approx(cpt.chat_score / ref.chat_score)
    card = read_card(cpt.path)
    assert card.metrics["lm_eval"]["fin_ppl"] == pytest.approx(cpt.fin_ppl)
    assert registry.get(store, "chat", "tiny-cpt").metrics["lm_eval"]["retention"] == pytest.approx(cpt.retention)


def test_eval_refuses_a_model_trained_on_the_heldout_documents(settings, tiny_dir):
    store = Store(settings.db_path)
    insert_docs(store)
    held = {c.doc_id for c in load_chunks(store, split="heldout")}
    (tiny_dir / "LINEAGE.json").write_text(json.dumps({
        "name": "tiny", "kind": "chat", "method": "cpt", "parents": [],
        "data_summary": {"doc_ids": sorted(held)[:1]}}))
    try:
        with pytest.raises(EvalError, match="trained on 1 of the evaluation documents"):
            evaluate_lm([], settings, reference=str(tiny_dir), store=store)
    finally:
        (tiny_dir / "LINEAGE.json").unlink()


def test_cli_models_flow(settings, tiny_dir, tmp_path, monkeypatch):
    from rich.console import Console

    from fincortex.cli import app  # first: it registers the area modules
    from fincortex.cli import models as cli_models

    monkeypatch.setattr(cli_models, "console", Console(width=200))

    store = Store(settings.db_path)
    insert_docs(store)
    run = CliRunner().invoke
    r = run(app, ["tune", "cpt", "--base", str(tiny_dir), "--name", "cli-cpt", "--seq-len", "32", "--max-steps", "4",
                  "--lr", "1e-3", "--json"])
    assert r.exit_code == 0, r.output
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"name: cli-merged\nmerge_method: ties\nbase_model: {tiny_dir}\nseed: 0\n"
                      "models:\n  - model: cli-cpt\n    parameters: {weight: 0.5, density: 0.5}\n"
                      "parameters: {normalize: false}\n")
    r = run(app, ["merge", str(recipe), "--check"])
    assert r.exit_code == 0 and "cli-cpt ->" in r.output, r.output
    r = run(app, ["merge", str(recipe)])
    assert r.exit_code == 0 and "merged cli-merged" in r.output, r.output
    r = run(app, ["models", "list"])
    assert "cli-merged" in r.output and "merge:ties" in r.output
    r = run(app, ["models", "set-default", "cli-merged"])
    assert r.exit_code == 0 and registry.get_default(store, "chat").name == "cli-merged"
    r = run(app, ["models", "show", "cli-merged"])
    assert "## Parents" in r.output and "cli-cpt" in r.output
    r = run(app, ["llm", "score", "Revenue rose?", "-c", "yes", "-c", "no"])  # default = cli-merged now
    assert r.exit_code == 0 and "log-prob" in r.output, r.output
    r = run(app, ["llm", "chat", "hello", "--max-tokens", "4"])
    assert r.exit_code == 0, r.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("merge_method: [oops\n")
    r = run(app, ["merge", str(bad)])
    assert r.exit_code == 2 and "not valid YAML" in r.output
    r = run(app, ["models", "show", "nope"])
    assert r.exit_code == 2 and "no chat model named 'nope'" in r.output


def test_eval_chunks_are_spread_over_documents():
    from fincortex.models.merging.lm_data import TextChunk
    from fincortex.models.merging.lm_eval import spread_over_documents

    chunks = [TextChunk(d * 10 + o, d, "t", "s", None) for d in (1, 2, 3) for o in range(5 if d == 1 else 2)]
    picked = spread_over_documents(chunks, 7)
    assert [(c.doc_id, c.chunk_id % 10) for c in picked] == [(1, 0), (2, 0), (3, 0), (1, 1), (2, 1), (3, 1), (1, 2)]
    assert len(spread_over_documents(chunks, 100)) == len(chunks)
