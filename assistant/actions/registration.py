"""The registration note every answering action adds to its reply (common/registration.py).

The service takes it out before the user sees the reply and counts it; codes only, never text.
"""

from __future__ import annotations

from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.interfaces import Tracker

from common.registration import Outcome, age_band, tag
from common.youth import sounds_professional


def note(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    outcome: Outcome,
    user_type: str | None = None,
    age: float | None = None,
    municipality: str | None = None,
    **extra: str | None,
) -> None:
    """Adds what the conversation knows (asker, child's age band, municipality) to the note;
    ``age`` and ``municipality`` learned from this very message (not yet in the slots) win."""
    known = tracker.get_slot("child_age") if age is None else age
    said = str(tracker.latest_message.get("text") or "")
    asker = user_type or tracker.get_slot("user_type")
    if asker is None and sounds_professional(said):
        asker = "professional"
    dispatcher.utter_message(
        json_message=tag(
            outcome=outcome,
            user_type=asker,
            age_band=age_band(float(known)) if known is not None else None,
            municipality=municipality or tracker.get_slot("municipality"),
            **extra,
        )
    )
