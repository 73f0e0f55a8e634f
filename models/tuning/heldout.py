"""The held-apart TAT-QA split: which contexts train, which evaluate, and their BEIR folders.

TAT-QA dev has 278 contexts (one annual-report table + its paragraphs + questions about them).
Questions of one context share its documents, so the split is BY CONTEXT: a context is either
entirely training material or entirely evaluation material. The split depends only on the TAT-QA
file, a split seed and a fraction (not on the training seed), so every tuning run on the same file
evaluates on the same contexts and a model tuned earlier cannot have trained on today's evaluation.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from pathlib import Path

from fincortex.config import Settings
from fincortex.retrieval.beir import read_tatqa, tatqa_records, write_beir

SPLIT_SEED = 13  # fixed: changing it changes which contexts are held apart
EVAL_FRACTION = 0.3


class HeldoutError(ValueError):
    """The TAT-QA file cannot be found or split (message says where it was looked for)."""


def normalise(text: str) -> str:
    """Text identity for leak checks: case and whitespace do not make a different document."""
    return " ".join(text.lower().split())


@dataclass(frozen=True)
class HeldoutSplit:
    tatqa_file: Path
    tatqa_sha256: str
    seed: int
    fraction: float
    train_contexts: tuple[str, ...]  # table uids, sorted
    eval_contexts: tuple[str, ...]

    @property
    def split_id(self) -> str:
        key = f"{self.tatqa_sha256}:{self.seed}:{self.fraction}"
        return hashlib.sha256(key.encode()).hexdigest()[:12]

    def describe(self) -> dict:
        return {"split_id": self.split_id, "seed": self.seed, "fraction": self.fraction,
                "tatqa_sha256": self.tatqa_sha256, "n_train_contexts": len(self.train_contexts),
                "n_eval_contexts": len(self.eval_contexts), "eval_contexts": list(self.eval_contexts)}


def tatqa_file(settings: Settings) -> Path:
    """The TAT-QA dev file, pulled (mirror or download) and verified by the dataset fetcher."""
    from fincortex.datasets import service
    from fincortex.datasets.registry import DatasetError

    try:
        pulled = service.pull(settings, "tatqa")
    except DatasetError as exc:
        raise HeldoutError(f"the TAT-QA file is needed for the held-apart split and the tatqa pairs: {exc}") from exc
    return pulled.path(pulled.files[0])


def split_contexts(file: Path, seed: int = SPLIT_SEED, fraction: float = EVAL_FRACTION) -> HeldoutSplit:
    if not 0 < fraction < 1:
        raise HeldoutError(f"held-apart fraction must be in (0, 1), got {fraction}")
    contexts = read_tatqa(file)
    uids = sorted({c["table"]["uid"] for c in contexts})
    if len(uids) < 2:
        raise HeldoutError(f"{file} has {len(uids)} context(s); a split needs at least 2")
    shuffled = list(uids)
    random.Random(seed).shuffle(shuffled)
    n_eval = min(len(uids) - 1, max(1, round(len(uids) * fraction)))
    eval_set = set(shuffled[:n_eval])
    digest = hashlib.sha256(Path(file).read_bytes()).hexdigest()
    return HeldoutSplit(Path(file), digest, seed, fraction, tuple(u for u in uids if u not in eval_set),
                        tuple(sorted(eval_set)))


def contexts_of(split: HeldoutSplit, part: str) -> list[dict]:
    wanted = set(split.train_contexts if part == "train" else split.eval_contexts)
    return [c for c in read_tatqa(split.tatqa_file) if c["table"]["uid"] in wanted]


def beir_folder(settings: Settings, split: HeldoutSplit, part: str) -> Path:
    """Write (once) and return the BEIR folder of one side of the split: `train` or `heldout`."""
    if part not in ("train", "heldout"):
        raise ValueError(f"part must be train or heldout, got {part!r}")
    out = settings.cache_dir / "tuning" / f"tatqa-{split.split_id}" / part
    if not (out / "qrels" / "test.tsv").is_file():
        corpus, queries, qrels = tatqa_records(contexts_of(split, "train" if part == "train" else "eval"))
        tmp = out.with_name(out.name + ".writing")
        write_beir(tmp, corpus, queries, qrels)
        if out.exists():
            import shutil

            shutil.rmtree(out)
        tmp.rename(out)
    return out


def export_heldout(settings: Settings, out: Path | str, seed: int = SPLIT_SEED,
                   fraction: float = EVAL_FRACTION) -> dict:
    """The held-apart split as a BEIR folder at `out` (what `fincortex eval retrieval --beir` reads)."""
    split = split_contexts(tatqa_file(settings), seed, fraction)
    corpus, queries, qrels = tatqa_records(contexts_of(split, "eval"))
    write_beir(out, corpus, queries, qrels)
    return {"out": str(out), "split_id": split.split_id, "n_contexts": len(split.eval_contexts),
            "n_docs": len(corpus), "n_queries": len(queries), "n_qrels": len(qrels)}
