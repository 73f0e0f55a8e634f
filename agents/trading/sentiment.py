"""A small news-sentiment classifier trained on Financial PhraseBank: the cheap path of the news analyst.

TF-IDF (word 1-2 grams) + logistic regression fitted by SGD (scikit-learn; lbfgs took a minute on a busy
2-core machine, SGD 0.2 s at the same ~0.79 held-out accuracy): trains in a second on CPU, scores a
day's headlines in microseconds, so a 730-day backtest spends no LLM calls on sentiment. Trained once
on a seeded 80% split (the held-out 20% accuracy is stored beside it) and kept under
`models_dir/phrasebank-sentiment/`. PhraseBank is CC BY-NC-SA: the weights inherit that license.
"""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass
from pathlib import Path

from fincortex.config import Settings

DATASET = "phrasebank"
RELPATH = "sentiment/financial_phrasebank_all_data.csv"
METHOD = "tfidf(1-2gram) + logistic regression (SGD log-loss), seeded 80/20 split"


class SentimentUnavailable(RuntimeError):
    """The PhraseBank data (or a trained model) cannot be found."""


def read_phrasebank(path: Path) -> tuple[list[str], list[str]]:
    """(sentences, labels) as the PhraseBank connector reads them (fincortex/datasets/connectors/phrasebank.py)."""
    from fincortex.datasets.connectors.phrasebank import read_sentences

    pairs = read_sentences(path)
    texts, labels = [p.text for p in pairs], [p.label for p in pairs]
    if len(texts) < 100:
        raise SentimentUnavailable(f"{path} holds {len(texts)} labelled sentences; expected ~4.8k")
    return texts, labels


def phrasebank_path(settings: Settings) -> Path:
    from fincortex.datasets import service

    try:
        pulled = service.pull(settings, DATASET)
    except Exception as exc:  # noqa: BLE001 - surface why with the fix
        raise SentimentUnavailable(
            f"cannot get Financial PhraseBank ({exc}); set FINCORTEX_DATA_MIRROR to a mirror holding "
            f"{RELPATH} or pass sentiment='llm'/'none'") from exc
    return pulled.root / RELPATH


@dataclass
class SentimentModel:
    pipeline: object
    accuracy: float
    macro_f1: float
    n_train: int

    def score(self, texts: list[str]) -> list[float]:
        """P(positive) - P(negative) per text, in [-1, 1]."""
        if not texts:
            return []
        probs = self.pipeline.predict_proba(texts)
        classes = list(self.pipeline.classes_)
        pos, neg = classes.index("positive"), classes.index("negative")
        return [float(p[pos] - p[neg]) for p in probs]


def train(texts: list[str], labels: list[str], seed: int = 0) -> SentimentModel:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import SGDClassifier
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline

    x_tr, x_te, y_tr, y_te = train_test_split(texts, labels, test_size=0.2, random_state=seed, stratify=labels)
    pipe = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1),
        SGDClassifier(loss="log_loss", alpha=1e-5, max_iter=50, tol=1e-4, class_weight="balanced",
                      random_state=seed),
    )
    pipe.fit(x_tr, y_tr)
    pred = pipe.predict(x_te)
    return SentimentModel(pipe, float(accuracy_score(y_te, pred)), float(f1_score(y_te, pred, average="macro")),
                          len(x_tr))


def load_or_train(settings: Settings) -> SentimentModel:
    folder = settings.models_dir / "phrasebank-sentiment"
    model_file, card_file = folder / "model.pkl", folder / "card.json"
    card = json.loads(card_file.read_text()) if card_file.is_file() else {}
    if model_file.is_file() and card.get("method") == METHOD:
        with open(model_file, "rb") as fh:
            return SentimentModel(pickle.load(fh), card["accuracy"], card["macro_f1"], card["n_train"])
    model = train(*read_phrasebank(phrasebank_path(settings)))
    folder.mkdir(parents=True, exist_ok=True)
    with open(model_file, "wb") as fh:
        pickle.dump(model.pipeline, fh)
    card_file.write_text(json.dumps({
        "dataset": "Financial PhraseBank (Malo et al.), all-agree..50% agree merged", "license": "CC BY-NC-SA 3.0",
        "method": METHOD,
        "accuracy": model.accuracy, "macro_f1": model.macro_f1, "n_train": model.n_train}, indent=1))
    return model
