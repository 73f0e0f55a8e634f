"""Continual pretraining on chunks from DuckDB (tiny model, a few steps on CPU)."""

from __future__ import annotations

from datetime import datetime

import pytest

from models_support import settings, tiny_dir  # noqa: F401

from fincortex.models import registry
from fincortex.models.merging.cpt import CPTConfig, CPTError, pack, run_cpt
from fincortex.models.merging.lineage import model_digest, read_card
from fincortex.models.merging.lm_data import is_heldout, load_chunks
from fincortex.store import Store

SENTENCES = [
    "Revenue rose 12 percent year over year while operating margin expanded.",
    "The company raised full-year guidance and announced a share buyback.",
    "Net income fell on higher interest expense and weaker demand.",
    "Earnings per share beat consensus estimates; free cash flow was strong.",
]


def insert_docs(store: Store, n_docs: int = 30, chunks_per_doc: int = 4) -> None:
    """Documents/chunks rows written directly (ids chosen here, so the held-out split is deterministic)."""
    now = datetime(2021, 5, 1)
    with store.write() as conn:
        for d in range(1, n_docs + 1):
            conn.execute(
                "INSERT INTO documents (doc_id, source_key, content_hash, source, doc_type, available_at, "
                "available_at_rule, uri, origin_hash, n_chunks, ingested_at) "
                "VALUES (?, ?, ?, 'ectsum', 'transcript', ?, 'test', ?, ?, ?, ?)",
                [d, f"test:{d}", f"h{d}", now, f"test://{d}", f"o{d}", chunks_per_doc, now])
            for o in range(chunks_per_doc):
                text = " ".join(SENTENCES[(d + o + k) % 4] for k in range(3))
                conn.execute("INSERT INTO chunks (chunk_id, doc_id, ordinal, text, n_tokens, available_at) "
                             "VALUES (?, ?, ?, ?, 40, ?)", [d * 100 + o, d, o, text, now])


def test_heldout_split_is_by_document_and_disjoint(settings):
    store = Store(settings.db_path)
    insert_docs(store)
    train, held = load_chunks(store, split="train"), load_chunks(store, split="heldout")
    assert train and held
    assert {c.doc_id for c in train}.isdisjoint({c.doc_id for c in held})
    assert all(is_heldout(c.doc_id) for c in held) and not any(is_heldout(c.doc_id) for c in train)
    assert len({c.doc_id for c in load_chunks(store, split="train", max_docs=3)}) == 3


def test_packing_joins_with_eos_and_drops_the_tail(tiny_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_dir)
    blocks = pack(tok, SENTENCES, 16)
    total = sum(len(tok(s, add_special_tokens=False)["input_ids"]) + 1 for s in SENTENCES)
    assert len(blocks) == total // 16 and all(len(b) == 16 for b in blocks)
    assert tok.eos_token_id in sum(blocks, [])


@pytest.mark.parametrize("lora", [False, True])
def test_cpt_lowers_heldout_loss_and_writes_lineage(settings, tiny_dir, lora):
    store = Store(settings.db_path)
    insert_docs(store)
    cfg = CPTConfig(base=str(tiny_dir), name=f"tiny-cpt-{int(lora)}", sources=["ectsum"], seq_len=32,
                    batch_size=4, max_steps=12, learning_rate=3e-3 if not lora else 1e-2, lora=lora, seed=1)
    res = run_cpt(cfg, settings, store)
    assert res.steps == 12
    assert res.heldout_loss_after < res.heldout_loss_before
    card = read_card(res.path)
    assert card.method == ("cpt-lora" if lora else "cpt") and card.seed == 1
    assert card.parents[0].sha256 == model_digest(tiny_dir) and card.parents[0].role == "base"
    assert not any(is_heldout(d) for d in card.data_summary["doc_ids"])  # never trained on held-out docs
    assert card.metrics["heldout_loss_after"] == pytest.approx(res.heldout_loss_after)
    rec = registry.get(store, "chat", cfg.name)
    assert rec.method == card.method and rec.sha256 == model_digest(res.path)
    assert not (res.path / "adapter_config.json").exists()  # LoRA merged back: a plain model folder
    with pytest.raises(CPTError, match="already exists"):
        run_cpt(cfg, settings, store)


def test_cpt_without_data_or_model_fails_clearly(settings, tiny_dir, tmp_path):
    with pytest.raises(CPTError, match="no training chunks"):
        run_cpt(CPTConfig(base=str(tiny_dir), name="x"), settings)
    with pytest.raises(Exception, match="does not exist|neither an existing path"):
        run_cpt(CPTConfig(base=str(tmp_path / "nope"), name="y"), settings)
    with pytest.raises(CPTError, match="seq_len"):
        run_cpt(CPTConfig(base=str(tiny_dir), seq_len=0), settings)


def test_train_top_layers_moves_only_the_top_blocks(settings, tiny_dir):
    from safetensors.torch import load_file

    store = Store(settings.db_path)
    insert_docs(store)
    res = run_cpt(CPTConfig(base=str(tiny_dir), name="tiny-top1", seq_len=32, max_steps=3, learning_rate=1e-2,
                            train_top_layers=1), settings, store)
    before, after = load_file(tiny_dir / "model.safetensors"), load_file(res.path / "model.safetensors")
    changed = {k for k in before if not (before[k] == after[k]).all()}
    assert changed and all(k.startswith(("model.layers.1.", "model.norm.")) for k in changed), changed
    with pytest.raises(CPTError, match="only 2 blocks"):
        run_cpt(CPTConfig(base=str(tiny_dir), name="tiny-top9", train_top_layers=9, overwrite=True), settings, store)


@pytest.mark.gpu
def test_cpt_on_gpu_uses_bf16_autocast(settings, tiny_dir):
    store = Store(settings.db_path)
    insert_docs(store)
    res = run_cpt(CPTConfig(base=str(tiny_dir), name="tiny-gpu", seq_len=32, max_steps=12, learning_rate=3e-3),
                  settings, store)
    card = read_card(res.path)
    assert card.hyperparams["device"] == "cuda" and card.hyperparams["precision"] == "bf16-autocast"
    assert res.heldout_loss_after < res.heldout_loss_before
