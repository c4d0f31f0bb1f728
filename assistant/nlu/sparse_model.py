"""A linear model over Dutch word stems and character n-grams that ranks every label at once.

Labels are full intents, retrieval topics included (``greet``, ``faq/privacy``,
``opvoedvraag/slapen``), so one model replaces both DIET and the ResponseSelector. It trains in
seconds on two cores: TF-IDF features (stems and stem pairs for meaning, character n-grams of the
words as typed for typos and Dutch compounds) and a linear support vector machine. Its scores
become probabilities by a softmax whose temperature is fitted on cross-validated scores, so a
confidence of 0.8 means roughly "right 8 times in 10" and the thresholds of the fallback and the
topic choice keep their meaning.

Pure scikit-learn and numpy, no Rasa: ``assistant/nlu/sparse_classifier.py`` wraps it as a Rasa
component and ``bench/train_time.py`` measures it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import snowballstemmer
from numpy.typing import NDArray
from scipy.optimize import minimize_scalar
from scipy.sparse import csr_matrix, hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.svm import LinearSVC

_STEMMER = snowballstemmer.stemmer("dutch")
_NON_WORD = re.compile(r"[^\w]+")
_STRETCHED = re.compile(r"(\w)\1{2,}")  # "hallooo", "neeee", "daaag": three or more of a letter
# Chat spellings that carry meaning a stemmer cannot see; mapped before stemming.
_SPELLING = {
    "mn": "mijn",
    "m'n": "mijn",
    "z'n": "zijn",
    "zn": "zijn",
    "d'r": "haar",
    "ff": "even",
    "wss": "waarschijnlijk",
    "idd": "inderdaad",
    "nt": "niet",
    "ni": "niet",
    "nie": "niet",
    "kan't": "kan het",
    "gwn": "gewoon",
    "jr": "jaar",
    "mnd": "maanden",
    "mndn": "maanden",
    "thx": "bedankt",
    "tnx": "bedankt",
    "dankje": "dank je",
    "dankuwel": "dank u wel",
    "dankjewel": "dank je wel",
}


def normalise(text: str) -> str:
    """Lower case, accents off (één -> een), stretched letters shortened to two, punctuation to
    spaces, chat spellings spelled out."""
    text = unicodedata.normalize("NFKD", text.lower())
    text = _STRETCHED.sub(r"\1\1", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.replace("’", "'")
    words = []
    for word in text.split():
        word = _SPELLING.get(word, word)
        words.append(_NON_WORD.sub(" ", word).strip())
    return " ".join(w for w in words if w)


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    return str(_STEMMER.stemWord(word))


def stems(normalised: str) -> str:
    """Dutch Snowball stems: "slaapt", "slapen" and "slaap" share a feature."""
    return " ".join(stem(w) for w in normalised.split())


@dataclass
class SparseModel:
    """Fit on (text, label) pairs; ``rank`` returns every label with its probability, best first."""

    c: float = 1.0
    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] = (2, 5)
    calibration_folds: int = 3
    random_state: int = 42
    # Extra weight per label on top of the class balance: a missed safety message costs more
    # than an extra safety question, so ``{"crisis": 2.0}`` makes the model lean towards it.
    label_weights: dict[str, float] = field(default_factory=dict)
    temperature: float = 1.0
    labels: list[str] = field(default_factory=list)
    _words: Any = None
    _chars: Any = None
    _svm: Any = None

    def _vectorisers(self) -> tuple[TfidfVectorizer, TfidfVectorizer]:
        words = TfidfVectorizer(
            ngram_range=self.word_ngrams, sublinear_tf=True, token_pattern=r"\b\w+\b"
        )
        chars = TfidfVectorizer(
            analyzer="char_wb", ngram_range=self.char_ngrams, sublinear_tf=True, min_df=2
        )
        return words, chars

    @staticmethod
    def _prepare(texts: Sequence[str]) -> tuple[list[str], list[str]]:
        """The texts normalised (for the character n-grams) and stemmed (for the words)."""
        normalised = [normalise(t) for t in texts]
        return normalised, [stems(n) for n in normalised]

    def _features(self, texts: Sequence[str], fit: bool = False) -> csr_matrix:
        return self._features_of(*self._prepare(texts), fit=fit)

    def _features_of(
        self, normalised: list[str], stemmed: list[str], fit: bool = False
    ) -> csr_matrix:
        if fit:
            self._words, self._chars = self._vectorisers()
            return hstack(
                [self._words.fit_transform(stemmed), self._chars.fit_transform(normalised)]
            ).tocsr()
        return hstack([self._words.transform(stemmed), self._chars.transform(normalised)]).tocsr()

    def _new_svm(self) -> LinearSVC:
        return LinearSVC(C=self.c, class_weight="balanced", random_state=self.random_state)

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> SparseModel:
        features = self._features(texts, fit=True)
        weights = np.array([self.label_weights.get(label, 1.0) for label in labels])
        self._svm = self._new_svm().fit(features, list(labels), sample_weight=weights)
        self.labels = [str(label) for label in self._svm.classes_]
        self.temperature = self._fit_temperature(features, list(labels), weights)
        return self

    def _fit_temperature(
        self, features: csr_matrix, labels: list[str], weights: NDArray[np.float64]
    ) -> float:
        """The softmax temperature that makes cross-validated scores honest probabilities.

        The vectorisers saw all texts, a small optimism that the fitted temperature absorbs."""
        smallest = min(labels.count(label) for label in set(labels))
        folds = min(self.calibration_folds, smallest)
        if folds < 2:
            return 1.0
        split = StratifiedKFold(folds, shuffle=True, random_state=self.random_state)
        scores = cross_val_predict(
            self._new_svm(),
            features,
            labels,
            cv=split,
            method="decision_function",
            fit_params={"sample_weight": weights},
        )
        truth = np.searchsorted(self.labels, labels)

        def loss(log_t: float) -> float:
            logits = scores * np.exp(log_t)
            logits -= logits.max(axis=1, keepdims=True)
            log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
            return float(-log_p[np.arange(len(truth)), truth].mean())

        best = minimize_scalar(loss, bounds=(-2.0, 5.0), method="bounded")
        return float(np.exp(best.x))

    def probabilities(self, texts: Sequence[str]) -> NDArray[np.float64]:
        """One row per text, one column per label (in ``labels`` order); rows sum to 1."""
        return self._probabilities(self._features(texts))

    def _probabilities(self, features: csr_matrix) -> NDArray[np.float64]:
        logits = self._svm.decision_function(features) * self.temperature
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return np.asarray(exp / exp.sum(axis=1, keepdims=True), dtype=np.float64)

    def analyse(self, texts: Sequence[str]) -> tuple[list[list[tuple[str, float]]], list[float]]:
        """``rank`` and ``known_share`` together, each text normalised and stemmed once."""
        normalised, stemmed = self._prepare(texts)
        rows = []
        for row in self._probabilities(self._features_of(normalised, stemmed)):
            order = np.argsort(-row)
            rows.append([(self.labels[i], float(row[i])) for i in order])
        return rows, self._known_shares(stemmed)

    def rank(self, texts: Sequence[str]) -> list[list[tuple[str, float]]]:
        """Every label with its probability, best first, per text."""
        return self.analyse(texts)[0]

    def known_share(self, texts: Sequence[str]) -> list[float]:
        """Per text, the share of its words whose stem occurred in the training data.

        A linear model always puts its probability somewhere, also for "qwxz blorp" or a name
        alone; a message of mostly unknown words is better asked about than answered."""
        return self._known_shares(self._prepare(texts)[1])

    def _known_shares(self, stemmed: list[str]) -> list[float]:
        vocabulary = self._words.vocabulary_
        shares = []
        for text in stemmed:
            words = text.split()
            shares.append(sum(w in vocabulary for w in words) / len(words) if words else 0.0)
        return shares
