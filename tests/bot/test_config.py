from __future__ import annotations

import pytest

from bot.config import ConfigError, Settings

GOOD = {"RASA_TOKEN": "t", "CJG_PSEUDONYM_SECRET": "s" * 32}


def test_defaults_listen_on_loopback_8080() -> None:
    settings = Settings.from_env(GOOD)
    assert (settings.host, settings.port) == ("127.0.0.1", 8080)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"CJG_PSEUDONYM_SECRET": "s" * 32}, "RASA_TOKEN"),
        ({"RASA_TOKEN": "t"}, "CJG_PSEUDONYM_SECRET"),
        ({**GOOD, "CJG_PORT": "tachtig"}, "CJG_PORT"),
        ({**GOOD, "CJG_RASA_TIMEOUT": "0"}, "CJG_RASA_TIMEOUT"),
    ],
)
def test_a_bad_setting_is_named_in_the_error(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        Settings.from_env(env)
