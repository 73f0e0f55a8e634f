"""Build, store and load a pairs run: the training data of `fincortex tune embedder|reranker`.

Stages: check there is a corpus -> held-apart TAT-QA split -> each enabled source (pair_sources.py)
-> hard negatives from the current index (pair_mining.py) -> leak guard -> DuckDB
(`training_pair_runs`, `training_pairs`). The same run id replays the same pairs.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone

from fincortex.config import Settings
from fincortex.models.tuning.heldout import EVAL_FRACTION, SPLIT_SEED, HeldoutSplit, normalise, split_contexts, tatqa_file
from fincortex.models.tuning.pair_mining import Candidate, Pair
from fincortex.models.tuning.pair_sources import SOURCES, SourcePairs
from fincortex.progress import Progress, report
from fincortex.store import Store

DEFAULT_SOURCES = ("tatqa", "headlines", "ectsum")  # synthetic: slow on a CPU, switch it on explicitly
DEFAULT_MAX_PAIRS = {"tatqa": 1200, "headlines": 200, "ectsum": 200, "synthetic": 100}


class TuningDataError(ValueError):
    """No usable training data: the message says what to ingest or enable."""


@dataclass
class PairsConfig:
    sources: tuple[str, ...] = DEFAULT_SOURCES
    max_pairs: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_MAX_PAIRS))  # per source
    n_negatives: int = 3  # hard negatives kept per pair (the embedder uses the first, the reranker all)
    margin: float = 0.05  # skip candidates scoring within 5% of the positive (likely false negatives)
    depth: int = 30  # dense hits inspected per query when mining
    seed: int = 0
    split_seed: int = SPLIT_SEED
    eval_fraction: float = EVAL_FRACTION
    miner: str | None = None  # embedder that mines negatives; None = the current default embedder
    synthetic_model: str | None = None  # chat model spec for synthetic questions; None = settings.llm
    synthetic_top_k: int = 5

    def check(self) -> None:
        unknown = [s for s in self.sources if s not in SOURCES]
        if unknown or not self.sources:
            raise TuningDataError(f"sources must be among {', '.join(SOURCES)}; got {list(self.sources) or 'none'}")
        bad = {k: v for k, v in self.max_pairs.items() if k not in SOURCES or v < 1}
        if bad:
            raise TuningDataError(f"max_pairs needs known sources and counts >= 1; got {bad}")
        if self.n_negatives < 1 or self.depth < self.n_negatives:
            raise TuningDataError(f"need 1 <= n_negatives <= depth; got {self.n_negatives}, {self.depth}")
        if not 0 <= self.margin < 1:
            raise TuningDataError(f"margin must be in [0, 1), got {self.margin}")


@dataclass
class PairsRun:
    run_id: str
    seed: int
    config: dict
    miner: dict
    heldout: dict
    summary: dict
    pairs: list[Pair]

    def split(self, name: str, sources: tuple[str, ...] | None = None) -> list[Pair]:
        return [p for p in self.pairs if p.split == name and (sources is None or p.source in sources)]

    def describe(self) -> dict:
        return {"run_id": self.run_id, "seed": self.seed, "miner": self.miner, "summary": self.summary,
                "heldout_split": {k: v for k, v in self.heldout.items() if k != "eval_contexts"}}


def corpus_size(store: Store) -> int:
    with store.read() as conn:
        return int(conn.execute("SELECT count(*) FROM chunks").fetchone()[0])


def require_corpus(store: Store) -> None:
    if corpus_size(store) == 0:
        raise TuningDataError(
            f"the database {store.path} holds no chunks, so there is nothing to tune on: ingest your corpus "
            "first, e.g. `fincortex ingest --dataset ectsum:val` and `fincortex ingest --dataset headlines` "
            "(or `fincortex ingest PATH` for your own files), then run the tuning again"
        )


def build_pairs(settings: Settings, store: Store, config: PairsConfig | None = None,
                progress: Progress | None = None) -> PairsRun:
    """Collect, mine and store a new pairs run (see the module docstring)."""
    from fincortex.retrieval import service

    config = config or PairsConfig()
    config.check()
    require_corpus(store)
    split = split_contexts(tatqa_file(settings), config.split_seed, config.eval_fraction)
    miner_name = service.named_embedder(store, config.miner) if config.miner else \
        service.embedding_model_name(store, settings)
    # the backend the database's index of that model was built with (auto: int8 on CPU for a new one)
    embedder = service.get_embedder(miner_name, service.embed_backend(store, settings, miner_name), settings.models_dir)
    searcher = service.get_searcher(store, settings, embedder=embedder)
    rng = random.Random(config.seed)
    miner_args = {"n_negatives": config.n_negatives, "margin": config.margin, "depth": config.depth}
    results: list[SourcePairs] = []
    for source in config.sources:
        limit = config.max_pairs.get(source)
        report(progress, f"pairs: {source}", 0, 1)
        results.append(_collect(source, settings, store, split, embedder, searcher, limit, rng, miner_args, config,
                                progress))
    eval_pairs = next((r.eval_pairs for r in results if r.eval_pairs), None)
    if eval_pairs is None:
        from fincortex.models.tuning.pair_sources import heldout_pairs

        eval_pairs = heldout_pairs(split)  # recorded even when tatqa pairs are off: the leak guard uses it
    for result in results:
        if result.miner is not None:
            result.miner.mine(result.candidates, progress, label=f"hard negatives: {result.name}")
    train, dropped = guard_leaks([c for r in results for c in r.candidates], eval_pairs, split)
    notes = {r.name: r.note for r in results if r.note}
    if not train:
        raise TuningDataError("no training pairs from sources " + ", ".join(config.sources) + ": "
                              + ("; ".join(f"{k}: {v}" for k, v in notes.items()) or "every pair was dropped"))
    pairs = train + eval_pairs
    summary = {
        "train": dict(Counter(p.source for p in train)), "eval": dict(Counter(p.source for p in eval_pairs)),
        "train_without_negatives": sum(1 for p in train if not p.negatives),
        "dropped_for_leaks": dropped, "notes": notes,
    }
    run = PairsRun(run_id=_run_id(config, split, embedder.key), seed=config.seed, config=asdict(config),
                   miner={"name": miner_name, "key": embedder.key}, heldout=split.describe(), summary=summary,
                   pairs=pairs)
    save_run(store, run)
    return run


def _collect(source: str, settings, store, split, embedder, searcher, limit, rng, miner_args, config,
             progress) -> SourcePairs:
    from fincortex.models.tuning import pair_sources as ps

    if source == "tatqa":
        return ps.tatqa_pairs(settings, split, embedder, limit, rng, miner_args)
    if source == "headlines":
        return ps.headline_pairs(store, searcher, limit, rng, miner_args)
    if source == "ectsum":
        return ps.ectsum_pairs(settings, store, searcher, limit, rng, miner_args)
    return ps.synthetic_pairs(settings, store, searcher, limit, rng, miner_args, config.synthetic_model,
                              config.synthetic_top_k, config.seed, progress)


def guard_leaks(candidates: list[Candidate], eval_pairs: list[Pair], split: HeldoutSplit) -> tuple[list[Pair], int]:
    """Training pairs that share nothing with the evaluation side: no held-apart context, no query or
    document text of it (TAT-QA repeats short paragraphs like 'Net sales' across reports)."""
    eval_groups = set(split.eval_contexts)
    eval_texts = {normalise(p.query) for p in eval_pairs} | {normalise(p.positive) for p in eval_pairs}
    eval_refs = {p.positive_ref for p in eval_pairs}
    kept, dropped = [], 0
    for candidate in candidates:
        pair = candidate.pair
        if (pair.group_key in eval_groups or pair.positive_ref in eval_refs
                or normalise(pair.query) in eval_texts or normalise(pair.positive) in eval_texts):
            dropped += 1
            continue
        keep = [(t, r) for t, r in zip(pair.negatives, pair.negative_refs)
                if normalise(t) not in eval_texts and r not in eval_refs]
        pair.negatives, pair.negative_refs = [t for t, _ in keep], [r for _, r in keep]
        kept.append(pair)
    return kept, dropped


def _run_id(config: PairsConfig, split: HeldoutSplit, miner_key: str) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    digest = hashlib.sha256(json.dumps([asdict(config), split.split_id, miner_key], sort_keys=True).encode())
    return f"pairs-{stamp}-{digest.hexdigest()[:6]}"


# -- storage -------------------------------------------------------------------------------------------
_PAIR_COLUMNS = ("source", "split", "group_key", "query", "positive", "positive_ref", "positive_chunk_id")


def save_run(store: Store, run: PairsRun) -> None:
    import pandas as pd

    frame = pd.DataFrame([
        {"run_id": run.run_id, "pair_id": i, **{c: getattr(p, c) for c in _PAIR_COLUMNS},
         "negatives": json.dumps(p.negatives, ensure_ascii=False), "negative_refs": json.dumps(p.negative_refs)}
        for i, p in enumerate(run.pairs)
    ])
    frame["positive_chunk_id"] = frame["positive_chunk_id"].astype("Int64")
    with store.write() as conn:
        conn.execute("INSERT INTO training_pair_runs VALUES (?, ?, ?, ?, ?, ?, ?)",
                     [run.run_id, datetime.now(timezone.utc).replace(tzinfo=None), run.seed, json.dumps(run.config),
                      json.dumps(run.miner), json.dumps(run.heldout), json.dumps(run.summary)])
        conn.register("new_pairs", frame)
        conn.execute("INSERT INTO training_pairs SELECT run_id, pair_id, source, split, group_key, query, positive, "
                     "positive_ref, positive_chunk_id, negatives::JSON, negative_refs::JSON FROM new_pairs")
        conn.unregister("new_pairs")


def load_run(store: Store, run_id: str) -> PairsRun:
    with store.read() as conn:
        head = conn.execute("SELECT run_id, seed, config, miner, heldout, summary FROM training_pair_runs "
                            "WHERE run_id = ?", [run_id]).fetchone()
        if head is None:
            known = [r[0] for r in conn.execute("SELECT run_id FROM training_pair_runs ORDER BY created_at DESC "
                                                "LIMIT 5").fetchall()]
            raise TuningDataError(f"no pairs run {run_id!r} in {store.path} (recent: {', '.join(known) or 'none'})")
        rows = conn.execute(f"SELECT {', '.join(_PAIR_COLUMNS)}, negatives, negative_refs FROM training_pairs "
                            "WHERE run_id = ? ORDER BY pair_id", [run_id]).fetchall()
    pairs = [Pair(*row[:6], positive_chunk_id=row[6], negatives=json.loads(row[7]), negative_refs=json.loads(row[8]))
             for row in rows]
    return PairsRun(head[0], head[1], *(json.loads(x) for x in head[2:]), pairs=pairs)


def list_runs(store: Store, limit: int = 20) -> list[dict]:
    with store.read() as conn:
        rows = conn.execute("SELECT run_id, created_at, seed, miner, summary FROM training_pair_runs "
                            "ORDER BY created_at DESC LIMIT ?", [limit]).fetchall()
    return [{"run_id": r[0], "created_at": r[1], "seed": r[2], "miner": json.loads(r[3]),
             "summary": json.loads(r[4])} for r in rows]
