"""`fincortex index calibrate`: hybrid fusion weights for the embedder search uses, from TAT-QA.

Calibrated on the TRAINING side of the held-apart split (models/tuning/heldout.py), so the held-apart
side stays an unseen evaluation of the default search. Exception: an embedder tuned on that split has
trained on exactly those questions, where it looks better than it is; calibrating there would overweight
it, so such an embedder keeps 1:1 (measured held-apart: tuned hybrid 1:1 0.717 vs BM25 0.672 nDCG@10,
benchmarks/results/tuning_tatqa.json) and the record says why.
"""

from __future__ import annotations

from datetime import datetime, timezone

from fincortex.config import Settings
from fincortex.progress import Progress
from fincortex.store import Store


def current_embedder(settings: Settings, store: Store):
    """The Embedder search uses for this database (model and backend), loaded lazily."""
    from fincortex.retrieval import service

    name = service.embedding_model_name(store, settings)
    return service.get_embedder(name, service.embed_backend(store, settings, name), settings.models_dir)


def calibrate_fusion(settings: Settings, store: Store, force: bool = False, max_queries: int | None = None,
                     progress: Progress | None = None) -> dict:
    """Calibrate (or, unless force, return the existing) fusion weights of the current embedder."""
    from fincortex.models.merging.lineage import read_card
    from fincortex.models.tuning.heldout import beir_folder, split_contexts, tatqa_file
    from fincortex.retrieval.calibration import calibrate
    from fincortex.retrieval.fusion import load_weights, save_weights

    embedder = current_embedder(settings, store)
    existing = load_weights(settings.models_dir, embedder.key)
    if existing is not None and not force:
        return existing | {"skipped": "already calibrated for this embedder (--force redoes it)"}
    split = split_contexts(tatqa_file(settings))
    source = {"name": f"TAT-QA dev, training side of held-apart split {split.split_id}", "split_id": split.split_id,
              "part": "train"}
    card = read_card(embedder.ref.path)
    trained_split = ((card.data_summary or {}).get("heldout_split") or {}).get("split_id") if card else None
    if trained_split == split.split_id:
        record = {"weights": {"dense": 1.0, "bm25": 1.0},
                  "source": "1:1, not calibrated: this embedder was tuned on the calibration questions "
                            f"(training side of split {split.split_id})",
                  "calibrated_on": None, "embedder": embedder.describe(),
                  "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        record["path"] = str(save_weights(settings.models_dir, embedder.key, record))
        return record
    folder = beir_folder(settings, split, "train")
    return calibrate(folder, settings.cache_dir, embedder, settings.models_dir, source, max_queries=max_queries,
                     progress=progress)
