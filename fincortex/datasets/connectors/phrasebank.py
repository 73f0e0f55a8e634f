"""Financial PhraseBank (Malo et al., CC BY-NC-SA): ~4.8k news sentences labelled by sentiment.

Records, not documents: the sentiment classifier of the trading agents trains on them
(fincortex/agents/trading/sentiment.py). Undated: they are training data, never evidence in a simulation.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from fincortex.datasets.connector import LABELLED_PAIRS, RecordConnector
from fincortex.datasets.fetch import PulledDataset

LABELS = ("negative", "neutral", "positive")


@dataclass(frozen=True)
class LabelledSentence:
    text: str
    label: str  # one of LABELS


def read_sentences(path: Path) -> list[LabelledSentence]:
    """`label,sentence` rows, latin-1 encoded, no header; rows without a known label or a text are skipped."""
    out = []
    with open(path, encoding="latin-1", newline="") as fh:
        for row in csv.reader(io.StringIO(fh.read())):
            if len(row) >= 2 and row[0].strip() in LABELS and row[1].strip():
                out.append(LabelledSentence(row[1].strip(), row[0].strip()))
    return out


class PhraseBank(RecordConnector):
    name = "phrasebank"
    kind = LABELLED_PAIRS
    description = "Financial PhraseBank sentences with sentiment labels (CC BY-NC-SA)"
    available_at_rule = "undated training data: never searched, never evidence"
    mirror_prefix = "sentiment/"
    consumer = "holds labelled sentences used for training (sentiment, tuning), not documents to search"

    def transform_data(self, pulled: PulledDataset) -> Iterator[LabelledSentence]:
        for file in self.origins(pulled):
            yield from read_sentences(pulled.path(file))
