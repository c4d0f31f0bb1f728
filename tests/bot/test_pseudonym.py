from __future__ import annotations

from bot.pseudonym import pseudonymise


def test_pseudonyms_are_stable_per_channel_and_hide_the_id() -> None:
    a = pseudonymise("secret", "telegram", "123456")
    assert a == pseudonymise("secret", "telegram", "123456")
    assert "123456" not in a
    assert a != pseudonymise("secret", "api", "123456")
    assert a != pseudonymise("other-secret", "telegram", "123456")
