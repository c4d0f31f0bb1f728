"""The safety check on every user message, and the crisis card it shows (content-driven).

The phrases and the contacts are content (``content/safety.yml``, ``crisis_contacts.yml``),
re-read when staff change them. What the card says is the same on every channel.
"""

from __future__ import annotations

from typing import Any

from common.safety import Signal, check_text, contact_lines, crisis_contacts, safety_phrases


def check(text: str) -> Signal | None:
    return check_text(text, safety_phrases())


def card(signal: Signal) -> dict[str, Any]:
    """The crisis card: who to call, the most fitting first. Plain text plus ``custom.crisis``
    so a channel may show it as a card; link buttons for the contacts' own sites."""
    contacts = crisis_contacts()
    category = safety_phrases().categories.get(signal.category)
    order = category.contacts if category else []  # the crisis intent: every contact, in order
    keys = [*order, *(k for k in contacts.contacts if k not in order)]
    chosen = [contacts.contacts[k] for k in keys]
    lines = [contacts.intro.strip(), "", *contact_lines(contacts, order)]
    return {
        "text": "\n".join(lines),
        "buttons": [{"title": c.name, "payload": c.url} for c in chosen if c.url],
        "custom": {
            "crisis": {
                "category": signal.category,
                "contacts": [
                    {"name": c.name, "phone": c.phone, "when": c.when, "url": c.url} for c in chosen
                ],
            }
        },
    }


def next_step(open_now: bool) -> dict[str, Any]:
    """What the CJG can and cannot do right now, said honestly."""
    contacts = crisis_contacts()
    return {
        "text": (contacts.cjg_can if open_now else contacts.cjg_closed).strip(),
        "custom": {"crisis": {"cjg_open": open_now}},
    }
