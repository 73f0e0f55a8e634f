"""The Ray Data ingestion engine against the in-process one, on a local Ray instance and real ECTSum files."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("ray", reason="the ray extra is not installed: pip install 'fincortex[ray]'")

N_FILES = 6
DOC_COLUMNS = ("doc_id", "source_key", "content_hash", "title", "source", "doc_type", "ticker", "published_at",
               "available_at", "available_at_rule", "uri", "origin_hash", "n_pages", "n_chunks", "n_bytes", "meta")


@pytest.fixture(scope="module")
def local_ray():
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def _origins(mirror, note):
    from datetime import datetime

    from fincortex.datasets.fetch import PulledDataset
    from fincortex.ingest.parsers import FileOptions
    from fincortex.ingest.sources import file_origins
    from fincortex.datasets.registry import get_connector
    from fincortex.ingest.pipeline import Origin

    files = tuple(f for f in get_connector("ectsum").files() if "/val/ects/" in f.relpath)[:N_FILES]
    broken = Origin("missing.txt", "/nowhere/missing.txt", 0, lambda: "", lambda h: [], error="no such file")
    own = file_origins([note], FileOptions(ingested_at=datetime(2024, 1, 2)))  # a file parser: lazy sections
    return [*get_connector("ectsum").transform_data(PulledDataset("ectsum", mirror, files)), *own, broken]


def _store(tmp_path, name):
    from fincortex.config import Settings
    from fincortex.store import Store

    settings = Settings(home=tmp_path / name)
    store = Store(settings.db_path)
    store.ensure_schema()
    return settings, store


def _rows(store, sql):
    with store.read() as conn:
        return conn.execute(sql).fetchall()


def test_ray_engine_writes_what_the_local_engine_writes(tmp_path, mirror, local_ray):
    from fincortex.ingest.ray_engine import RayOptions
    from fincortex.ingest.service import run_engine
    from fincortex.retrieval import embedding_cache
    from fincortex.retrieval.embedder import DEFAULT_MODEL, Embedder
    from fincortex.retrieval.ray_embed import embed_stage

    note = tmp_path / "note.txt"
    note.write_text("Gross margin was 41.2% in the quarter.\n\nThe company repurchased 3 million shares.\n")
    settings, local = _store(tmp_path, "local")
    local_report = run_engine(settings, local, _origins(mirror, note), {}, None, engine="local")
    # torch on both sides: int8 ONNX quantizes activations per batch, so its vectors depend on how the
    # chunks were batched (cosine ~0.99), and this test is about the engines writing the same thing
    embedder = Embedder(DEFAULT_MODEL, backend="torch")
    embedding_cache.ensure_embeddings(local, embedder)  # what the local engine's index sync does

    settings_r, remote = _store(tmp_path, "ray")
    seen = []
    options = RayOptions(origins_per_task=2, embed=embed_stage(remote, DEFAULT_MODEL, backend="torch"))
    ray_report = run_engine(settings_r, remote, _origins(mirror, note), {}, lambda event: seen.append(event.item),
                            engine="ray", ray_options=options)  # each file's Outcome rides on its progress event

    assert ray_report.summary()["added"] == local_report.summary()["added"] == N_FILES + 1
    assert ray_report.count("failed") == 1 and ray_report.failures[0].reason == "no such file"
    assert [(o.item, o.outcome, o.n_chunks) for o in ray_report.outcomes] == \
        [(o.item, o.outcome, o.n_chunks) for o in local_report.outcomes] == [(o.item, o.outcome, o.n_chunks) for o in seen]
    docs = f"SELECT {', '.join(DOC_COLUMNS)} FROM documents ORDER BY doc_id"
    chunks = "SELECT * FROM chunks ORDER BY chunk_id"
    assert _rows(remote, docs) == _rows(local, docs) and len(_rows(local, docs)) == N_FILES + 1
    assert _rows(remote, chunks) == _rows(local, chunks)
    assert _rows(remote, "SELECT engine_args FROM (SELECT args AS engine_args FROM ingest_runs)")[0][0].find('"ray"') > 0

    ids_l, vec_l = embedding_cache.load_embeddings(local, embedder.key)
    ids_r, vec_r = embedding_cache.load_embeddings(remote, embedder.key)
    assert len(ids_l) > 100 and (ids_l == ids_r).all()
    assert np.sum(vec_l * vec_r, axis=1).min() > 0.99999  # equal up to rounding of other batch paddings
    assert embedding_cache.missing_chunks(remote, embedder.key)[0].size == 0  # the index sync embeds nothing

    again = run_engine(settings_r, remote, _origins(mirror, note), {}, None, engine="ray", ray_options=options)
    assert again.count("unchanged") == N_FILES + 1 and again.count("added", "replaced") == 0


def test_unknown_engine_is_a_clear_error(tmp_path):
    from fincortex.ingest.documents import IngestError
    from fincortex.ingest.service import run_engine

    settings, store = _store(tmp_path, "x")
    with pytest.raises(IngestError, match="unknown ingest engine 'spark'"):
        run_engine(settings, store, [], {}, None, engine="spark")
