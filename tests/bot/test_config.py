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
        ({**GOOD, "CJG_URGENT_PER_ADDRESS": "3"}, "CJG_URGENT_PER_ADDRESS"),
        ({**GOOD, "CJG_URGENT_PER_SERVICE": "0/600"}, "CJG_URGENT_PER_SERVICE"),
        ({**GOOD, "CJG_WAITING_MAX_BYTES": "veel"}, "CJG_WAITING_MAX_BYTES"),
        ({**GOOD, "CJG_CALLBACK_KEY": "kort"}, "CJG_CALLBACK_KEY"),
        ({**GOOD, "CJG_CALLBACK_KEY": "g" * 64}, "CJG_CALLBACK_KEY"),
        ({**GOOD, "CJG_CALLBACK_NUMBER_SECONDS": "0"}, "CJG_CALLBACK_NUMBER_SECONDS"),
    ],
)
def test_a_bad_setting_is_named_in_the_error(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        Settings.from_env(env)


def test_flood_limits_default_and_read_as_count_per_seconds() -> None:
    defaults = Settings.from_env(GOOD)
    assert defaults.urgent_per_sender == (1, 1800)
    assert (defaults.urgent_per_address, defaults.urgent_per_service) == ((3, 600), (20, 600))
    assert (defaults.waiting_max_messages, defaults.waiting_max_bytes) == (50, 20000)
    custom = Settings.from_env({**GOOD, "CJG_URGENT_PER_SERVICE": " 40/900 "})
    assert custom.urgent_per_service == (40, 900)


def test_the_redis_password_joins_the_url_and_counts_as_a_secret() -> None:
    settings = Settings.from_env(
        {**GOOD, "CJG_REDIS_URL": "redis://127.0.0.1:6390/2", "REDIS_PASSWORD": "p@ss/w:rd"}
    )
    assert settings.redis_url == "redis://:p%40ss%2Fw%3Ard@127.0.0.1:6390/2"
    assert settings.tracker_redis_url == "redis://:p%40ss%2Fw%3Ard@127.0.0.1:6390/0"
    assert "p@ss/w:rd" in settings.secrets
    default = Settings.from_env({**GOOD, "REDIS_PASSWORD": "pw-of-the-stack"})
    assert default.redis_url == "redis://:pw-of-the-stack@127.0.0.1:6390/0"
    own = Settings.from_env({**GOOD, "CJG_REDIS_URL": "redis://u:own@h:1/0", "REDIS_PASSWORD": "x"})
    assert own.redis_url == "redis://u:own@h:1/0"  # a URL with its own password keeps it
    assert Settings.from_env(GOOD).redis_url == "redis://127.0.0.1:6390/0"


def test_callbacks_are_off_without_a_key_and_the_key_is_a_secret() -> None:
    assert Settings.from_env(GOOD).callback_key == ""
    key = "a1" * 32
    settings = Settings.from_env({**GOOD, "CJG_CALLBACK_KEY": key})
    assert settings.callback_key == key and key in settings.secrets  # blanked in the log
    assert settings.callback_number_seconds == 3 * 24 * 3600
