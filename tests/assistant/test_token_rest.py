"""The token channel's look-up of a message sent again (assistant/channels/token_rest.py), on
Rasa's own events. The whole channel, with the trained model behind it, is tested through the
session's real Rasa server in tests/bot/test_rasa_message_ids.py (loading the model here would
cost half a minute)."""

from __future__ import annotations

from rasa.shared.core.events import ActionExecuted, BotUttered, Event, SlotSet, UserUttered

from assistant.channels.token_rest import answer_of, turn_of


def conversation() -> list[Event]:
    return [
        ActionExecuted("action_listen"),
        UserUttered("hoi", message_id="m-1"),
        ActionExecuted("utter_greet"),
        BotUttered("Hoi!"),
        ActionExecuted("action_listen"),
        UserUttered("mijn zoon slaapt slecht", message_id="m-2"),
        SlotSet("topic", "slapen"),
        ActionExecuted("action_answer_topic"),
        ActionExecuted("action_listen"),
    ]


def test_a_message_is_found_by_its_id_only() -> None:
    events = conversation()
    assert turn_of(events, "m-1") == 1
    assert turn_of(events, "m-2") == 5
    assert turn_of(events, "m-3") is None


def test_the_answer_is_what_the_bot_said_before_the_next_user_turn() -> None:
    events = conversation()
    said, later = answer_of(events, 1)
    assert [b.text for b in said] == ["Hoi!"] and later is True
    said, later = answer_of(events, 5)  # stored, but its action died: nothing was said
    assert said == [] and later is False
