"""Rasa component around SparseModel: the intent and, for retrieval intents, the topic, in one step.

It sets what DIET and the ResponseSelector used to set, in the same shapes, so the rest of Rasa
(the FallbackClassifier, ``utter_faq``, the policies) and our actions read it unchanged:

- ``intent`` and ``intent_ranking`` over base intents; a retrieval intent's confidence is the sum
  of its topics' probabilities (unsure *which* parenting topic is still sure it *is* one). When
  less than ``min_known_share`` of the message's words are known from the training data, the
  intent confidences shrink in proportion, so the FallbackClassifier asks instead of guessing;
- ``response_selector[<retrieval intent>]`` with the best topic and the ranking of its topics,
  their probabilities renormalised within that retrieval intent.

The model is stored with skops, which loads only types it knows are safe (no pickle).
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from typing import Any

import skops.io as sio
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from assistant.nlu.sparse_model import SparseModel

logger = logging.getLogger(__name__)

RANKING_LENGTH = 10
MODEL_FILE = "sparse_model.skops"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class SparseIntentClassifier(GraphComponent, IntentClassifier):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "C": 1.0,
            "word_ngrams": [1, 2],
            "char_ngrams": [2, 5],
            "min_known_share": 0.5,
            "label_weights": {},
            "random_seed": 42,
        }

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: SparseModel | None = None,
    ) -> None:
        self.config = {**self.get_default_config(), **config}
        self._storage = model_storage
        self._resource = resource
        self.model = model
        self.retrieval_intents: list[str] = []

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SparseIntentClassifier:
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        examples = [m for m in training_data.intent_examples if m.get("text")]
        texts = [str(m.get("text")) for m in examples]
        labels = [str(m.get_full_intent()) for m in examples]
        started = time.monotonic()
        self.model = SparseModel(
            c=float(self.config["C"]),
            word_ngrams=(int(self.config["word_ngrams"][0]), int(self.config["word_ngrams"][1])),
            char_ngrams=(int(self.config["char_ngrams"][0]), int(self.config["char_ngrams"][1])),
            random_state=int(self.config["random_seed"]),
            label_weights={str(k): float(v) for k, v in self.config["label_weights"].items()},
        ).fit(texts, labels)
        self.retrieval_intents = sorted({label.split("/")[0] for label in labels if "/" in label})
        logger.info(
            "Trained the sparse intent classifier on %d examples, %d labels in %.1f s",
            len(texts), len(self.model.labels), time.monotonic() - started,
        )  # fmt: skip
        self.persist()
        return self._resource

    def persist(self) -> None:
        with self._storage.write_to(self._resource) as directory:
            sio.dump(
                {"model": self.model, "retrieval_intents": self.retrieval_intents},
                directory / MODEL_FILE,
            )

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> SparseIntentClassifier:
        with model_storage.read_from(resource) as directory:
            path = directory / MODEL_FILE
            unknown = set(sio.get_untrusted_types(file=path)) - TRUSTED
            if unknown:  # a file we did not write: refuse rather than run its code
                raise ValueError(f"{path.name} holds unexpected types: {sorted(unknown)}")
            stored = sio.load(path, trusted=sorted(TRUSTED))
        component = cls(config, model_storage, resource, stored["model"])
        component.retrieval_intents = list(stored["retrieval_intents"])
        return component

    def process(self, messages: list[Message]) -> list[Message]:
        todo = [m for m in messages if m.get("text")]
        if not todo or self.model is None:
            return messages
        rankings, known_shares = self.model.analyse([str(m.get("text")) for m in todo])
        least = float(self.config["min_known_share"])
        for message, ranking, known in zip(todo, rankings, known_shares, strict=True):
            self._set(message, ranking, min(1.0, known / least) if least > 0 else 1.0)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data  # nothing downstream learns from our predictions

    def _set(self, message: Message, ranking: list[tuple[str, float]], familiar: float) -> None:
        by_intent: dict[str, float] = defaultdict(float)
        topics: dict[str, list[tuple[str, float]]] = defaultdict(list)
        for label, p in ranking:
            intent = label.split("/")[0]
            by_intent[intent] += p
            if "/" in label:
                topics[intent].append((label, p))
        intents = sorted(by_intent.items(), key=lambda kv: -kv[1])
        ranked = [
            {"name": name, "confidence": p * familiar} for name, p in intents[:RANKING_LENGTH]
        ]
        message.set("intent", ranked[0], add_to_output=True)
        message.set("intent_ranking", ranked, add_to_output=True)
        selector: dict[str, Any] = {"all_retrieval_intents": self.retrieval_intents}
        for intent, options in topics.items():
            total = by_intent[intent] or 1.0
            best, p = options[0]
            selector[intent] = {
                "response": {
                    "responses": [],
                    "confidence": p / total,
                    "intent_response_key": best,
                    "utter_action": f"utter_{best}",
                },
                "ranking": [
                    {"id": i, "confidence": q / total, "intent_response_key": key}
                    for i, (key, q) in enumerate(options[:RANKING_LENGTH])
                ],
            }
        message.set("response_selector", selector, add_to_output=True)


# What the stored model is made of; skops refuses anything else, so a tampered file cannot run code.
# skops trusts scikit-learn's and numpy's own types already.
TRUSTED = {"assistant.nlu.sparse_model.SparseModel", "scipy.sparse._csr.csr_matrix"}
