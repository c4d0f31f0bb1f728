"""What someone explicitly asks for wins over what the message is about.

"ik wil een medewerker spreken over mijn zoon die niet slaapt" is about sleep *and* asks for a
person; "is er een cursus voor kinderen met faalangst" is about fear of failure *and* asks for a
course. The model ranks the topic first; this component, after the model and before the
FallbackClassifier, makes the intent ``ask_human`` (content/person_wish.yml) or ``zoek_aanbod``
(a named offer or a course word from content/offer_finder.yml), in every state of the
conversation. The phrases are content: staff change them without retraining.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from common.offers import wants_offers
from common.payload import is_payload
from common.person_wish import wants_person

PERSON = "ask_human"
OFFERS = "zoek_aanbod"
# A course request overrides only these: a crisis, a person or a FAQ is never turned into one.
ABOUT_A_TOPIC = ("opvoedvraag", "vechtscheiding", "out_of_scope", "inform")


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class ExplicitWishOverride(GraphComponent, IntentClassifier):
    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> ExplicitWishOverride:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = str(message.get("text") or "")
            if not text or is_payload(text):
                continue
            intent = (message.get("intent") or {}).get("name")
            if intent != "crisis" and wants_person(text):
                set_intent(message, PERSON)
            elif intent in ABOUT_A_TOPIC and wants_offers(text):
                set_intent(message, OFFERS)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data


def set_intent(message: Message, name: str) -> None:
    """``name`` with full confidence; the model's ranking stays below it for the record, halved,
    so the FallbackClassifier does not see two intents as equally likely."""
    ranking = [
        {**r, "confidence": float(r.get("confidence") or 0) / 2}
        for r in message.get("intent_ranking") or []
        if r.get("name") != name
    ]
    top = {"name": name, "confidence": 1.0}
    message.set("intent", top, add_to_output=True)
    message.set("intent_ranking", [top, *ranking], add_to_output=True)
