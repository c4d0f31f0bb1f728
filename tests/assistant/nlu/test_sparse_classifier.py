"""The Rasa component: trained, stored and loaded through Rasa's own model storage, and the
outputs the rest of Rasa and our actions read (intent, ranking, response_selector)."""

from __future__ import annotations

from pathlib import Path

import pytest
import skops.io as sio
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from assistant.nlu.sparse_classifier import MODEL_FILE, SparseIntentClassifier
from tests.assistant.nlu.test_sparse_model import DATA

CONTEXT = ExecutionContext(GraphSchema({}), "test")


def training_data() -> TrainingData:
    examples = []
    for label, texts in DATA.items():
        intent, _, topic = label.partition("/")
        for text in texts:
            data = {"text": text, "intent": intent}
            if topic:
                data["intent_response_key"] = label
            examples.append(Message(data=data))
    return TrainingData(examples)


@pytest.fixture
def storage(tmp_path: Path) -> LocalModelStorage:
    return LocalModelStorage(tmp_path)


def trained(storage: LocalModelStorage, resource: Resource) -> SparseIntentClassifier:
    component = SparseIntentClassifier.create(
        SparseIntentClassifier.get_default_config(), storage, resource, CONTEXT
    )
    component.train(training_data())
    return component


def parse(component: SparseIntentClassifier, text: str) -> Message:
    (message,) = component.process([Message(data={"text": text})])
    return message


def test_a_topic_question_gets_its_intent_and_the_response_selector_output(
    storage: LocalModelStorage,
) -> None:
    component = trained(storage, Resource("sparse"))

    message = parse(component, "mijn zoontje wordt elke nacht 3 keer wakker")

    intent = message.get("intent")
    assert intent["name"] == "opvoedvraag"
    topics = [r["confidence"] for r in message.get("response_selector")["opvoedvraag"]["ranking"]]
    # the intent is as sure as its topics together; the topics are ranked within the intent
    assert intent["confidence"] > 0.5 and abs(sum(topics) - 1) < 1e-9
    selector = message.get("response_selector")
    assert selector["all_retrieval_intents"] == ["opvoedvraag"]
    best = selector["opvoedvraag"]["response"]
    assert best["intent_response_key"] == "opvoedvraag/slapen"
    assert best["utter_action"] == "utter_opvoedvraag/slapen"  # what utter_<intent> looks up
    names = [r["name"] for r in message.get("intent_ranking")]
    assert names == sorted(set(names), key=names.index) and set(names) == {"greet", "opvoedvraag"}


def test_a_plain_intent_is_recognised(storage: LocalModelStorage) -> None:
    component = trained(storage, Resource("sparse"))

    assert parse(component, "hallo daar").get("intent")["name"] == "greet"


def test_a_message_of_unknown_words_gets_a_low_confidence(storage: LocalModelStorage) -> None:
    component = trained(storage, Resource("sparse"))

    known = parse(component, "mijn kind eet niks").get("intent")["confidence"]
    unknown = parse(component, "Jan Jansen qwxz blorp fnarg").get("intent")["confidence"]

    assert unknown < 0.4 <= known  # below the FallbackClassifier's threshold in config.yml


def test_the_stored_model_loads_and_answers_the_same(storage: LocalModelStorage) -> None:
    resource = Resource("sparse")
    component = trained(storage, resource)

    loaded = SparseIntentClassifier.load({}, storage, resource, CONTEXT)

    for text in ("hoi", "ze eet geen groente", "wakker 's nachts"):
        assert parse(loaded, text).get("intent") == parse(component, text).get("intent")
        assert parse(loaded, text).get("response_selector") == parse(component, text).get(
            "response_selector"
        )


def test_a_stored_file_with_unexpected_types_is_refused(storage: LocalModelStorage) -> None:
    resource = Resource("sparse")
    trained(storage, resource)
    with storage.write_to(resource) as directory:  # as if someone swapped the file
        sio.dump({"model": Path("/etc/passwd"), "retrieval_intents": []}, directory / MODEL_FILE)

    with pytest.raises(ValueError, match="unexpected types"):
        SparseIntentClassifier.load({}, storage, resource, CONTEXT)


def test_messages_without_text_are_left_alone(storage: LocalModelStorage) -> None:
    component = trained(storage, Resource("sparse"))

    (message,) = component.process([Message(data={"text": ""})])

    assert message.get("intent") is None
